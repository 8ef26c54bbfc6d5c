package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"kontaktpunkt/store"
)

// cmdCheckStore checks the store file without writing to it: its header
// and page structure, bbolt's consistency check and the store's indexes.
// It works on a store that no longer opens. While serve holds the store,
// serve checks it (one snapshot, while it goes on working).
func cmdCheckStore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	args = absFlagValues(args, "config", "db")
	fs := flag.NewFlagSet("check-store", flag.ContinueOnError)
	var cf commonFlags
	cf.register(fs)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	sizes := fs.Bool("sizes", false, "print only the bytes each bucket takes, largest first (no check)")
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
	if *sizes {
		return printSizes(path, *asJSON, stdout)
	}
	r, err := store.CheckFile(path)
	switch {
	case isNotExist(err):
		return usageErr("no store at %s", path)
	case errors.Is(err, store.ErrInUse):
		if client := adminClientFor(cfg); client != nil {
			return client.run(ctx, append([]string{"check-store"}, args...), stdout, stderr)
		}
		return err
	case err != nil:
		return err
	}
	return printReport(r, *asJSON, stdout)
}

// printSizes prints the bytes each bucket of the store at path takes.
func printSizes(path string, asJSON bool, stdout io.Writer) error {
	st, err := store.Open(path, store.Options{ReadOnly: true})
	if isNotExist(err) {
		return usageErr("no store at %s", path)
	} else if err != nil {
		return err
	}
	defer st.Close()
	sizes, pageSize, err := st.Sizes()
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(stdout, struct {
			PageSize int                `json:"page_size"`
			Buckets  []store.BucketSize `json:"buckets"`
		}{pageSize, sizes})
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "bucket\tkeys\tleaf pages\toverflow\tin use\tpages\tfull\t")
	var use, alloc int
	for _, b := range sizes {
		use, alloc = use+b.Use(), alloc+b.TotalAlloc
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t\n", b.Name, b.Keys, b.LeafPages, b.Overflow, b.Use(), b.TotalAlloc, percent(b.Use(), b.TotalAlloc))
	}
	fmt.Fprintf(w, "total\t\t\t\t%d\t%d\t%s\t\n", use, alloc, percent(use, alloc))
	return w.Flush()
}

func percent(a, b int) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(a)/float64(b))
}

// printReport prints what check-store found and fails with damagedReport
// when it found problems.
func printReport(r *store.Report, asJSON bool, stdout io.Writer) error {
	if asJSON {
		if err := writeJSON(stdout, struct {
			OK bool `json:"ok"`
			*store.Report
		}{r.OK(), r}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "%s: %d bytes", r.Path, r.Size)
		if r.Pages > 0 {
			fmt.Fprintf(stdout, ", %d pages of %d bytes, transaction %d", r.Pages, r.PageSize, r.Transaction)
		}
		switch len(r.Problems) {
		case 0:
			fmt.Fprintln(stdout, ": ok")
		case 1:
			fmt.Fprintln(stdout, ": 1 problem")
		default:
			fmt.Fprintf(stdout, ": %d problems\n", len(r.Problems))
		}
		for _, p := range r.Problems {
			fmt.Fprintf(stdout, "  %s\n", p)
		}
	}
	if !r.OK() {
		return damagedReport{r.Path}
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
