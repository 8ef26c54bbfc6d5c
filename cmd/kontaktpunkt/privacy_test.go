package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestForgetCompactAuditCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "kp.db")
	mail := filepath.Join(dir, "mail")
	writeFile(t, mail, "1.eml", request1)
	writeFile(t, mail, "2.eml", reply1)
	writeFile(t, mail, "3.eml", other)
	if _, errOut, code := run(t, "", "ingest", "-db", db, "-quiet", mail); code != 0 {
		t.Fatalf("ingest exit %d: %s", code, errOut)
	}
	// An operator action is in the audit trail and shown on the case.
	if out, errOut, code := run(t, "", "case", "status", "1", "waiting", "-db", db); code != 0 {
		t.Fatalf("case status exit %d: %s%s", code, out, errOut)
	}
	out, errOut, code := run(t, "", "case", "show", "1", "-db", db)
	if code != 0 || !strings.Contains(out, "audit trail:") || !strings.Contains(out, "[status:waiting]: status waiting") {
		t.Fatalf("case show exit %d: %s%s", code, out, errOut)
	}
	out, errOut, code = run(t, "", "forget", "-db", db, "-dry-run", "Ola@Example.org")
	if code != 0 || !strings.Contains(out, "would replace") || !strings.Contains(out, "in 2 messages") {
		t.Fatalf("forget -dry-run exit %d: %s%s", code, out, errOut)
	}
	out, errOut, code = run(t, "", "forget", "-db", db, "Ola@Example.org")
	if code != 0 || !strings.Contains(out, "in 2 messages") {
		t.Fatalf("forget exit %d: %s%s", code, out, errOut)
	}
	compacted := filepath.Join(dir, "compacted.db")
	if out, errOut, code = run(t, "", "compact", "-db", db, compacted); code != 0 {
		t.Fatalf("compact exit %d: %s%s", code, out, errOut)
	}
	file, err := os.ReadFile(compacted)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"ola@example.org", "ola nordmann"} {
		if i := bytes.Index(bytes.ToLower(file), []byte(n)); i >= 0 {
			t.Errorf("compacted store holds %q at %d", n, i)
		}
	}
	// The other requester is untouched.
	if !bytes.Contains(file, []byte("eva@example.net")) {
		t.Error("compacted store lost the other requester")
	}
	if out, errOut, code = run(t, "", "check-store", "-db", compacted); code != 0 {
		t.Fatalf("check-store of the compacted copy: exit %d: %s%s", code, out, errOut)
	}
	out, errOut, code = run(t, "", "audit", "-db", compacted, "-json")
	if code != 0 {
		t.Fatalf("audit exit %d: %s", code, errOut)
	}
	var as []struct {
		Action, Actor, Channel, Detail string
	}
	if err := json.Unmarshal([]byte(out), &as); err != nil || len(as) != 2 || as[0].Action != "status" || as[1].Action != "forget" || as[1].Channel != "cli" || !strings.Contains(as[1].Detail, "forgotten-") {
		t.Fatalf("audit -json: %v %s", err, out)
	}
	if out, errOut, code = run(t, "", "check-store", "-db", db); code != 0 {
		t.Fatalf("check-store: exit %d: %s%s", code, out, errOut)
	}
}

func TestPurgeCommandNeedsRetention(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "kp.db")
	writeFile(t, filepath.Join(dir, "mail"), "1.eml", request1)
	if _, errOut, code := run(t, "", "ingest", "-db", db, "-quiet", filepath.Join(dir, "mail")); code != 0 {
		t.Fatalf("ingest exit %d: %s", code, errOut)
	}
	_, errOut, code := run(t, "", "purge", "-db", db)
	if code != 1 || !strings.Contains(errOut, "no retention period") {
		t.Fatalf("purge without retention: exit %d: %s", code, errOut)
	}
}
