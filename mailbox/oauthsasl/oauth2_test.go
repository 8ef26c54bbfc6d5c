package oauthsasl

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"kontaktpunkt/mailbox/internal/tokentest"
)

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
	te := tokentest.New(t)
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
	if n := len(te.Requests()); n != 1 {
		t.Fatalf("%d token requests, want 1 (cached)", n)
	}
	got := te.Requests()[0]
	want := map[string]string{"grant_type": "client_credentials", "client_id": "app", "client_secret": "s3cret", "scope": "https://outlook.office365.com/.default"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("form %s = %q, want %q", k, got[k], v)
		}
	}
	if d := ts.RefreshIn(); d != 55*time.Minute {
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
	te := tokentest.New(t)
	te.Rotate = true
	te.Expires = 60
	clock := &fakeClock{t: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)}
	ts := NewTokenSource(OAuth2Config{TokenURL: te.URL, ClientID: "gmail-app", ClientSecret: "x", RefreshToken: "refresh-0"}, nil)
	ts.SetClock(clock.Now)
	for range 3 {
		if _, err := ts.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		clock.Add(31 * time.Second) // short-lived token: renewed after half its life
	}
	reqs := te.Requests()
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
	te := tokentest.New(t)
	te.Fail = "invalid_grant"
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
