package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"kontaktpunkt/gateway"
	"kontaktpunkt/internal/benchmail"
	"kontaktpunkt/store"
)

// mail is n messages of the run's stream; prefix keeps Message-IDs of
// different batches apart, start (zero: the default) dates them.
func (e *env) mail(prefix string, n int, start time.Time) [][]byte {
	g := benchmail.New(benchmail.Options{Seed: e.o.seed, Prefix: prefix, Start: start})
	out := make([][]byte, n)
	for i := range out {
		out[i] = g.Next()
	}
	return out
}

// mailDir writes n messages of the stream as a Maildir and returns its
// path and the raw bytes.
func (e *env) mailDir(prefix string, n int, start time.Time) (string, int64, error) {
	dir := e.fresh("mail-" + prefix)
	raw, err := writeMaildir(dir, e.mail(prefix, n, start))
	return dir, raw, err
}

// kpStore makes a folder with a configuration for a new store (servers
// optional) and returns the configuration's and the store's path.
func (e *env) kpStore(name string, s servers) (cfg, db string, err error) {
	dir := e.fresh(name)
	db = filepath.Join(dir, "kp.db")
	cfg, err = writeConfig(dir, db, s)
	return cfg, db, err
}

func rate(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }

func perMsg(cpu time.Duration, n int) string {
	return fmt.Sprintf("%.0f", float64(cpu.Microseconds())/float64(n))
}

// rowIngest: `ingest -quiet` of n messages from a Maildir into an empty
// store, beside bbolt storing the same files' raw bytes and a Message-ID
// index in fsync'd commits of 512.
func (e *env) rowIngest() ([]result, error) {
	mdir, _, err := e.mailDir("run", e.o.n, time.Time{})
	if err != nil {
		return nil, err
	}
	// rounds alternate baseline and program; the figures are their sums
	var base, p proc
	for range max(1, e.o.rounds) {
		b, err := boltBaseline(filepath.Join(e.fresh("bolt"), "base.db"), mdir)
		if err != nil {
			return nil, err
		}
		cfg, _, err := e.kpStore("ingest", servers{})
		if err != nil {
			return nil, err
		}
		k, err := e.kp("ingest", "-quiet", "-config", cfg, mdir)
		if err != nil {
			return nil, err
		}
		base, p = base.add(b), p.add(k)
	}
	n := e.o.n * max(1, e.o.rounds)
	b, g := rate(n, base.wall), rate(n, p.wall)
	return []result{{
		row: "ingest", measure: fmt.Sprintf("`ingest -quiet`, %d msgs × %d rounds (msgs/s)", e.o.n, max(1, e.o.rounds)),
		base: fmt.Sprintf("%.0f", b), got: fmt.Sprintf("%.0f", g), ratio: fmt.Sprintf("%.2f", g/b),
		cpu: perMsg(base.cpu, n) + " / " + perMsg(p.cpu, n) + " µs/msg",
	}}, nil
}

// rowSize: a store holding n messages with their acknowledgements etc.
// queued (ingest without -quiet), compacted by `compact`, over the raw
// bytes of the messages.
func (e *env) rowSize() ([]result, error) {
	mdir, raw, err := e.mailDir("run", e.o.n, time.Time{})
	if err != nil {
		return nil, err
	}
	var out []result
	// the row's figure (acknowledgements queued), then the same import
	// with -quiet, which shows what the outbox adds
	for _, quiet := range []bool{false, true} {
		cfg, db, err := e.kpStore("size", servers{})
		if err != nil {
			return nil, err
		}
		args := []string{"ingest", "-config", cfg, mdir}
		if quiet {
			args = []string{"ingest", "-quiet", "-config", cfg, mdir}
		}
		if _, err := e.kp(args...); err != nil {
			return nil, err
		}
		queued, err := queuedOutbound(db)
		if err != nil {
			return nil, err
		}
		copyPath := filepath.Join(filepath.Dir(db), "compact.db")
		p, err := e.kp("compact", "-config", cfg, copyPath)
		if err != nil {
			return nil, err
		}
		fi, err := os.Stat(copyPath)
		if err != nil {
			return nil, err
		}
		live, err := os.Stat(db)
		if err != nil {
			return nil, err
		}
		r := result{
			row:     "size",
			measure: fmt.Sprintf("`compact` copy / raw bytes, %d msgs, %d outbound queued (store file / raw %.2f)", e.o.n, queued, float64(live.Size())/float64(raw)),
			base:    fmt.Sprintf("%.1f MB raw", float64(raw)/1e6), got: fmt.Sprintf("%.1f MB", float64(fi.Size())/1e6),
			ratio: fmt.Sprintf("%.2f", float64(fi.Size())/float64(raw)), target: "≤ 1.0",
			cpu: fmt.Sprintf("compact %v CPU", p.cpu.Round(time.Millisecond)),
		}
		if quiet {
			r.measure, r.target = "the same after `ingest -quiet`: "+r.measure, "(context)"
		}
		out = append(out, r)
	}
	return out, nil
}

