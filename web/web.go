// Package web serves the HTTP side of the gateway: /healthz for probes,
// /metrics for Prometheus, and a read-only staff dashboard (the case list
// and one case's timeline).
//
// Invariants:
//
//   - Pages only read: every GET runs in one read-only View (a case
//     export also records itself in the audit trail). Changes come
//     only through Options.Actions, by POST from an authenticated user
//     (or, without authentication configured, from this machine) with a
//     CSRF token, and are the same operations as staff commands in mail.
//   - No request scans the whole store. The case list walks the status or
//     assignee index (or the case bucket newest first) and stops after one
//     page; the overdue list walks the follow-up due index; /metrics reads
//     O(1) counters kept by the store. The one bounded exception is the
//     escalated list, which has no index: it looks at the newest
//     escalatedScan open and waiting cases and says so on the page. The
//     other is the statistics page and the answer-time histograms of
//     /metrics: they need every case, get them from Options.Report, and
//     keep the result until the store's generation changes.
//   - Mail is untrusted: every value reaches the page through html/template
//     and its contextual escaping; pages carry a Content-Security-Policy
//     that allows no script at all.
//   - When authentication is configured (always when listening beyond
//     loopback) every route but /healthz needs it; /healthz then reports
//     states only, without error text.
package web

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/config"
	"kontaktpunkt/routing"
	"kontaktpunkt/store"
)

// Health is what the rest of the program knows about its own state, for
// /healthz.
type Health struct {
	// IMAPConnected reports whether the intake poller holds a session.
	IMAPConnected bool
	// IMAPError is the poller's last error, if any.
	IMAPError string
	// IMAPConfigured is false when intake does not use IMAP (ingest only).
	IMAPConfigured bool
	// OutboxOldest is when the oldest still-queued outbound message was
	// queued; zero when nothing is queued.
	OutboxOldest time.Time
	// StoreOK reports whether the store could be read.
	StoreOK bool
	// IMAPAuthFailed reports that the server refused the credentials: no
	// amount of retrying fixes that, so /healthz fails at once.
	IMAPAuthFailed bool
	// IMAPDownSince is when the IMAP session was lost, or when the
	// program started if none has connected yet. Zero means unknown; the
	// handler then counts from when it first saw the poller disconnected.
	IMAPDownSince time.Time
	// IMAPLastSync is when the last pass over the mailbox completed; zero
	// before the first.
	IMAPLastSync time.Time
}

// Options configure New.
type Options struct {
	// Store is read; the one write is the audit record of a case export
	// (web/export.go).
	Store *store.Store
	// TagPrefix renders case tags ("INT" gives "[INT#42]").
	TagPrefix string
	// ContactAddress is the contact point's address, named in case
	// exports.
	ContactAddress string
	// ContactName titles the dashboard.
	ContactName string
	// Health reports the program's state; nil means IMAP is not
	// configured and /healthz reads the store itself.
	Health func() Health
	// IMAPReconnects returns the number of IMAP reconnects so far, for
	// kontaktpunkt_imap_reconnects_total; nil reports 0.
	IMAPReconnects func() int
	// AuthFile is a file of "user:bcrypt-hash" lines (config.ReadAuthFile);
	// when set, requests may authenticate with HTTP basic auth.
	AuthFile string
	// TrustedHeader names a header (e.g. X-Forwarded-User) set by a
	// reverse proxy that authenticated the user. It counts only on
	// requests whose TCP peer is in TrustedProxies, which it requires;
	// other requests fall back to basic auth.
	TrustedHeader string
	// TrustedProxies are the networks the reverse proxy connects from.
	TrustedProxies []netip.Prefix
	// RequireAuth refuses to start without AuthFile or TrustedHeader; set
	// it when listening beyond loopback. When either is configured, it is
	// enforced whatever RequireAuth says.
	RequireAuth bool
	// IMAPGrace is how long IMAP may stay disconnected (or unconnected
	// after the start) before /healthz fails; zero means DefaultIMAPGrace.
	IMAPGrace time.Duration
	// Location is the time zone times are shown in; nil means time.Local.
	Location *time.Location
	// Quotes splits a reply's own text from its quoted history on the
	// case page; nil knows what mail programs write but not our own mail.
	Quotes *routing.QuoteTrimmer
	// Actions carries out staff actions from the dashboard; nil keeps
	// the dashboard read-only.
	Actions Actions
	// IsStaff reports whether a user name that is an address is a staff
	// member's: actions are then recorded under that address.
	IsStaff func(addr string) bool
	// ActorDomain is the domain other users' actions are recorded under
	// ("kari" acts as kari@ActorDomain); "" means "web".
	ActorDomain string
	// FollowUpPlan returns the follow-ups a case will get if nothing
	// happens, for the case page; nil shows only the next one.
	FollowUpPlan func(c kp.Case) []PlanStep
	// Language is the dashboard's language, as templates.language: "nb"
	// (bokmål) or "en"; anything else means "en".
	Language string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives request errors; nil discards them.
	Log *slog.Logger
	// Report computes the figures of the statistics page (/stats);
	// nil leaves the page out.
	Report ReportFunc
	// SuggestReplay replays routing by example on past cases for the
	// statistics page; nil leaves that part out.
	SuggestReplay SuggestReplayFunc
	// Version is the running build's version, for kontaktpunkt_build_info.
	Version string
}

