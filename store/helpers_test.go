package store

import (
	"errors"
	"kontaktpunkt/internal/testcorpus"
	"path/filepath"
	"testing"
	"time"

	kp "kontaktpunkt"
)

// openTest opens a store in a fresh directory and, when the test ends,
// checks it (bbolt pages and the store's indexes) and closes it.
func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "kp.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Errorf("store check: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// update runs fn in a read-write transaction and fails the test on error.
func update(t testing.TB, s *Store, fn func(tx *Tx) error) {
	t.Helper()
	if err := s.Update(fn); err != nil {
		t.Fatal(err)
	}
}

// view runs fn in a read-only transaction and fails the test on error.
func view(t testing.TB, s *Store, fn func(tx *Tx) error) {
	t.Helper()
	if err := s.View(fn); err != nil {
		t.Fatal(err)
	}
}

func corpusDir(t testing.TB) string { return testcorpus.Dir(t) }

// ingester applies generated mail the way the gateway's apply step does:
// a duplicate check, a thread lookup, then a new case (one mail in four)
// or an update of a recent case, and the message itself.
type ingester struct {
	gen    *mailGen
	now    time.Time
	recent []kp.CaseID
	n      int
}

func newIngester(seed uint64) *ingester {
	return &ingester{gen: newMailGen(seed), now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

// mail is one generated inbound message.
type mail struct {
	raw []byte
	m   *kp.Message
}

// mails generates n messages up front, so benchmarks time the store only.
func (in *ingester) mails(n int) []mail {
	out := make([]mail, n)
	for i := range out {
		in.now = in.now.Add(17 * time.Second)
		raw, m := in.gen.next(in.now)
		out[i] = mail{raw, m}
	}
	return out
}

// apply stores one mail in tx.
func (in *ingester) apply(tx *Tx, ml mail) error {
	m := *ml.m
	in.n++
	if _, ok, err := tx.LookupID(m.ID); err != nil || ok {
		return errors.Join(err, errors.New("unexpected duplicate"))
	}
	// A thread lookup as for In-Reply-To (misses: the generator's ids are new).
	if _, _, err := tx.LookupID("reply." + m.ID); err != nil {
		return err
	}
	var c *kp.Case
	if len(in.recent) == 0 || in.n%4 == 0 {
		id, err := tx.NextCaseID()
		if err != nil {
			return err
		}
		c = &kp.Case{
			ID: id, Subject: m.Subject, Status: kp.StatusOpen, Requester: m.From,
			Priority: kp.PriorityNormal, Created: m.Received, ThreadID: m.ID,
		}
		in.recent = append(in.recent, id)
		if len(in.recent) > 500 {
			in.recent = in.recent[1:]
		}
		m.MatchedBy = kp.MatchNew
	} else {
		id := in.recent[(in.n*7919)%len(in.recent)]
		var err error
		if c, err = tx.Case(id); err != nil {
			return err
		}
		m.MatchedBy = kp.MatchInReplyTo
		if c.Status == kp.StatusOpen {
			c.Status = kp.StatusWaiting
			c.WaitingSince = m.Received
		} else {
			c.Status = kp.StatusOpen
		}
	}
	m.Case = c.ID
	c.Messages++
	c.Updated = m.Received
	c.LastInbound = m.Received
	c.LastMessageID = m.ID
	c.Next = &kp.FollowUp{Kind: kp.FollowTriage, Due: m.Received.Add(4 * time.Hour)}
	if err := tx.PutMessage(&m, ml.raw); err != nil {
		return err
	}
	return tx.PutCase(c)
}
