package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kontaktpunkt/config"
	"kontaktpunkt/mailbox/imapintake"
	"kontaktpunkt/web"
)

func TestPollerHealth(t *testing.T) {
	started := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	lost := started.Add(time.Hour)
	tests := []struct {
		name string
		st   imapintake.PollerStatus
		want web.Health
	}{
		{"never connected: down since the start", imapintake.PollerStatus{LastError: "dial tcp: connection refused"},
			web.Health{IMAPDownSince: started, IMAPError: "dial tcp: connection refused"}},
		{"connected", imapintake.PollerStatus{Connected: true, Since: started}, web.Health{IMAPConnected: true}},
		{"lost: down since then", imapintake.PollerStatus{Since: lost, LastError: "EOF"}, web.Health{IMAPDownSince: lost, IMAPError: "EOF"}},
		{"credentials refused", imapintake.PollerStatus{AuthError: "NO [AUTHENTICATIONFAILED]", LastError: "login"},
			web.Health{IMAPDownSince: started, IMAPError: "NO [AUTHENTICATIONFAILED]", IMAPAuthFailed: true}},
	}
	for _, tt := range tests {
		var h web.Health
		pollerHealth(&h, tt.st, started)
		if h != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, h, tt.want)
		}
	}
}

// TestServeHealthzFailsWhenIMAPNeverConnects runs the whole program against
// an IMAP address where nothing listens: /healthz is 200 within
// http.imap_grace of the start and 503 after it.
func TestServeHealthzFailsWhenIMAPNeverConnects(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := ln.Addr().(*net.TCPAddr)
	ln.Close()

	cfg := config.Default()
	cfg.Store.Path = filepath.Join(t.TempDir(), "kp.db")
	cfg.IMAP.Host, cfg.IMAP.Port, cfg.IMAP.Security, cfg.IMAP.Username = "127.0.0.1", deadAddr.Port, "plain", "u"
	cfg.HTTP.Listen = "127.0.0.1:0"
	srv, err := NewServer(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	clock := &demoClock{base: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), start: time.Now()}
	srv.Now = clock.Now
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	<-srv.Ready()

	probe := func() (int, map[string]any) {
		t.Helper()
		resp, err := http.Get("http://" + srv.HTTPAddr() + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var rep map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, rep
	}
	if code, rep := probe(); code != http.StatusOK || rep["imap"] != "disconnected" {
		t.Errorf("at start: %d %v, want 200 and disconnected", code, rep)
	}
	clock.Advance(time.Duration(cfg.HTTP.IMAPGrace))
	code, rep := probe()
	if code != http.StatusServiceUnavailable {
		t.Fatalf("imap_grace after the start, never connected: %d %v, want 503", code, rep)
	}
	if p, _ := rep["problems"].([]any); len(p) == 0 || !strings.Contains(p[0].(string), "IMAP") {
		t.Errorf("problems %v", rep["problems"])
	}
}
