package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"kontaktpunkt/report"
)

// reportCommand builds the runner of `report`. -from and -to are dates
// (YYYY-MM-DD) in the follow-up time zone; -to is inclusive.
func reportCommand(pos []string, from, to, team string, asJSON, asCSV bool, stdout io.Writer) (func(*env) error, error) {
	if len(pos) > 0 {
		return nil, usageErr("report takes no arguments (got %q)", pos[0])
	}
	if asJSON && asCSV {
		return nil, usageErr("give -json or -csv, not both")
	}
	var f, t time.Time
	var err error
	if from != "" {
		if f, err = time.Parse(time.DateOnly, from); err != nil {
			return nil, usageErr("-from must be a date YYYY-MM-DD, not %q", from)
		}
	}
	if to != "" {
		if t, err = time.Parse(time.DateOnly, to); err != nil {
			return nil, usageErr("-to must be a date YYYY-MM-DD, not %q", to)
		}
	}
	if !f.IsZero() && !t.IsZero() && t.Before(f) {
		return nil, usageErr("-to %s is before -from %s", to, from)
	}
	return func(e *env) error {
		loc := e.loc()
		var start, end time.Time
		if !f.IsZero() {
			start = time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, loc)
		}
		if !t.IsZero() {
			end = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
		}
		if team != "" {
			if _, ok := e.g.Dir.Team(team); !ok {
				return usageErr("no team %q in the configuration", team)
			}
		}
		r, err := e.g.Report(start, end, team)
		if err != nil {
			return err
		}
		switch {
		case asJSON:
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(r)
		case asCSV:
			return report.WriteCSV(stdout, r)
		}
		return printReportTables(stdout, r)
	}, nil
}

// printReportTables writes the report as tables for a person, hours of
// business time with one decimal.
func printReportTables(w io.Writer, r *report.Report) error {
	period := "all time"
	if r.From != "" || r.To != "" {
		period = r.From + " – " + r.To
	}
	fmt.Fprintf(w, "Report %s", period)
	if r.Team != "" {
		fmt.Fprintf(w, ", team %s", r.Team)
	}
	fmt.Fprintln(w, " (business hours)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "\tnew\tresolved\treopened\tescalated\tanswer p50\tanswer p90\tresolution p50\tresolution p90"
	line := func(name string, f *report.Figures, extra string) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s%s\n", name, f.New, f.Resolved, f.Reopened, f.Escalated,
			report.Hours(f.FirstAnswerP50), report.Hours(f.FirstAnswerP90), report.Hours(f.ResolutionP50), report.Hours(f.ResolutionP90), extra)
	}
	fmt.Fprintln(tw, "total"+head)
	line("", &r.Totals, "")
	fmt.Fprintln(tw, "\t")
	fmt.Fprintln(tw, "week"+head+"\tbacklog")
	for i := range r.Weeks {
		line(r.Weeks[i].Week, &r.Weeks[i].Figures, fmt.Sprintf("\t%d", r.Weeks[i].Backlog))
	}
	fmt.Fprintln(tw, "\t")
	fmt.Fprintln(tw, "team"+head)
	for i := range r.Teams {
		line(r.Teams[i].Name, &r.Teams[i].Figures, "")
	}
	fmt.Fprintln(tw, "\t")
	fmt.Fprintln(tw, "assignee"+head)
	for i := range r.Assignees {
		line(r.Assignees[i].Name, &r.Assignees[i].Figures, "")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	share := "–"
	if r.AnsweredInTargetShare != nil {
		share = fmt.Sprintf("%.0f %%", *r.AnsweredInTargetShare*100)
	}
	fmt.Fprintf(w, "\nanswered within %s: %s\n", r.RespondTarget, share)
	fmt.Fprintf(w, "escalations by level: %v\n", r.EscalationsByLevel)
	fmt.Fprintf(w, "follow-ups sent: %v\n", r.FollowUpsSent)
	fmt.Fprintf(w, "unfiled %d, quarantined %d, spam %d\n", r.Unfiled, r.Quarantined, r.Spam)
	if len(r.RequesterDomains) > 0 {
		fmt.Fprint(w, "requester domains:")
		for i, d := range r.RequesterDomains {
			if i == 10 {
				fmt.Fprintf(w, " … (%d more)", len(r.RequesterDomains)-10)
				break
			}
			fmt.Fprintf(w, " %s %d", d.Name, d.Count)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "routing rules (new cases):")
	for _, h := range r.Rules {
		place := "-"
		if h.Rule > 0 {
			place = fmt.Sprint(h.Rule)
		}
		fmt.Fprintf(w, "  %s. %s: %d\n", place, h.Key, h.New)
	}
	fmt.Fprintf(w, "  %s: %d\n", report.NoRule, r.NoRule)
	return nil
}
