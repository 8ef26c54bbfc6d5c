package main

import (
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"kontaktpunkt/store"
)

// privacyCommand builds the runner of compact, forget, purge, export-person
// and audit.
// Each works offline and, while serve holds the store, through serve.
func privacyCommand(cmd string, pos []string, dryRun, asJSON, thorough bool, stdout io.Writer) (func(*env) error, error) {
	actor := "operator " + operatorAddr()
	switch cmd {
	case "compact":
		if len(pos) != 1 {
			return nil, usageErr("usage: compact [-config FILE] [-db FILE] OUT")
		}
		out := pos[0]
		return func(e *env) error {
			before, err := os.Stat(e.st.Path())
			if err != nil {
				return err
			}
			if err := e.st.CompactTo(out); err != nil {
				return err
			}
			after, err := os.Stat(out)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "compacted copy written to %s (%d bytes; the store file has %d)\n", out, after.Size(), before.Size())
			fmt.Fprintf(stdout, "to use it: stop serve, compact again, then move %s over %s and start serve\n", out, e.st.Path())
			return nil
		}, nil
	case "forget":
		if len(pos) != 1 {
			return nil, usageErr("usage: forget [-config FILE] [-db FILE] [-dry-run] [-thorough] ADDRESS")
		}
		addr := pos[0]
		return func(e *env) error {
			t0 := time.Now()
			rep, err := e.st.Forget(addr, store.ForgetOptions{DryRun: dryRun, Thorough: thorough, Now: time.Now(), Actor: actor, Channel: "cli"})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(stdout, rep)
			}
			verb := "replaced"
			if dryRun {
				verb = "would replace"
			}
			fmt.Fprintf(stdout, "%s the address and %d display names by %s in %d messages (their texts and raw mail removed, %d bytes), %d cases, %d outbound mails (%d queued, cancelled), %d index keys, %d audit records, in %s\n",
				verb, rep.Names, rep.Pseudonym, rep.Messages, rep.RawBytes, rep.Cases, rep.Outbound, rep.Cancelled, rep.Keys, rep.Audit, time.Since(t0).Round(time.Millisecond))
			if !dryRun {
				fmt.Fprintln(stdout, "freed pages still hold old bytes until reused: compact the store (kontaktpunkt compact) and swap the copy in")
			}
			return nil
		}, nil
	case "purge":
		if len(pos) != 0 {
			return nil, usageErr("usage: purge [-config FILE] [-db FILE] [-dry-run]")
		}
		return func(e *env) error {
			if !e.cfg.Retention.Enabled() {
				return usageErr("no retention period is set (retention.resolved_after, unfiled_after, quarantine_after): nothing to purge")
			}
			rep, err := e.g.PurgeExpired(actor, "cli", dryRun)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(stdout, rep)
			}
			if dryRun {
				fmt.Fprintf(stdout, "would purge %d resolved cases to tombstones and %d messages, %d of them of no case\n", rep.Cases, rep.Messages, rep.Unfiled)
				return nil
			}
			fmt.Fprintf(stdout, "purged %d resolved cases to tombstones and %d messages (%d of no case, %d raw bytes), %d outbound mails, %d index entries, in %d batches (longest %s)\n",
				rep.Cases, rep.Messages, rep.Unfiled, rep.RawBytes, rep.Outbound, rep.Index, rep.Batches, rep.MaxBatch.Round(time.Microsecond))
			return nil
		}, nil
	case "export-person":
		if len(pos) != 2 {
			return nil, usageErr("usage: export-person [-config FILE] [-db FILE] ADDRESS OUT")
		}
		return func(e *env) error { return exportPerson(e, pos[0], pos[1], stdout) }, nil
	case "audit":
		if len(pos) != 0 {
			return nil, usageErr("usage: audit [-config FILE] [-db FILE] [-json]")
		}
		return func(e *env) error {
			var as []store.AuditEntry
			if err := e.st.View(func(tx *store.Tx) error {
				var err error
				as, err = tx.Audit(0)
				return err
			}); err != nil {
				return err
			}
			if asJSON {
				if as == nil {
					as = []store.AuditEntry{}
				}
				return writeJSON(stdout, as)
			}
			return printAudit(e, as, stdout)
		}, nil
	}
	return nil, usageErr("unknown command %q", cmd)
}

// printAudit prints audit records as a table.
func printAudit(e *env, as []store.AuditEntry, w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTOR\tCHANNEL\tACTION\tCASE\tDETAIL")
	for _, a := range as {
		c := ""
		if a.Case != 0 {
			c = fmt.Sprint(a.Case)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.At.In(e.loc()).Format("2006-01-02 15:04"), a.Actor, a.Channel, a.Action, c, a.Detail)
	}
	return tw.Flush()
}
