package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"kontaktpunkt/store"
)

// benchWeekdays and benchMonths name dates the way Outlook and Gmail
// write them in Norwegian quote headers.
var (
	benchWeekdays = []string{"søn.", "man.", "tir.", "ons.", "tor.", "fre.", "lør."}
	benchMonths   = []string{"jan.", "feb.", "mar.", "apr.", "mai", "jun.", "jul.", "aug.", "sep.", "okt.", "nov.", "des."}
)

// benchSentence writes one sentence of 6 to 20 words drawn from the
// topic's words and the shared wording.
func benchSentence(b *strings.Builder, r *rand.Rand, topic []string) {
	n := 6 + r.IntN(15)
	for k := range n {
		w := benchShared[r.IntN(len(benchShared))]
		if r.IntN(3) == 0 {
			w = topic[r.IntN(len(topic))]
		}
		if k == 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		} else {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	b.WriteString(". ")
}

// benchText is a few paragraphs of a request or an answer about topic.
func benchText(r *rand.Rand, topic []string, paragraphs int) string {
	var b strings.Builder
	for range paragraphs {
		for range 2 + r.IntN(4) {
			benchSentence(&b, r, topic)
		}
		b.WriteString("\n\n")
	}
	return b.String()
}

// benchMail makes the i-th message of a varied stream of 1-6 KB mails,
// the same for the same i: every fourth message opens a case about one
// of benchTopics, the other three reply to it from the requester, in
// Outlook's shape (the history below a From/Sent/To/Subject block) or
// Gmail's (below an "On … wrote:" line, each line quoted with "> ").
func benchMail(i int) []byte {
	r := rand.New(rand.NewPCG(uint64(i), 0x6b70))
	parent := i - i%4
	topic := benchTopics[(parent/4)%len(benchTopics)]
	who := parent / 4 // each case its own requester; replies come from them
	from := fmt.Sprintf("Person %d <person%d@example.org>", who, who)
	date := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * 7 * time.Minute)
	h := []string{
		"From: " + from,
		"To: " + contact,
		"Message-ID: " + benchID(i),
		"Date: " + date.Format(time.RFC1123Z),
		fmt.Sprintf("Received: from mx.example.org (mx.example.org [192.0.2.%d]) by mx.uio.no with ESMTPS id %x; %s", 1+i%250, r.Uint64(), date.Format(time.RFC1123Z)),
		fmt.Sprintf("DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=sel; h=from:to:subject; bh=%x; b=%x%x", r.Uint64(), r.Uint64(), r.Uint64()),
	}
	subject := benchSubject(parent)
	if i%4 == 0 {
		h = append(h, "Subject: "+subject)
		return msg(h, benchText(r, topic, 3+r.IntN(5))+"Mvh\nPerson "+fmt.Sprint(who)+"\n")
	}
	h = append(h, "Subject: SV: "+subject,
		"In-Reply-To: "+benchID(i-1),
		"References: "+benchRefs(parent, i))
	own := benchText(r, topic, 1+r.IntN(2))
	history := benchText(rand.New(rand.NewPCG(uint64(i-1), 0x6b70)), topic, 3+r.IntN(4))
	var body strings.Builder
	body.WriteString(own)
	body.WriteString("Hilsen\nPerson " + fmt.Sprint(who) + "\n\n")
	prev := date.Add(-7 * time.Minute)
	if r.IntN(2) == 0 {
		fmt.Fprintf(&body, "________________________________\nFra: %s\nSendt: %s %d. %s %d %s\nTil: %s\nEmne: %s\n\n",
			"Integrasjonskontakt <"+contact+">", benchWeekdays[prev.Weekday()], prev.Day(), benchMonths[prev.Month()-1], prev.Year(), prev.Format("15:04"), from, subject)
		body.WriteString(history)
	} else {
		fmt.Fprintf(&body, "%s %d. %s %d kl. %s skrev Integrasjonskontakt <%s>:\n",
			strings.ToUpper(benchWeekdays[prev.Weekday()][:1])+benchWeekdays[prev.Weekday()][1:], prev.Day(), benchMonths[prev.Month()-1], prev.Year(), prev.Format("15:04"), contact)
		for _, l := range strings.Split(strings.TrimRight(history, "\n"), "\n") {
			body.WriteString("> " + l + "\n")
		}
	}
	return msg(h, body.String())
}

