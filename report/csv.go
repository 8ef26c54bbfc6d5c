package report

import (
	"encoding/csv"
	"io"
	"strconv"
)

// CSVHeader is the first row WriteCSV writes.
var CSVHeader = []string{"scope", "name", "start", "new", "resolved", "reopened", "escalated",
	"first_answer_p50_s", "first_answer_p90_s", "resolution_p50_s", "resolution_p90_s",
	"answered", "answered_within_target", "backlog"}

// WriteCSV writes the report as one table: a row for the totals, one per
// week, team and assignee (scope "total", "week", "team", "assignee"),
// and one per routing rule (scope "rule", the rule's place in the list as
// start, "" for one configured no more; only new is given) and one for
// the new cases no rule matched (scope "rule", name "(no rule)"). A
// percentile with nothing to measure is an empty cell; backlog is only
// given for weeks.
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	row := func(scope, name, start string, f *Figures, backlog string) {
		_ = cw.Write([]string{scope, name, start, itoa(f.New), itoa(f.Resolved), itoa(f.Reopened), itoa(f.Escalated),
			opt(f.FirstAnswerP50), opt(f.FirstAnswerP90), opt(f.ResolutionP50), opt(f.ResolutionP90),
			itoa(f.Answered), itoa(f.AnsweredInTarget), backlog})
	}
	_ = cw.Write(CSVHeader)
	row("total", "", r.From, &r.Totals, "")
	for i := range r.Weeks {
		w := &r.Weeks[i]
		row("week", w.Week, w.Start, &w.Figures, itoa(w.Backlog))
	}
	for i := range r.Teams {
		row("team", r.Teams[i].Name, "", &r.Teams[i].Figures, "")
	}
	for i := range r.Assignees {
		row("assignee", r.Assignees[i].Name, "", &r.Assignees[i].Figures, "")
	}
	for _, h := range r.Rules {
		place := ""
		if h.Rule > 0 {
			place = itoa(h.Rule)
		}
		_ = cw.Write(countRow("rule", h.Key, place, h.New))
	}
	_ = cw.Write(countRow("rule", NoRule, "", r.NoRule))
	cw.Flush()
	return cw.Error()
}

// countRow is a row that gives only the count of new cases.
func countRow(scope, name, start string, n int) []string {
	row := make([]string, len(CSVHeader))
	row[0], row[1], row[2], row[3] = scope, name, start, itoa(n)
	return row
}

func itoa(n int) string { return strconv.Itoa(n) }

func opt(v *int64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatInt(*v, 10)
}

// Hours renders business seconds as hours with one decimal ("2.5"), or
// "–" for none.
func Hours(v *int64) string {
	if v == nil {
		return "–"
	}
	return strconv.FormatFloat(float64(*v)/3600, 'f', 1, 64)
}
