// Package oauthsasl gets OAuth2 access tokens (client-credentials or
// refresh-token grant, through golang.org/x/oauth2) and speaks them as the
// SASL mechanisms XOAUTH2 and OAUTHBEARER, so that the IMAP intake and the
// SMTP sender authenticate with the same token source and the same bytes.
//
// A TokenSource renews a token ahead of its expiry on its own clock and
// never logs or returns a secret in an error.
package oauthsasl

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// SASL mechanism names for OAuth2Config.Mechanism.
const (
	MechXOAuth2     = "XOAUTH2"
	MechOAuthBearer = "OAUTHBEARER"
)

// OAuth2Config says how to get access tokens for XOAUTH2/OAUTHBEARER.
//
// With RefreshToken set the refresh-token grant is used (Google, Microsoft 365
// delegated access); without it the client-credentials grant (Microsoft 365
// application access, scope "https://outlook.office365.com/.default").
type OAuth2Config struct {
	// TokenURL is the token endpoint, e.g.
	// https://login.microsoftonline.com/TENANT/oauth2/v2.0/token or
	// https://oauth2.googleapis.com/token.
	TokenURL string
	// ClientID and ClientSecret identify the application; they are sent in
	// the form body (client_secret_post), which both providers accept.
	ClientID, ClientSecret string
	// RefreshToken selects the refresh-token grant. A rotated refresh token
	// returned by the endpoint replaces it in memory.
	RefreshToken string
	// Scopes are sent space-separated, when any.
	Scopes []string
	// Mechanism is "xoauth2" (default) or "oauthbearer".
	Mechanism string
	// HTTPClient, when set, is used for the token endpoint (tests, proxies).
	HTTPClient *http.Client
}

// TokenError is a failed token request: the endpoint's OAuth2 error code and
// description, or the HTTP status when the body is not an OAuth2 error.
type TokenError struct {
	Status      int
	Code        string
	Description string
}

func (e *TokenError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("oauth2 token endpoint: %s: %s (HTTP %d)", e.Code, e.Description, e.Status)
	}
	return fmt.Sprintf("oauth2 token endpoint: HTTP %d", e.Status)
}

// TokenSource hands out OAuth2 access tokens and renews them ahead of
// expiry. The token requests, their authentication and the parsing of the
// endpoint's answers are golang.org/x/oauth2's; TokenSource only keeps the
// current token, decides when to renew it on its own clock (so the IMAP
// session can restart IDLE before a token lapses, and tests can move time),
// and keeps a rotated refresh token. Safe for concurrent use.
type TokenSource struct {
	cfg  OAuth2Config
	http *http.Client
	now  func() time.Time

	mu      sync.Mutex
	access  string
	expiry  time.Time // zero: no known expiry
	issued  time.Time
	refresh string
}

// refreshMargin is how long before expiry a token is renewed (capped at half
// its lifetime for short-lived tokens).
const refreshMargin = 5 * time.Minute

// NewTokenSource returns a token source for cfg. hc may be nil (then
// cfg.HTTPClient, else a client with a 30 s timeout).
func NewTokenSource(cfg OAuth2Config, hc *http.Client) *TokenSource {
	if hc == nil {
		hc = cfg.HTTPClient
	}
	return &TokenSource{cfg: cfg, http: httpClientOrDefault(hc), now: time.Now, refresh: cfg.RefreshToken}
}

// SetClock replaces the clock (tests).
func (ts *TokenSource) SetClock(now func() time.Time) {
	ts.mu.Lock()
	ts.now = now
	ts.mu.Unlock()
}

// Token returns a valid access token, asking the endpoint for a new one
// when there is none or the current one is within the refresh margin of
// its expiry.
func (ts *TokenSource) Token(ctx context.Context) (string, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.access != "" && !ts.dueLocked() {
		return ts.access, nil
	}
	if err := ts.fetchLocked(ctx); err != nil {
		return "", err
	}
	return ts.access, nil
}

// Forget drops the current token, after a server refused it: the next
// Token asks the endpoint.
func (ts *TokenSource) Forget() {
	ts.mu.Lock()
	ts.access = ""
	ts.mu.Unlock()
}

// RefreshIn is how long until the current token is due for renewal; a long
// time when there is no token or no known expiry.
func (ts *TokenSource) RefreshIn() time.Duration {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.access == "" || ts.expiry.IsZero() {
		return 24 * time.Hour
	}
	return max(ts.refreshAtLocked().Sub(ts.now()), 0)
}

func (ts *TokenSource) refreshAtLocked() time.Time {
	margin := min(refreshMargin, ts.expiry.Sub(ts.issued)/2)
	return ts.expiry.Add(-margin)
}

func (ts *TokenSource) dueLocked() bool {
	if ts.expiry.IsZero() {
		return false
	}
	return !ts.now().Before(ts.refreshAtLocked())
}