// benchID is the Message-ID of message i, as random as the ids Outlook
// and Gmail make, so the Message-ID index is written all over, not
// appended to.
func benchID(i int) string {
	r := rand.New(rand.NewPCG(uint64(i), 0x1d))
	if i%2 == 0 {
		return fmt.Sprintf("<AM9PR05MB%04X%012X@AM9PR05MB%04X.eurprd05.prod.outlook.com>", r.Uint32()&0xffff, r.Uint64()&(1<<48-1), r.Uint32()&0xffff)
	}
	return fmt.Sprintf("<CA%s@mail.gmail.com>", strings.TrimRight(base64.URLEncoding.EncodeToString(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, r.Uint64()), r.Uint64())), "="))
}

// benchRefs is the References of reply i in the thread of request parent.
func benchRefs(parent, i int) string {
	var refs []string
	for k := parent; k < i; k++ {
		refs = append(refs, benchID(k))
	}
	return strings.Join(refs, " ")
}

// benchSubject is the subject of request i (i%4 == 0) and its replies.
func benchSubject(i int) string {
	r := rand.New(rand.NewPCG(uint64(i), 0x73756a))
	topic := benchTopics[(i/4)%len(benchTopics)]
	return fmt.Sprintf("%s og %s %d", topic[r.IntN(len(topic))], topic[r.IntN(len(topic))], i)
}

// benchMails returns benchMail(from) … benchMail(from+n-1).
func benchMails(from, n int) [][]byte {
	mails := make([][]byte, n)
	for i := range mails {
		mails[i] = benchMail(from + i)
	}
	return mails
}

// ingestBatch is the ingest command's batch: 512 messages a commit.
const ingestBatch = 512

// rate is what one timed run measured.
type rate struct {
	n       int
	elapsed time.Duration
	cpu     time.Duration
	// writer is the CPU time of the thread that ran the transactions
	// (Linux only): the serial part, which bounds the rate on two
	// cores however fast the parsing.
	writer time.Duration
}

func (r rate) plus(o rate) rate {
	return rate{n: r.n + o.n, elapsed: r.elapsed + o.elapsed, cpu: r.cpu + o.cpu, writer: r.writer + o.writer}
}

func (r rate) msgsPerSec() float64 { return float64(r.n) / r.elapsed.Seconds() }
func (r rate) cpuPerMsg() float64  { return float64(r.cpu.Microseconds()) / float64(r.n) }
func (r rate) writerPerMsg() float64 {
	return float64(r.writer.Microseconds()) / float64(r.n)
}

// BenchmarkIngest measures ingest of 10,000 mails (benchMail) into an
// empty store, in the batches the ingest command uses, each commit
// fsync'd. Each iteration first writes the same mails as the durable raw
// floor (rawFloor) and reports ingest's rate over the floor's (x-floor)
// beside msgs/s and CPU time per message of both.
func BenchmarkIngest(b *testing.B) {
	b.Run("quiet", func(b *testing.B) { benchIngest(b, true) })
	b.Run("queueing", func(b *testing.B) { benchIngest(b, false) })
}

// benchIngest ingests 10,000 mails; quiet is `ingest -quiet` (an archive
// import), otherwise every mail queues what serve would send.
func benchIngest(b *testing.B, quiet bool) {
	mails := benchMails(0, 10000)
	b.ReportAllocs()
	b.ResetTimer()
	var floor, got rate
	for range b.N {
		f := rawFloor(b, mails)
		g := ingestRun(b, mails, store.Options{}, quiet)
		floor, got = floor.plus(f), got.plus(g)
	}
	reportFloor(b, floor, got)
}

