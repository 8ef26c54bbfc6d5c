package gateway

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kontaktpunkt/store"
)

// benchMail makes the i-th message of a realistic ~3 KB stream: every
// fourth message opens a case, the others reply to an earlier one.
func benchMail(i int) []byte {
	body := strings.Repeat("Vi trenger tilgang til data fra FS for et nytt integrasjonsprosjekt. Kan dere hjelpe? ", 30)
	who := i / 4 // each case its own requester; replies come from them
	h := []string{
		fmt.Sprintf("From: Person %d <person%d@example.org>", who, who),
		"To: " + contact,
		fmt.Sprintf("Message-ID: <bench-%d@example.org>", i),
		"Received: from mx.example.org (mx.example.org [192.0.2.1]) by mx.uio.no with ESMTPS id abc; Mon, 23 Nov 2026 09:00:00 +0100",
		"DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=sel; h=from:to:subject; bh=aGVsbG8=; b=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZQ==",
	}
	if i%4 == 0 {
		h = append(h, fmt.Sprintf("Subject: Forespørsel nummer %d", i))
	} else {
		parent := i - i%4
		h = append(h, fmt.Sprintf("Subject: SV: Forespørsel nummer %d", parent),
			fmt.Sprintf("In-Reply-To: <bench-%d@example.org>", parent),
			fmt.Sprintf("References: <bench-%d@example.org>", parent))
	}
	return msg(h, body[:2400]+"\n")
}

// BenchmarkIngest measures ingest of 10,000 ~3 KB messages into an empty
// store, in the batches the ingest command uses, each commit fsync'd.
// Reports msgs/s and the store file's size over the raw bytes.
func BenchmarkIngest(b *testing.B) {
	b.Run("quiet", func(b *testing.B) { benchIngest(b, true) })
	b.Run("queueing", func(b *testing.B) { benchIngest(b, false) })
}

// benchIngest ingests 10,000 mails; quiet is `ingest -quiet` (an archive
// import), otherwise every mail queues what serve would send.
func benchIngest(b *testing.B, quiet bool) {
	const n = 10000
	mails := make([][]byte, n)
	for i := range mails {
		mails[i] = benchMail(i)
	}
	b.ReportAllocs()
	for range b.N {
		ingestRun(b, mails, store.Options{}, quiet)
	}
}

// ingestRun ingests mails into a new store in the batches the ingest
// command uses (512, each commit fsync'd), with the clock stopped for the
// setup, and reports msgs/s, CPU time per message and the store file's
// size over the raw bytes.
func ingestRun(b *testing.B, mails [][]byte, opts store.Options, quiet bool) {
	const batch = 512
	b.StopTimer()
	dir := b.TempDir()
	st, err := store.Open(filepath.Join(dir, "kp.db"), opts)
	if err != nil {
		b.Fatal(err)
	}
	g, err := New(testConfig(), st, nil)
	if err != nil {
		b.Fatal(err)
	}
	g.Quiet = quiet
	raw := 0
	for _, m := range mails {
		raw += len(m)
	}
	b.StartTimer()
	start, cpu0 := time.Now(), cpuTime()
	for i := 0; i < len(mails); i += batch {
		items := make([]Item, 0, batch)
		for j := i; j < min(i+batch, len(mails)); j++ {
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
	n := float64(len(mails))
	b.ReportMetric(n/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/msg")
	if fi != nil {
		b.ReportMetric(float64(fi.Size())/float64(raw), "store/raw")
	}
	b.StartTimer()
}

// BenchmarkIngestLarge measures the same ingest into a store already
// holding KP_BENCH_LARGE_N (default 1,000,000) messages, filled through the
// gateway without fsync. Opt-in: KP_BENCH_LARGE=1 (it takes minutes).
// It also reports how long opening the large store takes.
func BenchmarkIngestLarge(b *testing.B) {
	if os.Getenv("KP_BENCH_LARGE") == "" {
		b.Skip("set KP_BENCH_LARGE=1 to run (slow)")
	}
	total := 1000000
	if v := os.Getenv("KP_BENCH_LARGE_N"); v != "" {
		fmt.Sscan(v, &total)
	}
	const batch = 512
	path := filepath.Join(b.TempDir(), "kp.db")
	st, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	g, err := New(testConfig(), st, nil)
	if err != nil {
		b.Fatal(err)
	}
	g.Quiet = true
	for i := 0; i < total; i += batch {
		items := make([]Item, 0, batch)
		for j := i; j < min(i+batch, total); j++ {
			items = append(items, Item{Source: "fill", Raw: benchMail(j)})
		}
		if _, err := g.Ingest(context.Background(), items); err != nil {
			b.Fatal(err)
		}
	}
	st.Close()
	start := time.Now()
	st, err = store.Open(path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	openTime := time.Since(start)
	defer st.Close()
	g, err = New(testConfig(), st, nil)
	if err != nil {
		b.Fatal(err)
	}
	g.Quiet = true // compare with BenchmarkIngest/quiet
	const n = 10000
	mails := make([][]byte, n)
	for i := range mails {
		mails[i] = benchMail(total + i)
	}
	b.ResetTimer()
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
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "msgs/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(n), "cpu-µs/msg")
	b.ReportMetric(float64(openTime.Microseconds())/1000, "open-ms")
}
