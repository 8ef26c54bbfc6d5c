package main

import (
	"bufio"
	"context"
	"io"
	stdlog "log"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"

	kp "kontaktpunkt"
	"kontaktpunkt/config"
	"kontaktpunkt/store"
)

// stopServer stops the running program the way serve does on SIGTERM
// (cancel, let Run return, close the store) and leaves the mail world up.
func stopServer(t *testing.T, d *demo) {
	t.Helper()
	d.stop()
	err := <-d.done
	d.done <- err
	if err != nil {
		t.Errorf("Run: %v", err)
	}
	if err := d.srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// startServer starts a new program on cfg (the same store as before) with
// the demo's clock and makes it the demo's.
func startServer(t *testing.T, ctx context.Context, d *demo, cfg *config.Config) {
	t.Helper()
	srv, err := NewServer(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv.Now = d.clock.Now
	if err := srv.Open(); err != nil {
		t.Fatalf("reopening: %v", err)
	}
	runCtx, stop := context.WithCancel(ctx)
	d.srv, d.stop, d.done = srv, stop, make(chan error, 1)
	go func() { d.done <- srv.Run(runCtx) }()
	select {
	case <-srv.Ready():
	case err := <-d.done:
		d.done <- err
		t.Fatalf("the program stopped at start: %v", err)
	}
}

// downSMTP is a relay that is down for maintenance: it answers every
// connection with 421 and hangs up. The first connection closes tried.
type downSMTP struct {
	ln    net.Listener
	once  sync.Once
	tried chan struct{}
}

func newDownSMTP(t *testing.T) *downSMTP {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &downSMTP{ln: ln, tried: make(chan struct{})}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, "421 4.3.2 down for maintenance\r\n")
			c.Close()
			s.once.Do(func() { close(s.tried) })
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

// collect waits until every named predicate has matched a mail the
// gateway sent, in any order, and returns the matching mails by name.
func collect(ctx context.Context, d *demo, preds map[string]func(shownMail) bool) (map[string]shownMail, error) {
	got := map[string]shownMail{}
	_, err := d.expect(ctx, "mails in any order", func(m shownMail) bool {
		for name, p := range preds {
			if _, ok := got[name]; !ok && p(m) {
				got[name] = m
				break
			}
		}
		return len(got) == len(preds)
	})
	return got, err
}

// TestRestartSendsQueuedMailOnce stops the program in the middle of the
// conversation while the relay is down and mail is queued, lets a mail
// arrive while nothing runs, and starts a new program on the same store:
// each queued mail goes out exactly once, and each received mail is
// applied exactly once.
func TestRestartSendsQueuedMailOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out strings.Builder
	d, err := startDemo(ctx, t.TempDir(), &out, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { d.close() }()
	good := d.srv.Config

	// The relay is down: the program runs against it.
	down := newDownSMTP(t)
	restartWithRelay(t, ctx, d, down.ln.Addr().String())

	// Ola's request opens the case; the acknowledgement and the staff
	// notification are queued, and the outbox tries the relay in vain.
	if _, err := d.write(demoOla, false, "Tilgang til studentdata fra FS", "Hei!\nKan vi få tilgang?\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-down.tried:
	case <-ctx.Done():
		t.Fatal("the outbox never tried the relay")
	}
	stopServer(t, d)

	// Ola writes again while nothing runs.
	if _, err := d.write(demoOla, false, "[INT#1] Glemte å nevne", "Det gjelder også vårsemesteret.\n"); err != nil {
		t.Fatal(err)
	}

	// A new program with the relay back: what was queued goes out after its
	// retry time, and Ola's second mail is relayed to staff.
	startServer(t, ctx, d, good)
	var queued []kp.Outbound
	if err := d.srv.Store.View(func(tx *store.Tx) error {
		var err error
		queued, err = tx.ListOutbound(kp.OutQueued, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, o := range queued {
		kinds[o.Kind]++
	}
	if len(queued) != 2 || kinds["ack"] != 1 || kinds["notify"] != 1 {
		t.Errorf("queued across the restart: %v, want one ack and one notify", kinds)
	}
	d.advanceTo(d.clock.Now().Add(time.Hour))
	got, err := collect(ctx, d, map[string]func(shownMail) bool{
		"ack": kindTo("ack", demoOla), "notify": kindTo("notify", demoKari), "relay": kindTo("relay", demoKari)})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}

	// The conversation goes on: Kari assigns the case to Per.
	notify := got["notify"]
	if _, err := d.write(demoKari, true, "[assign:per.hansen] Re: "+notify.Subject, "",
		"In-Reply-To: <"+notify.MessageID+">"); err != nil {
		t.Fatal(err)
	}
	if _, err := collect(ctx, d, map[string]func(shownMail) bool{
		"assign": kindTo("assign", demoPer), "receipt": kindTo("receipt", demoKari)}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	stopServer(t, d)

	count := map[string]int{}
	for _, del := range d.world.Deliveries() {
		if !strings.EqualFold(del.From, demoContact.Addr) {
			continue
		}
		for _, line := range strings.Split(string(del.Raw), "\r\n") {
			if k, ok := strings.CutPrefix(line, "X-Kontaktpunkt-Kind: "); ok {
				count[k+" to "+strings.Join(del.To, ",")]++
			}
		}
	}
	want := map[string]int{
		"ack to " + demoOla.Addr: 1, "notify to " + demoKari.Addr: 1, "relay to " + demoKari.Addr: 1,
		"assign to " + demoPer.Addr: 1, "receipt to " + demoKari.Addr: 1,
	}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%s: %d mails, want %d", k, count[k], n)
		}
	}
	if len(count) != len(want) {
		t.Errorf("mails sent: %v, want %v", count, want)
	}

	// Each received mail was applied once, queued its mail once, and left
	// the intake mailbox.
	st, err := store.Open(good.Store.Path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var msgs []kp.Message
	var outs []kp.Outbound
	if err := st.View(func(tx *store.Tx) error {
		var err error
		if msgs, err = tx.CaseMessages(1); err != nil {
			return err
		}
		outs, err = tx.ListOutbound("", 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	in := 0
	for _, m := range msgs {
		if m.Direction == kp.In {
			in++
		}
	}
	if in != 3 {
		t.Errorf("case 1 holds %d inbound messages, want 3 (request, Ola's second mail, the assignment)", in)
	}
	if len(outs) != 5 {
		t.Errorf("outbox holds %d messages, want 5", len(outs))
	}
	checkContactMailbox(t, d, 3)
}

// checkContactMailbox checks that the contact mailbox's INBOX is empty and
// Processed holds processed messages.
func checkContactMailbox(t *testing.T, d *demo, processed int) {
	t.Helper()
	inbox, err := d.world.Count(demoContact.Addr, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.world.Count(demoContact.Addr, "Processed")
	if err != nil {
		t.Fatal(err)
	}
	if inbox != 0 || got != processed {
		t.Errorf("contact mailbox: INBOX %d, Processed %d; want 0 and %d", inbox, got, processed)
	}
}

// restartWithRelay stops the program and starts it again on the same
// store and mail world, sending through the SMTP relay at addr.
func restartWithRelay(t *testing.T, ctx context.Context, d *demo, addr string) {
	t.Helper()
	stopServer(t, d)
	cfg := *d.srv.Config
	_, cfg.SMTP.Port = splitHostPort(addr)
	startServer(t, ctx, d, &cfg)
}

// heldRelay is an SMTP relay that takes each message and then holds its
// reply to the final "." until released: the moment where a stop must not
// abandon a message the relay already has.
type heldRelay struct {
	got     chan struct{} // receives once per message taken
	release chan struct{} // closed to let the relay answer 250
}

func (r *heldRelay) NewSession(*smtp.Conn) (smtp.Session, error) { return heldSession{r}, nil }

type heldSession struct{ r *heldRelay }

func (heldSession) Mail(string, *smtp.MailOptions) error { return nil }
func (heldSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (heldSession) Reset()                               {}
func (heldSession) Logout() error                        { return nil }
func (s heldSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	s.r.got <- struct{}{}
	<-s.r.release
	return nil
}

// TestStopFinishesSendInHand stops the program while the relay holds the
// answer to a message it has already taken. The stop must wait for that
// answer and record the message as sent; recording it as still queued
// would send it a second time after the restart.
func TestStopFinishesSendInHand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out strings.Builder
	d, err := startDemo(ctx, t.TempDir(), &out, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { d.close() }()

	relay := &heldRelay{got: make(chan struct{}, 16), release: make(chan struct{})}
	release := sync.OnceFunc(func() { close(relay.release) })
	defer release()
	srv := smtp.NewServer(relay)
	srv.Domain = "relay.localhost"
	srv.ErrorLog = stdlog.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	restartWithRelay(t, ctx, d, ln.Addr().String())
	if _, err := d.write(demoOla, false, "Tilgang til studentdata fra FS", "Hei!\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-relay.got:
	case <-ctx.Done():
		t.Fatal("the relay never got the acknowledgement")
	}
	d.stop() // SIGTERM while the relay holds its 250
	release()
	stopServer(t, d)

	st, err := store.Open(d.srv.Config.Store.Path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var outs []kp.Outbound
	if err := st.View(func(tx *store.Tx) error {
		var err error
		outs, err = tx.ListOutbound("", 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		if o.Kind == "ack" && o.State != kp.OutSent {
			t.Errorf("the acknowledgement the relay took is %s after the stop (attempts %d, %s); a restart sends it again",
				o.State, o.Attempts, o.LastError)
		}
	}
}

// demoLines hands the demo's output to the test line by line until quit
// is called, and discards the rest so the demo never blocks writing.
func demoLines(r io.Reader) (lines <-chan string, quit func()) {
	ch := make(chan string)
	done := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			select {
			case ch <- sc.Text():
			case <-done:
			}
		}
		close(ch)
		_, _ = io.Copy(io.Discard, r)
	}()
	return ch, sync.OnceFunc(func() { close(done) })
}

// TestDemoKeep runs demo -keep and uses what it prints the way a person
// with a mail client would: log in to IMAP as Kari and find her mail,
// then stop it with the context (Ctrl-C).
func TestDemoKeep(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	result := make(chan error, 1)
	go func() {
		err := cmdDemo(runCtx, []string{"-keep"}, pw, io.Discard)
		pw.Close()
		result <- err
	}()
	lines, quit := demoLines(pr)
	defer quit()

	var imapAddr, password string
	var transcript strings.Builder
	for imapAddr == "" || password == "" {
		var line string
		var ok bool
		select {
		case line, ok = <-lines:
		case <-ctx.Done():
			t.Fatalf("no access details printed:\n%s", transcript.String())
		}
		if !ok {
			t.Fatalf("demo ended without access details (%v):\n%s", <-result, transcript.String())
		}
		transcript.WriteString(line + "\n")
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "IMAP":
			imapAddr = f[1]
		case len(f) == 3 && f[0] == demoKari.Addr && f[1] == demoKari.Login:
			password = f[2]
		}
	}

	c, err := imapclient.DialInsecure(imapAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(demoKari.Login, password).Wait(); err != nil {
		t.Fatalf("login as kari with the printed password: %v", err)
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	// The notification, the receipt for [assign:…] and the escalation.
	if sel.NumMessages < 3 {
		t.Errorf("Kari's INBOX holds %d messages, want at least 3", sel.NumMessages)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Error(err)
	}

	quit()
	stop()
	select {
	case err := <-result:
		if err != nil {
			t.Errorf("demo -keep after Ctrl-C: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("demo -keep did not stop with its context")
	}
}
