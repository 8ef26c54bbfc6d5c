package store

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	kp "kontaktpunkt"

	bolt "go.etcd.io/bbolt"
)

// factsOf walks the message facts; ok is false when the store has none.
func factsOf(t *testing.T, s *Store) (facts []kp.Message, ok bool) {
	t.Helper()
	view(t, s, func(tx *Tx) error {
		var err error
		ok, err = tx.ForEachMessageFact(func(m *kp.Message) error { facts = append(facts, *m); return nil })
		return err
	})
	return facts, ok
}

// factsFromBriefs is what the facts must be: the briefs of the messages
// KeepsFact accepts, with only the fields a fact keeps.
func factsFromBriefs(t *testing.T, s *Store) []kp.Message {
	t.Helper()
	var out []kp.Message
	view(t, s, func(tx *Tx) error {
		return tx.ForEachMessageBrief(func(m *kp.Message) error {
			if !KeepsFact(m) {
				return nil
			}
			f := kp.Message{Seq: m.Seq, Case: m.Case, Direction: m.Direction, Class: m.Class, Kind: m.Kind,
				Outsider: m.Outsider, Authenticated: m.Authenticated, Date: m.Date, Received: m.Received, Quarantine: m.Quarantine}
			if m.Direction == kp.Out && (m.Kind == kp.KindStatus || m.Kind == kp.KindEscalation) {
				f.Subject = m.Subject
			}
			if m.Direction == kp.In {
				f.From.Addr = m.From.Addr
			}
			if m.Direction == kp.Out && m.Kind == "relay" {
				f.To, f.Cc = m.To, m.Cc
			}
			out = append(out, f)
			return nil
		})
	})
	return out
}

func factMessages() []kp.Message {
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.FixedZone("", 3600))
	return []kp.Message{
		{ID: "req@x", Case: 1, Direction: kp.In, Class: kp.ClassHuman, Kind: "request", From: kp.Address{Name: "Ola", Addr: "ola@x"}, Subject: "Hei", Date: at, Received: at, Text: "tekst"},
		{ID: "ack@x", Case: 1, Direction: kp.Out, Kind: "ack", To: []kp.Address{{Addr: "ola@x"}}, Date: at, Received: at},
		{ID: "rep@x", Case: 1, Direction: kp.In, Class: kp.ClassHuman, Kind: "reply", From: kp.Address{Name: "Per", Addr: "per@uio.no"}, Subject: "Re: Hei", Date: at.Add(time.Hour), Received: at.Add(2 * time.Hour), Authenticated: true},
		{ID: "rel@x", Case: 1, Direction: kp.Out, Kind: "relay", From: kp.Address{Addr: "kp@uio.no"}, To: []kp.Address{{Name: "Ola", Addr: "ola@x"}}, Cc: []kp.Address{{Addr: "c@z"}}, Subject: "Re: Hei", Date: at.Add(time.Hour), Received: at.Add(time.Hour)},
		{ID: "st@x", Case: 1, Direction: kp.Out, Kind: kp.KindStatus, Subject: "status resolved", Date: at, Received: at.UTC()},
		{ID: "esc@x", Case: 1, Direction: kp.Out, Kind: kp.KindEscalation, Subject: "level 2", Outsider: true, Date: at, Received: at},
		{ID: "fu@x", Case: 1, Direction: kp.Out, Kind: "respond", To: []kp.Address{{Addr: "per@uio.no"}}, Subject: "Påminnelse", Date: at, Received: at},
		{ID: "q@x", Direction: kp.In, Class: kp.ClassSpam, Kind: "quarantined", Quarantine: "no sender", From: kp.Address{Addr: "s@x"}, Date: at, Received: at},
		{ID: "u@x", Direction: kp.In, Class: kp.ClassBulk, Kind: "unfiled", From: kp.Address{Addr: "cron@x"}, Date: at, Received: at},
	}
}

