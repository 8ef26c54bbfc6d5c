package gateway

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"kontaktpunkt/config"
	"kontaktpunkt/report"
)

// scriptStep is one mail of the report script: when it is sent (and, in
// the live run, received) and its bytes.
type scriptStep struct {
	at  time.Time
	raw []byte
}

// reportScript is four cases over two weeks with known answer times (all
// times Europe/Oslo, working hours 08-16 Monday to Friday):
//
//	#1 ola, Mon 23 Nov 09:00; kari assigns per 10:00; per answers 11:30
//	   (2.5 h = 9000 s); kari closes Tue 10:00 (7 h + 2 h = 32400 s).
//	#2 lise, Tue 24 Nov 14:00; kari assigns per 14:10; per answers Thu
//	   09:00 (2 + 8 + 1 h = 39600 s) and closes Thu 12:00; lise writes
//	   again Mon 30 Nov 09:00 (reopened); per closes Mon 10:00
//	   (2 + 8 + 8 + 8 + 2 h = 100800 s).
//	#3 ola, Wed 25 Nov 15:00, no team; kari escalates Thu 09:00; kari
//	   answers Fri 08:30 (1 + 8 + 0.5 h = 34200 s); stays waiting.
//	#4 x@uio.no, Mon 30 Nov 09:00; no answer.
func reportScript(loc *time.Location) []scriptStep {
	at := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, loc) }
	mail := func(t time.Time, from, id, subject, body string, staff bool) scriptStep {
		hs := []string{"From: " + from, "To: " + contact, "Subject: " + subject, "Message-ID: <" + id + ">", "Date: " + t.Format(time.RFC1123Z)}
		if staff {
			hs = append([]string{trustedAR}, hs...)
		}
		return scriptStep{t, msg(hs, body)}
	}
	if at(30, 12, 0).Month() != 11 {
		panic("script dates")
	}
	return []scriptStep{
		mail(at(23, 9, 0), ola, "r1@example.org", "Tilgang til FS", "Hei, vi trenger tilgang.\n", false),
		mail(at(23, 10, 0), kari, "k1@uio.no", "[INT#1] [assign:"+per+"]", "", true),
		mail(at(23, 11, 30), per, "p1@uio.no", "Re: [INT#1] Tilgang til FS", "Hei Ola, tilgangen er gitt.\n", true),
		mail(at(24, 10, 0), kari, "k2@uio.no", "[INT#1] [close]", "", true),
		mail(at(24, 14, 0), "lise@example.com", "r2@example.com", "Eksport feiler", "Eksporten feiler hver natt.\n", false),
		mail(at(24, 14, 10), kari, "k3@uio.no", "[INT#2] [assign:"+per+"]", "", true),
		mail(at(25, 15, 0), ola, "r3@example.org", "Nytt passord", "Jeg trenger nytt passord til FS.\n", false),
		mail(at(26, 9, 0), per, "p2@uio.no", "Re: [INT#2] Eksport feiler", "Hei Lise, det er rettet.\n", true),
		mail(at(26, 9, 0).Add(time.Second), kari, "k4@uio.no", "[INT#3] [escalate]", "", true),
		mail(at(26, 12, 0), per, "p3@uio.no", "[INT#2] [close]", "", true),
		mail(at(27, 8, 30), kari, "k5@uio.no", "Re: [INT#3] Nytt passord", "Hei Ola, nytt passord er sendt.\n", true),
		mail(at(30, 9, 0), "lise@example.com", "r4@example.com", "Re: [INT#2] Eksport feiler", "Den feiler igjen.\n", false),
		mail(at(30, 9, 0).Add(time.Second), "x@uio.no", "r5@uio.no", "Rapport", "Hvor finner jeg rapporten?\n", false),
		mail(at(30, 10, 0), per, "p4@uio.no", "[INT#2] [close]", "", true),
	}
}

func i64(v int64) *int64 { return &v }