// queuedOutbound counts the queued outbound mail of the store at db.
func queuedOutbound(db string) (int, error) {
	st, err := store.Open(db, store.Options{ReadOnly: true})
	if err != nil {
		return 0, err
	}
	defer st.Close()
	var stats store.OutboxStats
	err = st.View(func(tx *store.Tx) error {
		var err error
		stats, err = tx.OutboxStats()
		return err
	})
	return stats.Queued, err
}

// largeStore returns the path of a store holding largeN messages of the
// stream (prefix "fill"), made in-process through the gateway without
// fsync and kept in the cache folder.
func (e *env) largeStore() (string, error) {
	dir := e.o.cache
	if dir == "" {
		dir = e.fresh("cache")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("kp-%d-seed%d.db", e.o.largeN, e.o.seed))
	if _, err := os.Stat(path); err == nil {
		e.logf("large store: using %s", path)
		return path, nil
	}
	tmp := path + ".filling"
	os.Remove(tmp)
	st, err := store.Open(tmp, store.Options{NoSync: true})
	if err != nil {
		return "", err
	}
	cfg := benchmail.Config()
	cfg.Store.Path = tmp
	g, err := gateway.New(cfg, st, nil)
	if err != nil {
		st.Close()
		return "", err
	}
	g.Quiet = true
	gen := benchmail.New(benchmail.Options{Seed: e.o.seed, Prefix: "fill"})
	const batch = 512
	start := time.Now()
	for i := 0; i < e.o.largeN; i += batch {
		items := make([]gateway.Item, 0, batch)
		for range min(batch, e.o.largeN-i) {
			items = append(items, gateway.Item{Source: "fill", Raw: gen.Next()})
		}
		if _, err := g.Ingest(context.Background(), items); err != nil {
			st.Close()
			return "", err
		}
		if i%(100*batch) == 0 {
			e.logf("large store: %d of %d messages (%v)", i, e.o.largeN, time.Since(start).Round(time.Second))
		}
	}
	if err := st.Close(); err != nil {
		return "", err
	}
	return path, os.Rename(tmp, path)
}

