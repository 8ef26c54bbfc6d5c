package store

import (
	"path/filepath"
	"reflect"
	"strings"
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

// TestForEachMessageBrief: the brief holds what it promises as the full
// decoder reads it, for compressed and plain records, and a copy of the
// reused message stays intact after the walk.
func TestForEachMessageBrief(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "kp.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	long := strings.Repeat("Hei, jeg trenger tilgang til FS for et prosjekt. ", 200)
	msgs := []kp.Message{
		{ID: "a@x", Case: 1, Direction: kp.In, Class: kp.ClassHuman, MatchedBy: kp.MatchNew, Kind: "request",
			From: kp.Address{Name: "Ola", Addr: "ola@x"}, To: []kp.Address{{Name: "K", Addr: "k@y"}}, Cc: []kp.Address{{Addr: "c@z"}},
			Subject: "Hei", Date: at, Received: at.Add(time.Minute), Text: long, Authenticated: true,
			Attachments: []kp.Attachment{{Name: "a.pdf", ContentType: "application/pdf", Size: 12}}, Defects: []string{"x"}, Source: "f.eml", Size: 99},
		{ID: "b@x", Direction: kp.In, Class: kp.ClassSpam, MatchedBy: kp.MatchNone, Kind: "quarantined", Quarantine: "no sender", Date: at, Received: at},
		{ID: "c@x", Case: 1, Direction: kp.Out, Class: kp.ClassHuman, MatchedBy: kp.MatchNone, Kind: kp.KindStatus, Subject: "status resolved", Outsider: true, Date: at, Received: at},
		{ID: "d@x", Case: 2, Direction: kp.In, Class: kp.ClassHuman, MatchedBy: kp.MatchNew, Kind: "request", From: kp.Address{Addr: "kari@x"},
			Subject: strings.Repeat("Lang emnelinje ", 10), Text: long + "2", Date: at, Received: at},
		{ID: "e@x", Case: 1, Direction: kp.Out, Class: kp.ClassHuman, MatchedBy: kp.MatchNone, Kind: kp.KindStatus, Subject: "status resolved", Date: at, Received: at},
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
	var full, brief []kp.Message
	if err := s.View(func(tx *Tx) error {
		if err := tx.ForEachMessage(false, func(m *kp.Message) error { full = append(full, *m); return nil }); err != nil {
			return err
		}
		return tx.ForEachMessageBrief(func(m *kp.Message) error { brief = append(brief, *m); return nil })
	}); err != nil {
		t.Fatal(err)
	}
	if len(full) != len(msgs) || len(brief) != len(msgs) {
		t.Fatalf("walked %d and %d messages, want %d", len(full), len(brief), len(msgs))
	}
	names := func(as []kp.Address) []kp.Address {
		if as == nil {
			return nil
		}
		out := make([]kp.Address, len(as))
		for i, a := range as {
			out[i] = kp.Address{Addr: a.Addr}
		}
		return out
	}
	for i := range full {
		f := full[i]
		want := kp.Message{Seq: f.Seq, Case: f.Case, Direction: f.Direction, Class: f.Class, MatchedBy: f.MatchedBy, Kind: f.Kind,
			From: kp.Address{Addr: f.From.Addr}, To: names(f.To), Cc: names(f.Cc), Subject: f.Subject, Date: f.Date, Received: f.Received,
			Outsider: f.Outsider, Authenticated: f.Authenticated, Quarantine: f.Quarantine}
		if !reflect.DeepEqual(brief[i], want) {
			t.Errorf("message %d: brief %+v\nwant %+v", i, brief[i], want)
		}
	}
}

// TestForEachCaseBrief: the brief of a case holds the fields it promises
// as the full decoder reads them.
func TestForEachCaseBrief(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "kp.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	cases := []kp.Case{
		{ID: 1, Subject: "Tilgang", Status: kp.StatusResolved, Requester: kp.Address{Name: "Ola", Addr: "ola@x"}, Participants: []string{"p@x"},
			Assignee: "per@uio.no", Team: "fs", Priority: kp.PriorityNormal, Escalation: 1, Created: at, Updated: at.Add(time.Hour),
			ResolvedAt: at.Add(2 * time.Hour), Messages: 4, PreviousCase: 7, LastInbound: at, ThreadID: "t@x", LastMessageID: "l@x",
			Next: &kp.FollowUp{Kind: kp.FollowRespond, Due: at, Count: 1}, Counterparts: []kp.CounterpartRef{{Team: "fs", Addr: "a@b", System: "rt", Ref: "1"}},
			Links: []kp.CaseID{3}, OpenedBy: "staff@uio.no", Archived: "x", Rule: "team fs; subject ~ FS"},
		{ID: 2, Subject: "Flettet", Status: kp.StatusOpen, Requester: kp.Address{Addr: "kari@x"}, Created: at, MergedInto: 1},
	}
	if err := s.Update(func(tx *Tx) error {
		for i := range cases {
			if err := tx.PutCase(&cases[i]); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var full, brief []kp.Case
	if err := s.View(func(tx *Tx) error {
		if err := tx.ForEachCase(func(c *kp.Case) error { full = append(full, *c); return nil }); err != nil {
			return err
		}
		return tx.ForEachCaseBrief(func(c *kp.Case) error { brief = append(brief, *c); return nil })
	}); err != nil {
		t.Fatal(err)
	}
	if len(full) != len(cases) || len(brief) != len(cases) {
		t.Fatalf("walked %d and %d cases, want %d", len(full), len(brief), len(cases))
	}
	for i, f := range full {
		want := kp.Case{ID: f.ID, Subject: f.Subject, Status: f.Status, Requester: kp.Address{Addr: f.Requester.Addr}, Assignee: f.Assignee, Team: f.Team,
			Priority: f.Priority, Escalation: f.Escalation, Created: f.Created, Updated: f.Updated, ResolvedAt: f.ResolvedAt,
			Messages: f.Messages, MergedInto: f.MergedInto, Rule: f.Rule}
		if !reflect.DeepEqual(brief[i], want) {
			t.Errorf("case %d: brief %+v\nwant %+v", f.ID, brief[i], want)
		}
	}
}
