package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
)

const suggestConfig = `contact:
  address: integrasjon@example.org
store:
  path: %DB%
staff:
  members:
    - {name: Kari, address: kari@example.org}
  require_authenticated: false
teams:
  - name: fs
    members: [per@example.org]
    escalation: leder@example.org
  - name: canvas
    members: [lisa@example.org]
    escalation: leder@example.org
routing:
  - {from_domain: '^fs\.example$', team: fs}
  - {from_domain: '^lms\.example$', team: canvas}
`

// suggestMail is one request from domain.
func suggestMail(n int, domain, subject, body string) string {
	return fmt.Sprintf("From: u%d@%s\nTo: integrasjon@example.org\nSubject: %s\nMessage-ID: <s%d@%s>\nDate: Mon, 23 Nov 2026 09:%02d:00 +0100\n\n%s\n",
		n, domain, subject, n, domain, n%60, body)
}

func TestCaseSuggest(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "kp.db")
	cfg := writeFile(t, dir, "kp.yaml", strings.ReplaceAll(suggestConfig, "%DB%", db))
	mail := filepath.Join(dir, "mail")
	n := 0
	for i := range 4 {
		n++
		writeFile(t, mail, fmt.Sprintf("%02d.eml", n), suggestMail(n, "fs.example", "Eksamen i FS", fmt.Sprintf("Eksamenen i emnet %d mangler for studentene.", i)))
		n++
		writeFile(t, mail, fmt.Sprintf("%02d.eml", n), suggestMail(n, "lms.example", "Emnerom i Canvas", fmt.Sprintf("Emnerommet %d i Canvas er tomt.", i)))
	}
	n++
	writeFile(t, mail, fmt.Sprintf("%02d.eml", n), suggestMail(n, "example.net", "Eksamenene", "Eksamen for studenten vises ikke i emnet."))
	if _, errOut, code := run(t, "", "ingest", "-config", cfg, "-quiet", mail); code != 0 {
		t.Fatalf("ingest exit %d: %s", code, errOut)
	}

	out, errOut, code := run(t, "", "case", "suggest", fmt.Sprint(n), "-config", cfg, "-json")
	if code != 0 {
		t.Fatalf("case suggest exit %d: %s", code, errOut)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("case suggest -json: %v\n%s", err, out)
	}
	if len(list) == 0 || list[0]["team"] != "fs" || list[0]["score"] == nil || len(list[0]["similar"].([]any)) == 0 {
		t.Fatalf("case suggest -json = %s, want fs first with a score and similar cases", out)
	}
	out, _, code = run(t, "", "case", "suggest", fmt.Sprint(n), "-config", cfg)
	if code != 0 || !strings.Contains(out, "team fs") || !strings.Contains(out, "[INT#1]") {
		t.Errorf("case suggest text (exit %d):\n%s", code, out)
	}

	out, errOut, code = run(t, "", "case", "suggest", "-replay", "-config", cfg, "-json")
	if code != 0 {
		t.Fatalf("case suggest -replay exit %d: %s", code, errOut)
	}
	var r struct{ Cases, Right int }
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Cases != 8 {
		t.Fatalf("replay = %s (%v), want 8 assigned cases", out, err)
	}
	// The first case of each team has no history; the rest do.
	if r.Right != 6 {
		t.Errorf("replay right for %d of 8, want 6", r.Right)
	}

	// A store from before the index: terms gone, -reindex puts them back.
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(func(tx *store.Tx) error {
		for id := kp.CaseID(1); id <= kp.CaseID(n); id++ {
			if err := tx.DeleteCaseTerms(id); err != nil {
				return err
			}
		}
		return nil
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, code = run(t, "", "case", "suggest", "-reindex", "-config", cfg)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("%d cases added", n)) {
		t.Fatalf("case suggest -reindex exit %d: %s%s", code, out, errOut)
	}
	out, _, _ = run(t, "", "case", "suggest", fmt.Sprint(n), "-config", cfg, "-json")
	if !strings.HasPrefix(strings.TrimSpace(out), `[`) || !strings.Contains(out, `"team": "fs"`) && !strings.Contains(out, `"team":"fs"`) {
		t.Errorf("after -reindex: %s", out)
	}
	if _, _, code := run(t, "", "case", "suggest", "99", "-config", cfg); code != 1 {
		t.Errorf("case suggest of a missing case: exit %d, want 1", code)
	}
}
