package store

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// batchSize is how many messages one benchmark transaction applies, as
// intake does when it drains a mailbox.
const batchSize = 256

// ingestBatches applies ms in transactions of batchSize messages.
func ingestBatches(tb testing.TB, s *Store, in *ingester, ms []mail) {
	for i := 0; i < len(ms); i += batchSize {
		batch := ms[i:min(i+batchSize, len(ms))]
		if err := s.Update(func(tx *Tx) error {
			for _, m := range batch {
				if err := in.apply(tx, m); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkIngest applies ~3 KB mails (duplicate check, thread lookup,
// PutMessage, Case and PutCase) in fsync'd transactions of 256 to an
// empty store. One op is one message; run with -benchtime=10000x for the
// 10,000-message figure.
func BenchmarkIngest(b *testing.B) {
	s := openTest(b)
	benchIngest(b, s, newIngester(1))
}

func benchIngest(b *testing.B, s *Store, in *ingester) {
	ms := in.mails(b.N)
	var raw int64
	for _, m := range ms {
		raw += int64(len(m.raw))
	}
	b.SetBytes(raw / int64(len(ms)))
	b.ResetTimer()
	start := time.Now()
	ingestBatches(b, s, in, ms)
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(len(ms))/el.Seconds(), "msg/s")
}

// largeStore is the pre-filled store of BenchmarkIngestLarge, built once
// per test binary run.
var largeStore struct {
	once sync.Once
	path string
	in   *ingester
	err  error
	dir  string
}

// largeN is how many messages BenchmarkIngestLarge stores first.
const largeN = 1_000_000

// BenchmarkIngestLarge measures the ingest rate with 1,000,000 messages
// already stored, and how long Open takes on that file. It is slow
// (minutes, ~2 GB of disk) and runs only with KP_BENCH_LARGE=1.
func BenchmarkIngestLarge(b *testing.B) {
	if os.Getenv("KP_BENCH_LARGE") != "1" {
		b.Skip("set KP_BENCH_LARGE=1 to pre-fill a store with 1,000,000 messages")
	}
	ls := &largeStore
	ls.once.Do(func() {
		dir, err := os.MkdirTemp("", "kp-bench-large-")
		if err != nil {
			ls.err = err
			return
		}
		ls.dir = dir
		ls.path = filepath.Join(dir, "kp.db")
		ls.in = newIngester(7)
		s, err := Open(ls.path, Options{NoSync: true})
		if err != nil {
			ls.err = err
			return
		}
		start := time.Now()
		// Pre-fill in big unsynced batches; generate as we go so memory
		// stays flat.
		const fill = 20_000
		for n := 0; n < largeN; n += fill {
			ms := ls.in.mails(fill)
			if ls.err = s.Update(func(tx *Tx) error {
				for _, m := range ms {
					if err := ls.in.apply(tx, m); err != nil {
						return err
					}
				}
				return nil
			}); ls.err != nil {
				break
			}
		}
		if err := s.Close(); ls.err == nil {
			ls.err = err
		}
		fi, _ := os.Stat(ls.path)
		b.Logf("pre-filled %d messages in %v, file %d MiB", largeN, time.Since(start), fi.Size()>>20)
	})
	if ls.err != nil {
		b.Fatal(ls.err)
	}
	start := time.Now()
	s, err := Open(ls.path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	open := time.Since(start)
	defer s.Close()
	b.ReportMetric(float64(open.Microseconds())/1000, "open-ms")
	benchIngest(b, s, ls.in)
}

// TestMain removes the large benchmark's store.
func TestMain(m *testing.M) {
	code := m.Run()
	if largeStore.dir != "" {
		os.RemoveAll(largeStore.dir)
	}
	os.Exit(code)
}
