package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// BenchmarkStatsPageStore100k is the statistics page cold (a write to
// the store before each request) over a store of the year of 100,000
// cases of yearOfCases, each message with about 1 KB of text: the report
// is read from the store as the gateway reads it, from the message facts
// ("facts") or from the brief of every message record ("briefs", the
// read before facts, as baseline). With KP_BENCH_CACHE=DIR the store is
// kept as DIR/stats-year-100k.db for later runs.
func BenchmarkStatsPageStore100k(b *testing.B) {
	clk, err := routing.NewClock("UTC", "", nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	path, seeded := filepath.Join(b.TempDir(), "kp.db"), false
	if dir := os.Getenv("KP_BENCH_CACHE"); dir != "" {
		path = filepath.Join(dir, "stats-year-100k.db")
		_, err := os.Stat(path)
		seeded = err == nil
	}
	st, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if !seeded {
		seedCases(b, st, yearOfCases(100_000))
	}
	for _, facts := range []bool{false, true} {
		name := "briefs"
		if facts {
			name = "facts"
		}
		h := newHandler(b, st, &clock{t: t0}, func(o *Options) {
			o.Report = func(from, to time.Time, team string) (*report.Report, error) {
				bl := report.NewBuilder(nil)
				err := st.View(func(tx *store.Tx) error {
					if n, err := tx.CountByStatus(); err == nil {
						total := 0
						for _, k := range n {
							total += k
						}
						bl.Grow(total)
					}
					if err := tx.ForEachCaseBrief(func(c *kp.Case) error { bl.AddCase(c); return nil }); err != nil {
						return err
					}
					add := func(m *kp.Message) error {
						if m.Case != 0 && report.Counts(m) {
							bl.AddMessage(m)
						}
						return nil
					}
					if facts {
						if ok, err := tx.ForEachMessageFact(add); ok || err != nil {
							return err
						}
						b.Fatal("the store has no message facts")
					}
					return tx.ForEachMessageBrief(add)
				})
				if err != nil {
					return nil, err
				}
				return bl.Report(report.Options{From: from, To: to, Team: team, Clock: clk,
					RespondWithin: routing.BizDuration{Days: 2}, Now: t0}), nil
			}
		})
		b.Run(name, func(b *testing.B) {
			var cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				if err := st.Update(func(tx *store.Tx) error { return tx.AddCounter("bench", 1) }); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := cpuTime()
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/stats?from=2025-12-01&to=2026-11-30", nil))
				cpu += cpuTime() - start
				if w.Code != 200 {
					b.Fatalf("/stats: %d", w.Code)
				}
			}
			b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// seedCases stores the cases and their messages, with about 1 KB of
// text each, in batches of transactions.
func seedCases(b *testing.B, st *store.Store, cases []report.Input) {
	words := strings.Fields("Hei jeg trenger tilgang til FS for et prosjekt om opptak og vurdering ved instituttet Kan dere hjelpe meg med dette Mvh Ola Nordmann semester emne")
	const batch = 5000
	for done := 0; done < len(cases); done += batch {
		err := st.Update(func(tx *store.Tx) error {
			for i := done; i < min(len(cases), done+batch); i++ {
				in := cases[i]
				c := in.Case
				if _, err := tx.NextCaseID(); err != nil {
					return err
				}
				for j := range in.Messages {
					m := in.Messages[j]
					var sb strings.Builder
					for k := 0; sb.Len() < 1000; k++ {
						sb.WriteString(words[(i*7+j*13+k*k+k/3)%len(words)])
						if k%11 == 10 {
							sb.WriteString(strconv.Itoa(i*31 + k))
						}
						sb.WriteByte(' ')
					}
					m.ID, m.Case, m.Text = fmt.Sprintf("m%d.%d@bench.example", i, j), c.ID, sb.String()
					if err := tx.PutMessage(&m, nil); err != nil {
						return err
					}
				}
				c.Messages = len(in.Messages)
				if err := tx.PutCase(&c); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
