package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kontaktpunkt/store"
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

func TestCaseExportAndArchivedTag(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "kp.db")
	mail := filepath.Join(dir, "mail")
	writeFile(t, mail, "1.eml", request1)
	writeFile(t, mail, "2.eml", reply1)
	if _, errOut, code := run(t, "", "ingest", "-db", db, "-quiet", mail); code != 0 {
		t.Fatalf("ingest exit %d: %s", code, errOut)
	}
	if out, errOut, code := run(t, "", "case", "status", "1", "resolved", "-db", db); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	out := filepath.Join(dir, "export")
	if o, errOut, code := run(t, "", "case", "export", "1", out, "-db", db); code != 0 || !strings.Contains(o, "exported to") {
		t.Fatalf("case export exit %d: %s%s", code, o, errOut)
	}
	// The messages are the bytes received.
	eml, err := os.ReadFile(filepath.Join(out, "messages", "001-in.eml"))
	if err != nil || !bytes.Contains(eml, []byte("Message-ID: <r1@example.org>")) || !bytes.Contains(eml, []byte("=?ISO-8859-1?Q?Sp=F8rsm=E5l_om_integrasjon?=")) {
		t.Fatalf("first message: %v\n%s", err, eml)
	}
	var meta struct {
		Case      int    `json:"case"`
		Requester string `json:"requester"`
		Status    string `json:"status"`
		Messages  []struct {
			File      string `json:"file"`
			MessageID string `json:"message_id"`
		}
		Audit []struct{ Action string }
	}
	b, err := os.ReadFile(filepath.Join(out, "case.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &meta); err != nil || meta.Case != 1 || !strings.Contains(meta.Requester, "ola@example.org") || meta.Status != "resolved" || len(meta.Messages) < 2 || len(meta.Audit) != 1 {
		t.Fatalf("case.json: %v\n%s", err, b)
	}
	for _, m := range meta.Messages {
		if _, err := os.Stat(filepath.Join(out, m.File)); err != nil {
			t.Errorf("case.json names %s: %v", m.File, err)
		}
	}
	html, err := os.ReadFile(filepath.Join(out, "timeline.html"))
	if err != nil {
		t.Fatal(err)
	}
	h := strings.ToLower(string(html))
	for _, bad := range []string{"<script", "src=", "href=", "url(", "@import"} {
		if strings.Contains(h, bad) {
			t.Errorf("timeline.html has %q: it must need nothing outside itself", bad)
		}
	}
	if !strings.Contains(h, "<meta charset=\"utf-8\">") || !strings.Contains(string(html), "Et tillegg.") {
		t.Errorf("timeline.html:\n%s", html)
	}
	// A second export into the same folder is refused.
	if _, _, code := run(t, "", "case", "export", "1", out, "-db", db); code != 1 {
		t.Errorf("export into a non-empty folder: exit %d", code)
	}

	// [archived:…] by an operator records the archive's reference.
	if o, errOut, code := run(t, "", "case", "archived", "1", "2026/1234", "-db", db); code != 0 || !strings.Contains(o, "filed in the archive as 2026/1234") {
		t.Fatalf("case archived exit %d: %s%s", code, o, errOut)
	}
	if o, errOut, code := run(t, "", "case", "show", "1", "-db", db); code != 0 || !strings.Contains(o, "archived:   2026/1234") || !strings.Contains(o, "archived") {
		t.Fatalf("case show exit %d: %s%s", code, o, errOut)
	}
	out2 := filepath.Join(dir, "export2")
	if o, errOut, code := run(t, "", "case", "export", "1", out2, "-db", db); code != 0 {
		t.Fatalf("case export exit %d: %s%s", code, o, errOut)
	}
	if b, err := os.ReadFile(filepath.Join(out2, "case.json")); err != nil || !strings.Contains(string(b), `"archive_reference": "2026/1234"`) {
		t.Errorf("case.json after [archived:…]: %v\n%s", err, b)
	}
	o, errOut, code := run(t, "", "check-store", "-db", db)
	if code != 0 {
		t.Fatalf("check-store exit %d: %s%s", code, o, errOut)
	}
}