// PlanStep is one follow-up of a case's plan.
type PlanStep struct {
	// Kind is the follow-up kind ("respond", "escalate-1", …).
	Kind string
	Due  time.Time
	// Who says who is mailed ("assignee", "escalation, lead").
	Who string
	// Escalation is the level the step raises the case to (0: none).
	Escalation int
	// Resolve is set for the auto-resolve.
	Resolve bool
}

// DefaultIMAPGrace is how long a lost IMAP session is tolerated before
// /healthz reports the service unhealthy: long enough for a reconnect
// (the poller's backoff is capped at a minute) after a server restart.
const DefaultIMAPGrace = 60 * time.Second

// ErrNoAuth means authentication is required but neither an auth file
// nor a trusted header is configured.
var ErrNoAuth = errors.New("web: listening beyond loopback needs http.auth_file or http.trusted_header")

// ErrNoProxies means a trusted header is configured without the proxies
// it may come from.
var ErrNoProxies = errors.New("web: http.trusted_header needs http.trusted_proxies")

// server holds what the handlers share.
type server struct {
	o    Options
	auth *authenticator
	now  func() time.Time
	loc  *time.Location
	log  *slog.Logger
	// lang is the dashboard's language: "nb" or "en".
	lang string
	// csrfKey signs the forms' CSRF tokens; new on every start.
	csrfKey [32]byte

	// downMu guards downSeen: when this handler first saw IMAP
	// disconnected, for a Health that does not say.
	downMu   sync.Mutex
	downSeen time.Time

	// reports caches the statistics page's and the histograms' reports.
	reports reportCache
	// replay caches the statistics page's replay of suggestions.
	replay replayCache
}

// New returns the handler of every route. It fails when the options are
// unusable: no store, an unreadable auth file, or RequireAuth without a
// way to authenticate.
func New(o Options) (http.Handler, error) {
	if o.Store == nil {
		return nil, errors.New("web: no store")
	}
	s := &server{o: o, now: o.Now, loc: o.Location, log: o.Log}
	if s.now == nil {
		s.now = time.Now
	}
	rand.Read(s.csrfKey[:]) // never fails
	if s.loc == nil {
		s.loc = time.Local
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.o.TagPrefix == "" {
		s.o.TagPrefix = "INT"
	}
	if s.o.IMAPGrace <= 0 {
		s.o.IMAPGrace = DefaultIMAPGrace
	}
	var users config.AuthFile
	if o.AuthFile != "" {
		var err error
		if users, err = config.ReadAuthFile(o.AuthFile); err != nil {
			return nil, fmt.Errorf("web: %w", err)
		}
	}
	if o.RequireAuth && users == nil && o.TrustedHeader == "" {
		return nil, ErrNoAuth
	}
	if o.TrustedHeader != "" && len(o.TrustedProxies) == 0 {
		return nil, ErrNoProxies
	}
	if users != nil || o.TrustedHeader != "" {
		s.auth = newAuthenticator(users, o.TrustedHeader, o.TrustedProxies, s.now)
	}
	s.lang = "en"
	if o.Language == "nb" {
		s.lang = "nb"
	}
	pages, err := parseTemplates(s.lang)
	if err != nil {
		return nil, err
	}
	reg, err := s.registry()
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", s.protect(s.metricsHandler(reg)))
	d := &dashboard{s: s, t: pages}
	mux.Handle("GET /{$}", s.protect(http.HandlerFunc(d.list)))
	mux.Handle("GET /case", s.protect(http.HandlerFunc(d.jump)))
	mux.Handle("GET /case/{id}", s.protect(http.HandlerFunc(d.caseView)))
	mux.Handle("GET /stats", s.protect(http.HandlerFunc(d.stats)))
	mux.Handle("GET /stats.csv", s.protect(http.HandlerFunc(d.statsCSV)))
	mux.Handle("GET /case/{id}/attachment", s.protect(http.HandlerFunc(d.attachment)))
	mux.Handle("GET /case/{id}/export", s.protect(http.HandlerFunc(d.caseExport)))
	mux.Handle("GET /search", s.protect(http.HandlerFunc(d.search)))
	mux.Handle("GET /unfiled", s.protect(http.HandlerFunc(d.unfiled)))
	if o.Actions != nil {
		mux.Handle("POST /case/{id}/act", s.protect(http.HandlerFunc(d.caseAct)))
		mux.Handle("POST /message/act", s.protect(http.HandlerFunc(d.messageAct)))
		mux.Handle("POST /outbox/{id}/retry", s.protect(http.HandlerFunc(d.retry)))
	}
	return secure(mux), nil
}

// secure sets the headers every response carries: no scripts, no
// framing, no sniffing, no referrer leaking case numbers, no caching of
// case content by shared caches.
func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}
