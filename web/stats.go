package web

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"kontaktpunkt/report"
)

// ReportFunc computes the report of [from, to) (zero times leave a side
// open) for team ("" for all); the gateway's Report.
type ReportFunc func(from, to time.Time, team string) (*report.Report, error)

// defaultStatsWeeks is how many weeks the statistics page shows without
// a period: a term's worth.
const defaultStatsWeeks = 13

// statsPage is what templates/stats.html shows.
type statsPage struct {
	page
	From, To, Team string
	CSV            string
	R              *report.Report
	Share          string
	Charts         statsCharts
	Buckets        []string
	Hist           []histRow
	// Replay is the replay of routing by example, nil without one.
	Replay *replayView
}

// replayView is the statistics page's line on routing by example.
type replayView struct {
	SuggestReplay
	Percent string // share of Cases that was right, "75 %"
	At      string // when it was replayed, "2026-11-30 15:40"
	Current bool   // no change to the store since
}

type statsCharts struct {
	PerWeek, Backlog, Escalations chart
	Dist                          []distRow
}

// histRow is one team's first answers by bucket, as numbers and as the
// segments of a 100 % bar.
type histRow struct {
	Name     string
	Counts   []int
	Segments []segment
	Total    int
}

type distRow = histRow

type segment struct {
	X, W  float64
	Class string
	Title string
}

// chart is a bar chart drawn as SVG on the server: coordinates in the
// viewBox, so it scales to any width and prints as drawn.
type chart struct {
	Title  string
	W, H   int
	Bars   []bar
	XTicks []tick
	YTicks []tick
	Legend []legend
	Empty  bool
}

type bar struct {
	X, Y, W, H float64
	Class      string
	Title      string
}

type tick struct {
	X, Y float64
	Text string
}

type legend struct {
	Class, Text string
}

const (
	chartW, chartH = 640, 220
	padL, padR     = 40, 8
	padT, padB     = 12, 30
)

// barChart draws one group of bars per x label, one bar per series.
func barChart(title string, labels []string, names, classes []string, series ...[]int) chart {
	c := chart{Title: title, W: chartW, H: chartH}
	for i, n := range names {
		c.Legend = append(c.Legend, legend{classes[i], n})
	}
	max := 0
	for _, s := range series {
		for _, v := range s {
			if v > max {
				max = v
			}
		}
	}
	if len(labels) == 0 || max == 0 {
		c.Empty = true
	}
	top := niceMax(max)
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-padB)
	for i := 0; i <= 4; i++ {
		v := top * i / 4
		c.YTicks = append(c.YTicks, tick{X: padL - 4, Y: padT + plotH - plotH*float64(v)/float64(top), Text: strconv.Itoa(v)})
	}
	if len(labels) == 0 {
		return c
	}
	group := plotW / float64(len(labels))
	bw := group * 0.8 / float64(len(series))
	every := (len(labels) + 12) / 13 // at most 13 labels fit
	for i, l := range labels {
		x0 := padL + group*float64(i) + group*0.1
		for j, s := range series {
			h := plotH * float64(s[i]) / float64(top)
			c.Bars = append(c.Bars, bar{X: x0 + bw*float64(j), Y: padT + plotH - h, W: bw, H: h, Class: classes[j],
				Title: fmt.Sprintf("%s %s: %d", l, names[j], s[i])})
		}
		if i%every == 0 {
			c.XTicks = append(c.XTicks, tick{X: padL + group*float64(i) + group/2, Y: chartH - 8, Text: l})
		}
	}
	return c
}

// niceMax rounds max up to a number that divides into four even ticks.
func niceMax(max int) int {
	if max <= 4 {
		return 4
	}
	step := 1
	for _, s := range []int{1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000} {
		step = s
		if s*4 >= max {
			break
		}
	}
	for step*4 < max {
		step *= 2
	}
	return step * 4
}

// bucketNames names the first-answer histogram buckets in business time.
func bucketNames(bounds []int64) []string {
	out := make([]string, 0, len(bounds)+1)
	for _, b := range bounds {
		out = append(out, "≤ "+hoursText(b))
	}
	if len(bounds) > 0 {
		out = append(out, "> "+hoursText(bounds[len(bounds)-1]))
	}
	return out
}

func hoursText(secs int64) string {
	return strconv.FormatFloat(float64(secs)/3600, 'f', -1, 64) + " h"
}

