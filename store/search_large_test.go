package store

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	kp "kontaktpunkt"
	"kontaktpunkt/search"
)

// variedGen produces mail of varied text for the large search
// benchmarks: words drawn by a Zipf law from a seeded vocabulary of
// ~40,000 made-up Norwegian-looking words and the generator's common
// words, senders from a few thousand names at many domains, and cases of
// about ten messages each opened over a year.
type variedGen struct {
	rnd     *rand.Rand
	zipf    *rand.Zipf
	vocab   []string
	names   []string
	domains []string
	now     time.Time
	recent  []kp.CaseID
	n       int
}

var (
	variedFirst = []string{"Kari", "Ola", "Åse", "Per", "Ingrid", "Jonas", "Sigrid", "Håkon", "Marte", "Trond",
		"Bjørn", "Søren", "José", "Zoë", "Ærlig", "Øystein", "Anne", "Lars", "Nina", "Erik", "Siv", "Tor",
		"Hege", "Geir", "Liv", "Knut", "Randi", "Arne", "Mona", "Rune"}
	variedLast = []string{"Nordmann", "Hansen", "Bjørnstad", "Øverli", "Solberg", "Lie", "Undset", "Dahl",
		"Kirkerud", "Ås", "Müller", "Johansen", "Berg", "Haugen", "Strøm", "Nilsen", "Eriksen", "Bakke",
		"Lund", "Moen", "Aasen", "Fjeld", "Sæther", "Rønning", "Vik", "Holm", "Engen", "Brekke",
		"Lien", "Dalen"}
	variedDomains = []string{"uib.no", "student.uib.no", "hf.uib.no", "uio.no", "student.uio.no", "ntnu.no",
		"stud.ntnu.no", "uit.no", "nmbu.no", "oslomet.no", "hvl.no", "usn.no", "gmail.com", "hotmail.com",
		"online.no", "sikt.no", "unit.no", "nord.no", "inn.no", "himolde.no"}
	variedOnset  = []string{"b", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "bl", "br", "fl", "fr", "gr", "kl", "kr", "pl", "sk", "sl", "sn", "sp", "st", "str", "tr", "kj", "sj"}
	variedNuclei = []string{"a", "e", "i", "o", "u", "y", "æ", "ø", "å", "ei", "au", "ø", "e", "a"}
	variedCoda   = []string{"", "", "n", "r", "s", "t", "l", "k", "nd", "ng", "rt", "st", "ll", "kk", "nn", "tt"}
)

