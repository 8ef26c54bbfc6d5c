package web

import (
	"encoding/csv"
	"fmt"
	"image/png"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/report"
	"kontaktpunkt/routing"
)

// statsReport is a ReportFunc over a fixed set of cases: two teams, one
// answered within hours, one in days, one escalated, over three weeks.
func statsReport(t testing.TB) ReportFunc {
	clk, err := routing.NewClock("UTC", "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	mon := time.Date(2026, 11, 9, 9, 0, 0, 0, time.UTC) // W46
	req := func(i int) kp.Address { return kp.Address{Addr: fmt.Sprintf("r%d@student.example.no", i)} }
	mk := func(id int, created time.Time, team string, answer time.Duration, resolved bool, esc bool) report.Input {
		c := kp.Case{ID: kp.CaseID(id), Created: created, Team: team, Assignee: "per@uio.no", Requester: req(id), Status: kp.StatusOpen}
		if team != "" {
			c.Rule = "team " + team + `; subject ~ \bFS\b`
		}
		var msgs []kp.Message
		if answer > 0 {
			at := created.Add(answer)
			msgs = append(msgs, kp.Message{Direction: kp.Out, Kind: "relay", To: []kp.Address{req(id)}, Date: at, Received: at},
				kp.Message{Direction: kp.Out, Kind: kp.KindStatus, Subject: "status waiting", Date: at, Received: at})
		}
		if resolved {
			at := created.Add(answer + 24*time.Hour)
			c.Status = kp.StatusResolved
			msgs = append(msgs, kp.Message{Direction: kp.Out, Kind: kp.KindStatus, Subject: "status resolved", Date: at, Received: at})
		}
		if esc {
			at := created.Add(3 * 24 * time.Hour)
			msgs = append(msgs, kp.Message{Direction: kp.Out, Kind: kp.KindEscalation, Subject: "level 1", Date: at, Received: at})
		}
		return report.Input{Case: c, Messages: msgs}
	}
	cases := []report.Input{
		mk(1, mon, "team-fs", 2*time.Hour, true, false),
		mk(2, mon.Add(24*time.Hour), "team-fs", 30*time.Minute, true, false),
		mk(3, mon.AddDate(0, 0, 7), "team-lms", 50*time.Hour, false, true),
		mk(4, mon.AddDate(0, 0, 14), "", 0, false, false),
	}
	return func(from, to time.Time, team string) (*report.Report, error) {
		return report.Compute(cases, report.Options{From: from, To: to, Team: team, Clock: clk,
			RespondWithin: routing.BizDuration{Days: 2}, Now: t0, Rules: []string{`team team-fs; subject ~ \bFS\b`}}), nil
	}
}

func TestStatsPageAndCSV(t *testing.T) {
	st := openStore(t)
	h := newHandler(t, st, &clock{t: t0}, func(o *Options) { o.Report = statsReport(t) })
	code, body, hdr := get(t, h, "/stats?from=2026-11-09&to=2026-11-29")
	if code != 200 {
		t.Fatalf("/stats: %d %s", code, body)
	}
	if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
	for _, want := range []string{"<svg", "Cases per week", "Backlog at the end of each week", "Time to first answer per team",
		"Escalated cases per week", "2026-W46", "2026-W47", "2026-W48", "team-fs", "team-lms", "student.example.no",
		`href="/stats.csv?from=2026-11-09&amp;to=2026-11-29"`, "What the figures mean", `href="/stats"`,
		`<td>1. <code>team team-fs; subject ~ \bFS\b</code></td><td>2</td>`,
		`<td>(no longer configured) <code>team team-lms; subject ~ \bFS\b</code></td><td>1</td>`, `<td>No rule matched</td><td>1</td>`} {
		if !strings.Contains(body, want) {
			t.Errorf("/stats lacks %q", want)
		}
	}
	if strings.Contains(body, "<script") {
		t.Error("/stats carries a script")
	}

	code, body, hdr = get(t, h, "/stats.csv?from=2026-11-09&to=2026-11-29&team=team-fs")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") || !strings.Contains(hdr.Get("Content-Disposition"), "kontaktpunkt-report-2026-11-09-2026-11-29.csv") {
		t.Fatalf("/stats.csv: %d %v", code, hdr)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) < 2 || rows[1][0] != "total" || rows[1][3] != "2" {
		t.Fatalf("/stats.csv for team-fs = %q (%v)", body, err)
	}
	if !strings.Contains(body, "\nrule,team team-fs; subject ~ \\bFS\\b,1,2,") {
		t.Errorf("/stats.csv lacks the rule row:\n%s", body)
	}

	if code, _, _ := get(t, h, "/stats?from=9.11.2026"); code != 400 {
		t.Errorf("bad date: %d, want 400", code)
	}
	plain := newHandler(t, st, &clock{t: t0}, nil)
	if code, _, _ := get(t, plain, "/stats"); code != 404 {
		t.Errorf("/stats without a report: %d, want 404", code)
	}
}

