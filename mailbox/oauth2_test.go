package mailbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"kontaktpunkt/internal/imaptest"
)

// tokenEndpoint is a real HTTP token endpoint on 127.0.0.1 that records the
// requests it gets.
type tokenEndpoint struct {
	*httptest.Server
	mu       sync.Mutex
	requests []map[string]string
	next     int    // number in the next issued token
	fail     string // when set, answer 400 with this OAuth2 error code
	rotate   bool   // issue a new refresh token with every answer
	expires  int
}

func newTokenEndpoint(t *testing.T) *tokenEndpoint {
	te := &tokenEndpoint{expires: 3600}
	te.Server = httptest.NewServer(http.HandlerFunc(te.serve))
	t.Cleanup(te.Close)
	return te
}

func (te *tokenEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	form := map[string]string{}
	for k := range r.PostForm {
		form[k] = r.PostForm.Get(k)
	}
	te.mu.Lock()
	defer te.mu.Unlock()
	te.requests = append(te.requests, form)
	w.Header().Set("Content-Type", "application/json")
	if te.fail != "" {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": te.fail, "error_description": "AADSTS70000: the grant is expired"})
		return
	}
	te.next++
	resp := map[string]any{"access_token": fmt.Sprintf("token-%d", te.next), "token_type": "Bearer", "expires_in": te.expires}
	if te.rotate {
		resp["refresh_token"] = fmt.Sprintf("refresh-%d", te.next)
	}
	json.NewEncoder(w).Encode(resp)
}

func (te *tokenEndpoint) reqs() []map[string]string {
	te.mu.Lock()
	defer te.mu.Unlock()
	return append([]map[string]string(nil), te.requests...)
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestTokenSourceClientCredentialsRefreshesBeforeExpiry(t *testing.T) {
	te := newTokenEndpoint(t)
	clock := &fakeClock{t: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)}
	ts := NewTokenSource(OAuth2Config{
		TokenURL: te.URL, ClientID: "app", ClientSecret: "s3cret",
		Scopes: []string{"https://outlook.office365.com/.default"},
	}, nil)
	ts.SetClock(clock.Now)
	ctx := context.Background()
	for range 2 {
		tok, err := ts.Token(ctx)
		if err != nil || tok != "token-1" {
			t.Fatalf("Token = %q, %v; want token-1", tok, err)
		}
	}
	if n := len(te.reqs()); n != 1 {
		t.Fatalf("%d token requests, want 1 (cached)", n)
	}
	got := te.reqs()[0]
	want := map[string]string{"grant_type": "client_credentials", "client_id": "app", "client_secret": "s3cret", "scope": "https://outlook.office365.com/.default"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("form %s = %q, want %q", k, got[k], v)
		}
	}
	if d := ts.refreshIn(); d != 55*time.Minute {
		t.Errorf("refreshIn = %v, want 55m (5 minutes before the hour)", d)
	}
	clock.Add(54 * time.Minute) // still valid for 6 minutes: not yet renewed
	if tok, _ := ts.Token(ctx); tok != "token-1" {
		t.Errorf("token renewed too early: %q", tok)
	}
	clock.Add(2 * time.Minute) // within 5 minutes of expiry: renewed
	if tok, err := ts.Token(ctx); err != nil || tok != "token-2" {
		t.Errorf("Token near expiry = %q, %v; want token-2", tok, err)
	}
}

func TestTokenSourceRefreshTokenFlowKeepsRotatedToken(t *testing.T) {
	te := newTokenEndpoint(t)
	te.rotate = true
	te.expires = 60
	clock := &fakeClock{t: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)}
	ts := NewTokenSource(OAuth2Config{TokenURL: te.URL, ClientID: "gmail-app", ClientSecret: "x", RefreshToken: "refresh-0"}, nil)
	ts.SetClock(clock.Now)
	for range 3 {
		if _, err := ts.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		clock.Add(31 * time.Second) // short-lived token: renewed after half its life
	}
	reqs := te.reqs()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		if r["grant_type"] != "refresh_token" || r["refresh_token"] != fmt.Sprintf("refresh-%d", i) {
			t.Errorf("request %d = %v, want refresh_token refresh-%d", i, r, i)
		}
	}
}