func newVariedGen(seed uint64) *variedGen {
	rnd := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &variedGen{rnd: rnd, now: time.Date(2025, 9, 1, 8, 0, 0, 0, time.UTC)}
	seen := map[string]bool{}
	// The generator's common words first: they are the most frequent.
	for _, w := range genWords {
		w = strings.ToLower(w)
		if !seen[w] {
			seen[w] = true
			g.vocab = append(g.vocab, w)
		}
	}
	for len(g.vocab) < 40_000 {
		var b strings.Builder
		for range 1 + rnd.IntN(3) {
			b.WriteString(variedOnset[rnd.IntN(len(variedOnset))])
			b.WriteString(variedNuclei[rnd.IntN(len(variedNuclei))])
			b.WriteString(variedCoda[rnd.IntN(len(variedCoda))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			g.vocab = append(g.vocab, w)
		}
	}
	g.zipf = rand.NewZipf(rnd, 1.07, 2, uint64(len(g.vocab)-1))
	for _, f := range variedFirst {
		for _, l := range variedLast {
			g.names = append(g.names, f+" "+l)
		}
	}
	g.domains = variedDomains
	return g
}

func (g *variedGen) text(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			if i%11 == 0 {
				b.WriteString(". ")
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteString(g.vocab[g.zipf.Uint64()])
	}
	b.WriteByte('.')
	return b.String()
}

// address returns a sender: a name and an address at one of the domains.
func (g *variedGen) address() kp.Address {
	name := g.names[g.rnd.IntN(len(g.names))]
	f := strings.Fields(name)
	local := strings.ToLower(f[0] + "." + f[1])
	local = strings.Map(func(r rune) rune {
		if r < 0x80 {
			return r
		}
		return 'x'
	}, local)
	if g.rnd.IntN(3) == 0 {
		local += strconv.Itoa(g.rnd.IntN(100))
	}
	return kp.Address{Name: name, Addr: local + "@" + g.domains[g.rnd.IntN(len(g.domains))]}
}

// apply stores one generated message in tx: one in ten opens a case,
// the others go to one of the 2,000 most recent cases.
func (g *variedGen) apply(tx *Tx) error {
	g.n++
	g.now = g.now.Add(time.Duration(20+g.rnd.IntN(23)) * time.Second)
	from := g.address()
	subject := g.text(3 + g.rnd.IntN(5))
	text := g.text(30+g.rnd.IntN(120)) + "\n\nMed vennlig hilsen\n" + from.Name + "\n"
	sig := make([]byte, 900)
	for i := range sig {
		sig[i] = byte(g.rnd.Uint32())
	}
	id := fmt.Sprintf("v%d.%x@mail.%s", g.n, g.rnd.Uint64(), g.domains[g.n%len(g.domains)])
	raw := fmt.Sprintf("DKIM-Signature: v=1; a=rsa-sha256; b=%s\r\nFrom: %s <%s>\r\nTo: Kontaktpunkt <post@uib.no>\r\nSubject: %s\r\nMessage-ID: <%s>\r\nDate: %s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s",
		base64.StdEncoding.EncodeToString(sig), from.Name, from.Addr, subject, id, g.now.Format(time.RFC1123Z), text)
	m := kp.Message{
		ID: id, Direction: kp.In, Class: kp.ClassHuman, Kind: "request",
		From: from, To: []kp.Address{{Name: "Kontaktpunkt", Addr: "post@uib.no"}},
		Subject: subject, Date: g.now, Received: g.now.Add(3 * time.Second), Text: text,
		Source: fmt.Sprintf("imap:INBOX/1/%d", g.n), Size: int64(len(raw)),
	}
	var c *kp.Case
	if len(g.recent) == 0 || g.n%10 == 1 {
		id, err := tx.NextCaseID()
		if err != nil {
			return err
		}
		c = &kp.Case{ID: id, Subject: subject, Status: kp.StatusOpen, Requester: from,
			Priority: kp.PriorityNormal, Created: m.Received, ThreadID: m.ID}
		if g.rnd.IntN(4) == 0 {
			c.Team = []string{"fs", "canvas", "feide", "okonomi"}[g.rnd.IntN(4)]
		}
		g.recent = append(g.recent, id)
		if len(g.recent) > 2000 {
			g.recent = g.recent[1:]
		}
		m.MatchedBy = kp.MatchNew
	} else {
		var err error
		if c, err = tx.Case(g.recent[g.rnd.IntN(len(g.recent))]); err != nil {
			return err
		}
		m.MatchedBy = kp.MatchInReplyTo
		c.Status = []kp.Status{kp.StatusOpen, kp.StatusWaiting, kp.StatusResolved}[g.rnd.IntN(3)]
	}
	m.Case = c.ID
	c.Messages++
	c.Updated, c.LastInbound, c.LastMessageID = m.Received, m.Received, m.ID
	tx.GivenTextTokens(m.Text, TextTokens(m.Text))
	if err := tx.PutMessage(&m, []byte(raw)); err != nil {
		return err
	}
	return tx.PutCase(c)
}

// variedQueries are the queries of BenchmarkSearchLarge, made from the
// generator's vocabulary: frequent, middling and rare words, prefixes of
// two to four letters, names, domains, filters and combinations.
func variedQueries(g *variedGen) []string {
	v := func(rank int) string { return g.vocab[rank] }
	return []string{
		"canvas", "integrasjon", "feide sertifikat", "eksamen status:open", v(200), v(1000), v(5000), v(20000),
		v(300) + " " + v(900), v(150) + " " + v(2500) + " " + v(40), v(700)[:min(3, len(v(700)))], "kl", "str", "bjø",
		"åse", "bjørnstad", "øverli", "muller", "zoe", "søren sæther", "kari nordmann",
		"from:@uib.no", "from:@student.uio.no", "timeplan from:@uio.no", "from:@gmail.com " + v(500),
		"status:open", "status:waiting", "team:fs", "rettigheter team:fs", v(120) + " status:resolved",
		"after:2026-03-01", "before:2025-10-01 " + v(60), "api after:2026-05-10", "haster before:2025-12-05 after:2025-11-01",
		"produksjon test", "uib.no", "ntnu", "500 feilmelding", "jobben stoppet klokka", "godkjenning karakterer",
	}
}

// variedStore returns the path of a store of n varied messages, built in
// KP_SEARCH_CACHE (default: kontaktpunkt-search under the temporary
// directory) the first time and reused after.
func variedStore(b *testing.B, n int) (string, *variedGen) {
	dir := os.Getenv("KP_SEARCH_CACHE")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "kontaktpunkt-search")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("varied-%d.db", n))
	g := newVariedGen(7)
	if _, err := os.Stat(path); err == nil {
		// Opened for writing once: a store of an older index layout is
		// upgraded (and the time it takes logged).
		start := time.Now()
		s, err := Open(path, Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.Logf("opened for writing in %v", time.Since(start).Round(time.Millisecond))
		return path, g
	}
	tmp := path + ".tmp"
	os.Remove(tmp)
	s, err := Open(tmp, Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	start, cpu0 := time.Now(), cpuTime()
	for done := 0; done < n; {
		if err := s.Update(func(tx *Tx) error {
			for i := 0; i < 2000 && done < n; i++ {
				if err := g.apply(tx); err != nil {
					return err
				}
				done++
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		if done%100_000 == 0 {
			b.Logf("built %d messages in %v (%v cpu)", done, time.Since(start).Round(time.Second), (cpuTime() - cpu0).Round(time.Second))
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	return path, newVariedGen(7)
}

// BenchmarkSearchLarge answers the varied queries on a store of
// KP_SEARCH_LARGE_N messages (default 1,000,000 in 100,000 cases) of
// varied text and reports the median and 95th percentile latency of one
// query, and how much the index adds to the store (its pages against the
// others'). It runs only with KP_SEARCH_LARGE=1; the store is built once
// (tens of minutes) and cached in KP_SEARCH_CACHE (default: the temporary directory).
func BenchmarkSearchLarge(b *testing.B) {
	if os.Getenv("KP_SEARCH_LARGE") != "1" {
		b.Skip("set KP_SEARCH_LARGE=1 to search a store of 1,000,000 varied messages")
	}
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("KP_SEARCH_LARGE_N")); err == nil && v > 0 {
		n = v
	}
	path, g := variedStore(b, n)
	if v, _ := strconv.Atoi(os.Getenv("KP_SEARCH_LOG")); v > 0 {
		// Search a copy whose log holds v segments, of transactions
		// of 256 messages.
		cp := filepath.Join(b.TempDir(), "kp.db")
		copyFile(b, path, cp)
		s, err := Open(cp, Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		more := continueVaried(b, s, n)
		for i := 0; i < 2*searchLogMax; i++ {
			var segs []segment
			if err := s.View(func(tx *Tx) (err error) {
				segs, err = searchLog(tx.b(bucketSearch))
				return err
			}); err != nil {
				b.Fatal(err)
			}
			if len(segs) >= v {
				break
			}
			if err := s.Update(func(tx *Tx) error {
				for range batchSize {
					if err := more.apply(tx); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.View(func(tx *Tx) error {
			segs, err := searchLog(tx.b(bucketSearch))
			b.Logf("%d segments in the search log", len(segs))
			return err
		}); err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		path = cp
	}
	s, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	texts := variedQueries(g)
	qs := make([]search.Query, len(texts))
	for i, q := range texts {
		qs[i] = search.ParseQuery(q)
	}
	runSearches(b, s, texts, qs)
	var idx, all int
	if err := s.db.View(func(btx *bolt.Tx) error {
		return btx.ForEach(func(name []byte, bk *bolt.Bucket) error {
			st := bk.Stats()
			sz := st.BranchAlloc + st.LeafAlloc
			all += sz
			if string(name) == string(bucketSearch) {
				idx = sz
			}
			return nil
		})
	}); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(100*float64(idx)/float64(all-idx), "index-%")
}

// runSearches times the queries qs (named by texts) round-robin, b.N in
// all, and reports the median and 95th percentile and the slowest ones.
func runSearches(b *testing.B, s *Store, texts []string, qs []search.Query) {
	var lat []time.Duration
	per := make([][]time.Duration, len(qs))
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
		per[i%len(qs)] = append(per[i%len(qs)], lat[len(lat)-1])
	}
	b.StopTimer()
	type slow struct {
		q string
		d time.Duration
	}
	var list []slow
	for i, l := range per {
		if len(l) > 0 {
			slices.Sort(l)
			list = append(list, slow{texts[i], l[len(l)/2]})
		}
	}
	slices.SortFunc(list, func(a, b slow) int { return int(b.d - a.d) })
	b.Logf("slowest queries (median): %v", list[:min(len(list), 6)])
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
	b.ReportMetric(float64(hits)/float64(b.N), "hits/query")
}

// BenchmarkIngestLargeSearchIndex adds b.N varied messages to a copy of
// the store of BenchmarkSearchLarge, in fsync'd transactions of 256 that
// alternate between writing the full-text index and not, and reports
// the CPU time per message of each (the same store, the same run). Run
// with KP_SEARCH_LARGE=1 and -benchtime=20000x.
func BenchmarkIngestLargeSearchIndex(b *testing.B) {
	if os.Getenv("KP_SEARCH_LARGE") != "1" {
		b.Skip("set KP_SEARCH_LARGE=1 to ingest into a store of 1,000,000 varied messages")
	}
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("KP_SEARCH_LARGE_N")); err == nil && v > 0 {
		n = v
	}
	src, _ := variedStore(b, n)
	path := filepath.Join(b.TempDir(), "kp.db")
	copyFile(b, src, path)
	s, err := Open(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	g := continueVaried(b, s, n)
	var cpu [2]time.Duration
	var msgs [2]int
	b.ResetTimer()
	for done, i := 0, 0; done < b.N; i++ {
		with := i % 2
		s.noSearch = with == 0
		k := min(batchSize, b.N-done)
		c0 := cpuTime()
		if err := s.Update(func(tx *Tx) error {
			for range k {
				if err := g.apply(tx); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		cpu[with] += cpuTime() - c0
		msgs[with] += k
		done += k
	}
	b.StopTimer()
	without := float64(cpu[0].Microseconds()) / float64(max(msgs[0], 1))
	with := float64(cpu[1].Microseconds()) / float64(max(msgs[1], 1))
	b.ReportMetric(without, "without-cpu-us/msg")
	b.ReportMetric(with, "with-cpu-us/msg")
	b.ReportMetric(without/with, "rate-ratio")
}

// continueVaried returns a generator that goes on where the cached store
// of n messages ends, with its recent cases.
func continueVaried(b *testing.B, s *Store, n int) *variedGen {
	g := newVariedGen(8)
	g.n = n + 1
	if err := s.View(func(tx *Tx) error {
		top := kp.CaseID(tx.b(bucketCase).Sequence())
		for id := max(top-1999, 1); id <= top; id++ {
			g.recent = append(g.recent, id)
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	return g
}
