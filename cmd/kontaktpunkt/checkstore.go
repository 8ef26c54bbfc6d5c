package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"kontaktpunkt/store"
)

// cmdCheckStore checks the store file without writing to it: its header
// and page structure, bbolt's consistency check and the store's indexes.
// It works on a store that no longer opens.
func cmdCheckStore(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("check-store", flag.ContinueOnError)
	var cf commonFlags
	cf.register(fs)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErr("check-store takes no arguments (got %q); give -db FILE or -config FILE", pos[0])
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	path := cfg.Store.Path
	r, err := store.CheckFile(path)
	switch {
	case isNotExist(err):
		return usageErr("no store at %s", path)
	case errors.Is(err, store.ErrInUse):
		return fmt.Errorf("%w; stop serve to check it, or check a fresh backup (kontaktpunkt backup OUT, then check-store -db OUT)", err)
	case err != nil:
		return err
	}
	if *asJSON {
		if err := writeJSON(stdout, struct {
			OK bool `json:"ok"`
			*store.Report
		}{r.OK(), r}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "%s: %d bytes", path, r.Size)
		if r.Pages > 0 {
			fmt.Fprintf(stdout, ", %d pages of %d bytes, transaction %d", r.Pages, r.PageSize, r.Transaction)
		}
		if r.OK() {
			fmt.Fprintln(stdout, ": ok")
		} else {
			if len(r.Problems) == 1 {
				fmt.Fprintln(stdout, ": 1 problem")
			} else {
				fmt.Fprintf(stdout, ": %d problems\n", len(r.Problems))
			}
			for _, p := range r.Problems {
				fmt.Fprintf(stdout, "  %s\n", p)
			}
		}
	}
	if !r.OK() {
		return damagedReport{path}
	}
	return nil
}

// damagedReport ends check-store with exit status 1 after the problems
// were printed.
type damagedReport struct{ path string }

func (e damagedReport) Error() string {
	return fmt.Sprintf("store %s is damaged; %s", e.path, restoreHint)
}

// restoreHint is what to do about a damaged store.
const restoreHint = "restore the latest backup (README, Operating: Backup and Restore)"

// storeDamage returns the message for an error caused by a damaged store
// file, or "" when err is not one. Retrying does not mend a file, so
// these end with exit status 1, never 75.
func storeDamage(err error) string {
	var d *store.DamageError
	switch {
	case errors.As(err, &d):
		return fmt.Sprintf("%s; run `kontaktpunkt check-store -db %s` for a full report and %s", oneLine(err.Error()), d.Path, restoreHint)
	case errors.Is(err, store.ErrNotStore):
		return oneLine(err.Error())
	case errors.Is(err, store.ErrCorrupt):
		return fmt.Sprintf("%s; run `kontaktpunkt check-store` for a full report and %s", oneLine(err.Error()), restoreHint)
	}
	return ""
}