// copyFile copies src to dst and syncs the copy, so that the first
// commit's fsync in a measured run does not write the whole copy back
// (gigabytes for the large store, seconds of the run).
func copyFile(dst, src string) error {
	if err := exec.Command("cp", "--reflink=auto", src, dst).Run(); err != nil {
		if err := copyBytes(dst, src); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(dst, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// copyBytes copies src to dst through this process.
func copyBytes(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// rowLarge: `ingest -quiet` of n messages into a copy of the large store
// beside the same into an empty store, before and after.
func (e *env) rowLarge() ([]result, error) {
	large, err := e.largeStore()
	if err != nil {
		return nil, err
	}
	mdir, _, err := e.mailDir("run", e.o.n, time.Time{})
	if err != nil {
		return nil, err
	}
	bigCfg, bigDB, err := e.kpStore("large-big", servers{})
	if err != nil {
		return nil, err
	}
	e.logf("copying the large store")
	if err := copyFile(bigDB, large); err != nil {
		return nil, err
	}
	defer os.Remove(bigDB)
	// empty, large, empty: the baseline is the mean of the two empty runs
	ingestEmpty := func() (proc, error) {
		cfg, _, err := e.kpStore("large-empty", servers{})
		if err != nil {
			return proc{}, err
		}
		return e.kp("ingest", "-quiet", "-config", cfg, mdir)
	}
	empty, err := ingestEmpty()
	if err != nil {
		return nil, err
	}
	big, err := e.kp("ingest", "-quiet", "-config", bigCfg, mdir)
	if err != nil {
		return nil, err
	}
	empty2, err := ingestEmpty()
	if err != nil {
		return nil, err
	}
	empty = empty.add(empty2)
	empty.wall, empty.cpu = empty.wall/2, empty.cpu/2
	b, g := rate(e.o.n, empty.wall), rate(e.o.n, big.wall)
	return []result{{
		row: "large", measure: fmt.Sprintf("`ingest -quiet` %d msgs into %d vs into empty (msgs/s)", e.o.n, e.o.largeN),
		base: fmt.Sprintf("%.0f", b), got: fmt.Sprintf("%.0f", g), ratio: fmt.Sprintf("%.2f", g/b), target: "≥ 0.7",
		cpu: perMsg(empty.cpu, e.o.n) + " / " + perMsg(big.cpu, e.o.n) + " µs/msg",
	}}, nil
}

// rowCases: `cases` on the large store: the whole list (time, peak RSS)
// and its first 100 lines, and `cases -limit 100`.
func (e *env) rowCases() ([]result, error) {
	large, err := e.largeStore()
	if err != nil {
		return nil, err
	}
	cfg, err := writeConfig(e.fresh("cases"), large, servers{})
	if err != nil {
		return nil, err
	}
	cmd, rss, err := e.rssCommand("cases", "-config", cfg)
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var first time.Duration
	lines := 0
	scanLines(stdout, func(string) bool {
		lines++
		if lines == 100 {
			first = time.Since(start)
		}
		return true
	})
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("cases: %w", err)
	}
	all := procOf(cmd, time.Since(start))
	all.maxRSS = rss()
	page, err := e.kp("cases", "-config", cfg, "-limit", "100")
	if err != nil {
		return nil, err
	}
	pcmd, prss, err := e.rssCommand("cases", "-config", cfg, "-limit", "100")
	if err != nil {
		return nil, err
	}
	if err := pcmd.Run(); err != nil {
		return nil, fmt.Errorf("cases -limit 100: %w", err)
	}
	page.maxRSS = prss()
	return []result{
		{row: "cases", measure: fmt.Sprintf("`cases` at %d msgs, %d lines: time, peak RSS", e.o.largeN, lines),
			got: fmt.Sprintf("%v, %.0f MiB", all.wall.Round(time.Millisecond), float64(all.maxRSS)/(1<<20)), target: "RSS < 64 MiB",
			cpu: fmt.Sprintf("%v CPU", all.cpu.Round(time.Millisecond))},
		{row: "cases", measure: "first 100 lines of `cases`; `cases -limit 100`",
			got: fmt.Sprintf("%v; %v, %.0f MiB", first.Round(time.Millisecond), page.wall.Round(time.Millisecond), float64(page.maxRSS)/(1<<20)), target: "< 100 ms",
			cpu: fmt.Sprintf("%v CPU (-limit 100)", page.cpu.Round(time.Millisecond))},
	}, nil
}

// rowStart: CPU of a read-only command, median of 21 runs: `version`,
// and `cases -limit 1` on a small store.
func (e *env) rowStart() ([]result, error) {
	cfg, db, err := e.kpStore("start", servers{})
	if err != nil {
		return nil, err
	}
	mdir, _, err := e.mailDir("start", 200, time.Time{})
	if err != nil {
		return nil, err
	}
	if _, err := e.kp("ingest", "-quiet", "-config", cfg, mdir); err != nil {
		return nil, err
	}
	var out []result
	for _, c := range []struct {
		name string
		args []string
	}{{"version", []string{"version"}}, {"cases -limit 1 (200 msgs)", []string{"cases", "-db", db, "-limit", "1"}}} {
		var cpus, walls []time.Duration
		for range 21 {
			p, err := e.kp(c.args...)
			if err != nil {
				return nil, err
			}
			cpus, walls = append(cpus, p.cpu), append(walls, p.wall)
		}
		slices.Sort(cpus)
		slices.Sort(walls)
		out = append(out, result{row: "start", measure: "CPU of `" + c.name + "` (median of 21)",
			got:    fmt.Sprintf("%.1f ms (wall %.1f ms)", ms(cpus[10]), ms(walls[10])),
			target: "< 15 ms", cpu: fmt.Sprintf("min %.1f, max %.1f ms", ms(cpus[0]), ms(cpus[20]))})
	}
	return out, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// rowFollowUp: an archive import (`ingest -quiet` of old mail), then a
// day of fake time. serve has no clock setting, so the day passes
// through the gateway API on the imported store: FireDueFollowUps every
// 10 minutes of fake time, counting what fires and what is queued.
func (e *env) rowFollowUp() ([]result, error) {
	mdir, _, err := e.mailDir("archive", e.o.n, benchmail.OldStart)
	if err != nil {
		return nil, err
	}
	cfgPath, db, err := e.kpStore("followup", servers{})
	if err != nil {
		return nil, err
	}
	if _, err := e.kp("ingest", "-quiet", "-config", cfgPath, mdir); err != nil {
		return nil, err
	}
	queued0, err := queuedOutbound(db)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(db, store.Options{})
	if err != nil {
		return nil, err
	}
	cfg := benchmail.Config()
	cfg.Store.Path = db
	g, err := gateway.New(cfg, st, nil)
	if err != nil {
		st.Close()
		return nil, err
	}
	now := time.Now()
	g.Now = func() time.Time { return now }
	fired := 0
	cpu0 := selfCPU()
	for end := now.Add(24 * time.Hour); now.Before(end); now = now.Add(10 * time.Minute) {
		n, err := g.FireDueFollowUps(context.Background())
		if err != nil {
			st.Close()
			return nil, err
		}
		fired += n
	}
	cpu := selfCPU() - cpu0
	st.Close()
	queued, err := queuedOutbound(db)
	if err != nil {
		return nil, err
	}
	return []result{{
		row: "followup", measure: fmt.Sprintf("archive import of %d old msgs, then 24 h of fake time (gateway API): follow-ups fired, mails queued", e.o.n),
		got: fmt.Sprintf("%d fired, %d queued", fired, queued-queued0), target: "0",
		cpu: fmt.Sprintf("%v CPU for 144 ticks", cpu.Round(time.Millisecond)),
	}}, nil
}
