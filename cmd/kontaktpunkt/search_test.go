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
)

func TestSearchOffline(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "kp.db")
	mail := filepath.Join(dir, "mail")
	writeFile(t, mail, "1.eml", request1)
	writeFile(t, mail, "2.eml", reply1)
	writeFile(t, mail, "3.eml", other)
	if _, errOut, code := run(t, "", "ingest", mail, "-db", db, "-quiet"); code != 0 {
		t.Fatalf("ingest: %s", errOut)
	}
	out, errOut, code := run(t, "", "search", "-db", db, "-json", "tillegg")
	if code != 0 {
		t.Fatalf("search exit %d: %s", code, errOut)
	}
	var hits []map[string]any
	if err := json.Unmarshal([]byte(out), &hits); err != nil || len(hits) != 1 {
		t.Fatalf("search -json = %q (%v)", out, err)
	}
	h := hits[0]
	if h["id"] != 1.0 || h["tag"] != "[INT#1]" || h["subject"] != "Spørsmål om integrasjon" || h["status"] != "open" ||
		!strings.Contains(h["snippet"].(string), "Et tillegg") {
		t.Fatalf("hit = %v", h)
	}
	// A prefix, a filter and a domain; the text form.
	out, _, code = run(t, "", "search", "-db", db, "lurer", "from:@example.org", "status:open")
	if code != 0 || !strings.Contains(out, "[INT#1]") || strings.Contains(out, "[INT#2]") {
		t.Fatalf("search (%d): %s", code, out)
	}
	if out, _, _ = run(t, "", "search", "-db", db, "-json", "from:@example.net"); !strings.Contains(out, `"id": 2`) || strings.Contains(out, `"id": 1`) {
		t.Fatalf("from:@example.net = %s", out)
	}
	if _, errOut, code = run(t, "", "search", "-db", db, "after:soon"); code != 1 || !strings.Contains(errOut, "after:soon") {
		t.Fatalf("bad date: %d %s", code, errOut)
	}
}

func TestSearchThroughRunningServe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := startDemo(ctx, t.TempDir(), io.Discard, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	if _, err := d.write(demoOla, false, "Spørsmål om API", "Hei! Integrasjonen feiler.\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.expect(ctx, "the acknowledgement", kindTo("ack", demoOla)); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "", "search", "-db", d.srv.Config.Store.Path, "-json", "integr")
	if code != 0 || !strings.Contains(out, `"tag": "[`) || !strings.Contains(out, "Integrasjonen feiler") {
		t.Fatalf("search through serve (%d): %s %s", code, out, errOut)
	}
}