// TestBrowserStats opens the statistics page in headless Chromium: the
// charts and their tables show, it fits a phone's width, and it prints.
func TestBrowserStats(t *testing.T) {
	bin := chromiumPath(t)
	st := openStore(t)
	srv := httptest.NewServer(newHandler(t, st, &clock{t: t0}, func(o *Options) { o.Report = statsReport(t) }))
	defer srv.Close()
	url := srv.URL + "/stats?from=2026-11-09&to=2026-11-29"

	dom := chromium(t, bin, url, "--dump-dom")
	// (The bars' SVG <title> tooltips come after the document's title.)
	if !strings.Contains(string(dom), "<title>Statistics · Integrasjon UiO</title>") {
		t.Errorf("the page's title is not Statistics")
	}
	p := see(t, dom)
	p.mustShow(t, "Cases per week", "Backlog at the end of each week", "Time to first answer per team", "Escalated cases per week",
		"2026-W46 2026-11-09 2 2 0 0 0.5 2.0", "team-fs (2)", "team-lms (1)", "Level 1 1", "student.example.no 4")
	if p.Links["Download CSV"] == "" || p.Links["Statistics"] != "/stats" {
		t.Errorf("links %v", p.Links)
	}

	dir := os.Getenv("KP_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	shot := filepath.Join(dir, "phone-stats.png")
	chromium(t, bin, url, "--window-size=390,844", "--hide-scrollbars", "--screenshot="+shot)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	cfg, err := png.DecodeConfig(f)
	f.Close()
	if err != nil || cfg.Width != 390 {
		t.Errorf("screenshot %dx%d (%v), want width 390", cfg.Width, cfg.Height, err)
	}
	pdf := filepath.Join(dir, "stats.pdf")
	chromium(t, bin, url, "--no-pdf-header-footer", "--print-to-pdf="+pdf)
	b, err := os.ReadFile(pdf)
	if err != nil || !strings.HasPrefix(string(b), "%PDF") {
		t.Errorf("printing the page gave no PDF (%v)", err)
	}
}

// TestAnswerHistograms: /metrics carries the first-answer and resolution
// histograms per team, cumulative over the report's buckets.
func TestAnswerHistograms(t *testing.T) {
	st := openStore(t)
	h := newHandler(t, st, &clock{t: t0}, func(o *Options) { o.Report = statsReport(t) })
	code, body, _ := get(t, h, "/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	// team-fs: first answers after 2 h and 0.5 h of working time (sum
	// 9000 s) and two resolutions; team-lms one answer, no resolution.
	for _, want := range []string{
		`kontaktpunkt_first_answer_business_seconds_bucket{team="team-fs",le="3600"} 1`,
		`kontaktpunkt_first_answer_business_seconds_bucket{team="team-fs",le="14400"} 2`,
		`kontaktpunkt_first_answer_business_seconds_sum{team="team-fs"} 9000`,
		`kontaktpunkt_first_answer_business_seconds_count{team="team-fs"} 2`,
		`kontaktpunkt_first_answer_business_seconds_count{team="team-lms"} 1`,
		`kontaktpunkt_resolution_business_seconds_count{team="team-fs"} 2`,
		`kontaktpunkt_resolution_business_seconds_count{team="team-lms"} 0`,
		`kontaktpunkt_first_answer_business_seconds_count{team=""} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestStatsCacheFollowsTheStore: the report is computed once while the
// store does not change, and again after any write.
func TestStatsCacheFollowsTheStore(t *testing.T) {
	st := openStore(t)
	inner := statsReport(t)
	calls := 0
	h := newHandler(t, st, &clock{t: t0}, func(o *Options) {
		o.Report = func(from, to time.Time, team string) (*report.Report, error) {
			calls++
			return inner(from, to, team)
		}
	})
	get(t, h, "/stats")
	get(t, h, "/stats")
	get(t, h, "/metrics")
	if calls != 2 { // the page's period and the histograms' all time
		t.Fatalf("reports computed = %d, want 2 (one per period)", calls)
	}
	addCase(t, st, kp.Case{Subject: "Ny", Requester: kp.Address{Addr: "ny@example.org"}, Created: t0, Updated: t0})
	get(t, h, "/stats")
	if calls != 3 {
		t.Fatalf("after a write: reports computed = %d, want 3", calls)
	}
}

// TestStatsSuggestReplay: the page shows the replay of routing by example;
// it is replayed once while the store is unchanged, shown with its time
// after a write, and replayed again once it is older than replayEvery.
func TestStatsSuggestReplay(t *testing.T) {
	st := openStore(t)
	clk := &clock{t: t0}
	calls := 0
	h := newHandler(t, st, clk, func(o *Options) {
		o.Report = statsReport(t)
		o.SuggestReplay = func(n int) (SuggestReplay, error) {
			calls++
			if n != replayCases {
				t.Errorf("replayed %d cases, want %d", n, replayCases)
			}
			return SuggestReplay{Cases: 200, Right: 150 + calls, NoSuggestion: 10}, nil
		}
	})
	_, body, _ := get(t, h, "/stats")
	if !strings.Contains(body, "Routing by example") || !strings.Contains(body, "for 151 (76 %); no suggestion for 10") {
		t.Fatalf("/stats lacks the replay:\n%s", body)
	}
	get(t, h, "/stats")
	if calls != 1 {
		t.Fatalf("replays with the store unchanged = %d, want 1", calls)
	}
	addCase(t, st, kp.Case{Subject: "Ny", Requester: kp.Address{Addr: "ny@example.org"}, Created: t0, Updated: t0})
	clk.Add(replayEvery / 2)
	_, body, _ = get(t, h, "/stats")
	if calls != 1 || !strings.Contains(body, "for 151 (76 %)") || !strings.Contains(body, "the store has changed since") {
		t.Fatalf("after a write, within %s: %d replays, page:\n%s", replayEvery, calls, body)
	}
	clk.Add(replayEvery)
	_, body, _ = get(t, h, "/stats")
	if calls != 2 || !strings.Contains(body, "for 152 (76 %)") || strings.Contains(body, "the store has changed since") {
		t.Fatalf("after %s: %d replays, page:\n%s", replayEvery, calls, body)
	}
}