// parseStatsQuery reads from, to (dates, to inclusive) and team; without
// a period the page shows the last defaultStatsWeeks ISO weeks.
func (s *server) parseStatsQuery(q url.Values) (from, to time.Time, fromS, toS, team string, err error) {
	fromS, toS, team = q.Get("from"), q.Get("to"), q.Get("team")
	if fromS == "" && toS == "" {
		now := s.now().In(s.loc)
		start := report.WeekStart(now, s.loc).AddDate(0, 0, -7*(defaultStatsWeeks-1))
		fromS = start.Format(time.DateOnly)
	}
	if fromS != "" {
		d, e := time.ParseInLocation(time.DateOnly, fromS, s.loc)
		if e != nil {
			return from, to, fromS, toS, team, fmt.Errorf("from must be a date YYYY-MM-DD")
		}
		from = d
	}
	if toS != "" {
		d, e := time.ParseInLocation(time.DateOnly, toS, s.loc)
		if e != nil {
			return from, to, fromS, toS, team, fmt.Errorf("to must be a date YYYY-MM-DD")
		}
		to = d.AddDate(0, 0, 1)
	}
	return from, to, fromS, toS, team, nil
}

// statsReport answers a statistics request's query with its report, or
// writes the error and returns ok false.
func (d *dashboard) statsReport(w http.ResponseWriter, r *http.Request) (rep *report.Report, fromS, toS, team string, ok bool) {
	if d.s.o.Report == nil {
		http.NotFound(w, r)
		return nil, "", "", "", false
	}
	from, to, fromS, toS, team, err := d.s.parseStatsQuery(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil, "", "", "", false
	}
	rep, err = d.s.cachedReport(from, to, team)
	if err != nil {
		d.s.log.Error("statistics", "err", err)
		http.Error(w, "the statistics could not be computed", http.StatusInternalServerError)
		return nil, "", "", "", false
	}
	return rep, fromS, toS, team, true
}

// stats serves /stats: the figures of a period as charts and tables.
func (d *dashboard) stats(w http.ResponseWriter, r *http.Request) {
	rep, fromS, toS, team, ok := d.statsReport(w, r)
	if !ok {
		return
	}
	p := statsPage{page: d.page(r, "Statistics", d.s.now()), From: fromS, To: toS, Team: team, R: rep}
	q := url.Values{}
	for k, v := range map[string]string{"from": fromS, "to": toS, "team": team} {
		if v != "" {
			q.Set(k, v)
		}
	}
	p.CSV = "/stats.csv?" + q.Encode()
	if rep.AnsweredInTargetShare != nil {
		p.Share = strconv.FormatFloat(*rep.AnsweredInTargetShare*100, 'f', 0, 64) + " %"
	}
	var labels []string
	var news, resolved, backlog, escalated []int
	for _, wk := range rep.Weeks {
		labels = append(labels, wk.Week[5:]) // "W48"
		news, resolved = append(news, wk.New), append(resolved, wk.Resolved)
		backlog, escalated = append(backlog, wk.Backlog), append(escalated, wk.Escalated)
	}
	p.Charts.PerWeek = barChart(d.tr(r, "Cases per week"), labels, []string{"new", "resolved"}, []string{"s-new", "s-res"}, news, resolved)
	p.Charts.Backlog = barChart(d.tr(r, "Backlog at the end of each week"), labels, []string{"open or waiting"}, []string{"s-back"}, backlog)
	p.Charts.Escalations = barChart(d.tr(r, "Escalated cases per week"), labels, []string{"escalated"}, []string{"s-esc"}, escalated)
	if rp, at, current, ok := d.s.cachedReplay(); ok {
		v := &replayView{SuggestReplay: rp, At: at.In(d.s.loc).Format("2006-01-02 15:04"), Current: current, Percent: "–"}
		if rp.Cases > 0 {
			v.Percent = strconv.FormatFloat(100*float64(rp.Right)/float64(rp.Cases), 'f', 0, 64) + " %"
		}
		p.Replay = v
	}
	p.Buckets = bucketNames(rep.HistBuckets)
	for _, g := range rep.Teams {
		row := histRow{Name: g.Name, Counts: g.FirstAnswerHist}
		for _, n := range g.FirstAnswerHist {
			row.Total += n
		}
		x := 0.0
		for i, n := range g.FirstAnswerHist {
			if row.Total == 0 || n == 0 {
				continue
			}
			wd := 100 * float64(n) / float64(row.Total)
			row.Segments = append(row.Segments, segment{X: x, W: wd, Class: "h" + strconv.Itoa(i), Title: fmt.Sprintf("%s: %d", p.Buckets[i], n)})
			x += wd
		}
		p.Hist = append(p.Hist, row)
	}
	d.render(w, r, "stats", p)
}

// statsCSV serves /stats.csv: the same figures as one CSV table.
func (d *dashboard) statsCSV(w http.ResponseWriter, r *http.Request) {
	rep, fromS, toS, _, ok := d.statsReport(w, r)
	if !ok {
		return
	}
	var buf bytes.Buffer
	if err := report.WriteCSV(&buf, rep); err != nil {
		http.Error(w, "the statistics could not be written", http.StatusInternalServerError)
		return
	}
	name := "kontaktpunkt-report"
	if fromS != "" {
		name += "-" + fromS
	}
	if toS != "" {
		name += "-" + toS
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	if r.Method != http.MethodHead {
		_, _ = buf.WriteTo(w)
	}
}