func TestTokenSourceErrorIsTyped(t *testing.T) {
	te := newTokenEndpoint(t)
	te.fail = "invalid_grant"
	ts := NewTokenSource(OAuth2Config{TokenURL: te.URL, ClientID: "a", ClientSecret: "topsecret", RefreshToken: "refresh-secret"}, nil)
	_, err := ts.Token(context.Background())
	var tokErr *TokenError
	if !errors.As(err, &tokErr) || tokErr.Code != "invalid_grant" || tokErr.Status != 400 {
		t.Fatalf("Token error = %v, want TokenError invalid_grant/400", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error leaks the request: %v", err)
	}
}

func TestXOAuth2Encoding(t *testing.T) {
	mech, ir, err := NewXOAuth2Client("someone@example.org", "ya29.tok").Start()
	if err != nil || mech != "XOAUTH2" {
		t.Fatalf("Start = %q, %v", mech, err)
	}
	if want := "user=someone@example.org\x01auth=Bearer ya29.tok\x01\x01"; string(ir) != want {
		t.Errorf("initial response = %q, want %q", ir, want)
	}
	_, ir, _ = NewOAuthBearerClient("a,b=c@example.org", "tok", "imap.example.org", 993).Start()
	if want := "n,a=a=2Cb=3Dc@example.org,\x01host=imap.example.org\x01port=993\x01auth=Bearer tok\x01\x01"; string(ir) != want {
		t.Errorf("oauthbearer initial response = %q, want %q", ir, want)
	}
}

// TestPollerOAuth2Login logs in with each mechanism using a token from the
// token endpoint, against a server that checks the bearer token.
func TestPollerOAuth2Login(t *testing.T) {
	for _, mech := range []string{"xoauth2", "oauthbearer"} {
		t.Run(mech, func(t *testing.T) {
			te := newTokenEndpoint(t)
			srv := imaptest.Start(t, imaptest.Options{Username: "kontakt@example.org", OAuthToken: "token-1"})
			srv.Append(t, "INBOX", imaptest.Message("oauth@example.org", 200))
			sink := newMemSink()
			cfg := memIMAPConfig(srv)
			cfg.Password = ""
			cfg.OAuth2 = &OAuth2Config{TokenURL: te.URL, ClientID: "app", ClientSecret: "s", Mechanism: mech}
			p := NewPoller(cfg, sink, imapTestLogger(t))
			runPoller(t, p)
			waitForSink(t, sink, "delivered", func() bool { return sink.has("oauth@example.org") })
			log := srv.AuthLog()
			if len(log) != 1 || log[0] != strings.ToUpper(mech)+" kontakt@example.org" {
				t.Errorf("auth log = %q, want one %s login", log, strings.ToUpper(mech))
			}
		})
	}
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPollerTokenRefreshFailureShows: a failing token endpoint is logged
// clearly and shown in the health state; a rejected token too.
func TestPollerTokenRefreshFailureShows(t *testing.T) {
	te := newTokenEndpoint(t)
	te.fail = "invalid_client"
	srv := imaptest.Start(t, imaptest.Options{OAuthToken: "token-1"})
	var logs syncBuffer
	cfg := memIMAPConfig(srv)
	cfg.OAuth2 = &OAuth2Config{TokenURL: te.URL, ClientID: "app", ClientSecret: "wrong-secret", Mechanism: "xoauth2"}
	sink := newMemSink()
	p := NewPoller(cfg, sink, slog.New(slog.NewTextHandler(&logs, nil)))
	stop := runPoller(t, p)
	waitForSink(t, sink, "auth error in status", func() bool { return strings.Contains(p.Status().AuthError, "invalid_client") })
	stop()
	if !strings.Contains(logs.String(), `msg="oauth2 token refresh failed"`) {
		t.Errorf("log lacks a clear refresh failure line:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "wrong-secret") {
		t.Errorf("log leaks the client secret")
	}
}

func TestPollerRejectedTokenSetsAuthError(t *testing.T) {
	te := newTokenEndpoint(t)
	srv := imaptest.Start(t, imaptest.Options{OAuthToken: "some-other-token"})
	cfg := memIMAPConfig(srv)
	cfg.OAuth2 = &OAuth2Config{TokenURL: te.URL, ClientID: "app", Mechanism: "xoauth2"}
	sink := newMemSink()
	p := NewPoller(cfg, sink, imapTestLogger(t))
	runPoller(t, p)
	waitForSink(t, sink, "auth error", func() bool { return strings.Contains(p.Status().AuthError, "authenticating") })
	// The next attempt with the right token succeeds and clears it.
	srv.SetOAuthToken("token-1")
	srv.Append(t, "INBOX", imaptest.Message("after@example.org", 100))
	waitForSink(t, sink, "recovered", func() bool { return sink.has("after@example.org") && p.Status().AuthError == "" })
}

// TestPollerRenewsTokenWhileIdle: with a short-lived token, the poller asks
// the endpoint again while the session idles; when that fails the health
// state says so although the session itself carries on.
func TestPollerRenewsTokenWhileIdle(t *testing.T) {
	te := newTokenEndpoint(t)
	te.expires = 1 // renewed after half a second
	srv := imaptest.Start(t, imaptest.Options{OAuthToken: "token-1"})
	cfg := memIMAPConfig(srv)
	cfg.IdleRestart = 20 * time.Millisecond
	cfg.OAuth2 = &OAuth2Config{TokenURL: te.URL, ClientID: "app", Mechanism: "xoauth2"}
	sink := newMemSink()
	p := NewPoller(cfg, sink, imapTestLogger(t))
	runPoller(t, p)
	waitForSink(t, sink, "renewal while idle", func() bool { return len(te.reqs()) >= 2 })
	te.mu.Lock()
	te.fail = "invalid_grant"
	te.mu.Unlock()
	waitForSink(t, sink, "renewal failure in status", func() bool {
		st := p.Status()
		return strings.Contains(st.AuthError, "invalid_grant") && st.Connected
	})
	if n := srv.Sessions(); n != 1 {
		t.Errorf("sessions = %d, want the one session to carry on", n)
	}
}
