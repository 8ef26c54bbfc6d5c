package gateway

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"kontaktpunkt/config"
	"kontaktpunkt/internal/benchmail"
	"kontaktpunkt/internal/dovecottest"
	"kontaktpunkt/internal/smtptest"
	"kontaktpunkt/mailbox/imapintake"
	"kontaktpunkt/store"
)

// BenchmarkServeBacklog measures a backlog of 10,000 realistic ~2.8 KB
// mails in a real Dovecot's INBOX, drained by the path `serve` runs: the
// IMAP poller with serve's defaults (batches of 100, sizes fetched first)
// delivering to the gateway, which stores each batch in one fsync'd
// transaction with the acknowledgements and notices it queues, and moves
// the mail to Processed after the commit. "fetch-move" is the baseline in
// the same run: a plain IMAP client on the same Dovecot that fetches 100
// bodies and moves them, storing nothing, one command after the other
// (the poller fetches the next batch while the gateway commits, and moves
// in the background, so it can beat the baseline when Dovecot is the
// bottleneck). Runs alternate baseline and serve. Reports msgs/s and the
// process's CPU time per message (Dovecot's own CPU is not in it).
// KP_BENCH_BENCHMAIL=1 takes the mail from internal/benchmail (the bench
// harness's generator: staff replies, commands, HTML) instead of benchMail.
func BenchmarkServeBacklog(b *testing.B) {
	const n = 10000
	mails := make([][]byte, n)
	for i := range mails {
		mails[i] = benchMail(i)
	}
	if os.Getenv("KP_BENCH_BENCHMAIL") != "" {
		mails = benchmail.Generate(1, n)
	}
	for range b.N {
		b.Run("fetch-move", func(b *testing.B) { backlogRun(b, mails, drainPlain) })
		b.Run("serve", func(b *testing.B) { backlogRun(b, mails, drainServe(false)) })
		b.Run("serve+outbox", func(b *testing.B) { backlogRun(b, mails, drainServe(true)) })
	}
}

// backlogRun puts mails in a fresh Dovecot's INBOX and times drain.
func backlogRun(b *testing.B, mails [][]byte, drain func(b *testing.B, srv *dovecottest.Server, cl *imapclient.Client, n int)) {
	for range b.N {
		b.StopTimer()
		srv := dovecottest.Start(b)
		srv.WriteMaildir(b, "INBOX", mails)
		cl := dialBench(b, srv)
		if got := countMbox(b, cl, "INBOX"); got != len(mails) { // Dovecot indexes the new files here
			b.Fatalf("INBOX has %d, want %d", got, len(mails))
		}
		if err := cl.Create("Processed", nil).Wait(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime()
		drain(b, srv, cl, len(mails))
		elapsed, cpu := time.Since(start), cpuTime()-cpu0
		b.StopTimer()
		if got := countMbox(b, cl, "Processed"); got != len(mails) {
			b.Fatalf("Processed has %d, want %d", got, len(mails))
		}
		b.ReportMetric(float64(len(mails))/elapsed.Seconds(), "msgs/s")
		b.ReportMetric(float64(cpu.Microseconds())/float64(len(mails)), "cpu-µs/msg")
		b.StartTimer()
	}
}

func dialBench(b *testing.B, srv *dovecottest.Server) *imapclient.Client {
	c, err := imapclient.DialTLS(srv.TLSAddr, &imapclient.Options{TLSConfig: srv.TLSConfig()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	if err := c.Login(srv.Username, srv.Password).Wait(); err != nil {
		b.Fatal(err)
	}
	return c
}

func countMbox(b *testing.B, c *imapclient.Client, mbox string) int {
	st, err := c.Status(mbox, &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || st.NumMessages == nil {
		b.Fatalf("status %s: %v", mbox, err)
	}
	return int(*st.NumMessages)
}

// drainPlain is the baseline: its own connection, then FETCH 1:100
// (UID and BODY.PEEK[]) and UID MOVE of those to Processed until INBOX is
// empty.
func drainPlain(b *testing.B, srv *dovecottest.Server, _ *imapclient.Client, n int) {
	c := dialBench(b, srv)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		b.Fatal(err)
	}
	got := 0
	for got < n {
		var set imap.SeqSet
		set.AddRange(1, 100)
		msgs, err := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
		if err != nil {
			b.Fatal(err)
		}
		if len(msgs) == 0 {
			b.Fatalf("INBOX empty after %d of %d", got, n)
		}
		var uids imap.UIDSet
		for _, m := range msgs {
			if len(m.FindBodySection(&imap.FetchItemBodySection{})) == 0 {
				b.Fatalf("message %d without body", m.UID)
			}
			uids.AddNum(m.UID)
		}
		if _, err := c.Move(uids, "Processed").Wait(); err != nil {
			b.Fatal(err)
		}
		got += len(msgs)
	}
}

// drainServe runs the poller with the gateway as its sink, as serve wires
// them, until every mail is stored and moved; with outbox also the outbox
// worker, woken by the commits, sending to an SMTP sink.
func drainServe(outbox bool) func(b *testing.B, srv *dovecottest.Server, cl *imapclient.Client, n int) {
	return func(b *testing.B, srv *dovecottest.Server, cl *imapclient.Client, n int) {
		drainServeWith(b, srv, cl, n, outbox)
	}
}

func drainServeWith(b *testing.B, srv *dovecottest.Server, cl *imapclient.Client, n int, outbox bool) {
	st, err := store.Open(filepath.Join(b.TempDir(), "kp.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	g, err := New(testConfig(), st, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var workers sync.WaitGroup
	defer func() {
		cancel()
		workers.Wait()
	}()
	if outbox {
		wake := make(chan struct{}, 1)
		g.Wake = func() {
			select {
			case wake <- struct{}{}:
			default:
			}
		}
		sender := newSender(b, smtptest.Start(b))
		workers.Go(func() { g.RunOutbox(ctx, []Sender{sender}, wake) })
	}
	def := config.Default()
	p := imapintake.NewPoller(imapintake.IMAPConfig{
		Addr: srv.TLSAddr, Security: "tls", Username: srv.Username, Password: srv.Password,
		TLSConfig: srv.TLSConfig(), BatchSize: def.IMAP.BatchSize, MaxMessageBytes: def.Limits.MaxMessageBytes,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
	}, g.Sink(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	workers.Go(func() { p.Run(ctx) })
	// Polls Dovecot's count: the poller reports no progress of its own.
	for tick := time.NewTicker(20 * time.Millisecond); ; <-tick.C {
		if countMbox(b, cl, "Processed") == n {
			tick.Stop()
			break
		}
		if st := p.Status(); st.Reconnects > 0 {
			b.Fatalf("poller reconnected: %+v", st)
		}
	}
	var stored int
	if err := st.View(func(tx *store.Tx) error {
		os, err := tx.OutboxStats()
		stored = os.Queued
		return err
	}); err != nil {
		b.Fatal(err)
	}
	if stored == 0 && !outbox {
		b.Fatal("nothing queued: the backlog should queue acknowledgements")
	}
}
