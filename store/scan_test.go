package store

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	kp "kontaktpunkt"
)

// TestForEachMessageHead: the head decoder reads every field it promises
// as the full decoder does, for messages with and without text,
// attachments and defects, and the walk sees every message once.
func TestForEachMessageHead(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "kp.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	msgs := []kp.Message{
		{ID: "a@x", Case: 1, Direction: kp.In, Class: kp.ClassHuman, MatchedBy: kp.MatchNew, Kind: "request",
			From: kp.Address{Name: "Ola", Addr: "ola@x"}, To: []kp.Address{{Addr: "k@y"}}, Cc: []kp.Address{{Addr: "c@z"}},
			Subject: "Hei", Date: at, Received: at.Add(time.Minute), Text: "lang tekst æøå", Authenticated: true,
			Attachments: []kp.Attachment{{Name: "a.pdf", ContentType: "application/pdf", Size: 12}}, Defects: []string{"x"}, Source: "f.eml", Size: 99},
		{ID: "b@x", Direction: kp.In, Class: kp.ClassSpam, MatchedBy: kp.MatchNone, Kind: "quarantined", Quarantine: "no sender", Date: at, Received: at},
		{ID: "c@x", Case: 1, Direction: kp.Out, Class: kp.ClassHuman, MatchedBy: kp.MatchNone, Kind: kp.KindStatus, Subject: "status resolved", Outsider: true, Date: at, Received: at},
	}
	if err := s.Update(func(tx *Tx) error {
		for i := range msgs {
			if err := tx.PutMessage(&msgs[i], nil); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var full, head []kp.Message
	if err := s.View(func(tx *Tx) error {
		if err := tx.ForEachMessage(false, func(m *kp.Message) error { full = append(full, *m); return nil }); err != nil {
			return err
		}
		return tx.ForEachMessage(true, func(m *kp.Message) error { head = append(head, *m); return nil })
	}); err != nil {
		t.Fatal(err)
	}
	if len(full) != len(msgs) || len(head) != len(msgs) {
		t.Fatalf("walked %d and %d messages, want %d", len(full), len(head), len(msgs))
	}
	for i := range full {
		want := full[i]
		want.Text, want.Attachments, want.Defects, want.Source, want.Size, want.CollidedID = "", nil, nil, "", 0, ""
		if !reflect.DeepEqual(head[i], want) {
			t.Errorf("message %d: head %+v\nwant %+v", i, head[i], want)
		}
	}
	if full[0].Text != "lang tekst æøå" {
		t.Errorf("full decode lost the text: %q", full[0].Text)
	}
}
