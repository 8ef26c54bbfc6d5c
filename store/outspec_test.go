package store

import (
	"reflect"
	"strings"
	"testing"
	"time"

	kp "kontaktpunkt"
)

// TestOutSpecRoundTripAndDrop: a spec reads back as it was queued, is
// kept while the message is queued or failed, and is gone once it is sent.
func TestOutSpecRoundTripAndDrop(t *testing.T) {
	s := openTest(t)
	now := time.Date(2026, 11, 23, 9, 0, 0, 123, time.FixedZone("", 3600))
	spec := &kp.OutSpec{
		From: kp.Address{Name: "Integrasjon", Addr: "integrasjon@uio.no"}, ReplyTo: kp.Address{Addr: "integrasjon+t@uio.no"},
		To: []kp.Address{{Name: "Ola", Addr: "ola@example.org"}}, Cc: []kp.Address{{Addr: "kari@uio.no"}},
		Subject: "[INT#1] Tilgang", Text: strings.Repeat("Hei på deg. ", 400), MessageID: "a1@uio.no",
		InReplyTo: "r1@example.org", References: []string{"r0@example.org", "r1@example.org"}, AutoSubmitted: "auto-replied",
		Headers: map[string]string{"X-B": "2", "X-A": "1"}, Date: now,
		Attachments: []kp.OutAttachment{{Name: "avtale.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4\x00\x01")}},
	}
	o := &kp.Outbound{Case: 1, Kind: "ack", MessageID: "a1@uio.no", From: "integrasjon@uio.no", To: []string{"ola@example.org"},
		Spec: spec, NextTry: now, Queued: now}
	if err := s.Update(func(tx *Tx) error { return tx.Enqueue(o) }); err != nil {
		t.Fatal(err)
	}
	var got *kp.Outbound
	read := func() {
		t.Helper()
		if err := s.View(func(tx *Tx) error {
			var err error
			got, err = tx.Outbound(o.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	read()
	if got.Spec == nil || got.Raw != nil {
		t.Fatalf("read back spec %v, raw %d bytes", got.Spec != nil, len(got.Raw))
	}
	if !got.Spec.Date.Equal(now) || got.Spec.Date.Format(time.RFC1123Z) != now.Format(time.RFC1123Z) {
		t.Errorf("date %v, want %v", got.Spec.Date, now)
	}
	g, w := *got.Spec, *spec
	g.Date, w.Date = time.Time{}, time.Time{}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("spec read back:\n%+v\nwant\n%+v", g, w)
	}
	got.State, got.LastError = kp.OutFailed, "550"
	if err := s.Update(func(tx *Tx) error { return tx.PutOutbound(got) }); err != nil {
		t.Fatal(err)
	}
	if read(); got.Spec == nil {
		t.Fatal("a failed message lost its spec: it could not be retried")
	}
	got.State, got.Sent = kp.OutSent, now
	if err := s.Update(func(tx *Tx) error { return tx.PutOutbound(got) }); err != nil {
		t.Fatal(err)
	}
	if read(); got.Spec != nil {
		t.Fatal("sent message kept its spec")
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestCheckFindsSpecKeptAfterSending: check-store reports a spec left
// behind by a sent message.
func TestCheckFindsSpecKeptAfterSending(t *testing.T) {
	s := openTest(t)
	now := time.Now()
	o := &kp.Outbound{Kind: "ack", MessageID: "k1@uio.no", From: "integrasjon@uio.no", To: []string{"ola@example.org"},
		Spec: &kp.OutSpec{MessageID: "k1@uio.no", Date: now}, NextTry: now, Queued: now}
	if err := s.Update(func(tx *Tx) error {
		if err := tx.Enqueue(o); err != nil {
			return err
		}
		o.State, o.Sent = kp.OutSent, now
		if err := tx.PutOutbound(o); err != nil {
			return err
		}
		return tx.b(bucketOutSpec).Put(u64(o.ID), tx.codec.pack(encodeOutSpec(o.Spec), true))
	}); err != nil {
		t.Fatal(err)
	}
	err := s.Check()
	if err == nil || !strings.Contains(err.Error(), "sent but spec kept") {
		t.Fatalf("check = %v", err)
	}
	if err := s.Update(func(tx *Tx) error { return tx.b(bucketOutSpec).Delete(u64(o.ID)) }); err != nil {
		t.Fatal(err) // mended, for the check at cleanup
	}
}
