// Command bench measures kontaktpunkt's throughput targets against real
// servers, each beside a baseline measured in the same run, and prints
// the ratios as a table:
//
//	go run ./bench                 # every row but the 1M-message ones
//	go run ./bench -large          # also the 1M rows (the store is cached, see -cache)
//	go run ./bench -only imap -n 2000
//
// The program under test is built with `go build` into a temporary
// folder and run as operators run it (`ingest -quiet`, `serve`, `compact`,
// `cases`); Dovecot (internal/dovecottest) and an SMTP sink
// (internal/smtptest) are started here. Mail comes from
// internal/benchmail. Wall-clock figures swing with the machine's load,
// so CPU time per message is printed too; CONTRIBUTING.md (Benchmarks)
// says what each row means.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// options are the command line.
type options struct {
	n       int    // messages per measured batch
	mails   int    // outbound mails for the outbox row
	large   bool   // run the 1M rows
	largeN  int    // messages in the large store
	cache   string // folder holding the large store between runs
	only    string // comma-separated row names; empty: all
	rounds  int    // alternating baseline/program rounds of the ingest row
	seed    uint64 // benchmail seed
	keep    bool   // keep the work folder
	verbose bool
}

// row names, in the order they run.
var rowNames = []string{"ingest", "size", "large", "imap", "outbox", "cases", "start", "followup"}

func main() {
	if os.Getenv(shimEnv) != "" {
		os.Exit(shim(os.Args[1:]))
	}
	var o options
	flag.IntVar(&o.n, "n", 10000, "messages in each measured batch")
	flag.IntVar(&o.mails, "mails", 11000, "outbound mails queued for the outbox row")
	flag.BoolVar(&o.large, "large", false, "also run the rows on a large store (slow; see -large-n, -cache)")
	flag.IntVar(&o.largeN, "large-n", 1000000, "messages in the large store")
	flag.StringVar(&o.cache, "cache", "", "folder to keep the large store in between runs (default: a temporary folder, removed)")
	flag.StringVar(&o.only, "only", "", "run only these rows, comma-separated: "+strings.Join(rowNames, ","))
	flag.IntVar(&o.rounds, "rounds", 2, "rounds of the ingest row, alternating baseline and program")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the generated mail")
	flag.BoolVar(&o.keep, "keep", false, "keep the work folder (stores, logs) and print its path")
	flag.BoolVar(&o.verbose, "v", false, "print progress")
	flag.Parse()
	if err := run(o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run measures the selected rows and prints the table to out.
func run(o options, out, progress io.Writer) (err error) {
	selected := rowNames
	if o.only != "" {
		selected = strings.Split(o.only, ",")
		for _, r := range selected {
			if !slices.Contains(rowNames, r) {
				return fmt.Errorf("-only: unknown row %q (rows: %s)", r, strings.Join(rowNames, ","))
			}
		}
	}
	if !o.large && o.only == "" {
		selected = slices.DeleteFunc(slices.Clone(selected), func(r string) bool { return r == "large" || r == "cases" })
	}
	e, err := newEnv(o, progress)
	if err != nil {
		return err
	}
	defer e.close()
	start := time.Now()
	var results []result
	failed := 0
	for _, name := range selected {
		e.logf("row %s", name)
		rs, err := e.row(name)
		if err != nil {
			failed++
			results = append(results, result{row: name, measure: "FAILED: " + err.Error()})
			fmt.Fprintf(progress, "bench: row %s: %v\n", name, err)
			continue
		}
		results = append(results, rs...)
	}
	printTable(out, results)
	fmt.Fprintf(out, "\n%d messages per batch, seed %d, %s in all; CPU is user+system of the measured process(es).\n", o.n, o.seed, time.Since(start).Round(time.Second))
	if o.keep {
		fmt.Fprintf(out, "work folder kept: %s\n", e.dir)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d rows failed", failed, len(selected))
	}
	return nil
}

func (e *env) row(name string) ([]result, error) {
	switch name {
	case "ingest":
		return e.rowIngest()
	case "size":
		return e.rowSize()
	case "large":
		return e.rowLarge()
	case "imap":
		return e.rowIMAP()
	case "outbox":
		return e.rowOutbox()
	case "cases":
		return e.rowCases()
	case "start":
		return e.rowStart()
	case "followup":
		return e.rowFollowUp()
	}
	return nil, fmt.Errorf("unknown row %q", name)
}

// result is one line of the table.
type result struct {
	row, measure string
	// base and got are the baseline's and kontaktpunkt's figure as
	// printed; ratio is got over base (or the row's own ratio), target
	// the requirement.
	base, got, ratio, target string
	// cpu is CPU per unit, baseline and kontaktpunkt ("12 / 340 µs/msg").
	cpu string
}

func printTable(w io.Writer, rs []result) {
	head := []string{"row", "measure", "baseline", "kontaktpunkt", "ratio", "target", "CPU per unit (baseline / kontaktpunkt)"}
	rows := [][]string{head}
	for _, r := range rs {
		rows = append(rows, []string{r.row, r.measure, r.base, r.got, r.ratio, r.target, r.cpu})
	}
	fmt.Fprintln(w)
	for i, cells := range rows {
		fmt.Fprintln(w, "| "+strings.Join(cells, " | ")+" |")
		if i == 0 {
			fmt.Fprintln(w, strings.Repeat("|---", len(head))+"|")
		}
	}
}
