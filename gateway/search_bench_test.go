package gateway

import (
	"testing"

	"kontaktpunkt/store"
)

// BenchmarkIngestSearchIndex ingests the 10,000 mails of BenchmarkIngest
// (queueing, fsync'd batches of 512) with and without the full-text
// index, and reports the rate, the CPU time and the store size for each.
func BenchmarkIngestSearchIndex(b *testing.B) {
	const n = 10000
	mails := make([][]byte, n)
	for i := range mails {
		mails[i] = benchMail(i)
	}
	for _, mode := range []struct {
		name string
		off  bool
	}{{"without-index", true}, {"with-index", false}} {
		b.Run(mode.name, func(b *testing.B) {
			for range b.N {
				ingestRun(b, mails, store.Options{NoSearchIndex: mode.off}, false)
			}
		})
	}
}