// reportAt runs the report script on a fresh harness, live (each mail at
// its time, mail queued) or as an archive import (all at once, quiet), and
// reports at Mon 30 Nov 12:00.
func reportAt(t *testing.T, quiet bool) *report.Report {
	h := newHarness(t, nil)
	loc := h.g.Clock.Loc
	end := time.Date(2026, 11, 30, 12, 0, 0, 0, loc)
	steps := reportScript(loc)
	if quiet {
		h.g.Quiet = true
		h.clock.t = end
		var all [][]byte
		for _, s := range steps {
			all = append(all, s.raw)
		}
		for _, r := range h.ingest(all...) {
			caseNo(t, r)
		}
	} else {
		for _, s := range steps {
			h.clock.t = s.at
			caseNo(t, h.one(s.raw))
		}
		if len(h.mailsTo(ola, "relay")) == 0 {
			t.Fatal("the live run relayed nothing to the requester")
		}
		h.clock.t = end
	}
	r, err := h.g.Report(time.Time{}, time.Time{}, "")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReportFiguresFromScript(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		name := "live"
		if quiet {
			name = "import"
		}
		t.Run(name, func(t *testing.T) {
			r := reportAt(t, quiet)
			want := report.Figures{New: 4, Resolved: 2, Reopened: 1, Escalated: 1,
				FirstAnswerP50: i64(34200), FirstAnswerP90: i64(39600), ResolutionP50: i64(32400), ResolutionP90: i64(100800),
				Answered: 3, AnsweredInTarget: 3}
			if !reflect.DeepEqual(r.Totals, want) {
				t.Errorf("totals = %s\nwant     %s", js(r.Totals), js(want))
			}
			weeks := []report.Week{
				{Week: "2026-W48", Start: "2026-11-23", Backlog: 1, Figures: report.Figures{New: 3, Resolved: 1, Escalated: 1,
					FirstAnswerP50: i64(34200), FirstAnswerP90: i64(39600), ResolutionP50: i64(32400), ResolutionP90: i64(32400), Answered: 3, AnsweredInTarget: 3}},
				{Week: "2026-W49", Start: "2026-11-30", Backlog: 2, Figures: report.Figures{New: 1, Resolved: 1, Reopened: 1,
					ResolutionP50: i64(100800), ResolutionP90: i64(100800)}},
			}
			if got := js(r.Weeks); got != js(weeks) {
				t.Errorf("weeks = %s\nwant    %s", got, js(weeks))
			}
			fs := report.Figures{New: 2, Resolved: 2, Reopened: 1,
				FirstAnswerP50: i64(9000), FirstAnswerP90: i64(39600), ResolutionP50: i64(32400), ResolutionP90: i64(100800), Answered: 2, AnsweredInTarget: 2}
			none := report.Figures{New: 2, Escalated: 1, FirstAnswerP50: i64(34200), FirstAnswerP90: i64(34200), Answered: 1, AnsweredInTarget: 1}
			teams := []report.Group{
				{Name: report.NoTeam, Figures: none, FirstAnswerHist: []int{0, 0, 0, 1, 0, 0, 0, 0}, FirstAnswerSum: 34200, ResolutionHist: []int{0, 0, 0, 0, 0, 0, 0, 0}},
				{Name: "fs", Figures: fs, FirstAnswerHist: []int{0, 1, 0, 1, 0, 0, 0, 0}, FirstAnswerSum: 48600,
					ResolutionHist: []int{0, 0, 0, 1, 1, 0, 0, 0}, ResolutionSum: 133200},
			}
			if got := js(r.Teams); got != js(teams) {
				t.Errorf("teams = %s\nwant    %s", got, js(teams))
			}
			assignees := []report.Group{
				{Name: report.NoAssignee, Figures: none, FirstAnswerHist: []int{0, 0, 0, 1, 0, 0, 0, 0}, FirstAnswerSum: 34200, ResolutionHist: []int{0, 0, 0, 0, 0, 0, 0, 0}},
				{Name: per, Figures: fs, FirstAnswerHist: []int{0, 1, 0, 1, 0, 0, 0, 0}, FirstAnswerSum: 48600,
					ResolutionHist: []int{0, 0, 0, 1, 1, 0, 0, 0}, ResolutionSum: 133200},
			}
			if got := js(r.Assignees); got != js(assignees) {
				t.Errorf("assignees = %s\nwant        %s", got, js(assignees))
			}
			if got := js(r.EscalationsByLevel); got != `{"1":1}` {
				t.Errorf("escalations by level = %s", got)
			}
			if r.AnsweredInTargetShare == nil || *r.AnsweredInTargetShare != 0.75 {
				t.Errorf("share answered within target = %v, want 0.75", r.AnsweredInTargetShare)
			}
			domains := []report.Count{{Name: "example.org", Count: 2}, {Name: "example.com", Count: 1}, {Name: "uio.no", Count: 1}}
			if !reflect.DeepEqual(r.RequesterDomains, domains) {
				t.Errorf("requester domains = %v, want %v", r.RequesterDomains, domains)
			}
		})
	}
}

