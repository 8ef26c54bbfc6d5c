package store

import (
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
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
	start, cpu0 := time.Now(), cpuTime()
	ingestBatches(b, s, in, ms)
	el, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	b.ReportMetric(float64(len(ms))/el.Seconds(), "msg/s")
	// CPU time (user+system of the process) per message: on a machine
	// shared with other work it says more than the wall-clock rate.
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(ms)), "cpu-us/msg")
}

// cpuTime returns the user and system CPU time used by this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
// (minutes, ~2.5 GB of disk) and runs only with KP_BENCH_LARGE=1. With
// KP_BENCH_LARGE_PATH set, the pre-filled file is kept there and reused by
// later runs; KP_BENCH_LARGE_N changes the number of messages.
func BenchmarkIngestLarge(b *testing.B) {
	if os.Getenv("KP_BENCH_LARGE") != "1" {
		b.Skip("set KP_BENCH_LARGE=1 to pre-fill a store with 1,000,000 messages")
	}
	ls := &largeStore
	ls.once.Do(func() {
		ls.in = newIngester(uint64(time.Now().UnixNano()))
		if ls.path = os.Getenv("KP_BENCH_LARGE_PATH"); ls.path != "" {
			if _, err := os.Stat(ls.path); err == nil {
				return
			}
		} else {
			dir, err := os.MkdirTemp("", "kp-bench-large-")
			if err != nil {
				ls.err = err
				return
			}
			ls.dir = dir
			ls.path = filepath.Join(dir, "kp.db")
		}
		ls.err = prefill(b, ls.path, ls.in)
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
	benchIngest(b, s, ls.in)
	b.ReportMetric(float64(open.Microseconds())/1000, "open-ms")
}

// prefill stores largeN messages in big unsynced batches, generating them
// as it goes so memory stays flat.
func prefill(b *testing.B, path string, in *ingester) error {
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		return err
	}
	start := time.Now()
	const fill = 20_000
	n := largeN
	if v, err := strconv.Atoi(os.Getenv("KP_BENCH_LARGE_N")); err == nil && v > 0 {
		n = v
	}
	for done := 0; done < n; done += fill {
		ms := in.mails(fill)
		if err := s.Update(func(tx *Tx) error {
			for _, m := range ms {
				if err := in.apply(tx, m); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			s.Close()
			return err
		}
	}
	if err := s.Close(); err != nil {
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	b.Logf("pre-filled %d messages in %v, file %d MiB", n, time.Since(start), fi.Size()>>20)
	return nil
}

// TestMain removes the large benchmark's store.
func TestMain(m *testing.M) {
	code := m.Run()
	if largeStore.dir != "" {
		os.RemoveAll(largeStore.dir)
	}
	os.Exit(code)
}

// BenchmarkCheckPages measures the page walk serve runs before it starts,
// beside Open alone, the header checks Open makes, and the full Check, on
// a store of 20,000 generated messages (KP_BENCH_CHECK_N changes the number). The file is in the page
// cache, as it is on a running server.
func BenchmarkCheckPages(b *testing.B) {
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("KP_BENCH_CHECK_N")); err == nil && v > 0 {
		n = v
	}
	path := filepath.Join(b.TempDir(), "kp.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	in := newIngester(3)
	for done := 0; done < n; done += 5000 {
		ms := in.mails(min(5000, n-done))
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
	s.Close()
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%d messages, file %d MiB", n, fi.Size()>>20)
	// What the header checks add to Open: preflight, and inspect again
	// under bbolt's lock.
	b.Run("open-header-checks", func(b *testing.B) {
		for b.Loop() {
			if err := preflight(path); err != nil {
				b.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			if h := inspect(f); h.fatal {
				b.Fatal(h.problems)
			}
			f.Close()
		}
	})
	for _, bc := range []struct {
		name string
		fn   func(*Store) error
	}{
		{"open", func(*Store) error { return nil }},
		{"check-pages", (*Store).CheckPages},
		{"check", (*Store).Check},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cpu := cpuTime()
			for b.Loop() {
				s, err := Open(path, Options{})
				if err != nil {
					b.Fatal(err)
				}
				if err := bc.fn(s); err != nil {
					b.Fatal(err)
				}
				s.Close()
			}
			// CPU time says more than wall time on a busy machine.
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}

// BenchmarkViewGuard measures what guarding a transaction against a
// damaged file costs: an empty View beside bbolt's own View.
func BenchmarkViewGuard(b *testing.B) {
	s := openTest(b)
	b.Run("bolt-view", func(b *testing.B) {
		for b.Loop() {
			_ = s.db.View(func(*bolt.Tx) error { return nil })
		}
	})
	b.Run("view", func(b *testing.B) {
		for b.Loop() {
			_ = s.View(func(*Tx) error { return nil })
		}
	})
}
