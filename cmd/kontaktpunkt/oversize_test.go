package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sizedRequest returns a request of exactly n bytes with Message-ID id.
func sizedRequest(id string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Ola Nordmann <ola@example.org>\r\nTo: integrasjon@example.org\r\nSubject: Stor melding %s\r\nMessage-ID: <%s>\r\nDate: Mon, 23 Nov 2026 09:00:00 +0100\r\n\r\n", id, id)
	for b.Len() < n {
		b.WriteString("Mer tekst om saken, linje for linje, til meldingen er stor nok.\r\n")
	}
	return b.String()[:n-2] + "\r\n"
}

type ingestLine struct {
	Source    string `json:"source"`
	MessageID string `json:"message_id"`
	Status    string `json:"status"`
	Error     string `json:"error"`
}

func ingestLines(t *testing.T, out string) map[string]ingestLine {
	t.Helper()
	got := map[string]ingestLine{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r ingestLine
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("bad JSON line %q: %v", l, err)
		}
		got[r.MessageID] = r
	}
	return got
}

// TestIngestQuarantinesOversize: with limits.max_message_bytes 100000, a
// 300 KB message read from a folder, from standard input redirected from
// its file and piped in is quarantined with the reason, while the good
// mail beside it and a message of exactly the limit are stored; ingest
// exits 0 every time.
func TestIngestQuarantinesOversize(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "kp.yaml", `contact:
  address: integrasjon@example.org
  name: Integrasjon
store:
  path: kp.db
staff:
  members:
    - {name: Kari, address: kari@example.org}
  trusted_authserv_ids: [mx.example.org]
limits:
  max_message_bytes: 100000
`)
	mail := filepath.Join(dir, "mail")
	big := sizedRequest("big@example.org", 300_000)
	for name, raw := range map[string]string{
		"1.eml": request1, "2.eml": big, "3.eml": sizedRequest("exact@example.org", 100_000), "4.eml": other,
	} {
		if err := os.MkdirAll(mail, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(mail, name), []byte(raw), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const reason = "message too large: 300000 bytes, limit 100000"

	out, errOut, code := run(t, "", "ingest", "-config", cfg, "-json", "-quiet", mail)
	if code != 0 {
		t.Fatalf("ingest exit %d: %s", code, errOut)
	}
	got := ingestLines(t, out)
	if r := got["big@example.org"]; r.Status != "quarantined" || r.Error != reason {
		t.Errorf("oversize: %+v, want quarantined with %q", r, reason)
	}
	for _, id := range []string{"r1@example.org", "exact@example.org", "e1@example.net"} {
		if got[id].Status != "stored" {
			t.Errorf("%s: %+v, want stored", id, got[id])
		}
	}

	// Standard input, from the file and from a pipe, into fresh stores.
	f, err := os.Open(filepath.Join(mail, "2.eml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, stdin := range map[string]io.Reader{"file": f, "pipe": strings.NewReader(big)} {
		var o, e bytes.Buffer
		db := filepath.Join(t.TempDir(), "kp.db")
		code := Run(context.Background(), []string{"ingest", "-config", cfg, "-db", db, "-quiet", "-"}, stdin, &o, &e)
		if code != 0 || !strings.Contains(o.String(), "-: quarantined: "+reason) || !strings.Contains(o.String(), "1 messages: 1 quarantined") {
			t.Errorf("stdin from a %s: exit %d, output %q %q", name, code, o.String(), e.String())
		}
	}
}
