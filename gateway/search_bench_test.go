package gateway

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"kontaktpunkt/store"
)

// BenchmarkIngestSearchIndex ingests the 10,000 mails of BenchmarkIngest
// (queueing, fsync'd batches of 512) with and without the full-text
// index, and reports the rate, the CPU time and the store size for each.
func BenchmarkIngestSearchIndex(b *testing.B) {
	const n = 10000
	const batch = 512
	mails := make([][]byte, n)
	var raw int
	for i := range mails {
		mails[i] = benchMail(i)
		raw += len(mails[i])
	}
	for _, mode := range []struct {
		name string
		off  bool
	}{{"without-index", true}, {"with-index", false}} {
		b.Run(mode.name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				dir := b.TempDir()
				st, err := store.Open(filepath.Join(dir, "kp.db"), store.Options{NoSearchIndex: mode.off})
				if err != nil {
					b.Fatal(err)
				}
				g, err := New(testConfig(), st, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start, cpu0 := time.Now(), cpuTime()
				for i := 0; i < n; i += batch {
					items := make([]Item, 0, batch)
					for j := i; j < min(i+batch, n); j++ {
						items = append(items, Item{Source: "bench", Raw: mails[j]})
					}
					if _, err := g.Ingest(context.Background(), items); err != nil {
						b.Fatal(err)
					}
				}
				elapsed, cpu := time.Since(start), cpuTime()-cpu0
				b.StopTimer()
				st.Close()
				fi, _ := os.Stat(filepath.Join(dir, "kp.db"))
				b.ReportMetric(float64(n)/elapsed.Seconds(), "msgs/s")
				b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/msg")
				b.ReportMetric(float64(fi.Size())/float64(raw), "store/raw")
				b.StartTimer()
			}
		})
	}
}
