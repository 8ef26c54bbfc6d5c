package web

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"kontaktpunkt/report"
)

// answerCollector exports the histograms of time to first answer and to
// resolution, in business seconds, per team, over every case stored. They
// come from the same computation as the report (Options.Report), cached
// by the store's generation, so a scrape recomputes them only after the
// store changed.
type answerCollector struct {
	s                 *server
	first, resolution *prometheus.Desc
}

func newAnswerCollector(s *server) *answerCollector {
	return &answerCollector{
		s: s,
		first: prometheus.NewDesc("kontaktpunkt_first_answer_business_seconds",
			"Time from a case's creation to the first staff-side mail that reached the requester, in business seconds, by the case's team.", []string{"team"}, nil),
		resolution: prometheus.NewDesc("kontaktpunkt_resolution_business_seconds",
			"Time from a case's creation to its last resolve, in business seconds, by the case's team (resolved cases).", []string{"team"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *answerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.first
	ch <- c.resolution
}

// Collect implements prometheus.Collector.
func (c *answerCollector) Collect(ch chan<- prometheus.Metric) {
	if c.s.o.Report == nil {
		return
	}
	r, err := c.s.cachedReport(time.Time{}, time.Time{}, "")
	if err != nil {
		c.s.log.Error("metrics: computing the answer histograms", "err", err)
		return
	}
	for _, g := range r.Teams {
		team := g.Name
		if team == report.NoTeam {
			team = ""
		}
		c.histogram(ch, c.first, r.HistBuckets, g.FirstAnswerHist, g.FirstAnswerSum, team)
		c.histogram(ch, c.resolution, r.HistBuckets, g.ResolutionHist, g.ResolutionSum, team)
	}
}

// histogram emits one histogram from per-bucket counts (the last bucket
// open-ended) and their sum.
func (c *answerCollector) histogram(ch chan<- prometheus.Metric, d *prometheus.Desc, bounds []int64, counts []int, sum int64, team string) {
	buckets := make(map[float64]uint64, len(bounds))
	var cum uint64
	for i, b := range bounds {
		if i < len(counts) {
			cum += uint64(counts[i])
		}
		buckets[float64(b)] = cum
	}
	total := cum
	if len(counts) > len(bounds) {
		total += uint64(counts[len(bounds)])
	}
	m, err := prometheus.NewConstHistogram(d, total, float64(sum), buckets, team)
	if err != nil {
		c.s.log.Warn("metrics: skipping series", "err", err)
		return
	}
	ch <- m
}
