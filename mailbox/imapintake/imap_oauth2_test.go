package imapintake

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"kontaktpunkt/internal/imaptest"
	"kontaktpunkt/mailbox/internal/tokentest"
	"kontaktpunkt/mailbox/oauthsasl"
)

// TestPollerOAuth2Login logs in with each mechanism using a token from the
// token endpoint, against a server that checks the bearer token.
func TestPollerOAuth2Login(t *testing.T) {
	for _, mech := range []string{"xoauth2", "oauthbearer"} {
		t.Run(mech, func(t *testing.T) {
			te := tokentest.New(t)
			srv := imaptest.Start(t, imaptest.Options{Username: "kontakt@example.org", OAuthToken: "token-1"})
			srv.Append(t, "INBOX", imaptest.Message("oauth@example.org", 200))
			sink := newMemSink()
			cfg := memIMAPConfig(srv)
			cfg.Password = ""
			cfg.OAuth2 = &oauthsasl.OAuth2Config{TokenURL: te.URL, ClientID: "app", ClientSecret: "s", Mechanism: mech}
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
	te := tokentest.New(t)
	te.Fail = "invalid_client"
	srv := imaptest.Start(t, imaptest.Options{OAuthToken: "token-1"})
	var logs syncBuffer
	cfg := memIMAPConfig(srv)
	cfg.OAuth2 = &oauthsasl.OAuth2Config{TokenURL: te.URL, ClientID: "app", ClientSecret: "wrong-secret", Mechanism: "xoauth2"}
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
	te := tokentest.New(t)
	srv := imaptest.Start(t, imaptest.Options{OAuthToken: "some-other-token"})
	cfg := memIMAPConfig(srv)
	cfg.OAuth2 = &oauthsasl.OAuth2Config{TokenURL: te.URL, ClientID: "app", Mechanism: "xoauth2"}
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
	te := tokentest.New(t)
	te.Expires = 1 // renewed after half a second
	srv := imaptest.Start(t, imaptest.Options{OAuthToken: "token-1"})
	cfg := memIMAPConfig(srv)
	cfg.IdleRestart = 20 * time.Millisecond
	cfg.OAuth2 = &oauthsasl.OAuth2Config{TokenURL: te.URL, ClientID: "app", Mechanism: "xoauth2"}
	sink := newMemSink()
	p := NewPoller(cfg, sink, imapTestLogger(t))
	runPoller(t, p)
	waitForSink(t, sink, "renewal while idle", func() bool { return len(te.Requests()) >= 2 })
	te.SetFail("invalid_grant")
	waitForSink(t, sink, "renewal failure in status", func() bool {
		st := p.Status()
		return strings.Contains(st.AuthError, "invalid_grant") && st.Connected
	})
	if n := srv.Sessions(); n != 1 {
		t.Errorf("sessions = %d, want the one session to carry on", n)
	}
}