// exchangeConfig is the token request. Both grants go through
// clientcredentials.Config, which sends the scopes with every request:
// oauth2.Config's refresher drops them, and Microsoft's endpoint uses the
// scope to choose the resource the token is for (Exchange, not Graph).
// Its EndpointParams may replace grant_type for exactly this purpose.
func (ts *TokenSource) exchangeConfig() *clientcredentials.Config {
	c := &clientcredentials.Config{
		ClientID:     ts.cfg.ClientID,
		ClientSecret: ts.cfg.ClientSecret,
		TokenURL:     ts.cfg.TokenURL,
		Scopes:       ts.cfg.Scopes,
		// client_secret_post: both providers accept it, and a public
		// client (no secret) sends its id the same way.
		AuthStyle: oauth2.AuthStyleInParams,
	}
	if ts.refresh != "" {
		c.EndpointParams = url.Values{"grant_type": {"refresh_token"}, "refresh_token": {ts.refresh}}
	}
	return c
}

func (ts *TokenSource) fetchLocked(ctx context.Context) error {
	issued := ts.now()
	start := time.Now()
	tok, err := ts.exchangeConfig().Token(context.WithValue(ctx, oauth2.HTTPClient, ts.http))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			te := &TokenError{Code: re.ErrorCode, Description: re.ErrorDescription}
			if re.Response != nil {
				te.Status = re.Response.StatusCode
			}
			return te
		}
		return fmt.Errorf("oauth2 token request: %w", err)
	}
	ts.access = tok.AccessToken
	ts.issued = issued
	ts.expiry = time.Time{}
	if secs := expiresIn(tok, start); secs > 0 {
		ts.expiry = issued.Add(time.Duration(secs) * time.Second)
	}
	if tok.RefreshToken != "" && ts.refresh != "" {
		ts.refresh = tok.RefreshToken
	}
	return nil
}

// expiresIn returns the token's lifetime in seconds as the endpoint wrote
// it (a number, or a string from some endpoints), else as x/oauth2 worked
// it out against the wall clock; 0 when unknown.
func expiresIn(tok *oauth2.Token, start time.Time) int64 {
	switch v := tok.Extra("expires_in").(type) {
	case float64:
		if v > 0 {
			return int64(v)
		}
	case string:
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n > 0 {
			return n
		}
	}
	if tok.Expiry.IsZero() {
		return 0
	}
	return max(int64(tok.Expiry.Sub(start).Round(time.Second)/time.Second), 0)
}

// Client is a SASL client with the method set of go-sasl's sasl.Client, so
// that go-imap takes it as one and the SMTP sender adapts it to go-mail,
// while this package's API has no third-party type.
type Client interface {
	// Start returns the mechanism name and the initial response.
	Start() (mech string, ir []byte, err error)
	// Next answers a challenge from the server.
	Next(challenge []byte) (response []byte, err error)
}

// xoauth2Client is the SASL XOAUTH2 mechanism (Google, Microsoft):
// "user=" user ^A "auth=Bearer " token ^A ^A. On failure the server sends a
// base64 JSON challenge, which is answered with an empty response so that
// the server ends the exchange with a tagged NO.
type xoauth2Client struct {
	user, token string
	failure     string
}

// NewXOAuth2Client returns a SASL client for XOAUTH2.
func NewXOAuth2Client(user, token string) Client {
	return &xoauth2Client{user: user, token: token}
}

func (c *xoauth2Client) Start() (string, []byte, error) {
	return MechXOAuth2, []byte("user=" + c.user + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
}

func (c *xoauth2Client) Next(challenge []byte) ([]byte, error) {
	c.failure = string(challenge)
	return []byte{}, nil
}

// Failure returns the failure detail an XOAUTH2 server sent to c (its JSON
// challenge), or "" for another client or when there was none.
func Failure(c Client) string {
	if x, ok := c.(*xoauth2Client); ok {
		return x.failure
	}
	return ""
}

// oauthBearerClient is RFC 7628 OAUTHBEARER. Unlike go-sasl's client it
// answers the server's error challenge with the GS2 ^A so that the server
// ends the command with a tagged NO instead of leaving it hanging.
type oauthBearerClient struct {
	user, token, host string
	port              int
}

// NewOAuthBearerClient returns a SASL client for OAUTHBEARER.
func NewOAuthBearerClient(user, token, host string, port int) Client {
	return &oauthBearerClient{user: user, token: token, host: host, port: port}
}

func (c *oauthBearerClient) Start() (string, []byte, error) {
	var b strings.Builder
	b.WriteString("n,")
	if c.user != "" {
		b.WriteString("a=" + strings.NewReplacer(",", "=2C", "=", "=3D").Replace(c.user))
	}
	b.WriteString(",")
	if c.host != "" {
		b.WriteString("\x01host=" + c.host)
	}
	if c.port != 0 {
		b.WriteString("\x01port=" + strconv.Itoa(c.port))
	}
	b.WriteString("\x01auth=Bearer " + c.token + "\x01\x01")
	return MechOAuthBearer, []byte(b.String()), nil
}

func (c *oauthBearerClient) Next(challenge []byte) ([]byte, error) {
	return []byte{0x01}, nil
}

// httpClientOrDefault returns c, or a client with a sane timeout.
func httpClientOrDefault(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return &http.Client{Timeout: 30 * time.Second}
}
