package web

import (
	"encoding/json"
	"math"
	"net/http"
	"time"

	"kontaktpunkt/store"
)

// healthReport is the JSON body of /healthz.
type healthReport struct {
	// Status is "ok" or "unhealthy"; the HTTP status says the same (200
	// or 503).
	Status string `json:"status"`
	// IMAP is "connected", "disconnected", "auth-failed" or
	// "not-configured".
	IMAP string `json:"imap"`
	// IMAPError is the poller's last error; only for authorized callers.
	IMAPError string `json:"imap_error,omitempty"`
	// IMAPDownSeconds is how long IMAP has been disconnected.
	IMAPDownSeconds float64 `json:"imap_down_seconds,omitempty"`
	// OutboxOldestAgeSeconds is the age of the oldest queued outbound
	// message, 0 when the outbox is empty.
	OutboxOldestAgeSeconds float64 `json:"outbox_oldest_age_seconds"`
	// Store is "ok" or "error".
	Store string `json:"store"`
	// Problems says in words why Status is not ok.
	Problems []string `json:"problems,omitempty"`
}

// health returns the program's state: from Options.Health when given,
// else from a store read of its own.
func (s *server) health() Health {
	if s.o.Health != nil {
		return s.o.Health()
	}
	h := Health{StoreOK: true}
	err := s.o.Store.View(func(tx *store.Tx) error {
		st, err := tx.OutboxStats()
		h.OutboxOldest = st.Oldest
		return err
	})
	if err != nil {
		s.log.Error("healthz: reading store", "err", err)
		h.StoreOK = false
	}
	return h
}

// imapDownSince returns since when IMAP has been down, using the
// reported time or, failing that, when this handler first saw it down.
func (s *server) imapDownSince(h Health, now time.Time) time.Time {
	s.downMu.Lock()
	defer s.downMu.Unlock()
	if !h.IMAPConfigured || h.IMAPConnected {
		s.downSeen = time.Time{}
		return time.Time{}
	}
	if s.downSeen.IsZero() {
		s.downSeen = now
	}
	if !h.IMAPDownSince.IsZero() {
		return h.IMAPDownSince
	}
	return s.downSeen
}

// report turns a Health into the /healthz answer.
func (s *server) report(h Health, now time.Time, details bool) healthReport {
	rep := healthReport{Status: "ok", IMAP: "not-configured", Store: "ok"}
	if !h.StoreOK {
		rep.Store = "error"
		rep.Problems = append(rep.Problems, "the store cannot be read")
	}
	if !h.OutboxOldest.IsZero() {
		rep.OutboxOldestAgeSeconds = seconds(now.Sub(h.OutboxOldest))
	}
	if h.IMAPConfigured {
		h.IMAPDownSince = s.imapDownSince(h, now)
		state, down, problem := imapHealth(h, now, s.o.IMAPGrace)
		rep.IMAP = state
		if state != "connected" {
			rep.IMAPDownSeconds = seconds(down)
			if details {
				rep.IMAPError = h.IMAPError
			}
		}
		if problem != "" {
			rep.Problems = append(rep.Problems, problem)
		}
	}
	if len(rep.Problems) > 0 {
		rep.Status = "unhealthy"
	}
	return rep
}

// imapHealth decides the IMAP part of /healthz: the state ("connected",
// "disconnected" or "auth-failed"), how long intake has been down (since
// h.IMAPDownSince: when the session was lost, or the start when none has
// connected yet) and, when that makes the service unhealthy, why. Refused
// credentials fail at once; anything else after grace. A connected
// session is healthy whatever error an earlier one ended with.
func imapHealth(h Health, now time.Time, grace time.Duration) (state string, down time.Duration, problem string) {
	if h.IMAPConnected {
		return "connected", 0, ""
	}
	if !h.IMAPDownSince.IsZero() {
		down = max(0, now.Sub(h.IMAPDownSince))
	}
	if h.IMAPAuthFailed {
		return "auth-failed", down, "the IMAP server refuses the credentials"
	}
	if down >= grace {
		return "disconnected", down, "IMAP has been disconnected for " + down.Round(time.Second).String()
	}
	return "disconnected", down, ""
}

// seconds renders a duration in whole seconds, never negative (a clock
// step must not make an age negative).
func seconds(d time.Duration) float64 {
	return math.Max(0, math.Floor(d.Seconds()))
}

// healthz answers probes: 200 when the service can do its job, 503 when
// the store is unreadable or intake has been broken for longer than a
// reconnect can explain.
func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	rep := s.report(s.health(), s.now(), s.authorized(r))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if rep.Status != "ok" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	if r.Method == http.MethodHead {
		return
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(rep) // the client went away; nothing to do
}