// reportFloor reports the floor's figures and ingest's rate over them.
func reportFloor(b *testing.B, floor, got rate) {
	b.ReportMetric(got.msgsPerSec(), "msgs/s")
	b.ReportMetric(got.cpuPerMsg(), "cpu-µs/msg")
	b.ReportMetric(got.writerPerMsg(), "writer-cpu-µs/msg")
	b.ReportMetric(floor.msgsPerSec(), "floor-msgs/s")
	b.ReportMetric(floor.cpuPerMsg(), "floor-cpu-µs/msg")
	b.ReportMetric(got.msgsPerSec()/floor.msgsPerSec(), "x-floor")
}

// rawFloor writes mails the least a durable store can: each one's raw
// bytes under a sequence number and its Message-ID in an index, 512 to
// an fsync'd bbolt commit, with the store's bolt options. No parsing, no
// compression, no cases: what ingest is measured against.
func rawFloor(b *testing.B, mails [][]byte) rate {
	b.StopTimer()
	ids := make([][]byte, len(mails))
	for i, m := range mails {
		ids[i] = headerMessageID(m)
	}
	db, err := bolt.Open(filepath.Join(b.TempDir(), "floor.db"), 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType, InitialMmapSize: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	b.StartTimer()
	start, cpu0 := time.Now(), cpuTime()
	for i := 0; i < len(mails); i += ingestBatch {
		err := db.Update(func(tx *bolt.Tx) error {
			raw, err := tx.CreateBucketIfNotExists([]byte("raw"))
			if err != nil {
				return err
			}
			idx, err := tx.CreateBucketIfNotExists([]byte("id"))
			if err != nil {
				return err
			}
			for j := i; j < min(i+ingestBatch, len(mails)); j++ {
				seq, _ := raw.NextSequence()
				key := binary.BigEndian.AppendUint64(nil, seq)
				if err := raw.Put(key, mails[j]); err != nil {
					return err
				}
				if err := idx.Put(ids[j], key); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	r := rate{n: len(mails), elapsed: time.Since(start), cpu: cpuTime() - cpu0}
	b.StopTimer()
	return r
}

// headerMessageID is the Message-ID header's value of a benchMail.
func headerMessageID(m []byte) []byte {
	_, rest, _ := bytes.Cut(m, []byte("\r\nMessage-ID: "))
	id, _, _ := bytes.Cut(rest, []byte("\r\n"))
	return id
}

// ingestRun ingests mails into a new store in the batches the ingest
// command uses (512, each commit fsync'd), with the clock stopped for the
// setup, and reports msgs/s, CPU time per message and the store file's
// size over the raw bytes.
func ingestRun(b *testing.B, mails [][]byte, opts store.Options, quiet bool) rate {
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
	r := ingestTimed(b, g, mails)
	b.StopTimer()
	st.Close()
	fi, _ := os.Stat(filepath.Join(dir, "kp.db"))
	b.ReportMetric(r.msgsPerSec(), "msgs/s")
	b.ReportMetric(r.cpuPerMsg(), "cpu-µs/msg")
	b.ReportMetric(r.writerPerMsg(), "writer-cpu-µs/msg")
	if fi != nil {
		b.ReportMetric(float64(fi.Size())/float64(raw), "store/raw")
	}
	b.StartTimer()
	return r
}

// ingestTimed ingests mails through g in batches of ingestBatch, as the
// ingest command does (ingestBatches), and returns the wall and CPU
// time it took, and the CPU time of the thread that wrote.
func ingestTimed(b *testing.B, g *Gateway, mails [][]byte) rate {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	batches := make([][]Item, 0, len(mails)/ingestBatch+1)
	for i := 0; i < len(mails); i += ingestBatch {
		items := make([]Item, 0, ingestBatch)
		for j := i; j < min(i+ingestBatch, len(mails)); j++ {
			items = append(items, Item{Source: "bench", Raw: mails[j]})
		}
		batches = append(batches, items)
	}
	start, cpu0, w0 := time.Now(), cpuTime(), threadCPUTime()
	if err := ingestBatches(g, batches); err != nil {
		b.Fatal(err)
	}
	return rate{n: len(mails), elapsed: time.Since(start), cpu: cpuTime() - cpu0, writer: threadCPUTime() - w0}
}

// BenchmarkIngestLarge measures the ingest of BenchmarkIngest/quiet into
// a store already holding KP_BENCH_LARGE_N (default 1,000,000) messages,
// and, in the same run, into an empty store; it reports the large
// store's rate over the empty one's (x-empty). Opt-in: KP_BENCH_LARGE=1
// (filling takes many minutes). The filled store is built through the
// gateway without fsync and kept under KP_BENCH_CACHE, when set, to be
// copied for later runs. It also reports how long opening it takes.
func BenchmarkIngestLarge(b *testing.B) {
	if os.Getenv("KP_BENCH_LARGE") == "" {
		b.Skip("set KP_BENCH_LARGE=1 to run (slow)")
	}
	total := 1000000
	if v := os.Getenv("KP_BENCH_LARGE_N"); v != "" {
		fmt.Sscan(v, &total)
	}
	filled := largeStore(b, total)
	mails := benchMails(total, 10000)
	var empty, large rate
	var openTime time.Duration
	for range b.N {
		b.StopTimer()
		path := filepath.Join(b.TempDir(), "kp.db")
		if err := copyFile(filled, path); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		st, err := store.Open(path, store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		openTime += time.Since(start)
		g, err := New(testConfig(), st, nil)
		if err != nil {
			b.Fatal(err)
		}
		g.Quiet = true
		b.StartTimer()
		l := ingestTimed(b, g, mails)
		st.Close()
		e := ingestRun(b, mails, store.Options{}, true)
		large, empty = large.plus(l), empty.plus(e)
	}
	b.ReportMetric(large.msgsPerSec(), "msgs/s")
	b.ReportMetric(large.cpuPerMsg(), "cpu-µs/msg")
	b.ReportMetric(large.writerPerMsg(), "writer-cpu-µs/msg")
	b.ReportMetric(empty.msgsPerSec(), "empty-msgs/s")
	b.ReportMetric(empty.cpuPerMsg(), "empty-cpu-µs/msg")
	b.ReportMetric(empty.writerPerMsg(), "empty-writer-cpu-µs/msg")
	b.ReportMetric(large.writerPerMsg()/empty.writerPerMsg(), "writer-x-empty")
	b.ReportMetric(large.msgsPerSec()/empty.msgsPerSec(), "x-empty")
	b.ReportMetric(float64(openTime.Microseconds())/1000/float64(b.N), "open-ms")
}

// largeStore returns the path of a store holding benchMail(0) …
// benchMail(total-1), ingested quietly without fsync; it is reused from
// KP_BENCH_CACHE when that directory holds one.
func largeStore(b *testing.B, total int) string {
	b.Helper()
	dir := os.Getenv("KP_BENCH_CACHE")
	if dir == "" {
		dir = b.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("ingest-large-%d.db", total))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	tmp := path + ".tmp"
	os.Remove(tmp)
	st, err := store.Open(tmp, store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	g, err := New(testConfig(), st, nil)
	if err != nil {
		b.Fatal(err)
	}
	g.Quiet = true
	for i := 0; i < total; i += ingestBatch {
		if _, err := g.Ingest(context.Background(), benchItems(i, min(ingestBatch, total-i))); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	return path
}

// benchItems are n items of benchMail from from.
func benchItems(from, n int) []Item {
	items := make([]Item, n)
	for j := range items {
		items[j] = Item{Source: "fill", Raw: benchMail(from + j)}
	}
	return items
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	// Synced, so the first commit's fsync does not write the copy back.
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}
