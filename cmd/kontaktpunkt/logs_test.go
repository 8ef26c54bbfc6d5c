package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"

	kp "kontaktpunkt"
	"kontaktpunkt/config"
	"kontaktpunkt/mailbox/imapintake"
)

// lineWriter collects log output and signals the first complete line.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	first chan struct{}
	once  sync.Once
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, _ := w.buf.Write(p)
	if bytes.Contains(w.buf.Bytes(), []byte("\n")) {
		w.once.Do(func() { close(w.first) })
	}
	return n, nil
}

type nopSink struct{}

func (nopSink) Cursor(context.Context, string) (kp.Cursor, bool, error) {
	return kp.Cursor{}, false, nil
}
func (nopSink) Deliver(context.Context, kp.Cursor, []imapintake.Fetched) ([]imapintake.Disposition, error) {
	return nil, nil
}

// An IMAP log line, wired as serve wires it, names its component once (a
// JSON object with a key twice is not one every reader accepts) and writes
// its delay as a duration a person reads, not integer nanoseconds.
func TestIMAPLogLineComponentOnceAndReadableDelay(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // connections are refused: the session ends at once

	cfg := config.Default()
	cfg.Log.Format = "json"
	w := &lineWriter{first: make(chan struct{})}
	log := newLogger(cfg, w)
	p := imapintake.NewPoller(imapintake.IMAPConfig{Addr: addr, Security: imapintake.SecurityPlain, Username: "u", Password: "p",
		Mailbox: "INBOX", Processed: "Processed", Quarantine: "Quarantine"}, nopSink{}, log.With("component", "imap"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	<-w.first
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	line, _, _ := strings.Cut(w.buf.String(), "\n")
	w.mu.Unlock()
	if n := strings.Count(line, `"component"`); n != 1 {
		t.Errorf("component appears %d times in %s", n, line)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	if rec["component"] != "imap" {
		t.Errorf("component = %v", rec["component"])
	}
	if d, ok := rec["delay"].(string); !ok || !strings.HasSuffix(d, "s") {
		t.Errorf("delay = %#v, want a duration such as \"1.2s\": %s", rec["delay"], line)
	}
}
