package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"kontaktpunkt/config"
)

// authenticator decides who a request comes from: a user named by the
// trusted proxy header, or one proven by basic auth against the auth file.
type authenticator struct {
	users  config.AuthFile // nil: no basic auth
	header string          // "": no trusted header
	now    func() time.Time

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

func newAuthenticator(users config.AuthFile, header string, now func() time.Time) *authenticator {
	a := &authenticator{users: users, header: header, now: now, cache: make(map[[32]byte]time.Time)}
	rand.Read(a.key[:]) // never fails (crypto/rand panics rather than return short)
	return a
}

// user returns the authenticated user of r, or "" and false.
func (a *authenticator) user(r *http.Request) (string, bool) {
	if a.header != "" {
		if v := strings.TrimSpace(r.Header.Get(a.header)); v != "" {
			if !validUser(v) {
				return "", false
			}
			return v, true
		}
	}
	if a.users == nil {
		return "", false
	}
	u, p, ok := r.BasicAuth()
	if !ok {
		return "", false
	}
	if a.cached(u, p) {
		return u, true
	}
	if !a.users.Verify(u, p) {
		return "", false
	}
	a.remember(u, p)
	return u, true
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
		u, ok := s.auth.user(r)
		if !ok {
			if s.auth.users != nil {
				w.Header().Set("WWW-Authenticate", `Basic realm="kontaktpunkt", charset="UTF-8"`)
			}
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
	})
}

// authorized reports whether r may see details (error texts): always when
// no authentication is configured.
func (s *server) authorized(r *http.Request) bool {
	if s.auth == nil {
		return true
	}
	_, ok := s.auth.user(r)
	return ok
}
