package suggest_test

import (
	"path/filepath"
	"testing"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
	"kontaktpunkt/suggest"
)

func openStore(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.Open(filepath.Join(t.TempDir(), "kp.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Errorf("store check: %v", err)
		}
		s.Close()
	})
	return s
}

// load stores the history as resolved, assigned cases with their terms,
// batch cases per transaction.
func load(t testing.TB, s *store.Store, hist []genCase, batch int) {
	t.Helper()
	for i := 0; i < len(hist); i += batch {
		err := s.Update(func(tx *store.Tx) error {
			for _, c := range hist[i:min(i+batch, len(hist))] {
				id, err := tx.NextCaseID()
				if err != nil {
					return err
				}
				if err := tx.PutCase(kpCase(id, c, kp.StatusResolved)); err != nil {
					return err
				}
				if err := tx.PutCaseTerms(id, suggest.CaseTerms(c.subject, c.text, suggest.VocabOf(tx))); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestRankHeldOut is the acceptance check: a history of assigned cases
// over five teams in inflected Norwegian, a quarter carrying another
// team's word, then new requests worded differently, with compounds and
// typos: the top suggestion is the right team for at least 80 %.
func TestRankHeldOut(t *testing.T) {
	s := openStore(t)
	g := newGen(1)
	load(t, s, g.history(600, false), 100)
	fresh := g.history(300, true)
	right, person := 0, 0
	err := s.View(func(tx *store.Tx) error {
		for _, c := range fresh {
			res, err := suggest.Rank(tx, suggest.CaseTerms(c.subject, c.text, suggest.VocabOf(tx)), suggest.Options{})
			if err != nil {
				return err
			}
			if top, ok := res.Top(); ok && top.Team == c.team {
				right++
			} else if testing.Verbose() {
				t.Logf("miss (%s): %q %q -> %+v", c.team, c.subject, c.text, res.Suggestions)
			}
			for _, sg := range res.Suggestions {
				if sg.Assignee != "" {
					for _, tm := range teams {
						if tm.team == c.team && contains(tm.people, sg.Assignee) {
							person++
						}
					}
					break
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	acc := float64(right) / float64(len(fresh))
	t.Logf("top team right for %d of %d (%.1f %%); top person in the right team for %d", right, len(fresh), 100*acc, person)
	if acc < 0.80 {
		t.Errorf("accuracy %.1f %%, want at least 80 %%", 100*acc)
	}
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}
