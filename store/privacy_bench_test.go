package store

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	kp "kontaktpunkt"
)

// fillCases builds a store at path of n resolved cases, each with one
// generated mail (~3 KB raw), resolved at resolved, and leaves it open.
func fillCases(b *testing.B, path string, n int, resolved time.Time) *Store {
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	g := newMailGen(3)
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i += 1000 {
		if err := s.Update(func(tx *Tx) error {
			for j := i; j < min(i+1000, n); j++ {
				at = at.Add(time.Minute)
				raw, m := g.next(at)
				id, err := tx.NextCaseID()
				if err != nil {
					return err
				}
				m.Case = id
				if err := tx.PutMessage(m, raw); err != nil {
					return err
				}
				if err := tx.IndexSubject(m.Subject, id); err != nil {
					return err
				}
				if err := tx.PutCase(&kp.Case{ID: id, Subject: m.Subject, Status: kp.StatusResolved, Requester: m.From,
					Priority: kp.PriorityNormal, Created: at, Updated: at, ResolvedAt: resolved, Messages: 1, ThreadID: m.ID}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

func benchSize(b *testing.B, def int) int {
	if v, err := strconv.Atoi(os.Getenv("KP_BENCH_CASES")); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkPurgeExpired purges every case of a store of resolved cases
// (KP_BENCH_CASES, default 100,000) and reports how long one batch held
// the write lock, in wall time and in CPU time (wall time on a loaded
// machine also counts waiting for a core), beside a baseline: one Update
// storing a message. It works on a copy of the store BenchmarkForget
// builds (and keeps, with KP_BENCH_FORGET_CACHE).
func BenchmarkPurgeExpired(b *testing.B) {
	n := benchSize(b, 100000)
	resolved := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	path := filepath.Join(b.TempDir(), "kp.db")
	copyFile(b, forgetBenchStore(b, n), path)
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	g := newMailGen(9)
	raw, m := g.next(resolved)
	t0 := time.Now()
	if err := s.Update(func(tx *Tx) error { return tx.PutMessage(m, raw) }); err != nil {
		b.Fatal(err)
	}
	baseline := time.Since(t0)
	b.ResetTimer()
	cpu0 := cpuTime()
	var rep PurgeReport
	for range b.N {
		var err error
		batches := map[string][]PurgeBatch{}
		rep, err = s.Purge(RetentionPolicy{ResolvedBefore: resolved.Add(time.Hour), Now: time.Now(),
			OnBatch: func(pb PurgeBatch) { batches[pb.Phase] = append(batches[pb.Phase], pb) }})
		for phase, bs := range batches {
			pick := func(f func(PurgeBatch) time.Duration) (median, p99, top time.Duration) {
				ds := make([]time.Duration, len(bs))
				for i, pb := range bs {
					ds[i] = f(pb)
				}
				slices.Sort(ds)
				return ds[len(ds)/2], ds[len(ds)*99/100], ds[len(ds)-1]
			}
			hm, hp, hx := pick(func(pb PurgeBatch) time.Duration { return pb.Held })
			cm, cp, cx := pick(func(pb PurgeBatch) time.Duration { return pb.CPU })
			_, _, mx := pick(func(pb PurgeBatch) time.Duration { return pb.Commit })
			over := 0
			for _, pb := range bs {
				if pb.Held > 100*time.Millisecond {
					over++
				}
			}
			b.Logf("%s: %d batches; lock held (wall) median %v, p99 %v, max %v, %d over 100 ms; CPU while held median %v, p99 %v, max %v; longest commit %v",
				phase, len(bs), hm, hp, hx, over, cm, cp, cx, mx)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms")
	b.ReportMetric(float64(rep.Cases), "cases")
	b.ReportMetric(float64(rep.Batches), "batches")
	b.ReportMetric(float64(rep.MaxBatch.Microseconds())/1000, "max-batch-ms")
	b.ReportMetric(float64(rep.MaxBatchCPU.Microseconds())/1000, "max-batch-cpu-ms")
	b.ReportMetric(float64(baseline.Microseconds())/1000, "baseline-update-ms")
}

// BenchmarkForget forgets one address on a store of KP_BENCH_CASES
// (default 100,000) generated mails plus five of the person's, two ways
// on copies of the same store, one after the other: "thorough" reads
// every message with its raw bytes (the baseline), "indexed" reads only
// the messages the indexes point at. With KP_BENCH_FORGET set it forgets
// that address instead (a generated one shares its display name with a
// tenth of the store: the worst case, where every such message is
// purged). With KP_BENCH_FORGET_CACHE=DIR the built store is kept in DIR
// and reused by later runs (forget changes it, so each run works on a
// copy). For the 1,000,000-message figure:
//
//	KP_BENCH_CASES=1000000 KP_BENCH_FORGET_CACHE=/var/tmp/kp go test -run '^$' -bench Forget -benchtime 1x -timeout 2h ./store/
func BenchmarkForget(b *testing.B) {
	n := benchSize(b, 100000)
	built := forgetBenchStore(b, n)
	addr := forgetAddr
	if a := os.Getenv("KP_BENCH_FORGET"); a != "" {
		addr = a
	}
	for _, mode := range []string{"thorough", "indexed"} {
		b.Run(mode, func(b *testing.B) {
			var cpu time.Duration
			var rep ForgetReport
			for range b.N {
				b.StopTimer()
				path := filepath.Join(b.TempDir(), "kp.db")
				copyFile(b, built, path)
				s, err := Open(path, Options{NoSync: true})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				cpu0 := cpuTime()
				rep, err = s.Forget(addr, ForgetOptions{Now: time.Now(), Actor: "bench", Channel: "cli", Thorough: mode == "thorough"})
				cpu += cpuTime() - cpu0
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				s.Close()
				os.Remove(path)
				b.StartTimer()
			}
			b.Logf("%s forget %s: %d messages forgotten, %d read; scan %v, writes %v in %d transactions (wall); %v CPU", mode, addr, rep.Messages, rep.Read, rep.Scan, rep.Write, rep.Batches, cpu/time.Duration(b.N))
			b.ReportMetric(float64(n+5), "messages")
			b.ReportMetric(float64(rep.Messages), "forgotten")
			b.ReportMetric(float64(rep.Read), "read")
			b.ReportMetric(float64(cpu.Microseconds())/float64(n+5)/float64(b.N), "cpu-us/msg")
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms")
		})
	}
}

// forgetBenchStore returns the path of a closed store of n generated
// cases and five mails of the person, built once per KP_BENCH_FORGET_CACHE.
func forgetBenchStore(b *testing.B, n int) string {
	dir := os.Getenv("KP_BENCH_FORGET_CACHE")
	if dir == "" {
		dir = b.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("forget-%d.db", n))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	s := fillCases(b, path+".tmp", n, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	person := kp.Address{Name: forgetName, Addr: forgetAddr}
	if err := s.Update(func(tx *Tx) error {
		for i := range 5 {
			raw, m := personMail(fmt.Sprintf("person%d@example.org", i), person, []kp.Address{{Addr: "kontakt@uio.no"}}, "Hei", "Hilsen "+forgetName, "", time.Date(2026, 1, 1, i, 0, 0, 0, time.UTC))
			if err := tx.PutMessage(m, raw); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		b.Fatal(err)
	}
	return path
}

func copyFile(b *testing.B, from, to string) {
	in, err := os.Open(from)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
}
