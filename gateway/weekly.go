package gateway

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/config"
	"kontaktpunkt/report"
	"kontaktpunkt/routing"
	"kontaktpunkt/store"
)

// weeklyCounter holds the Unix time of the last weekly report (or of the
// first look after it was enabled), kept in the transaction that queues
// the report, like the daily digest's.
const weeklyCounter = "weekly:last_unix"

// weeklyOldest is how many of the oldest open cases the weekly report lists.
const weeklyOldest = 10

// weeklyData is what the weekly templates see.
type weeklyData struct {
	ContactName string
	Week        string // "2026-W48"
	From, To    string // the week's Monday and Sunday
	Rows        []weeklyRow
	Oldest      []weeklyCase
	Escalated   []weeklyCase
	OpenTotal   int
}

// weeklyRow is one figure: last week and the mean of the four weeks
// before (for durations: the percentile over those four weeks).
type weeklyRow struct {
	Name, Last, Before string
}

type weeklyCase struct {
	Tag, Subject, Created, Assignee string
	Status                          kp.Status
	Level                           int
}

// SendWeeklyReport queues the weekly report to the staff lead when it is
// due (reports.weekly). Once enabled, the first look only notes the time:
// the first report goes at the next configured day and time. It reports
// whether one was queued.
func (g *Gateway) SendWeeklyReport(ctx context.Context) (bool, error) {
	w := g.Config.Reports.Weekly
	if !w.Enabled || g.Quiet || g.Dir.Lead == "" || ctx.Err() != nil {
		return false, nil
	}
	day, ok1 := config.ParseWeekday(w.Day)
	at, ok2 := config.ParseClock(w.At)
	if !ok1 || !ok2 {
		return false, fmt.Errorf("weekly report: reports.weekly day %q at %q", w.Day, w.At)
	}
	now := g.now()
	slot := routing.WeeklySlot(g.Clock, day, at, now)
	sent := false
	err := g.Store.Update(func(tx *store.Tx) error {
		sent = false
		counters, err := tx.Counters(weeklyCounter)
		if err != nil {
			return err
		}
		lastUnix := counters[weeklyCounter]
		if lastUnix > 0 && !time.Unix(lastUnix, 0).Before(slot) {
			return nil
		}
		if err := tx.AddCounter(weeklyCounter, now.Unix()-lastUnix); err != nil {
			return err
		}
		if lastUnix == 0 {
			return nil // just enabled: from the next slot on
		}
		body, subject, err := g.weeklyMail(tx, slot, now)
		if err != nil {
			return err
		}
		to := []kp.Address{{Name: g.Dir.Name(g.Dir.Lead), Addr: g.Dir.Lead}}
		sent = true
		return g.queueLoose(tx, "weekly", to, subject, body, now)
	})
	if err != nil {
		return false, fmt.Errorf("weekly report: %w", err)
	}
	if sent {
		g.wake()
	}
	return sent, nil
}

// weeklyMail renders the report of the ISO week before slot's week.
func (g *Gateway) weeklyMail(tx *store.Tx, slot, now time.Time) (body, subject string, err error) {
	loc := g.Clock.Loc
	end := report.WeekStart(slot, loc)
	start := end.AddDate(0, 0, -7)
	before := start.AddDate(0, 0, -28)
	// One walk over the cases and messages feeds the figures, the open
	// cases and the escalations of the week.
	b := report.NewBuilder(g.staffSide)
	var open []*kp.Case
	err = tx.ForEachCaseBrief(func(c *kp.Case) error {
		b.AddCase(c)
		if c.MergedInto == 0 && c.Status != kp.StatusResolved {
			cc := *c
			open = append(open, &cc)
		}
		return nil
	})
	if err != nil {
		return "", "", err
	}
	levels := map[kp.CaseID]int{}
	err = eachReportMessage(tx, true, func(m *kp.Message) error {
		if m.Case == 0 || !report.Counts(m) {
			return nil
		}
		b.AddMessage(m)
		if m.Direction == kp.Out && m.Kind == kp.KindEscalation && !m.Received.Before(start) && m.Received.Before(end) {
			if n, err := strconv.Atoi(strings.TrimPrefix(m.Subject, "level ")); err == nil && n > levels[m.Case] {
				levels[m.Case] = n
			}
		}
		return nil
	})
	if err != nil {
		return "", "", err
	}
	last := b.Report(g.ReportOptions(start, end, ""))
	prior := b.Report(g.ReportOptions(before, start, ""))
	d := &weeklyData{
		ContactName: g.contactName(), Week: report.WeekID(start, loc),
		From: start.Format(time.DateOnly), To: end.AddDate(0, 0, -1).Format(time.DateOnly),
	}
	en := g.Templates.Lang() == "en"
	name := func(nb, eng string) string {
		if en {
			return eng
		}
		return nb
	}
	mean := func(n int) string { return strconv.FormatFloat(float64(n)/4, 'f', 1, 64) }
	d.Rows = []weeklyRow{
		{name("Nye saker", "New cases"), strconv.Itoa(last.Totals.New), mean(prior.Totals.New)},
		{name("Løste saker", "Resolved"), strconv.Itoa(last.Totals.Resolved), mean(prior.Totals.Resolved)},
		{name("Gjenåpnet", "Reopened"), strconv.Itoa(last.Totals.Reopened), mean(prior.Totals.Reopened)},
		{name("Eskalert", "Escalated"), strconv.Itoa(last.Totals.Escalated), mean(prior.Totals.Escalated)},
		{name("Første svar, median (t)", "First answer, median (h)"), report.Hours(last.Totals.FirstAnswerP50), report.Hours(prior.Totals.FirstAnswerP50)},
		{name("Første svar, p90 (t)", "First answer, p90 (h)"), report.Hours(last.Totals.FirstAnswerP90), report.Hours(prior.Totals.FirstAnswerP90)},
		{name("Løsning, median (t)", "Resolution, median (h)"), report.Hours(last.Totals.ResolutionP50), report.Hours(prior.Totals.ResolutionP50)},
		{name("Løsning, p90 (t)", "Resolution, p90 (h)"), report.Hours(last.Totals.ResolutionP90), report.Hours(prior.Totals.ResolutionP90)},
	}
	prefix := g.Config.Contact.TagPrefix
	line := func(c *kp.Case, level int) weeklyCase {
		a := c.Assignee
		if a == "" {
			a = c.Team
		}
		return weeklyCase{Tag: c.ID.Tag(prefix), Subject: c.Subject, Created: c.Created.In(loc).Format(time.DateOnly),
			Assignee: a, Status: c.Status, Level: level}
	}
	for _, id := range slices.Sorted(maps.Keys(levels)) {
		c, err := tx.Case(id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return "", "", err
		}
		if c.MergedInto == 0 && levels[id] > 0 {
			d.Escalated = append(d.Escalated, line(c, levels[id]))
		}
	}
	sort.SliceStable(open, func(i, j int) bool { return open[i].Created.Before(open[j].Created) })
	d.OpenTotal = len(open)
	for _, c := range open[:min(len(open), weeklyOldest)] {
		d.Oldest = append(d.Oldest, line(c, c.Escalation))
	}
	body, err = g.Templates.Render("weekly", d)
	if err != nil {
		return "", "", err
	}
	return body, name("Ukesrapport ", "Weekly report ") + d.Week, nil
}
