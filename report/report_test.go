package report

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/routing"
)

func TestPercentileNearestRank(t *testing.T) {
	for _, tc := range []struct {
		vs   []int64
		p    int
		want int64
	}{
		{[]int64{5}, 50, 5},
		{[]int64{5}, 90, 5},
		{[]int64{3, 1, 2}, 50, 2},
		{[]int64{3, 1, 2}, 90, 3},
		{[]int64{1, 2, 3, 4}, 50, 2},
		{[]int64{1, 2, 3, 4}, 90, 4},
		{[]int64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, 90, 90},
		{[]int64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, 50, 50},
	} {
		if got := Percentile(append([]int64(nil), tc.vs...), tc.p); got == nil || *got != tc.want {
			t.Errorf("Percentile(%v, %d) = %v, want %d", tc.vs, tc.p, got, tc.want)
		}
	}
	if Percentile(nil, 50) != nil {
		t.Error("Percentile of nothing is not nil")
	}
}

func TestWeekIDAndStartAcrossTheYear(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/Oslo")
	for _, tc := range []struct {
		t           time.Time
		week, start string
	}{
		{time.Date(2026, 11, 29, 23, 30, 0, 0, loc), "2026-W48", "2026-11-23"},
		{time.Date(2026, 11, 30, 0, 0, 0, 0, loc), "2026-W49", "2026-11-30"},
		{time.Date(2027, 1, 1, 12, 0, 0, 0, loc), "2026-W53", "2026-12-28"},
		{time.Date(2025, 12, 29, 8, 0, 0, 0, loc), "2026-W01", "2025-12-29"},
		// 23:30 UTC on Sunday is already Monday in Oslo.
		{time.Date(2026, 11, 29, 23, 30, 0, 0, time.UTC), "2026-W49", "2026-11-30"},
	} {
		if got := WeekID(tc.t, loc); got != tc.week {
			t.Errorf("WeekID(%v) = %s, want %s", tc.t, got, tc.week)
		}
		if got := WeekStart(tc.t, loc).Format(time.DateOnly); got != tc.start {
			t.Errorf("WeekStart(%v) = %s, want %s", tc.t, got, tc.start)
		}
	}
}

// TestMergedAndLegacyCases: a case merged into another is left out; a
// resolved case without status records counts as resolved at ResolvedAt.
func TestMergedAndLegacyCases(t *testing.T) {
	clk, _ := routing.NewClock("", "", nil, nil)
	mon := time.Date(2026, 11, 23, 9, 0, 0, 0, clk.Loc)
	cases := []Input{
		{Case: kp.Case{ID: 1, Status: kp.StatusResolved, Created: mon, ResolvedAt: mon.Add(3 * time.Hour), Requester: kp.Address{Addr: "a@x.org"}}},
		{Case: kp.Case{ID: 2, Status: kp.StatusResolved, Created: mon, ResolvedAt: mon.Add(time.Hour), MergedInto: 1}},
	}
	r := Compute(cases, Options{Clock: clk, Now: mon.Add(24 * time.Hour)})
	if r.Totals.New != 1 || r.Totals.Resolved != 1 || r.Totals.ResolutionP50 == nil || *r.Totals.ResolutionP50 != 3*3600 {
		t.Errorf("totals = %+v", r.Totals)
	}
}

