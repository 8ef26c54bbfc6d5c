package imapintake

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"kontaktpunkt/internal/dovecottest"
	"kontaktpunkt/internal/imaptest"
)

// dovecotClient is a second IMAP client for test setup and checks.
type dovecotClient struct {
	t testing.TB
	c *imapclient.Client
}

func dialDovecot(t testing.TB, srv *dovecottest.Server) *dovecotClient {
	t.Helper()
	c, err := imapclient.DialTLS(srv.TLSAddr, &imapclient.Options{TLSConfig: srv.TLSConfig()})
	if err != nil {
		t.Fatalf("dial dovecot: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(srv.Username, srv.Password).Wait(); err != nil {
		t.Fatalf("login: %v", err)
	}
	return &dovecotClient{t: t, c: c}
}

func (d *dovecotClient) appendMsg(mailbox string, raw []byte) {
	d.t.Helper()
	cmd := d.c.Append(mailbox, int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		d.t.Fatalf("append: %v", err)
	}
	if err := cmd.Close(); err != nil {
		d.t.Fatalf("append: %v", err)
	}
	if _, err := cmd.Wait(); err != nil {
		d.t.Fatalf("append: %v", err)
	}
}

// count returns the number of messages in mailbox (-1 if it does not exist).
func (d *dovecotClient) count(mailbox string) int {
	st, err := d.c.Status(mailbox, &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || st.NumMessages == nil {
		return -1
	}
	return int(*st.NumMessages)
}

func TestDovecotPoller(t *testing.T) {
	for _, security := range []string{SecurityTLS, SecurityStartTLS} {
		t.Run(security, func(t *testing.T) {
			srv := dovecottest.Start(t)
			cl := dialDovecot(t, srv)
			const n = 25
			for i := range n {
				cl.appendMsg("INBOX", imaptest.Message(fmt.Sprintf("dc%d@example.org", i), 1500))
			}
			sink := newMemSink()
			sink.quarantine = func(raw []byte) bool { return bytes.Contains(raw, []byte("<dc7@")) }
			cfg := IMAPConfig{
				Addr: srv.TLSAddr, Security: security, Username: srv.Username, Password: srv.Password,
				TLSConfig: srv.TLSConfig(), BatchSize: 10, MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
			}
			if security == SecurityStartTLS {
				cfg.Addr = srv.Addr
			}
			p := NewPoller(cfg, sink, imapTestLogger(t))
			stop := runPoller(t, p)
			waitForSink(t, sink, "backlog moved", func() bool {
				return cl.count("INBOX") == 0 && cl.count("Processed") == n-1 && cl.count("Quarantine") == 1
			})
			// New mail while idle.
			cl.appendMsg("INBOX", imaptest.Message("late@example.org", 500))
			waitForSink(t, sink, "idle delivery", func() bool { return sink.has("late@example.org") && cl.count("Processed") == n })
			if err := stop(); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if sink.count() != n+1 {
				t.Errorf("stored %d, want %d", sink.count(), n+1)
			}
			if st := p.Status(); st.Reconnects != 0 || st.AuthError != "" {
				t.Errorf("status = %+v, want no reconnects", st)
			}
		})
	}
}

func TestDovecotWrongPasswordSetsAuthError(t *testing.T) {
	srv := dovecottest.Start(t)
	sink := newMemSink()
	p := NewPoller(IMAPConfig{
		Addr: srv.TLSAddr, Security: SecurityTLS, Username: srv.Username, Password: "wrong",
		TLSConfig: srv.TLSConfig(), MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
	}, sink, imapTestLogger(t))
	runPoller(t, p)
	waitForSink(t, sink, "auth error in status", func() bool { return p.Status().AuthError != "" })
}

// TestDovecotDropMidFetch cuts the connection while Dovecot streams bodies
// (plain IMAP to loopback, so the proxy can see where the FETCH is).
func TestDovecotDropMidFetch(t *testing.T) {
	srv := dovecottest.Start(t)
	cl := dialDovecot(t, srv)
	const n = 60
	msgs := make([][]byte, n)
	for i := range n {
		msgs[i] = imaptest.Message(fmt.Sprintf("df%d@example.org", i), 3000)
	}
	srv.WriteMaildir(t, "INBOX", msgs)
	proxy := imaptest.NewProxy(t, srv.Addr)
	cut := proxy.CutOn(true, "Message-ID: <df25@")
	sink := newMemSink()
	p := NewPoller(IMAPConfig{
		Addr: proxy.Addr, Security: SecurityPlain, Username: srv.Username, Password: srv.Password,
		TLSConfig: srv.TLSConfig(), BatchSize: 20, MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
	}, sink, imapTestLogger(t))
	runPoller(t, p)
	<-cut
	waitForSink(t, sink, "everything after reconnect", func() bool {
		return sink.count() == n && cl.count("Processed") == n && cl.count("INBOX") == 0
	})
	if proxy.Accepts() < 2 {
		t.Errorf("accepted %d connections, want a reconnect", proxy.Accepts())
	}
}

// BenchmarkBacklog10k: 10,000 ~3 KB messages waiting in INBOX; time until
// all are delivered and moved to Processed.
func BenchmarkBacklog10k(b *testing.B) { backlog10k(b, 0) }

// BenchmarkBacklog10kSizeLimit is BenchmarkBacklog10k with the size limit
// serve uses by default: the sizes are fetched first.
func BenchmarkBacklog10kSizeLimit(b *testing.B) { backlog10k(b, 50<<20) }

func backlog10k(b *testing.B, limit int64) {
	const n = 10000
	msgs := make([][]byte, n)
	for i := range n {
		msgs[i] = imaptest.Message(fmt.Sprintf("bl%d@example.org", i), 3000)
	}
	var total time.Duration
	b.StopTimer()
	for range b.N {
		srv := dovecottest.Start(b)
		srv.WriteMaildir(b, "INBOX", msgs)
		cl := dialDovecot(b, srv)
		if got := cl.count("INBOX"); got != n { // Dovecot indexes the new files here
			b.Fatalf("INBOX has %d, want %d", got, n)
		}
		sink := newMemSink()
		p := NewPoller(IMAPConfig{
			Addr: srv.TLSAddr, Security: SecurityTLS, Username: srv.Username, Password: srv.Password,
			TLSConfig: srv.TLSConfig(), BatchSize: benchBatch(), MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
			MaxMessageBytes: limit,
		}, sink, imapTestLogger(b))
		b.StartTimer()
		start := time.Now()
		stop := runPoller(b, p)
		waitForSink(b, sink, "backlog", func() bool { return sink.count() == n && cl.count("Processed") == n })
		total += time.Since(start)
		b.StopTimer()
		stop()
		b.Logf("%d messages in %v: %.0f msgs/s", n, time.Since(start), n/time.Since(start).Seconds())
		if st := p.Status(); st.Reconnects != 0 {
			b.Errorf("reconnects = %d", st.Reconnects)
		}
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "msgs/s")
}

// BenchmarkIdleLatency: one APPEND by another client while the poller
// idles, until the Sink has committed it. Reports the median.
func BenchmarkIdleLatency(b *testing.B) {
	srv := dovecottest.Start(b)
	cl := dialDovecot(b, srv)
	sink := newMemSink()
	p := NewPoller(IMAPConfig{
		Addr: srv.TLSAddr, Security: SecurityTLS, Username: srv.Username, Password: srv.Password,
		TLSConfig: srv.TLSConfig(), MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
	}, sink, imapTestLogger(b))
	runPoller(b, p)
	waitForSink(b, sink, "first sync", func() bool { return !p.Status().LastSync.IsZero() })
	var lat []time.Duration
	i := 0
	for b.Loop() {
		id := fmt.Sprintf("lat%d@example.org", i)
		i++
		raw := imaptest.Message(id, 3000)
		start := time.Now()
		cl.appendMsg("INBOX", raw)
		waitForSink(b, sink, id, func() bool { return sink.has(id) })
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ms/median")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "ms/max")
}

// TestDovecotDropMidIdle cuts the connection while Dovecot is in IDLE and
// delivers mail during the outage.
func TestDovecotDropMidIdle(t *testing.T) {
	srv := dovecottest.Start(t)
	cl := dialDovecot(t, srv)
	proxy := imaptest.NewProxy(t, srv.Addr)
	cut := proxy.CutOn(true, "+ idling")
	sink := newMemSink()
	p := NewPoller(IMAPConfig{
		Addr: proxy.Addr, Security: SecurityPlain, Username: srv.Username, Password: srv.Password,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
	}, sink, imapTestLogger(t))
	runPoller(t, p)
	<-cut
	for i := range 5 {
		cl.appendMsg("INBOX", imaptest.Message(fmt.Sprintf("di%d@example.org", i), 3000))
	}
	waitForSink(t, sink, "mail from the outage", func() bool {
		return sink.count() == 5 && cl.count("Processed") == 5 && cl.count("INBOX") == 0
	})
	if proxy.Accepts() < 2 {
		t.Errorf("accepted %d connections, want a reconnect", proxy.Accepts())
	}
}

// benchBatch is the batch size for BenchmarkBacklog10k (IMAP_BENCH_BATCH, default 100).
func benchBatch() int {
	n, _ := strconv.Atoi(os.Getenv("IMAP_BENCH_BATCH"))
	return n
}
