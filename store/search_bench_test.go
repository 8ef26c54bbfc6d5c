package store

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"kontaktpunkt/search"
)

// BenchmarkIngestSearchIndex applies the same ~3 KB mails (four per case)
// with and without the full-text index, in fsync'd transactions of 256,
// and reports the rate and the file size per message. One op is one
// message; run with -benchtime=10000x.
func BenchmarkIngestSearchIndex(b *testing.B) {
	for _, mode := range []struct {
		name string
		off  bool
	}{{"without-index", true}, {"with-index", false}} {
		b.Run(mode.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "kp.db")
			s, err := Open(path, Options{NoSearchIndex: mode.off})
			if err != nil {
				b.Fatal(err)
			}
			benchIngest(b, s, newIngester(1))
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
			if fi, err := os.Stat(path); err == nil {
				b.ReportMetric(float64(fi.Size())/float64(b.N), "file-bytes/msg")
			}
		})
	}
}

// searchQueries are varied queries over the generator's mail: common
// and rare words, prefixes, names, domains, filters and combinations.
var searchQueries = []string{
	"canvas", "integr", "synkronisering katalogtjenesten", "feide sertifikat", "eksamen status:open",
	"åse", "bjørnstad", "øverli", "from:@uio.no", "timeplan from:@uio.no", "økonomisystemet",
	"semesteret mandag", "api after:2026-03-10", "500 feilmelding", "status:waiting", "rettigheter team:fs",
	"produksjon test", "kari nordmann", "kl", "haster before:2026-03-05", "skjermbilde vedlagt detaljer",
	"nytt problemet", "jobben stoppet klokka", "godkjenning karakterer", "innlogging",
}

// BenchmarkSearch answers varied queries on a store of KP_SEARCH_N
// generated messages (default 40,000; four per case) and reports the
// median and 95th percentile latency of one query.
func BenchmarkSearch(b *testing.B) {
	n := 40_000
	if v, err := strconv.Atoi(os.Getenv("KP_SEARCH_N")); err == nil && v > 0 {
		n = v
	}
	path := filepath.Join(b.TempDir(), "kp.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	in := newIngester(3)
	const fill = 20_000
	for done := 0; done < n; done += fill {
		ms := in.mails(min(fill, n-done))
		if err := s.Update(func(tx *Tx) error {
			for _, m := range ms {
				if err := in.apply(tx, m); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	qs := make([]search.Query, len(searchQueries))
	for i, q := range searchQueries {
		qs[i] = search.ParseQuery(q)
	}
	var lat []time.Duration
	hits := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := qs[i%len(qs)]
		start := time.Now()
		if err := s.View(func(tx *Tx) error {
			res, err := tx.Search(q, time.UTC, 100)
			hits += len(res.Hits)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
	b.ReportMetric(float64(hits)/float64(b.N), "hits/query")
	if fi, err := os.Stat(path); err == nil {
		b.ReportMetric(float64(fi.Size()>>20), "file-MiB")
	}
}
