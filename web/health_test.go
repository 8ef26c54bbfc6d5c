package web

import (
	"strings"
	"testing"
	"time"
)

func TestIMAPHealth(t *testing.T) {
	grace := time.Minute
	start := t0 // the program started, or the session was lost, at t0
	tests := []struct {
		name        string
		h           Health
		after       time.Duration // now = start + after
		wantState   string
		wantDown    time.Duration
		wantProblem string // "" healthy, else a word of the problem
	}{
		{"connected", Health{IMAPConnected: true, IMAPDownSince: start}, time.Hour, "connected", 0, ""},
		{"connected after an error: the old error is no problem",
			Health{IMAPConnected: true, IMAPError: "dial tcp: connection refused"}, 0, "connected", 0, ""},
		{"not connected yet, within grace of the start", Health{IMAPDownSince: start}, 59 * time.Second, "disconnected", 59 * time.Second, ""},
		{"never connected within grace of the start", Health{IMAPDownSince: start}, time.Minute, "disconnected", time.Minute, "disconnected for 1m0s"},
		{"never connected for ten minutes", Health{IMAPDownSince: start}, 10 * time.Minute, "disconnected", 10 * time.Minute, "disconnected for 10m0s"},
		{"lost a moment ago", Health{IMAPDownSince: start, IMAPError: "EOF"}, time.Second, "disconnected", time.Second, ""},
		{"down longer than grace", Health{IMAPDownSince: start, IMAPError: "EOF"}, 61 * time.Second, "disconnected", 61 * time.Second, "disconnected for 1m1s"},
		{"credentials refused: at once", Health{IMAPDownSince: start, IMAPAuthFailed: true}, 0, "auth-failed", 0, "refuses the credentials"},
		{"a clock step backwards is no outage", Health{IMAPDownSince: start}, -time.Hour, "disconnected", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{t: start}
			c.Add(tt.after)
			tt.h.IMAPConfigured = true
			state, down, problem := imapHealth(tt.h, c.Now(), grace)
			if state != tt.wantState || down != tt.wantDown {
				t.Errorf("state %q down %v, want %q %v", state, down, tt.wantState, tt.wantDown)
			}
			if (problem == "") != (tt.wantProblem == "") || !strings.Contains(problem, tt.wantProblem) {
				t.Errorf("problem %q, want %q", problem, tt.wantProblem)
			}
		})
	}
}

// TestHealthzClearsStaleIMAPError: once connected again, /healthz neither
// fails nor shows the error the lost session ended with.
func TestHealthzClearsStaleIMAPError(t *testing.T) {
	st := openStore(t)
	c := &clock{t: t0}
	h := Health{StoreOK: true, IMAPConfigured: true, IMAPDownSince: t0, IMAPError: "dial tcp: connection refused"}
	srv := newHandler(t, st, c, func(o *Options) { o.Health = func() Health { return h } })
	c.Add(2 * time.Minute)
	code, body, _ := get(t, srv, "/healthz")
	if rep := decodeHealth(t, body); code != 503 || rep.IMAPError == "" {
		t.Fatalf("down past grace: %d %+v", code, rep)
	}
	h.IMAPConnected, h.IMAPDownSince = true, time.Time{}
	code, body, _ = get(t, srv, "/healthz")
	if rep := decodeHealth(t, body); code != 200 || rep.IMAPError != "" || rep.IMAP != "connected" || len(rep.Problems) > 0 {
		t.Fatalf("reconnected: %d %+v", code, rep)
	}
}
