package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/report"
	"kontaktpunkt/routing"
	"kontaktpunkt/store"
)

// yearOfCases makes n cases spread over the year before t0, each with a
// request, a relay to the requester and status records, over five teams.
func yearOfCases(n int) []report.Input {
	teams := []string{"team-fs", "team-lms", "team-hr", "team-ad", ""}
	out := make([]report.Input, n)
	for i := range out {
		created := t0.Add(-time.Duration(n-i) * (365 * 24 * time.Hour / time.Duration(n)))
		req := kp.Address{Addr: fmt.Sprintf("r%d@d%d.example", i, i%200)}
		answer := created.Add(time.Duration(i%97) * time.Hour)
		msgs := []kp.Message{
			{Direction: kp.In, Kind: "request", Class: kp.ClassHuman, From: req, Date: created, Received: created},
			{Direction: kp.Out, Kind: "relay", To: []kp.Address{req}, Date: answer, Received: answer},
			{Direction: kp.Out, Kind: kp.KindStatus, Subject: "status waiting", Date: answer, Received: answer},
		}
		status := kp.StatusWaiting
		if i%5 != 0 {
			status = kp.StatusResolved
			at := answer.Add(time.Duration(i%131) * time.Hour)
			msgs = append(msgs, kp.Message{Direction: kp.Out, Kind: kp.KindStatus, Subject: "status resolved", Date: at, Received: at})
		}
		if i%11 == 0 {
			at := created.Add(60 * time.Hour)
			msgs = append(msgs, kp.Message{Direction: kp.Out, Kind: kp.KindEscalation, Subject: "level 1", Date: at, Received: at})
		}
		out[i] = report.Input{Case: kp.Case{ID: kp.CaseID(i + 1), Created: created, Status: status, Requester: req,
			Team: teams[i%len(teams)], Assignee: fmt.Sprintf("p%d@uio.no", i%30)}, Messages: msgs}
	}
	return out
}

// BenchmarkStatsPage100k is the statistics page over a year of 100,000
// cases: "cold" recomputes the report (a write to the store before each
// request), "cached" is a repeated request while the store is unchanged.
// The report itself is computed from cases in memory, so the figures show
// the page's own cost beside the computation's; reading the cases from
// the store comes on top of "cold".
func BenchmarkStatsPage100k(b *testing.B) {
	clk, err := routing.NewClock("UTC", "", nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	cases := yearOfCases(100_000)
	st := openStore(b)
	h := newHandler(b, st, &clock{t: t0}, func(o *Options) {
		o.Report = func(from, to time.Time, team string) (*report.Report, error) {
			return report.Compute(cases, report.Options{From: from, To: to, Team: team, Clock: clk,
				RespondWithin: routing.BizDuration{Days: 2}, Now: t0}), nil
		}
	})
	page := "/stats?from=2025-12-01&to=2026-11-30"
	request := func() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, page, nil))
		if w.Code != 200 {
			b.Fatalf("/stats: %d", w.Code)
		}
	}
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			if err := st.Update(func(tx *store.Tx) error { return tx.AddCounter("bench", 1) }); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			request()
		}
	})
	b.Run("cached", func(b *testing.B) {
		request()
		for b.Loop() {
			request()
		}
	})
}
