package imapintake

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/internal/imaptest"
)

// memSink is a Sink on a map, deduplicating by Message-ID as the real store does.
type memSink struct {
	mu         sync.Mutex
	stored     map[string][]byte // Message-ID -> raw
	order      []string
	deliveries int // Deliver calls that committed
	msgsSeen   int // messages handed to Deliver, including repeats
	cursors    map[string]kp.Cursor
	failOn     func(raw []byte) bool // Deliver errors for a batch holding such a message
	quarantine func(raw []byte) bool
	leave      func(raw []byte) bool
	changed    chan struct{} // receives after every committed Deliver
}

func newMemSink() *memSink {
	return &memSink{stored: map[string][]byte{}, cursors: map[string]kp.Cursor{}, changed: make(chan struct{}, 1)}
}

func (s *memSink) Cursor(_ context.Context, mailbox string) (kp.Cursor, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cursors[mailbox]
	return c, ok, nil
}

var errPoison = errors.New("poison message")

func (s *memSink) Deliver(_ context.Context, cur kp.Cursor, msgs []Fetched) ([]Disposition, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgsSeen += len(msgs)
	for _, m := range msgs {
		if s.failOn != nil && s.failOn(m.Raw) {
			return nil, errPoison
		}
	}
	disp := make([]Disposition, len(msgs))
	for i, m := range msgs {
		id := rawMessageID(m.Raw)
		if _, dup := s.stored[id]; !dup {
			s.stored[id] = m.Raw
			s.order = append(s.order, id)
		}
		switch {
		case s.quarantine != nil && s.quarantine(m.Raw):
			disp[i] = Quarantined
		case s.leave != nil && s.leave(m.Raw):
			disp[i] = Leave
		default:
			disp[i] = Processed
		}
	}
	if old, ok := s.cursors[cur.Mailbox]; ok && old.UIDValidity == cur.UIDValidity && old.LastUID > cur.LastUID {
		panic("cursor went backwards")
	}
	s.cursors[cur.Mailbox] = cur
	s.deliveries++
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return disp, nil
}

func (s *memSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.stored)
}

func (s *memSink) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.stored[id]
	return ok
}

func rawMessageID(raw []byte) string {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err == nil {
		if id := strings.Trim(m.Header.Get("Message-ID"), "<> "); id != "" {
			return id
		}
	}
	return fmt.Sprintf("synthetic-%x", raw[:min(len(raw), 32)])
}

// waitFor blocks until cond holds, re-checking after every commit of the
// sink and whenever a status changes, bounded by the test's deadline.
func waitForSink(t testing.TB, sink *memSink, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond) // re-check folder counts, which the sink does not signal
	defer tick.Stop()
	for !cond() {
		select {
		case <-sink.changed:
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s (stored %d)", what, sink.count())
		}
	}
}

