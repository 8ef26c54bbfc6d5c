package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func reportMail(from, id, date string) string {
	return "From: " + from + "\nTo: integrasjon@example.org\nSubject: Sak " + id + "\nMessage-ID: <" + id + ">\nDate: " + date +
		"\nContent-Type: text/plain; charset=utf-8\n\nHei.\n"
}

// TestReportCommand: report -json has the documented shape and counts
// cases in the period they were created; -csv is one table; a bad date is
// a user error.
func TestReportCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "kp.db")
	in := reportMail("a@one.example", "a@one.example", "Mon, 23 Nov 2026 09:00:00 +0100") +
		"\n" + reportMail("b@two.example", "b@two.example", "Tue, 01 Dec 2026 09:00:00 +0100")
	dir := t.TempDir()
	for i, m := range strings.SplitAfter(in, "Hei.\n") {
		if strings.TrimSpace(m) == "" {
			continue
		}
		p := writeFile(t, dir, []string{"1.eml", "2.eml"}[i], strings.TrimLeft(m, "\n"))
		if _, e, code := run(t, "", "ingest", "-db", db, "-quiet", p); code != 0 {
			t.Fatalf("ingest: exit %d: %s", code, e)
		}
	}
	out, e, code := run(t, "", "report", "-db", db, "-json", "-from", "2026-11-23", "-to", "2026-11-29")
	if code != 0 {
		t.Fatalf("report -json: exit %d: %s", code, e)
	}
	var r struct {
		Totals map[string]any `json:"totals"`
		Weeks  []map[string]any
		Teams  []map[string]any
		Assign []map[string]any `json:"assignees"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("report -json: %v\n%s", err, out)
	}
	for _, k := range []string{"new", "resolved", "reopened", "escalated", "first_answer_p50_s", "first_answer_p90_s", "resolution_p50_s", "resolution_p90_s"} {
		if _, ok := r.Totals[k]; !ok {
			t.Errorf("totals lack %q: %v", k, r.Totals)
		}
	}
	if r.Totals["new"] != 1.0 || len(r.Weeks) != 1 || r.Weeks[0]["week"] != "2026-W48" || r.Weeks[0]["start"] != "2026-11-23" {
		t.Errorf("report of W48: totals %v, weeks %v", r.Totals, r.Weeks)
	}
	if len(r.Teams) != 1 || len(r.Assign) != 1 {
		t.Errorf("teams %v, assignees %v", r.Teams, r.Assign)
	}

	out, e, code = run(t, "", "report", "-db", db, "-csv")
	if code != 0 {
		t.Fatalf("report -csv: exit %d: %s", code, e)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) < 3 || rows[0][0] != "scope" || rows[1][0] != "total" || rows[1][3] != "2" {
		t.Fatalf("report -csv = %q (%v)", out, err)
	}
	if out, _, code = run(t, "", "report", "-db", db); code != 0 || !strings.Contains(out, "2026-W49") {
		t.Errorf("report as text (%d): %s", code, out)
	}
	if _, e, code = run(t, "", "report", "-db", db, "-from", "23.11.2026"); code != 1 || !strings.Contains(e, "-from") {
		t.Errorf("bad -from: exit %d: %s", code, e)
	}
}

// TestReportThroughServe: while serve holds the store, report runs
// through its admin socket.
func TestReportThroughServe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out strings.Builder
	d, err := startDemo(ctx, t.TempDir(), &out, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	if _, err := d.write(demoOla, false, "Spørsmål om API", "Hei!\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.expect(ctx, "the acknowledgement", kindTo("ack", demoOla)); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := run(t, "", "report", "-db", d.srv.Config.Store.Path, "-json")
	if code != 0 {
		t.Fatalf("report while serve runs: exit %d: %s", code, stderr)
	}
	var r struct{ Totals struct{ New int } }
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || r.Totals.New != 1 {
		t.Fatalf("report through serve = %s (%v)", stdout, err)
	}
}
