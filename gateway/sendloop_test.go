package gateway

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/config"
	"kontaktpunkt/internal/smtptest"
	"kontaktpunkt/mailbox/mailmsg"
	"kontaktpunkt/mailbox/smtpclient"
	"kontaktpunkt/routing"
	"kontaktpunkt/store"
)

func newSender(t testing.TB, srv *smtptest.Server) *smtpclient.Sender {
	s := smtpclient.NewSender(smtpclient.SMTPConfig{Addr: srv.Addr, Security: "plain", Timeout: 10 * time.Second}, nil)
	t.Cleanup(func() { s.Close() })
	return s
}

// newSenders returns n senders to srv, for n connections at once.
func newSenders(t testing.TB, srv *smtptest.Server, n int) []Sender {
	out := make([]Sender, n)
	for i := range out {
		out[i] = newSender(t, srv)
	}
	return out
}

func (h *harness) states() map[kp.OutState]int {
	h.t.Helper()
	out := map[kp.OutState]int{}
	h.st.View(func(tx *store.Tx) error {
		list, err := tx.ListOutbound("", 100000)
		for _, o := range list {
			out[o.State]++
		}
		return err
	})
	return out
}

func TestOutboxSendsEachMessageOnce(t *testing.T) {
	h := newHarness(t, nil)
	srv := smtptest.Start(t)
	h.one(request("req1@example.org"))
	h.one(request("req2@example.org"))
	queued := len(h.outbox())
	n, err := h.g.SendDue(context.Background(), newSender(t, srv))
	if err != nil || n != queued {
		t.Fatalf("SendDue = %d, %v; want %d", n, err, queued)
	}
	// Nothing is left to send: a second pass sends nothing.
	if n, _ := h.g.SendDue(context.Background(), newSender(t, srv)); n != 0 {
		t.Fatalf("second pass sent %d", n)
	}
	got := srv.Messages()
	if len(got) != queued {
		t.Fatalf("server received %d, want %d", len(got), queued)
	}
	seen := map[string]bool{}
	for _, m := range got {
		p, err := mailmsg.Parse(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		if seen[p.MessageID] {
			t.Fatalf("%s received twice", p.MessageID)
		}
		seen[p.MessageID] = true
	}
	if s := h.states(); s[kp.OutSent] != queued {
		t.Fatalf("states = %v", s)
	}
}

func TestOutboxRetriesTemporaryFailures(t *testing.T) {
	h := newHarness(t, nil)
	srv := smtptest.Start(t)
	h.one(request("req1@example.org"))
	queued := len(h.outbox())
	srv.FailTemp(100)
	if n, err := h.g.SendDue(context.Background(), newSenders(t, srv, 2)...); err != nil || n != 0 {
		t.Fatalf("SendDue while failing = %d, %v", n, err)
	}
	if s := h.states(); s[kp.OutQueued] != queued {
		t.Fatalf("after temporary failure: %v", s)
	}
	// Not due again until the backoff has passed.
	if n, _ := h.g.SendDue(context.Background(), newSenders(t, srv, 2)...); n != 0 {
		t.Fatalf("retried before its time: %d", n)
	}
	srv.ClearFailures()
	h.clock.Advance(time.Hour)
	if n, err := h.g.SendDue(context.Background(), newSenders(t, srv, 2)...); err != nil || n != queued {
		t.Fatalf("SendDue after recovery = %d, %v", n, err)
	}
	if len(srv.Messages()) != queued {
		t.Fatalf("received %d", len(srv.Messages()))
	}
}

func TestOutboxPermanentFailureTellsStaff(t *testing.T) {
	h := newHarness(t, nil)
	srv := smtptest.Start(t)
	srv.FailPermFor(ola)
	id := caseNo(t, h.one(request("req1@example.org")))
	if _, err := h.g.SendDue(context.Background(), newSender(t, srv)); err != nil {
		t.Fatal(err)
	}
	if s := h.states(); s[kp.OutFailed] != 1 {
		t.Fatalf("states = %v, want one failed", s)
	}
	notices := h.mailsTo(kari, "delivery-failure")
	if len(notices) != 1 {
		t.Fatalf("delivery-failure notices = %d", len(notices))
	}
	if p, err := mailmsg.Parse(notices[0].Raw); err != nil || !strings.Contains(p.Text, ola) {
		t.Fatalf("notice does not name the address: %v %q", err, p.Text)
	}
	if c := h.caseOf(id); c.Messages < 4 {
		t.Errorf("failure not recorded on the case timeline (%d messages)", c.Messages)
	}
	var sup bool
	h.st.View(func(tx *store.Tx) error { sup, _ = tx.Suppressed(ola, h.clock.Now()); return nil })
	if !sup {
		t.Error("address not suppressed after a permanent failure")
	}
	// The notice itself goes out.
	if _, err := h.g.SendDue(context.Background(), newSender(t, srv)); err != nil {
		t.Fatal(err)
	}
	if s := h.states(); s[kp.OutSent] != 2 {
		t.Fatalf("states after notice = %v", s)
	}
}

// TestOutboxSurvivesRestart: mail queued while SMTP is down is sent
// exactly once after the process restarts and the server comes back.
func TestOutboxSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kp.db")
	srv := smtptest.Start(t)
	srv.Down()
	open := func() (*store.Store, *Gateway) {
		st, err := store.Open(path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		g, err := New(testConfig(), st, nil)
		if err != nil {
			t.Fatal(err)
		}
		return st, g
	}
	st, g := open()
	for i := range 3 {
		if _, err := g.Ingest(context.Background(), []Item{{Source: "x", Raw: request(fmt.Sprintf("r%d@example.org", i))}}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := g.SendDue(context.Background(), newSenders(t, srv, 2)...); err != nil || n != 0 {
		t.Fatalf("sent while down: %d %v", n, err)
	}
	st.Close()

	srv.Up()
	st, g = open()
	defer st.Close()
	g.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	n, err := g.SendDue(context.Background(), newSenders(t, srv, 2)...)
	if err != nil || n != 6 {
		t.Fatalf("after restart sent %d, %v; want 6 (3 acks, 3 notifications)", n, err)
	}
	if len(srv.Messages()) != 6 {
		t.Fatalf("server received %d", len(srv.Messages()))
	}
}

// BenchmarkOutbox measures sending from the durable outbox to a local
// go-smtp server over one reused connection, bookkeeping included (every
// outcome committed with an fsync). "sink" is the bare in-process server,
// which answers faster than any real relay; "relay-2ms" adds 2 ms per
// message after the server's answer, about what a relay that writes its
// own queue file to disk takes, so the loop's overlap of sending with
// committing shows.
func BenchmarkOutbox(b *testing.B) {
	b.Run("sink", func(b *testing.B) { benchOutbox(b, 5000, 0) })
	b.Run("relay-2ms", func(b *testing.B) { benchOutbox(b, 1000, 2*time.Millisecond) })
}

// slowRelay is a real SMTP client whose every send takes at least delay:
// a stand-in for a relay's own disk work, for benchmarks only.
type slowRelay struct {
	s     Sender
	delay time.Duration
}

func (r slowRelay) Send(ctx context.Context, from string, to []string, raw []byte) error {
	done := time.After(r.delay)
	err := r.s.Send(ctx, from, to, raw)
	<-done
	return err
}

func benchOutbox(b *testing.B, n int, delay time.Duration) {
	st, err := store.Open(filepath.Join(b.TempDir(), "kp.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	g, err := New(testConfig(), st, nil)
	if err != nil {
		b.Fatal(err)
	}
	srv := smtptest.Start(b)
	var sender Sender = newSender(b, srv)
	if delay > 0 {
		sender = slowRelay{sender, delay}
	}
	raw := []byte("From: integrasjon@uio.no\r\nTo: x@example.org\r\nSubject: test\r\nMessage-ID: <x@uio.no>\r\n\r\n" + strings.Repeat("tekst ", 300) + "\r\n")
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		now := time.Now()
		if err := st.Update(func(tx *store.Tx) error {
			for i := range n {
				o := &kp.Outbound{Kind: "relay", MessageID: fmt.Sprintf("bench-%d-%d@uio.no", now.UnixNano(), i), From: contact,
					To: []string{fmt.Sprintf("r%d@example.org", i%50)}, Raw: raw, State: kp.OutQueued, NextTry: now, Queued: now}
				if err := tx.Enqueue(o); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		g.Now = func() time.Time { return now.Add(time.Second) }
		b.StartTimer()
		start := time.Now()
		sent, err := g.SendDue(context.Background(), sender)
		if err != nil || sent != n {
			b.Fatal(sent, err)
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "msgs/s")
	}
}

// TestOutboxPartialRefusal: one recipient refused permanently, the other
// accepted: the accepted one gets the mail once, the refused one is
// reported to staff, nothing is retried.
func TestOutboxPartialRefusal(t *testing.T) {
	h := newHarness(t, nil)
	srv := smtptest.Start(t)
	h.one(request("req1@example.org"))
	h.g.Config.Staff.Members = append(h.g.Config.Staff.Members, config.Person{Name: "Ny", Address: "ny@uio.no"})
	h.g.Dir.Staff = append(h.g.Dir.Staff, routing.Person{Name: "Ny", Addr: "ny@uio.no"})
	h.one(request("req2@example.org")) // notification to kari and ny
	srv.FailPermFor("ny@uio.no")
	if _, err := h.g.SendDue(context.Background(), newSender(t, srv)); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(2 * time.Hour)
	if _, err := h.g.SendDue(context.Background(), newSender(t, srv)); err != nil {
		t.Fatal(err)
	}
	toKari := 0
	for _, m := range srv.Messages() {
		for _, r := range m.To {
			if r == kari {
				toKari++
			}
		}
	}
	// Two notifications and one delivery-failure notice, each once.
	if toKari != 3 {
		t.Fatalf("mails to kari = %d, want 3", toKari)
	}
	if s := h.states(); s[kp.OutQueued] != 0 || s[kp.OutFailed] != 0 {
		t.Fatalf("states = %v", s)
	}
}

// enqueueN puts n distinct outbound messages, due at now, into st and
// returns their Message-IDs.
func enqueueN(t testing.TB, st *store.Store, n int, now time.Time) []string {
	t.Helper()
	ids := make([]string, n)
	err := st.Update(func(tx *store.Tx) error {
		for i := range n {
			ids[i] = fmt.Sprintf("out-%d-%d@uio.no", now.UnixNano(), i)
			raw := []byte("From: " + contact + "\r\nTo: r@example.org\r\nSubject: test\r\nMessage-ID: <" + ids[i] + ">\r\n\r\ntekst\r\n")
			o := &kp.Outbound{Kind: "relay", MessageID: ids[i], From: contact, To: []string{fmt.Sprintf("r%d@example.org", i)},
				Raw: raw, State: kp.OutQueued, NextTry: now, Queued: now}
			if err := tx.Enqueue(o); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestOutboxCrashSendsAtMostFourTwice stops the process's store and send
// journal at varied moments while the outbox is sending (both are closed
// under the running loop, so no outcome after that point reaches the
// disk, as in a SIGKILL), restarts, and counts what the relay received:
// every message at least once, and at most maxUnrecorded (4) of them
// twice.
func TestOutboxCrashSendsAtMostFourTwice(t *testing.T) {
	for _, conns := range []int{1, 2} {
		t.Run(fmt.Sprint("connections", conns), func(t *testing.T) { crashWhileSending(t, conns) })
	}
}

// crashWhileSending is TestOutboxCrashSendsAtMostFourTwice over conns
// connections at once.
func crashWhileSending(t *testing.T, conns int) {
	const n = 40
	for _, crashAfter := range []int{1, 3, 6, 11, 17, 26, 33} {
		t.Run(fmt.Sprint("after", crashAfter), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kp.db")
			srv := smtptest.Start(t)
			st, err := store.Open(path, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			ids := enqueueN(t, st, n, now)
			g, err := New(testConfig(), st, nil)
			if err != nil {
				t.Fatal(err)
			}
			g.Now = func() time.Time { return now.Add(time.Second) }

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			crashed := make(chan error, 1)
			go func() {
				_, err := srv.WaitFor(ctx, crashAfter)
				if err == nil {
					// The process's files both stop taking writes: the
					// send journal first, then the store.
					g.journal.mu.Lock()
					j := g.journal.j
					g.journal.mu.Unlock()
					if err = j.Close(); err == nil {
						err = st.Close()
					}
				}
				crashed <- err
			}()
			if _, err := g.SendDue(ctx, newSenders(t, srv, conns)...); err == nil {
				t.Logf("the loop finished before the crash")
			}
			if err := <-crashed; err != nil {
				t.Fatal(err)
			}
			before := len(srv.Messages())

			st, err = store.Open(path, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			g, err = New(testConfig(), st, nil)
			if err != nil {
				t.Fatal(err)
			}
			g.Now = func() time.Time { return now.Add(time.Minute) }
			if _, err := g.SendDue(context.Background(), newSenders(t, srv, conns)...); err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for _, m := range srv.Messages() {
				p, err := mailmsg.Parse(m.Data)
				if err != nil {
					t.Fatal(err)
				}
				got[p.MessageID]++
			}
			dups := 0
			for _, id := range ids {
				switch c := got[id]; {
				case c == 0:
					t.Errorf("%s never sent", id)
				case c > 1:
					dups += c - 1
				}
			}
			t.Logf("crash after %d received: %d sent before the restart, %d twice", crashAfter, before, dups)
			if dups > 4 {
				t.Errorf("%d messages sent twice after one crash; at most 4 may be", dups)
			}
		})
	}
}

// BenchmarkOutboxQueued measures sending what serve queues for a backlog
// of 10,000 realistic mails (acknowledgements, staff notices, relays) to a
// local go-smtp server, bookkeeping included. "raw-smtp" is the baseline in
// the same run: the same mails, their bytes in hand, sent one after the
// other over one connection with nothing recorded; the outbox sends over
// two connections, serve's default (smtp.connections). Runs alternate
// baseline and outbox. Reports msgs/s and the process's CPU time per mail (the
// in-process SMTP server's included, in both).
func BenchmarkOutboxQueued(b *testing.B) {
	const n = 10000
	mails := make([][]byte, n)
	for i := range mails {
		mails[i] = benchMail(i)
	}
	for range b.N {
		b.Run("raw-smtp", func(b *testing.B) { outboxRun(b, mails, true) })
		b.Run("outbox", func(b *testing.B) { outboxRun(b, mails, false) })
	}
}

func outboxRun(b *testing.B, mails [][]byte, raw bool) {
	for range b.N {
		b.StopTimer()
		st, err := store.Open(filepath.Join(b.TempDir(), "kp.db"), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		g, err := New(testConfig(), st, nil)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < len(mails); i += 512 {
			items := make([]Item, 0, 512)
			for _, m := range mails[i:min(i+512, len(mails))] {
				items = append(items, Item{Source: "bench", Raw: m})
			}
			if _, err := g.Ingest(context.Background(), items); err != nil {
				b.Fatal(err)
			}
		}
		var due []kp.Outbound
		if err := st.View(func(tx *store.Tx) error {
			due, err = tx.DueOutbound(time.Now().Add(time.Hour), 0)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		raws := make([][]byte, len(due))
		for i := range due {
			if raws[i], err = render(&due[i]); err != nil {
				b.Fatal(err)
			}
		}
		srv := smtptest.Start(b)
		sender := newSender(b, srv)
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime()
		if raw {
			for i, o := range due {
				if err := sender.Send(context.Background(), o.From, o.To, raws[i]); err != nil {
					b.Fatal(err)
				}
			}
		} else {
			sent, err := g.SendDue(context.Background(), sender, newSender(b, srv))
			if err != nil || sent != len(due) {
				b.Fatalf("sent %d of %d: %v", sent, len(due), err)
			}
		}
		elapsed, cpu := time.Since(start), cpuTime()-cpu0
		b.StopTimer()
		st.Close()
		b.ReportMetric(float64(len(due))/elapsed.Seconds(), "msgs/s")
		b.ReportMetric(float64(cpu.Microseconds())/float64(len(due)), "cpu-µs/msg")
		b.StartTimer()
	}
}

// TestOutboxKeepsOrderPerRecipient sends over two connections to a real
// SMTP server that holds the first mail to a@ at the end of DATA: the
// mail to b@ behind it goes out on the other connection meanwhile, and no
// mail overtakes an earlier queued one sharing a recipient (the second
// mail, to c@ and a@, waits for the first; the fourth, to c@, waits for
// the second).
func TestOutboxKeepsOrderPerRecipient(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "kp.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	g, err := New(testConfig(), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	g.Now = func() time.Time { return now.Add(time.Second) }
	rcpts := [][]string{{"a@example.org"}, {"c@example.org", "A@example.org"}, {"b@example.org"}, {"c@example.org"}}
	ids := make([]string, len(rcpts))
	if err := st.Update(func(tx *store.Tx) error {
		for i, to := range rcpts {
			ids[i] = fmt.Sprintf("order-%d@uio.no", i)
			raw := []byte("From: " + contact + "\r\nTo: " + strings.Join(to, ", ") + "\r\nSubject: test\r\nMessage-ID: <" + ids[i] + ">\r\n\r\ntekst\r\n")
			o := &kp.Outbound{Kind: "relay", MessageID: ids[i], From: contact, To: to, Raw: raw, State: kp.OutQueued, NextTry: now, Queued: now}
			if err := tx.Enqueue(o); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	srv := smtptest.Start(t)
	release := srv.Hold("a@example.org")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	type outcome struct {
		n   int
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		n, err := g.SendDue(ctx, newSenders(t, srv, 2)...)
		done <- outcome{n, err}
	}()
	msgID := func(m smtptest.Message) string {
		p, err := mailmsg.Parse(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		return p.MessageID
	}
	// While the first mail is held, the only one that may arrive is the
	// third: the second and fourth share a recipient with an earlier mail.
	got, err := srv.WaitFor(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if id := msgID(got[0]); id != ids[2] {
		t.Fatalf("first received while a@ is held: %s, want %s", id, ids[2])
	}
	release()
	res := <-done
	if res.err != nil || res.n != len(rcpts) {
		t.Fatalf("SendDue = %d, %v; want %d", res.n, res.err, len(rcpts))
	}
	pos := map[string]int{}
	for i, m := range srv.Messages() {
		id := msgID(m)
		if _, dup := pos[id]; dup {
			t.Fatalf("%s received twice", id)
		}
		pos[id] = i
	}
	if len(pos) != len(rcpts) {
		t.Fatalf("received %d distinct mails, want %d", len(pos), len(rcpts))
	}
	if !(pos[ids[0]] < pos[ids[1]] && pos[ids[1]] < pos[ids[3]]) {
		t.Fatalf("order received: %v; want %s before %s before %s", pos, ids[0], ids[1], ids[3])
	}
	if srv.Connections() != 2 {
		t.Fatalf("connections = %d, want 2", srv.Connections())
	}
}