// synthetic makes n cases over a year with a request, a staff answer, a
// relay, status records, some reopenings, escalations and follow-ups.
func synthetic(n int, clk *routing.Clock) []Input {
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2026, 1, 1, 8, 0, 0, 0, clk.Loc)
	teams := []string{"fs", "lms", "hr", "ad", ""}
	out := make([]Input, n)
	for i := range out {
		created := start.Add(time.Duration(rng.Int64N(int64(360 * 24 * time.Hour))))
		req := kp.Address{Addr: fmt.Sprintf("user%d@dom%d.example", i, rng.IntN(300))}
		staff := kp.Address{Addr: fmt.Sprintf("staff%d@uio.no", rng.IntN(40))}
		answer := created.Add(time.Duration(rng.Int64N(int64(96 * time.Hour))))
		resolve := answer.Add(time.Duration(rng.Int64N(int64(200 * time.Hour))))
		msgs := []kp.Message{
			{Direction: kp.In, Kind: "request", Class: kp.ClassHuman, From: req, Date: created, Received: created},
			{Direction: kp.Out, Kind: "ack", To: []kp.Address{req}, Date: created, Received: created},
			{Direction: kp.In, Kind: "reply", Class: kp.ClassHuman, From: staff, Date: answer, Received: answer},
			{Direction: kp.Out, Kind: "relay", To: []kp.Address{req}, Date: answer, Received: answer},
			{Direction: kp.Out, Kind: kp.KindStatus, Subject: "status waiting", Date: answer, Received: answer},
		}
		if rng.IntN(10) == 0 {
			esc := created.Add(50 * time.Hour)
			msgs = append(msgs,
				kp.Message{Direction: kp.Out, Kind: "escalate", Date: esc, Received: esc},
				kp.Message{Direction: kp.Out, Kind: kp.KindEscalation, Subject: "level 1", Date: esc, Received: esc})
		}
		status := kp.StatusWaiting
		if rng.IntN(5) != 0 {
			status = kp.StatusResolved
			msgs = append(msgs, kp.Message{Direction: kp.Out, Kind: kp.KindStatus, Subject: "status resolved", Date: resolve, Received: resolve})
			if rng.IntN(8) == 0 {
				re := resolve.Add(30 * time.Hour)
				msgs = append(msgs,
					kp.Message{Direction: kp.In, Kind: "reply", Class: kp.ClassHuman, From: req, Date: re, Received: re},
					kp.Message{Direction: kp.Out, Kind: kp.KindStatus, Subject: "status open", Date: re, Received: re},
					kp.Message{Direction: kp.Out, Kind: kp.KindStatus, Subject: "status resolved", Date: re.Add(time.Hour), Received: re.Add(time.Hour)})
			}
		}
		out[i] = Input{
			Case: kp.Case{ID: kp.CaseID(i + 1), Status: status, Created: created, Requester: req,
				Team: teams[rng.IntN(len(teams))], Assignee: staff.Addr},
			Messages: msgs,
		}
	}
	return out
}

func staffSide(a string) bool { return len(a) > 7 && a[len(a)-7:] == "@uio.no" }

func BenchmarkReportYear100k(b *testing.B) {
	clk, _ := routing.NewClock("", "", nil, nil)
	cases := synthetic(100_000, clk)
	opts := Options{Clock: clk, StaffSide: staffSide, RespondWithin: routing.BizDuration{Days: 2},
		From: time.Date(2026, 1, 1, 0, 0, 0, 0, clk.Loc), To: time.Date(2027, 1, 1, 0, 0, 0, 0, clk.Loc),
		Now: time.Date(2027, 1, 10, 0, 0, 0, 0, clk.Loc)}
	b.ResetTimer()
	reportCPU(b, func() {
		r := Compute(cases, opts)
		if r.Totals.New == 0 {
			b.Fatal("nothing counted")
		}
	})
}

// BenchmarkReadOnly is the baseline: one pass reading every case's
// timeline, without the business-time arithmetic and grouping.
func BenchmarkReadOnly(b *testing.B) {
	clk, _ := routing.NewClock("", "", nil, nil)
	cases := synthetic(100_000, clk)
	opts := Options{Clock: clk, StaffSide: staffSide}
	b.ResetTimer()
	reportCPU(b, func() {
		for i := range cases {
			read(&cases[i], &opts, nil)
		}
	})
}

