package gateway

import (
	"path/filepath"
	"testing"

	"kontaktpunkt/store"
)

// BenchmarkParseStep measures what ingest's parsers do per message before
// the writer (parseOne: parse, classify, hash, text tokens, packing,
// suggestion terms) on the mails BenchmarkIngest writes, on one core,
// and reports its CPU time per message.
func BenchmarkParseStep(b *testing.B) {
	mails := benchMails(0, 2000)
	st, err := store.Open(filepath.Join(b.TempDir(), "kp.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	g, err := New(testConfig(), st, nil)
	if err != nil {
		b.Fatal(err)
	}
	o, pre := g.classifyOptions(), g.prepare()
	limit := g.Config.Limits.MaxMessageBytes
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, n := cpuTime(), 0
	for b.Loop() {
		for _, m := range mails {
			parseOne(Item{Raw: m}, limit, o, pre)
		}
		n += len(mails)
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(n), "cpu-µs/msg")
}
