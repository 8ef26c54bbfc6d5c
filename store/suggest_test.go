package store

import (
	"testing"

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
		if err := tx.DeleteCaseTerms(2); err != nil {
			return err
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