// TestBacklogAgreesWithOpenAt: the week-by-week sweep gives, for every
// week, the number of cases open at its end as openAt counts them.
func TestBacklogAgreesWithOpenAt(t *testing.T) {
	clk, _ := routing.NewClock("", "", nil, nil)
	cases := synthetic(3000, clk)
	now := time.Date(2026, 10, 7, 12, 0, 0, 0, clk.Loc) // weeks after it end at now
	r := Compute(cases, Options{Clock: clk, StaffSide: staffSide, Now: now, To: time.Date(2026, 12, 1, 0, 0, 0, 0, clk.Loc)})
	var tls []timeline
	for i := range cases {
		tls = append(tls, read(&cases[i], &Options{}, nil))
	}
	for _, w := range r.Weeks {
		start, _ := time.ParseInLocation(time.DateOnly, w.Start, clk.Loc)
		end := start.AddDate(0, 0, 7)
		if now.Before(end) {
			end = now
		}
		want := 0
		for i := range tls {
			if tls[i].openAt(end.Add(-time.Nanosecond)) {
				want++
			}
		}
		if w.Backlog != want {
			t.Errorf("%s: backlog %d, want %d", w.Week, w.Backlog, want)
		}
	}
	if len(r.Weeks) < 40 {
		t.Errorf("only %d weeks", len(r.Weeks))
	}
}

// TestRuleHits: new cases of the period count under the rule they
// recorded, the configured rules first in order (even with none), a rule
// configured no more after them, cases without a rule apart; the CSV has
// a row for each.
func TestRuleHits(t *testing.T) {
	clk, _ := routing.NewClock("", "", nil, nil)
	mon := time.Date(2026, 11, 23, 9, 0, 0, 0, clk.Loc)
	mk := func(id int, created time.Time, rule string) Input {
		return Input{Case: kp.Case{ID: kp.CaseID(id), Status: kp.StatusOpen, Created: created, Rule: rule, Requester: kp.Address{Addr: "a@x.org"}}}
	}
	cases := []Input{
		mk(1, mon, "team fs; subject ~ FS"), mk(2, mon, "team fs; subject ~ FS"), mk(3, mon, "team old"),
		mk(4, mon, ""), mk(5, mon.AddDate(0, 0, -30), "team fs; subject ~ FS"),
	}
	r := Compute(cases, Options{Clock: clk, Now: mon.Add(time.Hour), From: mon.AddDate(0, 0, -7),
		Rules: []string{"assignee ole@uio.no", "team fs; subject ~ FS"}})
	want := []RuleHits{{1, "assignee ole@uio.no", 0}, {2, "team fs; subject ~ FS", 2}, {0, "team old", 1}}
	if !reflect.DeepEqual(r.Rules, want) || r.NoRule != 1 {
		t.Errorf("rules = %+v, no rule %d; want %+v, 1", r.Rules, r.NoRule, want)
	}
	var b strings.Builder
	if err := WriteCSV(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, row := range []string{"rule,assignee ole@uio.no,1,0,", "rule,team fs; subject ~ FS,2,2,", "rule,team old,,1,", "rule,(no rule),,1,"} {
		if !strings.Contains(b.String(), "\n"+row) {
			t.Errorf("CSV lacks a row starting %q:\n%s", row, b.String())
		}
	}
}

// TestCountsCoversWhatComputeReads: leaving out the messages Counts
// rejects gives the same report.
func TestCountsCoversWhatComputeReads(t *testing.T) {
	clk, _ := routing.NewClock("", "", nil, nil)
	cases := synthetic(2000, clk)
	for i := range cases {
		c := &cases[i]
		at := c.Case.Created
		c.Messages = append(c.Messages,
			kp.Message{Direction: kp.Out, Kind: "ack", To: []kp.Address{c.Case.Requester}, Date: at, Received: at},
			kp.Message{Direction: kp.In, Kind: "note", From: kp.Address{Addr: "per@uio.no"}, Class: kp.ClassHuman, Date: at, Received: at})
	}
	opts := Options{Clock: clk, StaffSide: staffSide, RespondWithin: routing.BizDuration{Days: 2},
		Now: time.Date(2027, 1, 10, 0, 0, 0, 0, clk.Loc)}
	want := Compute(cases, opts)
	kept := make([]Input, len(cases))
	for i, c := range cases {
		kept[i].Case = c.Case
		for j := range c.Messages {
			if Counts(&c.Messages[j]) {
				kept[i].Messages = append(kept[i].Messages, c.Messages[j])
			}
		}
	}
	if got := Compute(kept, opts); !reflect.DeepEqual(got, want) {
		t.Errorf("without the messages Counts rejects the report differs:\n%+v\nwant\n%+v", got.Totals, want.Totals)
	}
}