func imapTestLogger(t testing.TB) *slog.Logger {
	if os.Getenv("IMAP_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// runPoller starts p.Run and returns a stop function that cancels and
// returns Run's result.
func runPoller(t testing.TB, p *Poller) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(60 * time.Second):
				err = errors.New("Run did not return after cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

func memIMAPConfig(srv *imaptest.Server) IMAPConfig {
	return IMAPConfig{
		Addr:       srv.Addr,
		Security:   SecurityPlain,
		Username:   srv.Username,
		Password:   srv.Password,
		BatchSize:  7,
		MinBackoff: 5 * time.Millisecond,
		MaxBackoff: 50 * time.Millisecond,
		// As serve runs it: sizes first.
		MaxMessageBytes: 50 << 20,
	}
}

func TestPollerDeliversMovesAndAdvancesCursor(t *testing.T) {
	srv := imaptest.Start(t, imaptest.Options{})
	const n = 30
	for i := range n {
		srv.Append(t, "INBOX", imaptest.Message(fmt.Sprintf("m%d@example.org", i), 500))
	}
	bad := []byte("X-Junk: \xff\xfe\r\n\r\nthis is not a message at all\x00")
	srv.Append(t, "INBOX", bad)
	sink := newMemSink()
	sink.quarantine = func(raw []byte) bool {
		return bytes.Contains(raw, []byte("not a message")) || bytes.Contains(raw, []byte("<m3@"))
	}
	p := NewPoller(memIMAPConfig(srv), sink, imapTestLogger(t))
	stop := runPoller(t, p)

	defer func() {
		t.Logf("INBOX %d Processed %d Quarantine %d", srv.Count("INBOX"), srv.Count("Processed"), srv.Count("Quarantine"))
	}()
	waitForSink(t, sink, "all moved", func() bool {
		return srv.Count("INBOX") == 0 && srv.Count("Processed") == n-1 && srv.Count("Quarantine") == 2
	})
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := sink.count(); got != n+1 {
		t.Errorf("stored %d messages, want %d", got, n+1)
	}
	if sink.msgsSeen != n+1 {
		t.Errorf("sink was handed %d messages, want each of %d once", sink.msgsSeen, n+1)
	}
	cur := sink.cursors["INBOX"]
	if cur.LastUID != n+1 || cur.UIDValidity != srv.UIDValidity("INBOX") {
		t.Errorf("cursor = %+v, want LastUID %d UIDValidity %d", cur, n+1, srv.UIDValidity("INBOX"))
	}
	if st := p.Status(); st.LastSync.IsZero() || st.Connected {
		t.Errorf("status after stop = %+v, want LastSync set and not connected", st)
	}
}

func TestPollerIdleReceivesNewMessage(t *testing.T) {
	srv := imaptest.Start(t, imaptest.Options{})
	sink := newMemSink()
	p := NewPoller(memIMAPConfig(srv), sink, imapTestLogger(t))
	runPoller(t, p)
	waitForSink(t, sink, "first sync", func() bool { return !p.Status().LastSync.IsZero() })
	for i := range 3 {
		id := fmt.Sprintf("idle%d@example.org", i)
		srv.Append(t, "INBOX", imaptest.Message(id, 200))
		waitForSink(t, sink, id, func() bool { return sink.has(id) })
	}
	waitForSink(t, sink, "moved", func() bool { return srv.Count("Processed") == 3 && srv.Count("INBOX") == 0 })
	if got := srv.Sessions(); got != 1 {
		t.Errorf("sessions = %d, want 1 (new mail must arrive over the idle connection)", got)
	}
}

func TestPollerPollsWithoutIdle(t *testing.T) {
	srv := imaptest.Start(t, imaptest.Options{})
	sink := newMemSink()
	cfg := memIMAPConfig(srv)
	cfg.NoIdle = true
	cfg.PollInterval = 10 * time.Millisecond
	p := NewPoller(cfg, sink, imapTestLogger(t))
	runPoller(t, p)
	waitForSink(t, sink, "first sync", func() bool { return !p.Status().LastSync.IsZero() })
	srv.Append(t, "INBOX", imaptest.Message("poll@example.org", 200))
	waitForSink(t, sink, "polled message", func() bool { return sink.has("poll@example.org") && srv.Count("Processed") == 1 })
}

func TestPollerFirstSyncAtStart(t *testing.T) {
	srv := imaptest.Start(t, imaptest.Options{})
	srv.Append(t, "INBOX", imaptest.Message("early@example.org", 200))
	sink := newMemSink()
	cfg := memIMAPConfig(srv)
	cfg.NoIdle = true
	cfg.PollInterval = time.Hour // a sync that waited one interval would never come
	p := NewPoller(cfg, sink, imapTestLogger(t))
	runPoller(t, p)
	waitForSink(t, sink, "message present at start", func() bool { return sink.has("early@example.org") })
}

func TestPollerFallbackWithoutMove(t *testing.T) {
	for _, tc := range []struct {
		name      string
		noUIDPlus bool
	}{{"uidplus", false}, {"no-uidplus", true}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := imaptest.Start(t, imaptest.Options{NoMove: true, NoUIDPlus: tc.noUIDPlus})
			// Someone else's deleted message must survive: we never expunge it.
			srv.Append(t, "INBOX", imaptest.Message("other@example.org", 100))
			const n = 12
			for i := range n {
				srv.Append(t, "INBOX", imaptest.Message(fmt.Sprintf("f%d@example.org", i), 300))
			}
			sink := newMemSink()
			sink.leave = func(raw []byte) bool { return bytes.Contains(raw, []byte("<other@")) }
			p := NewPoller(memIMAPConfig(srv), sink, imapTestLogger(t))
			runPoller(t, p)
			wantInbox := 1
			if tc.noUIDPlus {
				wantInbox = n + 1 // copied and flagged \Deleted, never expunged
			}
			waitForSink(t, sink, "copied", func() bool {
				return srv.Count("Processed") == n && srv.Count("INBOX") == wantInbox
			})
			if got := sink.count(); got != n+1 {
				t.Errorf("stored %d, want %d", got, n+1)
			}
		})
	}
}

func TestPollerStopsOnCancel(t *testing.T) {
	srv := imaptest.Start(t, imaptest.Options{})
	sink := newMemSink()
	p := NewPoller(memIMAPConfig(srv), sink, imapTestLogger(t))
	stop := runPoller(t, p)
	waitForSink(t, sink, "idle", func() bool { return !p.Status().LastSync.IsZero() })
	if err := stop(); err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
	if p.Status().Connected {
		t.Errorf("still connected after Run returned")
	}
}

func TestPollerRefusesPlainToRemoteHost(t *testing.T) {
	p := NewPoller(IMAPConfig{Addr: "192.0.2.1:143", Security: SecurityPlain, Username: "u"}, newMemSink(), nil)
	err := p.Run(context.Background())
	if !errors.Is(err, ErrInsecure) {
		t.Fatalf("Run = %v, want ErrInsecure", err)
	}
}

func TestPollerStartTLS(t *testing.T) {
	srv := imaptest.Start(t, imaptest.Options{StartTLS: true})
	srv.Append(t, "INBOX", imaptest.Message("tls@example.org", 200))
	sink := newMemSink()
	cfg := memIMAPConfig(srv)
	cfg.Security = SecurityStartTLS
	cfg.TLSConfig = &tls.Config{RootCAs: srv.RootCAs}
	p := NewPoller(cfg, sink, imapTestLogger(t))
	runPoller(t, p)
	waitForSink(t, sink, "delivered over STARTTLS", func() bool { return sink.has("tls@example.org") && srv.Count("Processed") == 1 })
}

func TestPollerUnparseableDoesNotBlock(t *testing.T) {
	srv := imaptest.Start(t, imaptest.Options{})
	srv.Append(t, "INBOX", []byte("X-Junk: \x00\x01\r\n\r\ngarbage without usable headers"))
	const n = 10
	for i := range n {
		srv.Append(t, "INBOX", imaptest.Message(fmt.Sprintf("after%d@example.org", i), 200))
	}
	sink := newMemSink()
	// The sink cannot take the garbage at all (errors for any batch holding it).
	sink.failOn = func(raw []byte) bool { return bytes.Contains(raw, []byte("garbage without")) }
	p := NewPoller(memIMAPConfig(srv), sink, imapTestLogger(t))
	runPoller(t, p)
	waitForSink(t, sink, "the good ones", func() bool { return srv.Count("Processed") == n })
	if srv.Count("INBOX") != 1 {
		t.Errorf("INBOX = %d, want the one undeliverable message left in place", srv.Count("INBOX"))
	}
}

func TestPollerUIDValidityChangeRescans(t *testing.T) {
	srv := imaptest.Start(t, imaptest.Options{})
	for i := range 5 {
		srv.Append(t, "INBOX", imaptest.Message(fmt.Sprintf("v%d@example.org", i), 100))
	}
	sink := newMemSink()
	// A stored cursor from an older incarnation of the mailbox, far ahead.
	sink.cursors["INBOX"] = kp.Cursor{Mailbox: "INBOX", UIDValidity: srv.UIDValidity("INBOX") + 1000, LastUID: 9999}
	// One of them was already stored then: it must not be stored twice.
	sink.stored["v2@example.org"] = []byte("old copy")
	p := NewPoller(memIMAPConfig(srv), sink, imapTestLogger(t))
	runPoller(t, p)
	waitForSink(t, sink, "rescan", func() bool { return srv.Count("Processed") == 5 })
	cur, _, _ := sink.Cursor(context.Background(), "INBOX")
	if cur.UIDValidity != srv.UIDValidity("INBOX") || cur.LastUID != 5 {
		t.Errorf("cursor = %+v, want new uidvalidity and LastUID 5", cur)
	}
	if sink.count() != 5 {
		t.Errorf("stored %d, want 5 (deduplicated)", sink.count())
	}
}

// TestPollerReconnectsAfterDropMidFetch cuts the connection while a
// message body is streaming: the poller reconnects and nothing is lost.
func TestPollerReconnectsAfterDropMidFetch(t *testing.T) {
	srv := imaptest.Start(t, imaptest.Options{})
	proxy := imaptest.NewProxy(t, srv.Addr)
	const n = 40
	for i := range n {
		srv.Append(t, "INBOX", imaptest.Message(fmt.Sprintf("d%d@example.org", i), 2000))
	}
	cut := proxy.CutOn(true, "Message-ID: <d10@")
	sink := newMemSink()
	cfg := memIMAPConfig(srv)
	cfg.Addr = proxy.Addr
	p := NewPoller(cfg, sink, imapTestLogger(t))
	runPoller(t, p)
	<-cut
	waitForSink(t, sink, "all after reconnect", func() bool {
		return sink.count() == n && srv.Count("Processed") == n && srv.Count("INBOX") == 0
	})
	if proxy.Accepts() < 2 {
		t.Errorf("proxy accepted %d connections, want a reconnect", proxy.Accepts())
	}
	// Connected again: the error of the lost session is no longer news.
	if st := p.Status(); st.Reconnects < 1 || !st.Connected || st.LastError != "" || st.Since.IsZero() {
		t.Errorf("status = %+v, want reconnected, the old error cleared", st)
	}
}

// TestPollerReconnectsAfterDropMidIdle cuts the connection while IDLE runs
// and appends mail while it is down: the poller reconnects and gets it.
func TestPollerReconnectsAfterDropMidIdle(t *testing.T) {
	srv := imaptest.Start(t, imaptest.Options{})
	proxy := imaptest.NewProxy(t, srv.Addr)
	cut := proxy.CutOn(true, "+ idling\r\n")
	sink := newMemSink()
	cfg := memIMAPConfig(srv)
	cfg.Addr = proxy.Addr
	p := NewPoller(cfg, sink, imapTestLogger(t))
	runPoller(t, p)
	<-cut
	for i := range 5 {
		srv.Append(t, "INBOX", imaptest.Message(fmt.Sprintf("i%d@example.org", i), 300))
	}
	waitForSink(t, sink, "mail appended during the outage", func() bool {
		return sink.count() == 5 && srv.Count("Processed") == 5
	})
	if proxy.Accepts() < 2 {
		t.Errorf("proxy accepted %d connections, want a reconnect", proxy.Accepts())
	}
}

// TestPollerCrashBetweenCommitAndMove: mail committed earlier but still in
// the mailbox is recognised by the Sink and only moved.
func TestPollerCrashBetweenCommitAndMove(t *testing.T) {
	srv := imaptest.Start(t, imaptest.Options{})
	for i := range 4 {
		srv.Append(t, "INBOX", imaptest.Message(fmt.Sprintf("c%d@example.org", i), 100))
	}
	sink := newMemSink()
	for i := range 4 {
		sink.stored[fmt.Sprintf("c%d@example.org", i)] = []byte("committed before the crash")
	}
	sink.cursors["INBOX"] = kp.Cursor{Mailbox: "INBOX", UIDValidity: srv.UIDValidity("INBOX"), LastUID: 4}
	p := NewPoller(memIMAPConfig(srv), sink, imapTestLogger(t))
	runPoller(t, p)
	waitForSink(t, sink, "moved", func() bool { return srv.Count("Processed") == 4 })
	if sink.count() != 4 {
		t.Errorf("stored %d, want 4", sink.count())
	}
}

// blockingSink holds Deliver until released, to cancel Run mid-batch.
type blockingSink struct {
	*memSink
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (s *blockingSink) Deliver(ctx context.Context, cur kp.Cursor, msgs []Fetched) ([]Disposition, error) {
	s.once.Do(func() {
		close(s.entered)
		<-s.release
	})
	return s.memSink.Deliver(ctx, cur, msgs)
}

// TestPollerFinishesBatchInHandOnCancel cancels Run while the Sink commits a
// batch: the batch is still moved, later batches are not fetched, and Run
// returns nil.
func TestPollerFinishesBatchInHandOnCancel(t *testing.T) {
	srv := imaptest.Start(t, imaptest.Options{})
	for i := range 20 {
		srv.Append(t, "INBOX", imaptest.Message(fmt.Sprintf("b%d@example.org", i), 100))
	}
	sink := &blockingSink{memSink: newMemSink(), entered: make(chan struct{}), release: make(chan struct{})}
	cfg := memIMAPConfig(srv)
	cfg.BatchSize = 5
	p := NewPoller(cfg, sink, imapTestLogger(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	<-sink.entered
	cancel()
	close(sink.release)
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if got := srv.Count("Processed"); got != 5 {
		t.Errorf("Processed = %d, want exactly the batch in hand (5) moved", got)
	}
	if got := sink.count(); got != srv.Count("Processed") {
		t.Errorf("stored %d but moved %d: committed mail left behind", got, srv.Count("Processed"))
	}
}

// TestPollerRetriesLeftMailOnFullPass: a message the Sink leaves in place
// is offered again at the next full pass (each IDLE restart).
func TestPollerRetriesLeftMailOnFullPass(t *testing.T) {
	srv := imaptest.Start(t, imaptest.Options{})
	srv.Append(t, "INBOX", imaptest.Message("later@example.org", 100))
	sink := newMemSink()
	var mu sync.Mutex
	leave := true
	sink.leave = func([]byte) bool { mu.Lock(); defer mu.Unlock(); return leave }
	cfg := memIMAPConfig(srv)
	cfg.IdleRestart = 20 * time.Millisecond
	p := NewPoller(cfg, sink, imapTestLogger(t))
	runPoller(t, p)
	waitForSink(t, sink, "first offer", func() bool { return sink.has("later@example.org") })
	if srv.Count("INBOX") != 1 {
		t.Fatalf("left message was moved")
	}
	mu.Lock()
	leave = false
	mu.Unlock()
	waitForSink(t, sink, "moved on a later pass", func() bool { return srv.Count("Processed") == 1 && srv.Count("INBOX") == 0 })
}

func TestPollerReconnectsAndCountsFailures(t *testing.T) {
	// The proxy accepts and then fails to reach its target (a closed port),
	// so every session dies before the greeting.
	dead := imaptest.NewProxy(t, "127.0.0.1:1")
	cfg := IMAPConfig{Addr: dead.Addr, Security: SecurityPlain, Username: "u", Password: "p",
		MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond}
	p := NewPoller(cfg, newMemSink(), imapTestLogger(t))
	runPoller(t, p)
	waitForSink(t, newMemSink(), "reconnects", func() bool { return p.Status().Reconnects >= 6 })
	if st := p.Status(); st.Connected || st.LastError == "" || !st.Since.IsZero() {
		t.Errorf("status = %+v, want disconnected with an error, never connected", st)
	}
}

func TestDefaultBackoffCapIsAMinute(t *testing.T) {
	p := NewPoller(IMAPConfig{Addr: "127.0.0.1:1"}, newMemSink(), nil)
	if p.cfg.MinBackoff != time.Second || p.cfg.MaxBackoff != time.Minute {
		t.Errorf("backoff %v..%v, want 1s..1m", p.cfg.MinBackoff, p.cfg.MaxBackoff)
	}
}

func TestBackoffDelayIsJitteredAndCapped(t *testing.T) {
	min, max := time.Second, 8*time.Second
	b := min
	var got []time.Duration
	for range 6 {
		got = append(got, jittered(b, 1))
		b = nextBackoff(b, max)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second, 8 * time.Second}
	if !slices.Equal(got, want) {
		t.Errorf("delays with full jitter factor = %v, want %v", got, want)
	}
	if d := jittered(4*time.Second, 0); d != 2*time.Second {
		t.Errorf("lowest jitter = %v, want half the backoff", d)
	}
}

// prepSink is a memSink that prepares fetched batches (a Preparer): it
// counts the batches prepared and those delivered through them.
type prepSink struct {
	*memSink
	prepared, viaPrepared int
}

func (s *prepSink) Prepare(mailbox string, uidValidity uint32, msgs []Fetched) Prepared {
	s.mu.Lock()
	s.prepared++
	s.mu.Unlock()
	return prepBatch{s: s, mailbox: mailbox, uidValidity: uidValidity, msgs: msgs}
}

type prepBatch struct {
	s           *prepSink
	mailbox     string
	uidValidity uint32
	msgs        []Fetched
}

func (b prepBatch) Deliver(ctx context.Context, cur kp.Cursor) ([]Disposition, error) {
	if cur.Mailbox != b.mailbox || cur.UIDValidity != b.uidValidity {
		return nil, fmt.Errorf("prepared for %s/%d, delivered under %+v", b.mailbox, b.uidValidity, cur)
	}
	disp, err := b.s.memSink.Deliver(ctx, cur, b.msgs)
	if err == nil {
		b.s.mu.Lock()
		b.s.viaPrepared++
		b.s.mu.Unlock()
	}
	return disp, err
}

func TestPollerDeliversPreparedBatchesOnceAndMovesThem(t *testing.T) {
	srv := imaptest.Start(t, imaptest.Options{})
	const n = 30
	for i := range n {
		srv.Append(t, "INBOX", imaptest.Message(fmt.Sprintf("p%d@example.org", i), 500))
	}
	sink := &prepSink{memSink: newMemSink()}
	p := NewPoller(memIMAPConfig(srv), sink, imapTestLogger(t))
	stop := runPoller(t, p)
	waitForSink(t, sink.memSink, "all moved", func() bool { return srv.Count("INBOX") == 0 && srv.Count("Processed") == n })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := sink.count(); got != n {
		t.Errorf("stored %d messages, want %d", got, n)
	}
	if sink.msgsSeen != n {
		t.Errorf("sink was handed %d messages, want each of %d once", sink.msgsSeen, n)
	}
	// Batches of 7: five of them, each prepared and delivered through it.
	if sink.prepared != 5 || sink.viaPrepared != 5 || sink.deliveries != 5 {
		t.Errorf("prepared %d batches, delivered %d through them, %d deliveries in all; want 5 each", sink.prepared, sink.viaPrepared, sink.deliveries)
	}
	if cur := sink.cursors["INBOX"]; cur.LastUID != n {
		t.Errorf("cursor = %+v, want LastUID %d", cur, n)
	}
}

func TestPollerFailedPreparedBatchIsDeliveredOneByOne(t *testing.T) {
	srv := imaptest.Start(t, imaptest.Options{})
	const n = 10
	for i := range n {
		srv.Append(t, "INBOX", imaptest.Message(fmt.Sprintf("q%d@example.org", i), 200))
	}
	srv.Append(t, "INBOX", []byte("Subject: x\r\n\r\ngarbage without a sender"))
	sink := &prepSink{memSink: newMemSink()}
	sink.failOn = func(raw []byte) bool { return bytes.Contains(raw, []byte("garbage without")) }
	p := NewPoller(memIMAPConfig(srv), sink, imapTestLogger(t))
	stop := runPoller(t, p)
	waitForSink(t, sink.memSink, "the good ones", func() bool { return srv.Count("Processed") == n })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if srv.Count("INBOX") != 1 {
		t.Errorf("INBOX = %d, want the one undeliverable message left in place", srv.Count("INBOX"))
	}
	if got := sink.count(); got != n {
		t.Errorf("stored %d messages, want %d", got, n)
	}
	// The batch of 7 holding the garbage (the second) failed as a whole
	// and went one by one through Deliver; the first went through its
	// prepared batch.
	if sink.viaPrepared != 1 {
		t.Errorf("%d batches delivered through their prepared batch, want 1", sink.viaPrepared)
	}
}