func TestExportPerson(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "kp.db")
	mail := filepath.Join(dir, "mail")
	writeFile(t, mail, "1.eml", request1)
	writeFile(t, mail, "2.eml", reply1)
	writeFile(t, mail, "3.eml", other)
	if _, errOut, code := run(t, "", "ingest", "-db", db, "-quiet", mail); code != 0 {
		t.Fatalf("ingest exit %d: %s", code, errOut)
	}
	out := filepath.Join(dir, "ola")
	o, errOut, code := run(t, "", "export-person", "-db", db, "OLA@example.org", out)
	if code != 0 {
		t.Fatalf("export-person exit %d: %s%s", code, o, errOut)
	}
	var sum struct {
		Cases []struct {
			Case int
			Role string
		}
		Messages []struct {
			File      string `json:"file"`
			MessageID string `json:"message_id"`
			From      string `json:"from"`
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if len(sum.Cases) != 1 || sum.Cases[0].Case != 1 || sum.Cases[0].Role != "requester" {
		t.Errorf("cases: %+v", sum.Cases)
	}
	// Their two messages and the acknowledgement sent to them; none of Eva's.
	ids := map[string]bool{}
	for _, m := range sum.Messages {
		ids[m.MessageID] = true
		if _, err := os.Stat(filepath.Join(out, m.File)); err != nil {
			t.Error(err)
		}
		if strings.Contains(m.From, "eva@") {
			t.Errorf("exported another person's message %+v", m)
		}
	}
	if !ids["r1@example.org"] || !ids["r2@example.org"] {
		t.Errorf("messages exported: %v", ids)
	}
	html, err := os.ReadFile(filepath.Join(out, "summary.html"))
	if err != nil || !strings.Contains(string(html), "ola@example.org") || strings.Contains(string(html), "eva@example.net") {
		t.Errorf("summary.html: %v\n%s", err, html)
	}
	if o, errOut, code := run(t, "", "check-store", "-db", db); code != 0 {
		t.Fatalf("check-store exit %d: %s%s", code, o, errOut)
	}
}

// TestPrivacyCommandsReachRunningServe: while serve holds the store,
// case export, export-person, forget, compact and audit run through its
// admin socket.
func TestPrivacyCommandsReachRunningServe(t *testing.T) {
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
	exp := filepath.Join(t.TempDir(), "case1")
	if o, e, code := run(t, "", "case", "export", "1", exp, "-db", db); code != 0 {
		t.Fatalf("case export through serve: exit %d: %s%s", code, o, e)
	}
	if _, err := os.Stat(filepath.Join(exp, "timeline.html")); err != nil {
		t.Fatal(err)
	}
	person := filepath.Join(t.TempDir(), "ola")
	if o, e, code := run(t, "", "export-person", "-db", db, demoOla.Addr, person); code != 0 || !strings.Contains(o, "1 cases") {
		t.Fatalf("export-person through serve: exit %d: %s%s", code, o, e)
	}
	if o, e, code := run(t, "", "forget", "-db", db, demoOla.Addr); code != 0 || !strings.Contains(o, "replaced the address") {
		t.Fatalf("forget through serve: exit %d: %s%s", code, o, e)
	}
	compacted := filepath.Join(t.TempDir(), "c.db")
	if o, e, code := run(t, "", "compact", "-db", db, compacted); code != 0 {
		t.Fatalf("compact through serve: exit %d: %s%s", code, o, e)
	}
	file, err := os.ReadFile(compacted)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{demoOla.Addr, "ola.nordmann", strings.ToLower(demoOla.Name)} {
		if bytes.Contains(bytes.ToLower(file), []byte(n)) {
			t.Errorf("compacted store holds %q", n)
		}
	}
	st, err := store.Open(compacted, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Check(); err != nil {
		t.Fatal(err)
	}
	o, e, code := run(t, "", "audit", "-db", db)
	if code != 0 || !strings.Contains(o, "export-person") || !strings.Contains(o, "forget") || strings.Contains(o, demoOla.Addr) {
		t.Fatalf("audit through serve: exit %d: %s%s", code, o, e)
	}
}
