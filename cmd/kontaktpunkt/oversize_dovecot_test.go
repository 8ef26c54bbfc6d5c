package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"kontaktpunkt/internal/dovecottest"
	"kontaktpunkt/internal/smtptest"
	"kontaktpunkt/store"
)

// TestServeDovecotQuarantinesOversize: with limits.max_message_bytes
// 100000, serve moves a 300 KB message to Quarantine, where it stays whole,
// and opens no case for it, while the good mail around it and a message of
// exactly the limit become cases and are moved to Processed.
func TestServeDovecotQuarantinesOversize(t *testing.T) {
	dc := dovecottest.Start(t)
	kpBinary(t)
	relay := smtptest.Start(t)
	dir := t.TempDir()
	cfgPath, dbPath := writeServeConfig(t, dir, serveSetup{dc: dc, smtp: relay, security: "starttls", http: "127.0.0.1:0", staff: "kari@example.org"})
	f, err := os.OpenFile(cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("\nlimits:\n  max_message_bytes: 100000\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()

	big := []byte(sizedRequest("big@example.org", 300_000))
	exact := []byte(sizedRequest("exact@example.org", 100_000))
	cl := dialDC(t, dc)
	cl.appendMsgs("INBOX", []byte(strings.ReplaceAll(request1, "\n", "\r\n")), big, exact, []byte(strings.ReplaceAll(other, "\n", "\r\n")))
	proc := startServe(t, cfgPath, filepath.Join(dir, "serve.log"))
	if !waitUntil(30*time.Second, func() bool {
		return cl.count("INBOX") == 0 && cl.count("Processed") == 3 && cl.count("Quarantine") == 1
	}) {
		t.Fatalf("INBOX %d, Processed %d, Quarantine %d; want 0, 3, 1\nserve log:\n%s", cl.count("INBOX"), cl.count("Processed"), cl.count("Quarantine"), proc.logText())
	}
	if q := cl.raws("Quarantine"); len(q) != 1 || !bytes.Equal(q[0], big) {
		t.Errorf("Quarantine does not hold the large message whole")
	}
	var subjects []string
	for _, c := range kpCases(t, "-config", cfgPath) {
		subjects = append(subjects, c.Subject)
	}
	if len(subjects) != 3 || strings.Contains(strings.Join(subjects, "|"), "big@") {
		t.Errorf("cases %q, want three, none for the large message", subjects)
	}
	if !strings.Contains(proc.logText(), "message quarantined") {
		t.Errorf("serve did not log the quarantine:\n%s", proc.logText())
	}
	if status, err := os.ReadFile("/proc/" + strconv.Itoa(proc.cmd.Process.Pid) + "/status"); err == nil {
		for _, l := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(l, "VmHWM") {
				t.Logf("serve peak memory: %s", strings.Join(strings.Fields(l)[1:], " "))
			}
		}
	}
	if code := proc.stop(30 * time.Second); code != 0 {
		t.Fatalf("serve after SIGTERM: exit %d\n%s", code, proc.logText())
	}

	// The stub on file: the header, the whole size and the reason.
	st, err := store.Open(dbPath, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.View(func(tx *store.Tx) error {
		m, err := tx.Message("big@example.org")
		if err != nil {
			return err
		}
		raw, err := tx.Raw("big@example.org")
		if err != nil {
			return err
		}
		if m.Quarantine != "message too large: 300000 bytes, limit 100000" || m.Size != 300_000 || m.From.Addr != "ola@example.org" || !bytes.Equal(raw, big[:bytes.Index(big, []byte("\r\n\r\n"))+4]) {
			t.Errorf("stub = %+v with %d raw bytes", m, len(raw))
		}
		return nil
	}); err != nil {
		t.Fatalf("stub record: %v", err)
	}
}
