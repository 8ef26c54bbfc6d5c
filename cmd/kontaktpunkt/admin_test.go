package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kontaktpunkt/store"
)

// TestCommandsReachRunningServe: while serve holds the store, cases, case
// show and backup run through its admin socket and behave the same; the
// backup is a consistent store that opens with every case in it.
func TestCommandsReachRunningServe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	var out strings.Builder
	d, err := startDemo(ctx, dir, &out, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	if _, err := d.write(demoOla, false, "Spørsmål om API", "Hei!\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.expect(ctx, "the acknowledgement", kindTo("ack", demoOla)); err != nil {
		t.Fatal(err)
	}
	db := d.srv.Config.Store.Path

	stdout, stderr, code := run(t, "", "cases", "-db", db, "-json")
	if code != 0 {
		t.Fatalf("cases while serve runs: exit %d: %s", code, stderr)
	}
	var cases []map[string]any
	if err := json.Unmarshal([]byte(stdout), &cases); err != nil || len(cases) != 1 {
		t.Fatalf("cases -json through serve = %q (%v)", stdout, err)
	}
	if stdout, _, code = run(t, "", "case", "show", "1", "-db", db); code != 0 || !strings.Contains(stdout, "Spørsmål om API") {
		t.Fatalf("case show through serve (%d): %s", code, stdout)
	}
	if _, stderr, code = run(t, "", "case", "show", "7", "-db", db); code != 1 {
		t.Fatalf("missing case through serve: exit %d (%s)", code, stderr)
	}

	// An MTA piping mail to ingest while serve runs.
	stdout, stderr, code = run(t, strings.ReplaceAll(other, "\n", "\r\n"), "ingest", "-db", db, "-json", "-")
	if code != 0 || !strings.Contains(stdout, `"case":2`) || !strings.Contains(stdout, `"status":"stored"`) {
		t.Fatalf("ingest through serve (%d): %s %s", code, stdout, stderr)
	}

	backup := filepath.Join(t.TempDir(), "backup.db")
	if stdout, stderr, code = run(t, "", "backup", "-db", db, backup); code != 0 {
		t.Fatalf("backup while serve runs: exit %d: %s %s", code, stdout, stderr)
	}
	st, err := store.Open(backup, store.Options{})
	if err != nil {
		t.Fatalf("opening the backup: %v", err)
	}
	defer st.Close()
	if err := st.Check(); err != nil {
		t.Fatalf("backup is not consistent: %v", err)
	}
	if err := st.View(func(tx *store.Tx) error {
		_, err := tx.Case(1)
		return err
	}); err != nil {
		t.Fatalf("case 1 not in the backup: %v", err)
	}
}
