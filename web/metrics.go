package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
)

// labelled maps a family of store counters ("messages_class:human") to
// one metric with a label ("kontaktpunkt_messages_total{class="human"}").
type labelled struct {
	prefix string // store counter prefix, with the colon
	desc   *prometheus.Desc
	// known label values are always exported, at 0 until counted, so
	// that rate() and alerts see the series from the first scrape.
	known []string
}

// plain maps one store counter to one metric without labels.
type plain struct {
	name string
	desc *prometheus.Desc
}

// collector exports the store's counters. Every scrape is one read-only
// transaction reading O(1) counters and the outbox head: no scans.
type collector struct {
	s         *server
	labelled  []labelled
	plain     []plain
	cases     *prometheus.Desc
	depth     *prometheus.Desc
	byState   *prometheus.Desc
	oldest    *prometheus.Desc
	reconnect *prometheus.Desc
	storeUp   *prometheus.Desc
}

func newCollector(s *server) *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("kontaktpunkt_"+name, help, labels, nil)
	}
	return &collector{
		s: s,
		labelled: []labelled{
			{"messages_class:", d("messages_total", "Inbound messages stored, by class.", "class"),
				[]string{string(kp.ClassHuman), string(kp.ClassAutoReply), string(kp.ClassBounce), string(kp.ClassBulk), string(kp.ClassLoop), string(kp.ClassSpam)}},
			{"messages_matched_by:", d("messages_matched_total", "Inbound messages, by the threading rule that decided their case.", "matched_by"),
				matchedByLabels()},
			{"followups_sent:", d("followups_sent_total", "Follow-ups fired, by kind.", "kind"),
				[]string{string(kp.FollowTriage), string(kp.FollowRespond), string(kp.FollowEscalate1), string(kp.FollowEscalate2),
					string(kp.FollowWaiting), string(kp.FollowAutoResolve), string(kp.FollowSnooze)}},
			{"outbound_queued:", d("outbound_queued_total", "Outbound messages queued, by kind.", "kind"), nil},
			{"outbound_withheld:", d("outbound_withheld_total", "Outbound messages not queued for want of a recipient, by kind.", "kind"), nil},
		},
		plain: []plain{
			{"outbound_failed", d("outbox_failed_total", "Outbound messages that failed permanently.")},
			{"outbound_sent", d("outbox_sent_total", "Outbound messages sent.")},
			{"outbound_rate_limited", d("outbound_rate_limited_total", "Automatic mails skipped by the per-recipient limits.")},
		},
		cases:     d("cases", "Cases, by status.", "status"),
		depth:     d("outbox_depth", "Outbound messages queued and not yet sent."),
		byState:   d("outbox_messages", "Outbound messages in the outbox, by state (failed ones wait for an operator's retry).", "state"),
		oldest:    d("outbox_oldest_age_seconds", "Age of the oldest queued outbound message; 0 when the outbox is empty."),
		reconnect: d("imap_reconnects_total", "IMAP reconnects since the start."),
		storeUp:   d("store_up", "1 when the last scrape could read the store, else 0."),
	}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, l := range c.labelled {
		ch <- l.desc
	}
	for _, p := range c.plain {
		ch <- p.desc
	}
	ch <- c.cases
	ch <- c.depth
	ch <- c.byState
	ch <- c.oldest
	ch <- c.reconnect
	ch <- c.storeUp
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	var (
		counters map[string]int64
		byStatus map[kp.Status]int
		out      store.OutboxStats
	)
	err := c.s.o.Store.View(func(tx *store.Tx) error {
		var err error
		if counters, err = tx.Counters(""); err != nil {
			return err
		}
		if byStatus, err = tx.CountByStatus(); err != nil {
			return err
		}
		out, err = tx.OutboxStats()
		return err
	})
	reconnects := 0
	if c.s.o.IMAPReconnects != nil {
		reconnects = c.s.o.IMAPReconnects()
	}
	c.emit(ch, c.reconnect, prometheus.CounterValue, float64(reconnects))
	if err != nil {
		c.s.log.Error("metrics: reading store", "err", err)
		c.emit(ch, c.storeUp, prometheus.GaugeValue, 0)
		return
	}
	c.emit(ch, c.storeUp, prometheus.GaugeValue, 1)

	for _, l := range c.labelled {
		vals := make(map[string]float64, len(l.known))
		for _, k := range l.known {
			vals[k] = 0
		}
		for name, n := range counters {
			if v, ok := strings.CutPrefix(name, l.prefix); ok && v != "" {
				vals[v] = float64(n)
			}
		}
		for v, n := range vals {
			c.emit(ch, l.desc, prometheus.CounterValue, n, v)
		}
	}
	for _, p := range c.plain {
		c.emit(ch, p.desc, prometheus.CounterValue, float64(counters[p.name]))
	}
	for _, st := range []kp.Status{kp.StatusOpen, kp.StatusWaiting, kp.StatusResolved} {
		c.emit(ch, c.cases, prometheus.GaugeValue, float64(byStatus[st]), string(st))
	}
	c.emit(ch, c.depth, prometheus.GaugeValue, float64(out.Queued))
	c.emit(ch, c.byState, prometheus.GaugeValue, float64(out.Queued), string(kp.OutQueued))
	c.emit(ch, c.byState, prometheus.GaugeValue, float64(out.Failed), string(kp.OutFailed))
	c.emit(ch, c.byState, prometheus.GaugeValue, float64(out.Sent), string(kp.OutSent))
	age := 0.0
	if !out.Oldest.IsZero() {
		age = seconds(c.s.now().Sub(out.Oldest))
	}
	c.emit(ch, c.oldest, prometheus.GaugeValue, age)
}

// emit sends one metric. A label value the exposition format cannot
// carry (invalid UTF-8 from a damaged counter name) is logged and left
// out rather than failing the scrape.
func (c *collector) emit(ch chan<- prometheus.Metric, d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		c.s.log.Warn("metrics: skipping series", "err", err)
		return
	}
	ch <- m
}

// registry builds this handler's own registry: the store collector plus
// the Go runtime and process collectors. Nothing is registered globally,
// so two handlers (tests) do not collide.
func (s *server) registry() (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{
		newCollector(s),
		newAnswerCollector(s),
		newOpsCollector(s),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("web: registering metrics: %w", err)
		}
	}
	return reg, nil
}

func (s *server) metricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slogAdapter{s},
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// slogAdapter lets promhttp report through our logger.
type slogAdapter struct{ s *server }

func (a slogAdapter) Println(v ...any) { a.s.log.Error("metrics: " + fmt.Sprint(v...)) }

// matchedByLabels lists every threading rule, so each shows up with 0
// before its first match.
func matchedByLabels() []string {
	out := make([]string, 0, len(kp.MatchedByValues))
	for _, m := range kp.MatchedByValues {
		out = append(out, string(m))
	}
	return out
}
