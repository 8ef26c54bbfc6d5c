package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"kontaktpunkt/config"
)

// authenticator decides who a request comes from: a user named by the
// trusted proxy header on a request from a trusted proxy, or one proven by
// basic auth against the auth file.
type authenticator struct {
	users   config.AuthFile // nil: no basic auth
	header  string          // "": no trusted header
	proxies []netip.Prefix  // where header may come from
	now     func() time.Time
	fails   *failures

	// bcrypt takes tens of milliseconds by design; a browser sends the
	// same credentials with every request. Verified credentials are
	// remembered for cacheTTL under an HMAC with a per-process key, so
	// the cache holds nothing that a memory dump could turn back into a
	// password cheaply.
	key   [32]byte
	mu    sync.Mutex
	cache map[[32]byte]time.Time
}

const (
	cacheTTL  = 5 * time.Minute
	cacheSize = 256
	// maxUserLen bounds a user name taken from the trusted header.
	maxUserLen = 256
)

func newAuthenticator(users config.AuthFile, header string, proxies []netip.Prefix, now func() time.Time) *authenticator {
	a := &authenticator{users: users, header: header, proxies: proxies, now: now,
		fails: newFailures(now), cache: make(map[[32]byte]time.Time)}
	rand.Read(a.key[:]) // never fails (crypto/rand panics rather than return short)
	return a
}

// verdict is the outcome of authenticating one request.
type verdict int

const (
	authOK      verdict = iota
	authMissing         // no usable credentials: ask for them
	authFailed          // credentials given and wrong: a failed login
	authBlocked         // too many failed logins from this address lately
)

// check authenticates r and returns the user. A failed basic-auth login
// is counted against the client address; an address with too many
// recent failures is refused before its credentials are looked at.
func (a *authenticator) check(r *http.Request) (string, verdict) {
	client := clientAddr(r)
	if a.fails.blocked(client) {
		return "", authBlocked
	}
	if a.header != "" && a.fromProxy(client) {
		if v := strings.TrimSpace(r.Header.Get(a.header)); v != "" {
			if !validUser(v) {
				return "", authMissing
			}
			return v, authOK
		}
	}
	if a.users == nil {
		return "", authMissing
	}
	u, p, ok := r.BasicAuth()
	if !ok {
		return "", authMissing
	}
	if !a.cached(u, p) {
		if !a.users.Verify(u, p) {
			a.fails.add(client)
			return u, authFailed
		}
		a.remember(u, p)
	}
	a.fails.reset(client)
	return u, authOK
}

// fromProxy reports whether client is one of the trusted proxies.
func (a *authenticator) fromProxy(client netip.Addr) bool {
	for _, p := range a.proxies {
		if p.Contains(client) {
			return true
		}
	}
	return false
}

// clientAddr returns the address r came from (its TCP peer), or the zero
// Addr when that cannot be read.
func clientAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// validUser accepts what a proxy plausibly sends as a user name and
// nothing that could confuse a log line or a page.
func validUser(v string) bool {
	if len(v) > maxUserLen || !utf8.ValidString(v) {
		return false
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func (a *authenticator) mac(u, p string) [32]byte {
	m := hmac.New(sha256.New, a.key[:])
	m.Write([]byte(u))
	m.Write([]byte{0})
	m.Write([]byte(p))
	var k [32]byte
	copy(k[:], m.Sum(nil))
	return k
}

func (a *authenticator) cached(u, p string) bool {
	k := a.mac(u, p)
	a.mu.Lock()
	defer a.mu.Unlock()
	exp, ok := a.cache[k]
	if ok && a.now().Before(exp) {
		return true
	}
	delete(a.cache, k)
	return false
}

func (a *authenticator) remember(u, p string) {
	k := a.mac(u, p)
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.cache) >= cacheSize {
		clear(a.cache)
	}
	a.cache[k] = a.now().Add(cacheTTL)
}

type userKey struct{}

// userOf returns the authenticated user stored by protect, or "".
func userOf(ctx context.Context) string {
	u, _ := ctx.Value(userKey{}).(string)
	return u
}

// protect requires authentication when it is configured and passes the
// user name on in the request context.
func (s *server) protect(h http.Handler) http.Handler {
	if s.auth == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, v := s.checkAuth(r)
		switch v {
		case authOK:
			h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
			return
		case authBlocked:
			w.Header().Set("Retry-After", strconv.Itoa(int(blockFor.Seconds())))
			http.Error(w, "too many failed logins; try again later", http.StatusTooManyRequests)
			return
		}
		if s.auth.users != nil {
			w.Header().Set("WWW-Authenticate", `Basic realm="kontaktpunkt", charset="UTF-8"`)
		}
		http.Error(w, "authentication required", http.StatusUnauthorized)
	})
}

// checkAuth authenticates r and logs a failed login with the client
// address and the user name given (never the password).
func (s *server) checkAuth(r *http.Request) (string, verdict) {
	u, v := s.auth.check(r)
	switch v {
	case authFailed:
		if !validUser(u) {
			u = "(unprintable)"
		}
		client := clientAddr(r)
		if s.auth.fails.blocked(client) {
			s.log.Warn("dashboard login failed; address blocked", "client", client.String(), "user", u, "path", r.URL.Path,
				"failures", maxFailures, "within", failWindow, "blocked_for", blockFor)
		} else {
			s.log.Warn("dashboard login failed", "client", client.String(), "user", u, "path", r.URL.Path)
		}
	}
	return u, v
}

// authorized reports whether r may see details (error texts): always when
// no authentication is configured. Credentials given here count as a
// login like anywhere else, so /healthz is no way around the limit.
func (s *server) authorized(r *http.Request) bool {
	if s.auth == nil {
		return true
	}
	_, v := s.checkAuth(r)
	return v == authOK
}