// TestMessageFactsFollowTheMessages: the facts are the messages' facts
// after storing, filing an unfiled message on a case (its fact goes),
// purging a message and forgetting an address (rewritten with the
// pseudonym); Check agrees.
func TestMessageFactsFollowTheMessages(t *testing.T) {
	s := openTest(t)
	msgs := factMessages()
	update(t, s, func(tx *Tx) error {
		for i := range msgs {
			if err := tx.PutMessage(&msgs[i], nil); err != nil {
				return err
			}
		}
		return nil
	})
	check := func(stage string, want int) {
		t.Helper()
		got, ok := factsOf(t, s)
		if !ok {
			t.Fatalf("%s: no facts", stage)
		}
		if wantFacts := factsFromBriefs(t, s); !reflect.DeepEqual(got, wantFacts) || len(got) != want {
			t.Errorf("%s: %d facts\n%+v\nwant %d\n%+v", stage, len(got), got, want, wantFacts)
		}
		if err := s.Check(); err != nil {
			t.Errorf("%s: check: %v", stage, err)
		}
	}
	check("stored", 7) // all but the request and the acknowledgement
	update(t, s, func(tx *Tx) error {
		m := msgs[8]
		m.Case = 1 // filed: an unfiled message of a case counts no more
		return tx.UpdateMessage(&m)
	})
	check("filed", 6)
	update(t, s, func(tx *Tx) error {
		_, err := tx.PurgeMessage(&msgs[7])
		return err
	})
	check("purged", 5)
	if _, err := s.Forget("per@uio.no", ForgetOptions{}); err != nil {
		t.Fatal(err)
	}
	check("forgotten", 5)
	got, _ := factsOf(t, s)
	for _, f := range got {
		if f.From.Addr == "per@uio.no" {
			t.Errorf("fact %d still names the forgotten address", f.Seq)
		}
	}
}

// TestMessageFactsBuiltOnOpen: a store from before message facts has
// none when opened read-only (ForEachMessageFact says so), and gets them,
// in batches, when opened for writing; a build cut short resumes.
func TestMessageFactsBuiltOnOpen(t *testing.T) {
	defer func(n int) { factBatch = n }(factBatch)
	factBatch = 3
	path := filepath.Join(t.TempDir(), "kp.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	msgs := factMessages()
	update(t, s, func(tx *Tx) error {
		for i := range msgs {
			if err := tx.PutMessage(&msgs[i], nil); err != nil {
				return err
			}
		}
		return nil
	})
	want := factsFromBriefs(t, s)
	// Make it a store from before facts.
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketMsgFact) }); err != nil {
		t.Fatal(err)
	}
	s.Close()

	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := factsOf(t, ro); ok {
		t.Error("a read-only store from before facts claims to have them")
	}
	ro.Close()

	// A build cut short after its first batch: the mark stays.
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := factsOf(t, s); !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("built facts (%v):\n%+v\nwant\n%+v", ok, got, want)
	}
	if err := s.Check(); err != nil {
		t.Error(err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketMsgFact); err != nil {
			return err
		}
		if _, err := tx.CreateBucket(bucketMsgFact); err != nil {
			return err
		}
		// Facts of seqs 1-3 done, 4-9 to build.
		return tx.Bucket(bucketMeta).Put(keyFactsFrom, appendU64(u64(4), 9))
	}); err != nil {
		t.Fatal(err)
	}
	if _, ok := factsOf(t, s); ok {
		t.Error("facts being built are read as complete")
	}
	s.Close()
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, ok := factsOf(t, s)
	var wantTail []kp.Message
	for _, f := range want {
		if f.Seq >= 4 {
			wantTail = append(wantTail, f)
		}
	}
	if !ok || !reflect.DeepEqual(got, wantTail) {
		t.Errorf("resumed build (%v):\n%+v\nwant\n%+v", ok, got, wantTail)
	}
}
