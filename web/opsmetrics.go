package web

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"

	"kontaktpunkt/store"
)

// overdueCap bounds the overdue follow-up count a scrape reads from the
// due index, so a scrape stays cheap whatever the backlog.
const overdueCap = 10000

// opsCollector exports what an operator alerts on beside the store's
// counters: the build, whether intake is connected, when it last synced,
// and how many follow-ups are overdue.
type opsCollector struct {
	s         *server
	buildInfo *prometheus.Desc
	connected *prometheus.Desc
	lastSync  *prometheus.Desc
	overdue   *prometheus.Desc
}

func newOpsCollector(s *server) *opsCollector {
	return &opsCollector{
		s: s,
		buildInfo: prometheus.NewDesc("kontaktpunkt_build_info",
			"Always 1; the labels name the running build.", []string{"version", "goversion"}, nil),
		connected: prometheus.NewDesc("kontaktpunkt_imap_connected",
			"1 while the IMAP session is logged in with its mailbox selected, else 0.", nil, nil),
		lastSync: prometheus.NewDesc("kontaktpunkt_imap_last_sync_timestamp_seconds",
			"Unix time of the last completed pass over the IMAP mailbox; 0 before the first.", nil, nil),
		overdue: prometheus.NewDesc("kontaktpunkt_followups_overdue",
			"Cases whose scheduled follow-up is due and has not fired yet (counted up to 10000).", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *opsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.buildInfo
	ch <- c.connected
	ch <- c.lastSync
	ch <- c.overdue
}

// Collect implements prometheus.Collector.
func (c *opsCollector) Collect(ch chan<- prometheus.Metric) {
	v := c.s.o.Version
	if v == "" {
		v = "devel"
	}
	ch <- prometheus.MustNewConstMetric(c.buildInfo, prometheus.GaugeValue, 1, v, runtime.Version())
	h := c.s.health()
	if h.IMAPConfigured {
		ch <- prometheus.MustNewConstMetric(c.connected, prometheus.GaugeValue, b2f(h.IMAPConnected))
		last := 0.0
		if !h.IMAPLastSync.IsZero() {
			last = float64(h.IMAPLastSync.UnixNano()) / 1e9
		}
		ch <- prometheus.MustNewConstMetric(c.lastSync, prometheus.GaugeValue, last)
	}
	var n int
	err := c.s.o.Store.View(func(tx *store.Tx) error {
		due, err := tx.DueFollowUps(c.s.now(), overdueCap)
		n = len(due)
		return err
	})
	if err != nil {
		c.s.log.Error("metrics: reading overdue follow-ups", "err", err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.overdue, prometheus.GaugeValue, float64(n))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
