package store

import (
	"testing"
	"time"

	kp "kontaktpunkt"
)

func TestCaseTermsIndex(t *testing.T) {
	s := openTest(t)
	postings := func(tx *Tx, term string) (ids []kp.CaseID) {
		if err := tx.TermPostings(term, func(id kp.CaseID, f, l int) bool { ids = append(ids, id); return true }); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	update(t, s, func(tx *Tx) error {
		if err := tx.PutCaseTerms(1, map[string]int{"eksam": 2, "fs-api": 1}); err != nil {
			return err
		}
		if err := tx.PutCaseTerms(2, map[string]int{"eksam": 1, "canvas": 3}); err != nil {
			return err
		}
		// Replacing case 2's terms takes its old ones out.
		return tx.PutCaseTerms(2, map[string]int{"eksam": 1, "lms": 1})
	})
	view(t, s, func(tx *Tx) error {
		if n := tx.TermCases("eksam"); n != 2 {
			t.Errorf("eksam in %d cases, want 2", n)
		}
		if n := tx.TermCases("canvas"); n != 0 {
			t.Errorf("replaced term canvas still in %d cases", n)
		}
		if got := postings(tx, "eksam"); len(got) != 2 || got[0] != 1 || got[1] != 2 {
			t.Errorf("eksam postings %v, want [1 2]", got)
		}
		var f, l int
		_ = tx.TermPostings("eksam", func(id kp.CaseID, ff, ll int) bool { f, l = ff, ll; return false })
		if f != 2 || l != 3 {
			t.Errorf("first eksam posting freq %d length %d, want 2 and 3", f, l)
		}
		docs, terms, err := tx.TermStats()
		if err != nil || docs != 2 || terms != 5 {
			t.Errorf("stats %d cases %d terms (%v), want 2 and 5", docs, terms, err)
		}
		got, err := tx.CaseTerms(1)
		if err != nil || got["eksam"] != 2 || got["fs-api"] != 1 || len(got) != 2 {
			t.Errorf("CaseTerms(1) = %v, %v", got, err)
		}
		return nil
	})
	update(t, s, func(tx *Tx) error { return tx.DeleteCaseTerms(1) })
	view(t, s, func(tx *Tx) error {
		if n := tx.TermCases("fs-api"); n != 0 {
			t.Errorf("deleted case's term still counted: %d", n)
		}
		if got := postings(tx, "eksam"); len(got) != 1 || got[0] != 2 {
			t.Errorf("eksam postings after delete %v, want [2]", got)
		}
		if docs, _, _ := tx.TermStats(); docs != 1 {
			t.Errorf("%d cases indexed after delete, want 1", docs)
		}
		return nil
	})
}

// TestCaseTermsFold crosses the fold: cases before it are read from the
// postings, later ones from the pending records, and both agree.
func TestCaseTermsFold(t *testing.T) {
	s := openTest(t)
	const n = foldEvery + 40
	update(t, s, func(tx *Tx) error {
		for id := kp.CaseID(1); id <= n; id++ {
			terms := map[string]int{"felles": 1}
			if id%2 == 0 {
				terms["partall"] = 2
			}
			if err := tx.PutCaseTerms(id, terms); err != nil {
				return err
			}
		}
		return nil
	})
	check := func(wantAll, wantEven int) {
		t.Helper()
		view(t, s, func(tx *Tx) error {
			if got := tx.TermCases("felles"); got != wantAll {
				t.Errorf("felles in %d cases, want %d", got, wantAll)
			}
			if got := tx.TermCases("partall"); got != wantEven {
				t.Errorf("partall in %d cases, want %d", got, wantEven)
			}
			var ids []kp.CaseID
			if err := tx.TermPostings("felles", func(id kp.CaseID, f, l int) bool { ids = append(ids, id); return true }); err != nil {
				return err
			}
			if len(ids) != wantAll {
				t.Errorf("%d felles postings, want %d", len(ids), wantAll)
			}
			seen := map[kp.CaseID]bool{}
			for _, id := range ids {
				if seen[id] {
					t.Fatalf("case %d twice in the felles postings", id)
				}
				seen[id] = true
			}
			return nil
		})
	}
	check(n, n/2)
	view(t, s, func(tx *Tx) error {
		if f, _ := tx.stat(statSuggestFolded); f != foldEvery {
			t.Errorf("folded up to %d, want %d", f, foldEvery)
		}
		return nil
	})
	// Remove one folded and one pending case, in one transaction.
	update(t, s, func(tx *Tx) error {
		before := tx.TermCases("felles") // cached for the transaction
		if err := tx.DeleteCaseTerms(2); err != nil {
			return err
		}
		if got := tx.TermCases("felles"); got != before-1 {
			t.Errorf("felles in %d cases after deleting a folded one in the same transaction, want %d", got, before-1)
		}
		return tx.DeleteCaseTerms(n)
	})
	check(n-2, n/2-2)
	// Replacing a folded case's terms moves it out of its block into
	// one of its own.
	update(t, s, func(tx *Tx) error { return tx.PutCaseTerms(4, map[string]int{"felles": 1, "ny": 1}) })
	check(n-2, n/2-3)
	view(t, s, func(tx *Tx) error {
		var ids []kp.CaseID
		if err := tx.TermPostings("ny", func(id kp.CaseID, f, l int) bool { ids = append(ids, id); return true }); err != nil {
			return err
		}
		if len(ids) != 1 || ids[0] != 4 || tx.TermCases("ny") != 1 {
			t.Errorf("ny postings %v, in %d cases; want case 4 alone", ids, tx.TermCases("ny"))
		}
		return nil
	})
}

// TestCaseTermsSameTransaction reads the index in the transaction that
// writes it: a case counts once, first write in the transaction or not.
func TestCaseTermsSameTransaction(t *testing.T) {
	s := openTest(t)
	update(t, s, func(tx *Tx) error {
		if err := tx.PutCaseTerms(1, map[string]int{"eksam": 1}); err != nil {
			return err
		}
		if n := tx.TermCases("eksam"); n != 1 {
			t.Errorf("eksam in %d cases after the first write, want 1", n)
		}
		if err := tx.PutCaseTerms(2, map[string]int{"eksam": 1}); err != nil {
			return err
		}
		n := 0
		if err := tx.TermPostings("eksam", func(kp.CaseID, int, int) bool { n++; return true }); err != nil {
			return err
		}
		if n != 2 || tx.TermCases("eksam") != 2 {
			t.Errorf("%d postings, %d cases; want 2 and 2", n, tx.TermCases("eksam"))
		}
		return nil
	})
}

// A case brief read again in the transaction that changed the case
// shows the change: ranking sees the assignments made before it.
func TestCaseBriefSeesChangesInTheSameTransaction(t *testing.T) {
	s := openTest(t)
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	update(t, s, func(tx *Tx) error {
		id, err := tx.NextCaseID()
		if err != nil {
			return err
		}
		c := &kp.Case{ID: id, Subject: "Eksamen", Status: kp.StatusOpen, Priority: kp.PriorityNormal, Created: now, Updated: now}
		if err := tx.PutCase(c); err != nil {
			return err
		}
		var b kp.Case
		for range 2 { // the second read is the transaction's kept brief
			if err := tx.CaseBrief(id, &b); err != nil {
				return err
			}
			if b.Team != "" || b.Subject != "Eksamen" {
				t.Fatalf("brief %+v, want unassigned case Eksamen", b)
			}
		}
		c.Team, c.Status = "fs", kp.StatusResolved
		if err := tx.PutCase(c); err != nil {
			return err
		}
		if err := tx.CaseBrief(id, &b); err != nil {
			return err
		}
		if b.Team != "fs" || b.Status != kp.StatusResolved {
			t.Errorf("brief after the change %+v, want team fs, resolved", b)
		}
		return nil
	})
}
