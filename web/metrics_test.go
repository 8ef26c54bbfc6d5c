package web

import (
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
)

// scrape fetches /metrics and parses it with Prometheus' own text parser.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	code, body, hdr := get(t, h, "/metrics", "Accept", "text/plain")
	if code != http.StatusOK {
		t.Fatalf("/metrics: status %d: %s", code, body)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, body)
	}
	return fams
}

// value returns the value of the series of family name whose labels are
// exactly the given name/value pairs.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Errorf("no metric family %s", name)
		return -1
	}
next:
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(labels)/2 {
			continue
		}
		for i, l := range m.GetLabel() {
			if l.GetName() != labels[2*i] || l.GetValue() != labels[2*i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Untyped != nil:
			return m.Untyped.GetValue()
		}
	}
	t.Errorf("no series %s%v", name, labels)
	return -1
}

func TestMetricsExportStoreCounters(t *testing.T) {
	st := openStore(t)
	seedSmall(t, st) // 3 open, 1 waiting, 1 resolved
	err := st.Update(func(tx *store.Tx) error {
		for name, n := range map[string]int64{
			"messages_class:human": 7, "messages_class:bounce": 2,
			"messages_matched_by:new": 5, "messages_matched_by:subject-tag": 2,
			"followups_sent:triage": 3, "followups_sent:escalate-1": 1,
			"outbound_sent": 11, "outbound_failed": 2, "outbound_queued:ack": 4,
		} {
			if err := tx.AddCounter(name, n); err != nil {
				return err
			}
		}
		for i, q := range []time.Duration{2 * time.Minute, time.Minute} {
			o := &kp.Outbound{Kind: "ack", MessageID: "out" + string(rune('a'+i)) + "@uio.no", From: "integrasjon@uio.no",
				To: []string{"x@example.no"}, Raw: []byte("raw"), Queued: t0.Add(-q), NextTry: t0}
			if err := tx.Enqueue(o); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, st, &clock{t: t0}, func(o *Options) { o.IMAPReconnects = func() int { return 4 } })
	fams := scrape(t, h)

	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"kontaktpunkt_messages_total", []string{"class", "human"}, 7},
		{"kontaktpunkt_messages_total", []string{"class", "bounce"}, 2},
		{"kontaktpunkt_messages_total", []string{"class", "auto-reply"}, 0},
		{"kontaktpunkt_messages_matched_total", []string{"matched_by", "new"}, 5},
		{"kontaktpunkt_messages_matched_total", []string{"matched_by", "subject-tag"}, 2},
		{"kontaktpunkt_messages_matched_total", []string{"matched_by", "in-reply-to"}, 0},
		// Every threading rule is listed, with 0 before its first match.
		{"kontaktpunkt_messages_matched_total", []string{"matched_by", "referenced-by"}, 0},
		{"kontaktpunkt_messages_matched_total", []string{"matched_by", "shared-parent"}, 0},
		{"kontaktpunkt_messages_matched_total", []string{"matched_by", "subject"}, 0},
		{"kontaktpunkt_messages_matched_total", []string{"matched_by", "body-tag"}, 0},
		{"kontaktpunkt_cases", []string{"status", "open"}, 3},
		{"kontaktpunkt_cases", []string{"status", "waiting"}, 1},
		{"kontaktpunkt_cases", []string{"status", "resolved"}, 1},
		{"kontaktpunkt_outbox_depth", nil, 2},
		{"kontaktpunkt_outbox_messages", []string{"state", "queued"}, 2},
		{"kontaktpunkt_outbox_messages", []string{"state", "failed"}, 0},
		{"kontaktpunkt_outbox_failed_total", nil, 2},
		{"kontaktpunkt_outbox_sent_total", nil, 11},
		{"kontaktpunkt_outbox_oldest_age_seconds", nil, 120},
		{"kontaktpunkt_followups_sent_total", []string{"kind", "triage"}, 3},
		{"kontaktpunkt_followups_sent_total", []string{"kind", "escalate-1"}, 1},
		{"kontaktpunkt_followups_sent_total", []string{"kind", "waiting"}, 0},
		{"kontaktpunkt_outbound_queued_total", []string{"kind", "ack"}, 4},
		{"kontaktpunkt_imap_reconnects_total", nil, 4},
		{"kontaktpunkt_store_up", nil, 1},
	} {
		if got := value(t, fams, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if fams["kontaktpunkt_messages_total"].GetType() != dto.MetricType_COUNTER {
		t.Error("kontaktpunkt_messages_total is not a counter")
	}
	if fams["kontaktpunkt_cases"].GetType() != dto.MetricType_GAUGE {
		t.Error("kontaktpunkt_cases is not a gauge")
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if _, ok := fams[name]; !ok && (name == "go_goroutines" || runtime.GOOS == "linux") {
			t.Errorf("no %s: Go and process collectors missing", name)
		}
	}
}

func TestMetricsOnEmptyStore(t *testing.T) {
	st := openStore(t)
	fams := scrape(t, newHandler(t, st, &clock{t: t0}, nil))
	if got := value(t, fams, "kontaktpunkt_outbox_oldest_age_seconds"); got != 0 {
		t.Errorf("oldest age on an empty outbox = %v, want 0", got)
	}
	if got := value(t, fams, "kontaktpunkt_cases", "status", "open"); got != 0 {
		t.Errorf("open cases = %v, want 0", got)
	}
	if got := value(t, fams, "kontaktpunkt_imap_reconnects_total"); got != 0 {
		t.Errorf("reconnects without IMAP = %v, want 0", got)
	}
}