// TestReportPeriodAndTeam: a period holds what happened in it, a team
// filter only that team's cases.
func TestReportPeriodAndTeam(t *testing.T) {
	h := newHarness(t, nil)
	for _, s := range reportScript(h.g.Clock.Loc) {
		h.clock.t = s.at
		h.one(s.raw)
	}
	h.clock.t = time.Date(2026, 11, 30, 12, 0, 0, 0, h.g.Clock.Loc)
	w49 := time.Date(2026, 11, 30, 0, 0, 0, 0, h.g.Clock.Loc)
	r, err := h.g.Report(w49, w49.AddDate(0, 0, 7), "FS")
	if err != nil {
		t.Fatal(err)
	}
	want := report.Figures{New: 0, Resolved: 1, Reopened: 1, ResolutionP50: i64(100800), ResolutionP90: i64(100800)}
	if !reflect.DeepEqual(r.Totals, want) {
		t.Errorf("W49, team fs: totals = %s, want %s", js(r.Totals), js(want))
	}
	if len(r.Weeks) != 1 || r.Weeks[0].Week != "2026-W49" || r.Weeks[0].Backlog != 0 {
		t.Errorf("W49, team fs: weeks = %s", js(r.Weeks))
	}
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestReportRuleHitsLiveAndImported: the report counts new cases by the
// routing rule that matched them, the configured rules in order, and an
// archive import (quiet) of the same mail gives the same figures as a
// live run. Replies on a case count no rule.
func TestReportRuleHitsLiveAndImported(t *testing.T) {
	cfg := testConfig()
	cfg.Routing = []config.Rule{
		{Subject: `\bFS\b`, Team: "fs"},
		{FromDomain: `^uib\.no$`, Assignee: per},
		{Subject: `\bnever\b`, Team: "fs"},
	}
	mails := [][]byte{
		msg([]string{"From: a@uio.no", "To: " + contact, "Subject: FS er nede", "Message-ID: <r1@x>"}, "Hei.\n"),
		msg([]string{"From: b@uio.no", "To: " + contact, "Subject: Tilgang til FS", "Message-ID: <r2@x>"}, "Hei.\n"),
		msg([]string{"From: c@uib.no", "To: " + contact, "Subject: Canvas", "Message-ID: <r3@x>"}, "Hei.\n"),
		msg([]string{"From: d@ntnu.no", "To: " + contact, "Subject: Passord", "Message-ID: <r4@x>"}, "Hei.\n"),
		msg([]string{"From: a@uio.no", "To: " + contact, "Subject: Re: FS er nede", "Message-ID: <r5@x>", "In-Reply-To: <r1@x>"}, "FS igjen.\n"),
	}
	var got [2]*report.Report
	for i, quiet := range []bool{false, true} {
		h := newHarness(t, cfg)
		h.g.Quiet = quiet
		h.ingest(mails...)
		r, err := h.g.Report(time.Time{}, time.Time{}, "")
		if err != nil {
			t.Fatal(err)
		}
		got[i] = r
	}
	want := []report.RuleHits{
		{Rule: 1, Key: `team fs; subject ~ \bFS\b`, New: 2},
		{Rule: 2, Key: "assignee " + per + `; from_domain ~ ^uib\.no$`, New: 1},
		{Rule: 3, Key: `team fs; subject ~ \bnever\b`, New: 0},
	}
	for i, r := range got {
		if !reflect.DeepEqual(r.Rules, want) || r.NoRule != 1 || r.Totals.New != 4 {
			t.Errorf("quiet=%v: rules %+v, no rule %d, new %d; want %+v, 1, 4", i == 1, r.Rules, r.NoRule, r.Totals.New, want)
		}
	}
}
