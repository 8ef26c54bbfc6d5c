package store

import (
	"bytes"
	"path/filepath"
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
		return tx.b(bucketOutSpec).Put(u64(o.ID), tx.codec.pack(encodeOutSpec(o.Spec, false, nil, attRef{}), true))
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

// TestOutSpecRefersToCaseCopy: a spec queued after its copy on the case
// holds none of the copy's text, reads back whole, and still reads back
// whole after the copy is changed or purged.
func TestOutSpecRefersToCaseCopy(t *testing.T) {
	s := openTest(t)
	now := time.Date(2026, 11, 23, 9, 0, 0, 123, time.FixedZone("", 3600))
	text := strings.Repeat("Ola skrev i sak INT#1: tilgang til FS. ", 40)
	spec := &kp.OutSpec{
		From: kp.Address{Name: "Integrasjon", Addr: "integrasjon@uio.no"}, ReplyTo: kp.Address{Addr: "integrasjon+t@uio.no"},
		To: []kp.Address{{Name: "Per", Addr: "per@uio.no"}}, Subject: "[INT#1] Tilgang", Text: text, MessageID: "r1@uio.no",
		Headers: map[string]string{"X-A": "1", kp.LoopHeader: "integrasjon@uio.no", "X-Kontaktpunkt-Case": "1",
			"X-Kontaktpunkt-Kind": "relay", "X-Auto-Response-Suppress": "All"}, Date: now,
	}
	var ids [2]uint64
	for i, id := range []string{"r1@uio.no", "r2@uio.no"} {
		sp := *spec
		sp.MessageID = id
		m := &kp.Message{ID: id, Case: 1, Direction: kp.Out, Class: kp.ClassHuman, Kind: "relay", From: sp.From,
			To: sp.To, Subject: sp.Subject, Date: now, Received: now, Text: text}
		o := &kp.Outbound{Case: 1, Kind: "relay", MessageID: id, From: "integrasjon@uio.no", Spec: &sp, NextTry: now, Queued: now}
		if err := s.Update(func(tx *Tx) error {
			if err := tx.PutMessage(m, nil); err != nil {
				return err
			}
			return tx.Enqueue(o)
		}); err != nil {
			t.Fatal(err)
		}
		ids[i] = o.ID
	}
	check := func(when string, id uint64, want string) {
		t.Helper()
		if err := s.View(func(tx *Tx) error {
			got, err := tx.Outbound(id)
			if err != nil {
				return err
			}
			w := *spec
			w.MessageID, w.Text = got.Spec.MessageID, want
			g := *got.Spec
			if g.Date.Format(time.RFC3339Nano) != w.Date.Format(time.RFC3339Nano) {
				t.Errorf("%s: date %v, want %v", when, g.Date, w.Date)
			}
			g.Date, w.Date = time.Time{}, time.Time{}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("%s: spec read back:\n%+v\nwant\n%+v", when, g, w)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.View(func(tx *Tx) error {
		v := tx.b(bucketOutSpec).Get(u64(ids[0]))
		o, err := tx.outbound(ids[0], false)
		if err != nil {
			return err
		}
		own, ref, err := tx.outSpecOwn(v, o)
		if err != nil {
			return err
		}
		if !ref || own.Text != "" || len(own.To) != 0 {
			t.Errorf("stored spec refers %v, holds text %d bytes and %d recipients", ref, len(own.Text), len(own.To))
		}
		p, err := tx.codec.unpack(v)
		if err != nil {
			return err
		}
		if bytes.Contains(p, []byte("X-Kontaktpunkt-Case")) || bytes.Contains(p, []byte("r1@uio.no")) {
			t.Errorf("stored spec holds the standard header fields or the Message-ID: %q", p)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	check("queued", ids[0], text)
	// The copy changes: the spec keeps what it was queued with.
	if err := s.Update(func(tx *Tx) error {
		m, err := tx.Message("r1@uio.no")
		if err != nil {
			return err
		}
		m.Text = "changed"
		return tx.UpdateMessage(m)
	}); err != nil {
		t.Fatal(err)
	}
	check("copy changed", ids[0], text)
	// The copy is purged: likewise.
	if err := s.Update(func(tx *Tx) error {
		m, err := tx.Message("r2@uio.no")
		if err != nil {
			return err
		}
		return tx.purgeMessage(m)
	}); err != nil {
		t.Fatal(err)
	}
	check("copy purged", ids[1], text)
	// The outbound record changes its kind: the header fields stay
	// those the mail was queued with.
	if err := s.Update(func(tx *Tx) error {
		o, err := tx.outbound(ids[1], false)
		if err != nil {
			return err
		}
		o.Kind, o.Attempts = "note", 1
		return tx.PutOutbound(o)
	}); err != nil {
		t.Fatal(err)
	}
	check("record changed", ids[1], text)
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestForgetReachesQueuedSpecThroughCaseCopy: a queued relay whose spec
// refers to its copy on the case names a forgotten person nowhere after
// forget and compact, and still reads back.
func TestForgetReachesQueuedSpecThroughCaseCopy(t *testing.T) { forgetQueuedRelay(t, "") }

// TestForgetCancelsQueuedSpecWithItsOwnText: a spec whose text differs
// from the copy on the case keeps its own, which names the person; forget
// cancels the mail and drops the spec.
func TestForgetCancelsQueuedSpecWithItsOwnText(t *testing.T) {
	forgetQueuedRelay(t, "\n-- \nKontaktpunktet")
}

// forgetQueuedRelay queues a relay quoting the person, its spec's text
// the copy on the case plus extra, then forgets the person: the mail
// must not go out naming them, and no byte of the compacted store may.
func forgetQueuedRelay(t *testing.T, extra string) {
	s := openTest(t)
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	person := kp.Address{Name: forgetName, Addr: forgetAddr}
	desk := kp.Address{Addr: "kontakt@uio.no"}
	staff := []kp.Address{{Name: "Per", Addr: "per@uio.no"}}
	var outID uint64
	update(t, s, func(tx *Tx) error {
		id, err := tx.NextCaseID()
		if err != nil {
			return err
		}
		raw, m := personMail("f1@example.org", person, []kp.Address{desk}, "Eksamen", "Hei, jeg heter "+forgetName+".", "", at)
		m.Case = id
		if err := tx.PutMessage(m, raw); err != nil {
			return err
		}
		c := &kp.Case{ID: id, Subject: m.Subject, Status: kp.StatusOpen, Requester: person, Priority: kp.PriorityNormal,
			Created: at, Updated: at, Messages: 2, ThreadID: m.ID}
		if err := tx.PutCase(c); err != nil {
			return err
		}
		text := forgetName + " skrev i sak INT#1:\n\nHei, jeg heter " + forgetName + "."
		cp := &kp.Message{ID: "relay1@uio.no", Case: id, Direction: kp.Out, Class: kp.ClassHuman, Kind: "relay", From: desk,
			To: staff, Subject: "[INT#1] Eksamen", Date: at, Received: at, Text: text}
		if err := tx.PutMessage(cp, nil); err != nil {
			return err
		}
		o := &kp.Outbound{Case: id, Kind: "relay", MessageID: cp.ID, From: desk.Addr, To: []string{"per@uio.no"},
			Subject: cp.Subject, NextTry: at, Queued: at, Spec: &kp.OutSpec{From: desk, To: staff, Subject: cp.Subject,
				Text: text + extra, MessageID: cp.ID, Date: at}}
		if err := tx.Enqueue(o); err != nil {
			return err
		}
		outID = o.ID
		return nil
	})
	if _, err := s.Forget(forgetAddr, ForgetOptions{Now: at.Add(time.Hour), Actor: "operator", Channel: "cli"}); err != nil {
		t.Fatal(err)
	}
	view(t, s, func(tx *Tx) error {
		o, err := tx.Outbound(outID)
		if err != nil {
			return err
		}
		if o.State == kp.OutQueued && (o.Spec == nil || strings.Contains(o.Spec.Text, forgetName)) {
			t.Errorf("queued relay after forget: %+v", o.Spec)
		}
		return nil
	})
	out := filepath.Join(t.TempDir(), "compact.db")
	if err := s.CompactTo(out); err != nil {
		t.Fatal(err)
	}
	if found := findPerson(t, out); len(found) > 0 {
		t.Errorf("the compacted store still names the person:\n%s", strings.Join(found, "\n"))
	}
}
