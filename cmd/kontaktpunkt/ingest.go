package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"kontaktpunkt/gateway"
	"kontaktpunkt/mailbox/mailfile"
)

// Batching of ingest: messages are committed in transactions of up to
// ingestBatch messages or ingestBatchBytes raw bytes, each durable before
// its results are printed.
const (
	ingestBatch      = 512
	ingestBatchBytes = 32 << 20
)

func cmdIngest(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	var cf commonFlags
	cf.register(fs)
	quiet := fs.Bool("quiet", false, "queue no outbound mail (archive import)")
	asJSON := fs.Bool("json", false, "print one JSON object per message")
	paths, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return usageErr("ingest needs PATH... or - for standard input")
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	run := func(ingest func([]gateway.Item) ([]gateway.Result, error), finish func() ([]gateway.Result, error)) error {
		return ingestSources(ctx, paths, stdin, stdout, *asJSON, cfg.Limits.MaxMessageBytes, ingest, finish)
	}
	st, err := openStore(cfg)
	if err != nil {
		// A running serve holds the store; a damaged one is nobody's.
		if client := adminClientFor(cfg); client != nil && storeDamage(err) == "" {
			return run(func(items []gateway.Item) ([]gateway.Result, error) {
				return client.ingest(ctx, items, *quiet)
			}, nil)
		}
		return err
	}
	defer st.Close()
	g, err := gateway.New(cfg, st, newLogger(cfg, stderr))
	if err != nil {
		return configError{err}
	}
	g.Quiet = *quiet
	// Each batch is parsed while the one before it is written.
	p := g.Pipeline(ctx)
	return run(p.Add, p.Flush)
}

// ingestSources reads every source, ingests in batches and prints results.
// A message over limit bytes is read only as far as its header and
// handed on as such (Item.Oversize), to be quarantined. ingest may
// return the results of a batch handed over earlier (gateway.Pipeline);
// finish, if not nil, returns those of the last.
func ingestSources(ctx context.Context, paths []string, stdin io.Reader, stdout io.Writer, asJSON bool, limit int64, ingest func([]gateway.Item) ([]gateway.Result, error), finish func() ([]gateway.Result, error)) error {
	var (
		batch []gateway.Item
		size  int
		tally = map[string]int{}
		total int
		enc   = json.NewEncoder(stdout)
		// firsts are the first sources of the batches handed over whose
		// results have not come back.
		firsts []string
	)
	enc.SetEscapeHTML(false)
	report := func(results []gateway.Result, err error) error {
		if err != nil {
			return fmt.Errorf("ingesting %s…: %w", firsts[0], err)
		}
		if len(results) > 0 {
			firsts = firsts[1:]
		}
		for _, r := range results {
			total++
			tally[r.Status]++
			if asJSON {
				if err := enc.Encode(r); err != nil {
					return err
				}
			} else if r.Status == gateway.ResultQuarantined {
				fmt.Fprintf(stdout, "%s: quarantined: %s\n", r.Source, r.Error)
			}
		}
		return nil
	}
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		firsts = append(firsts, batch[0].Source)
		results, err := ingest(batch)
		batch, size = nil, 0 // ingest may keep the batch until its results
		return report(results, err)
	}
	err := mailfile.ReadSourcesLimit(paths, stdin, limit, func(s mailfile.Source) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch = append(batch, gateway.Item{Source: s.Name, Raw: s.Raw, Oversize: s.Oversize})
		size += len(s.Raw)
		if len(batch) >= ingestBatch || size >= ingestBatchBytes {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil && finish != nil {
		err = report(finish())
	}
	if err != nil {
		if ue := (userError{}); isNotExist(err) {
			ue.msg = err.Error()
			return ue
		}
		return err
	}
	if !asJSON {
		var parts []string
		for k, v := range tally {
			parts = append(parts, fmt.Sprintf("%d %s", v, k))
		}
		sort.Strings(parts)
		fmt.Fprintf(stdout, "%d messages: %s\n", total, strings.Join(parts, ", "))
	}
	return nil
}
