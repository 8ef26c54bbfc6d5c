package gateway

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/internal/smtptest"
	"kontaktpunkt/mailbox/mailmsg"
	"kontaktpunkt/store"
)

// attachedRequest is a new request carrying a PDF, which the staff
// notification passes on.
func attachedRequest(id string) []byte {
	return msg([]string{"From: Ola Nordmann <" + ola + ">", "To: " + contact, "Subject: Avtale", "Message-ID: <" + id + ">",
		`Content-Type: multipart/mixed; boundary="b"`, "MIME-Version: 1.0"},
		"--b\nContent-Type: text/plain; charset=utf-8\n\nAvtalen er vedlagt.\n--b\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=\"avtale.pdf\"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--b--\n")
}

// TestCrashBetweenCommitAndRenderSendsTheDecidedBytes commits a message
// and the mail it causes, renders that mail as the process would just
// before sending, and "crashes" (closes the store with nothing sent and
// nothing rendered on disk). After a restart the relay receives exactly
// the bytes rendered before the crash, attachment included.
func TestCrashBetweenCommitAndRenderSendsTheDecidedBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kp.db")
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
	if _, err := g.Ingest(context.Background(), []Item{{Source: "x", Raw: attachedRequest("crash1@example.org")}}); err != nil {
		t.Fatal(err)
	}
	before := map[string][]byte{} // Message-ID -> bytes rendered before the crash
	if err := st.View(func(tx *store.Tx) error {
		due, err := tx.DueOutbound(time.Now().Add(time.Hour), 0)
		for i := range due {
			if due[i].Spec == nil || due[i].Raw != nil {
				t.Errorf("outbound %d (%s): queued without a spec, or with bytes", due[i].ID, due[i].Kind)
			}
			raw, err := render(&due[i])
			if err != nil {
				return err
			}
			before[due[i].MessageID] = raw
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(before) != 2 {
		t.Fatalf("queued %d, want the acknowledgement and the notification", len(before))
	}
	if err := st.Close(); err != nil { // the crash: nothing after the commit reached the disk
		t.Fatal(err)
	}

	st, g = open()
	defer st.Close()
	g.Now = func() time.Time { return time.Now().Add(time.Minute) }
	srv := smtptest.Start(t)
	if n, err := g.SendDue(context.Background(), newSender(t, srv)); err != nil || n != 2 {
		t.Fatalf("after restart sent %d, %v; want 2", n, err)
	}
	attached := 0
	for _, m := range srv.Messages() {
		p, err := mailmsg.Parse(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		want, ok := before[p.MessageID]
		if !ok {
			t.Fatalf("sent %s, which was not queued", p.MessageID)
		}
		if !bytes.Equal(m.Data, want) {
			t.Errorf("%s: sent bytes differ from those rendered before the crash:\n%s\n---\n%s", p.MessageID, m.Data, want)
		}
		for _, a := range p.Attachments {
			if a.Name == "avtale.pdf" && bytes.Contains(m.Data, []byte("JVBERi0xLjQK")) {
				attached++
			}
		}
	}
	if attached != 1 {
		t.Errorf("the attachment arrived with %d mails, want 1 (the notification)", attached)
	}
	if err := st.View(func(tx *store.Tx) error {
		list, err := tx.ListOutbound("", 0)
		for _, o := range list {
			full, err := tx.Outbound(o.ID)
			if err != nil {
				return err
			}
			if full.Spec != nil || full.Raw != nil {
				t.Errorf("outbound %d sent and its spec kept", o.ID)
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.Check(); err != nil {
		t.Errorf("store check: %v", err)
	}
}

// TestRenderIsDeterministic renders a queued spec twice, after reading it
// back from a reopened store, and compares with the Message-ID and Date the
// transaction fixed.
func TestRenderIsDeterministic(t *testing.T) {
	h := newHarness(t, nil)
	h.one(attachedRequest("det1@example.org"))
	a, b := h.outbox(), h.outbox()
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("outbox: %d then %d", len(a), len(b))
	}
	for i := range a {
		if !bytes.Equal(a[i].Raw, b[i].Raw) {
			t.Errorf("%s rendered twice differs", a[i].MessageID)
		}
		p, err := mailmsg.Parse(a[i].Raw)
		if err != nil {
			t.Fatal(err)
		}
		if p.MessageID != a[i].MessageID || p.MessageID != a[i].Spec.MessageID {
			t.Errorf("Message-ID %q, outbox says %q", p.MessageID, a[i].MessageID)
		}
		if !p.Date.Equal(a[i].Spec.Date.Truncate(time.Second)) {
			t.Errorf("Date %v, spec says %v", p.Date, a[i].Spec.Date)
		}
	}
}

// TestRetryOfFailedSpecSendsTheSameBytes: a mail refused permanently
// keeps its spec; `outbox retry` puts it back, and the retry sends the
// bytes of the first attempt.
func TestRetryOfFailedSpecSendsTheSameBytes(t *testing.T) {
	h := newHarness(t, nil)
	srv := smtptest.Start(t)
	h.one(request("retry1@example.org"))
	srv.FailPermFor(ola)
	if _, err := h.g.SendDue(context.Background(), newSender(t, srv)); err != nil {
		t.Fatal(err)
	}
	var failed []kp.Outbound
	h.st.View(func(tx *store.Tx) error { failed, _ = tx.ListOutbound(kp.OutFailed, 0); return nil })
	if len(failed) != 1 {
		t.Fatalf("failed = %d, want the acknowledgement", len(failed))
	}
	var first []byte
	h.st.View(func(tx *store.Tx) error {
		o, err := tx.Outbound(failed[0].ID)
		if err == nil {
			first, err = render(o)
		}
		if err != nil {
			t.Fatal(err)
		}
		return nil
	})
	srv.ClearFailures()
	if err := h.g.RetryOutbound(failed[0].ID); err != nil {
		t.Fatal(err)
	}
	if n, err := h.g.SendDue(context.Background(), newSender(t, srv)); err != nil || n < 1 {
		t.Fatalf("retry sent %d, %v", n, err)
	}
	found := false
	for _, m := range srv.Messages() {
		if bytes.Equal(m.Data, first) {
			found = true
		}
	}
	if !found {
		t.Fatal("the retry did not send the bytes of the first attempt")
	}
}

// TestUnrenderableSpecFailsPermanently: a spec that can never become a
// message (an extra header Compose refuses) is not sent, fails at once
// and does not stop the mail queued after it.
func TestUnrenderableSpecFailsPermanently(t *testing.T) {
	h := newHarness(t, nil)
	srv := smtptest.Start(t)
	now := h.clock.Now()
	bad := &kp.Outbound{Kind: "digest", MessageID: "bad1@uio.no", From: contact, To: []string{kari}, Subject: "x",
		State: kp.OutQueued, NextTry: now, Queued: now,
		Spec: &kp.OutSpec{From: kp.Address{Addr: contact}, To: []kp.Address{{Addr: kari}}, Subject: "x", Text: "x",
			MessageID: "bad1@uio.no", Date: now, Headers: map[string]string{"Bad\r\nHeader": "x"}}}
	if err := h.st.Update(func(tx *store.Tx) error { return tx.Enqueue(bad) }); err != nil {
		t.Fatal(err)
	}
	h.one(request("after1@example.org"))
	n, err := h.g.SendDue(context.Background(), newSender(t, srv))
	if err != nil || n != 2 {
		t.Fatalf("sent %d, %v; want the acknowledgement and the notification", n, err)
	}
	var o *kp.Outbound
	h.st.View(func(tx *store.Tx) error { o, err = tx.Outbound(bad.ID); return err })
	if err != nil || o.State != kp.OutFailed || !strings.Contains(o.LastError, "compos") {
		t.Fatalf("bad spec: %+v, %v", o, err)
	}
	if !errors.Is(func() error { _, err := render(o); return err }(), mailmsg.ErrCompose) {
		t.Error("render error does not wrap ErrCompose")
	}
}

// TestJournaledSendsAreRecordedAtStart: sends a stop left in the journal
// are recorded before anything is read as due, so they are not sent
// again; a record whose Message-ID does not match the outbound message
// with its id (a journal beside a store restored from an older backup)
// is ignored, and that message is sent.
func TestJournaledSendsAreRecordedAtStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kp.db")
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	ids := enqueueN(t, st, 3, now)
	j, err := store.OpenSendJournal(path+".sent", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append([]store.JournaledSend{
		{ID: 1, IDHash: store.MessageIDHash(ids[0]), Sent: now},
		{ID: 2, IDHash: store.MessageIDHash("another@uio.no"), Sent: now},
	}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	g, err := New(testConfig(), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	g.Now = func() time.Time { return now.Add(time.Second) }
	srv := smtptest.Start(t)
	if n, err := g.SendDue(context.Background(), newSender(t, srv)); err != nil || n != 2 {
		t.Fatalf("sent %d, %v; want 2 (the journaled one is sent already)", n, err)
	}
	for _, m := range srv.Messages() {
		if bytes.Contains(m.Data, []byte(ids[0])) {
			t.Errorf("%s sent again", ids[0])
		}
	}
	var o *kp.Outbound
	st.View(func(tx *store.Tx) error { o, err = tx.Outbound(1); return err })
	if err != nil || o.State != kp.OutSent || !o.Sent.Equal(now) {
		t.Fatalf("journaled outbound: %+v, %v", o, err)
	}
	j, err = store.OpenSendJournal(path+".sent", false)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if p, err := j.Pending(); err != nil || len(p) != 0 {
		t.Fatalf("journal after the sends: %d records, %v", len(p), err)
	}
}

// TestIntakeBusyWhileDelivering: the intake counts as busy while a
// delivery runs and for intakeQuiet after it, so the outbox worker holds
// back; it is quiet before any delivery, and a cancelled worker does not
// wait.
func TestIntakeBusyWhileDelivering(t *testing.T) {
	var s intakeState
	if d := s.busyFor(); d != 0 {
		t.Fatalf("before any delivery busy for %v", d)
	}
	s.begin()
	if d := s.busyFor(); d != intakeQuiet {
		t.Fatalf("during a delivery busy for %v, want %v", d, intakeQuiet)
	}
	s.end()
	if d := s.busyFor(); d <= 0 || d > intakeQuiet {
		t.Fatalf("just after a delivery busy for %v, want up to %v", d, intakeQuiet)
	}
	h := newHarness(t, nil)
	h.g.intake.begin()
	defer h.g.intake.end()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h.g.yieldToIntake(ctx) // returns at once
}
