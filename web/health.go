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
		since := s.imapDownSince(h, now)
		switch {
		case h.IMAPConnected:
			rep.IMAP = "connected"
		case h.IMAPAuthFailed:
			rep.IMAP = "auth-failed"
			rep.Problems = append(rep.Problems, "the IMAP server refuses the credentials")
		default:
			rep.IMAP = "disconnected"
			down := now.Sub(since)
			rep.IMAPDownSeconds = seconds(down)
			if down >= s.o.IMAPGrace {
				rep.Problems = append(rep.Problems, "IMAP has been disconnected for "+down.Round(time.Second).String())
			}
		}
		if details {
			rep.IMAPError = h.IMAPError
		}
	}
	if len(rep.Problems) > 0 {
		rep.Status = "unhealthy"
	}
	return rep
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
