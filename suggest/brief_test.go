package suggest_test

import (
	"reflect"
	"strings"
	"testing"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
	"kontaktpunkt/suggest"
)

// caseOnly hides the store's CaseBrief: Rank reads whole cases through it.
type caseOnly struct{ suggest.Index }

// TestRankBriefLikeCase: ranking that reads only the brief of each
// similar case gives the same result (suggestions, voters, scores,
// similar and answered cases) as ranking that reads whole cases, over a
// history with every status, merged and unassigned cases, assignees
// written in other cases, terms both folded and pending, and an indexed
// case the store no longer has.
func TestRankBriefLikeCase(t *testing.T) {
	s := openStore(t)
	g := newGen(7)
	hist := g.history(1300, false)
	statuses := []kp.Status{kp.StatusResolved, kp.StatusOpen, kp.StatusWaiting, kp.StatusResolved}
	err := s.Update(func(tx *store.Tx) error {
		for i, gc := range hist {
			id, err := tx.NextCaseID()
			if err != nil {
				return err
			}
			c := kpCase(id, gc, statuses[i%len(statuses)])
			switch {
			case i%11 == 5:
				c.MergedInto = id - 1
			case i%7 == 3:
				c.Team, c.Assignee = "", ""
			case i%5 == 2:
				c.Team, c.Assignee = "", strings.ToUpper(c.Assignee)
			case i%13 == 4:
				c.Assignee = ""
			}
			if i%97 != 50 {
				if err := tx.PutCase(c); err != nil {
					return err
				}
			}
			if err := tx.PutCaseTerms(id, suggest.CaseTerms(gc.subject, gc.text, suggest.VocabOf(tx))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fresh := g.history(120, true)
	err = s.View(func(tx *store.Tx) error {
		if _, ok := suggest.Index(tx).(suggest.BriefIndex); !ok {
			t.Fatal("the store's transaction reads no case briefs")
		}
		for i, c := range fresh {
			terms := suggest.CaseTerms(c.subject, c.text, suggest.VocabOf(tx))
			for _, o := range []suggest.Options{{}, {VotesOnly: true, Exclude: kp.CaseID(1 + i*10)}, {Before: kp.CaseID(200 + i*9)}, {Neighbours: 30}} {
				brief, err := suggest.Rank(tx, terms, o)
				if err != nil {
					return err
				}
				whole, err := suggest.Rank(caseOnly{tx}, terms, o)
				if err != nil {
					return err
				}
				if !reflect.DeepEqual(brief, whole) {
					t.Errorf("request %d, %+v:\nbrief %+v\nwhole %+v", i, o, brief, whole)
				}
				if len(whole.Suggestions) == 0 || len(whole.Similar) == 0 {
					t.Errorf("request %d, %+v: nothing ranked: %+v", i, o, whole)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
