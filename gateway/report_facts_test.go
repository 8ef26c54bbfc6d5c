package gateway

import (
	"fmt"
	"testing"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
)

// TestReportFromFactsSameAsFromMessages: the report read from the
// message facts is the report read from the message records, byte for
// byte as JSON, on a store with every kind of counted mail (the scripted
// cases run live and imported: relays, staff replies, status records, an escalation),
// mail of no case (unfiled, quarantined, spam, one of them filed on a
// case afterwards), a case purged by retention and a forgotten requester;
// for all time, for a period and for one team.
func TestReportFromFactsSameAsFromMessages(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		name := "live"
		if quiet {
			name = "import" // no relays: first answers are staff replies
		}
		t.Run(name, func(t *testing.T) { reportFromFacts(t, quiet) })
	}
}

func reportFromFacts(t *testing.T, quiet bool) {
	h := newHarness(t, nil)
	loc := h.g.Clock.Loc
	end := time.Date(2026, 11, 30, 12, 0, 0, 0, loc)
	if quiet {
		h.g.Quiet = true
		h.clock.t = end
		var all [][]byte
		for _, s := range reportScript(loc) {
			all = append(all, s.raw)
		}
		for _, r := range h.ingest(all...) {
			caseNo(t, r)
		}
	} else {
		for _, s := range reportScript(loc) {
			h.clock.t = s.at
			caseNo(t, h.one(s.raw))
		}
	}
	h.clock.t = end
	st := h.g.Store
	err := st.Update(func(tx *store.Tx) error {
		at := time.Date(2026, 11, 25, 10, 0, 0, 0, loc)
		loose := []kp.Message{
			{Direction: kp.In, Kind: "unfiled", Class: kp.ClassBulk, From: kp.Address{Addr: "noreply@system.example"}, Date: at, Received: at},
			{Direction: kp.In, Kind: "quarantined", Class: kp.ClassHuman, Quarantine: "virus", From: kp.Address{Addr: "bad@example.net"}, Date: at.Add(time.Hour), Received: at.Add(time.Hour)},
			{Direction: kp.In, Kind: "unfiled", Class: kp.ClassSpam, From: kp.Address{Addr: "spam@example.net"}, Date: at.AddDate(0, 0, 6), Received: at.AddDate(0, 0, 6)},
			// An import: Date before arrival counts.
			{Direction: kp.In, Kind: "unfiled", Class: kp.ClassBulk, From: kp.Address{Addr: "cron@system.example"}, Date: at.AddDate(0, 0, -20), Received: end},
			{Direction: kp.In, Kind: "reply", Class: kp.ClassHuman, From: kp.Address{Addr: "lise@example.com"}, Subject: "Re: Eksport", Date: at.Add(2 * time.Hour), Received: at.Add(2 * time.Hour)},
		}
		for i := range loose {
			loose[i].ID = fmt.Sprintf("loose%d@example.net", i)
			if err := tx.PutMessage(&loose[i], nil); err != nil {
				return err
			}
		}
		// Filed on case 2 afterwards: it counts there now.
		m := loose[4]
		m.Case = 2
		return tx.UpdateMessage(&m)
	})
	if err != nil {
		t.Fatal(err)
	}
	compare := func(stage string) {
		t.Helper()
		w48 := time.Date(2026, 11, 23, 0, 0, 0, 0, loc)
		for _, p := range []struct {
			from, to time.Time
			team     string
		}{{}, {w48, w48.AddDate(0, 0, 7), ""}, {w48, w48.AddDate(0, 0, 14), "fs"}} {
			var fromFacts, fromBriefs string
			err := st.View(func(tx *store.Tx) error {
				for _, facts := range []bool{true, false} {
					b, unfiled, quarantined, spam, err := h.g.reportInputsFrom(tx, p.from, p.to, facts)
					if err != nil {
						return err
					}
					r := b.Report(h.g.ReportOptions(p.from, p.to, p.team))
					r.Unfiled, r.Quarantined, r.Spam = unfiled, quarantined, spam
					if facts {
						fromFacts = js(r)
					} else {
						fromBriefs = js(r)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if fromFacts != fromBriefs {
				t.Errorf("%s, %v–%v %q: from facts\n%s\nfrom messages\n%s", stage, p.from, p.to, p.team, fromFacts, fromBriefs)
			}
		}
		var used bool
		if err := st.View(func(tx *store.Tx) error {
			var err error
			used, err = tx.ForEachMessageFact(func(*kp.Message) error { return nil })
			return err
		}); err != nil || !used {
			t.Fatalf("%s: the store has no message facts (%v)", stage, err)
		}
	}
	compare("live")
	r, err := h.g.Report(time.Time{}, time.Time{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if r.Totals.New != 4 || r.Unfiled != 2 || r.Quarantined != 1 || r.Spam != 1 {
		t.Fatalf("report: %d new, %d unfiled, %d quarantined, %d spam", r.Totals.New, r.Unfiled, r.Quarantined, r.Spam)
	}
	if err := st.Update(func(tx *store.Tx) error {
		_, err := tx.PurgeCase(1, end)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	compare("after purging case 1")
	if _, err := st.Forget("lise@example.com", store.ForgetOptions{Now: end}); err != nil {
		t.Fatal(err)
	}
	compare("after forgetting lise")
}
