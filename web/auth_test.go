package web

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

// realServer serves h over HTTP on 127.0.0.1 for the test.
func realServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// fetch makes one request from the local address from (e.g. 127.0.0.1)
// to srv, with the header pairs given, and basic auth when user is set.
func fetch(t *testing.T, srv *httptest.Server, from, path, user, pass string, hdr ...string) (int, string, http.Header) {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	cl := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		DisableKeepAlives: true,
	}}
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func TestTrustedHeaderOnlyFromTrustedProxies(t *testing.T) {
	st := openStore(t)
	seedSmall(t, st)
	auth := writeAuthFile(t, "kari", "riktig")
	serve := func(proxies ...string) *httptest.Server {
		var ps []netip.Prefix
		for _, p := range proxies {
			ps = append(ps, netip.MustParsePrefix(p))
		}
		return realServer(t, newHandler(t, st, &clock{t: t0}, func(o *Options) {
			o.RequireAuth, o.AuthFile, o.TrustedHeader, o.TrustedProxies = true, auth, "X-Remote-User", ps
		}))
	}

	t.Run("loopback is a trusted proxy", func(t *testing.T) {
		srv := serve("127.0.0.0/8", "::1/128")
		code, body, _ := fetch(t, srv, "127.0.0.1", "/", "", "", "X-Remote-User", "mallory@forged.example")
		if code != http.StatusOK {
			t.Fatalf("header from a trusted proxy: %d", code)
		}
		mustContain(t, body, "Signed in as mallory@forged.example")
	})
	t.Run("loopback is not a trusted proxy", func(t *testing.T) {
		srv := serve("10.0.0.0/8", "fd00::/8")
		code, body, hdr := fetch(t, srv, "127.0.0.1", "/", "", "", "X-Remote-User", "mallory@forged.example")
		if code != http.StatusUnauthorized || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("header from elsewhere: %d, WWW-Authenticate %q; want 401 asking for basic auth", code, hdr.Get("WWW-Authenticate"))
		}
		mustNotContain(t, body, "mallory@forged.example")
		// Basic auth still works from there, and the header does not
		// override it.
		code, body, _ = fetch(t, srv, "127.0.0.1", "/", "kari", "riktig", "X-Remote-User", "mallory@forged.example")
		if code != http.StatusOK {
			t.Fatalf("basic auth from elsewhere: %d", code)
		}
		mustContain(t, body, "Signed in as kari")
		mustNotContain(t, body, "mallory@forged.example")
	})
	t.Run("header only, no basic auth to fall back to", func(t *testing.T) {
		srv := realServer(t, newHandler(t, st, &clock{t: t0}, func(o *Options) {
			o.RequireAuth, o.TrustedHeader = true, "X-Remote-User"
			o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.1.2.3/32")}
		}))
		if code, _, _ := fetch(t, srv, "127.0.0.1", "/", "", "", "X-Remote-User", "mallory@forged.example"); code != http.StatusUnauthorized {
			t.Errorf("header from elsewhere without an auth file: %d, want 401", code)
		}
	})
}

func TestNewRefusesTrustedHeaderWithoutProxies(t *testing.T) {
	_, err := New(Options{Store: openStore(t), TrustedHeader: "X-Remote-User"})
	if err == nil {
		t.Fatal("New accepted a trusted header without trusted proxies")
	}
}

// logBuffer is a slog handler's output, safe for the server's goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestFailedLoginsAreLoggedAndLimited(t *testing.T) {
	st := openStore(t)
	c := &clock{t: t0}
	var logs logBuffer
	auth := writeAuthFile(t, "kari", "riktig")
	srv := realServer(t, newHandler(t, st, c, func(o *Options) {
		o.RequireAuth, o.AuthFile = true, auth
		o.Log = slog.New(slog.NewTextHandler(&logs, nil))
	}))
	const guess = "gjetning-hemmelig"

	// Failures spread over more than a minute are not a flood.
	for range maxFailures - 1 {
		if code, _, _ := fetch(t, srv, "127.0.0.1", "/", "kari", guess); code != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d, want 401", code)
		}
	}
	c.Add(failWindow)
	for range maxFailures - 1 {
		if code, _, _ := fetch(t, srv, "127.0.0.1", "/", "kari", guess); code != http.StatusUnauthorized {
			t.Fatalf("wrong password after a minute: %d, want 401", code)
		}
	}
	// The fifth within a minute blocks the address, right password or not.
	if code, _, _ := fetch(t, srv, "127.0.0.1", "/", "kari", guess); code != http.StatusUnauthorized {
		t.Fatalf("fifth wrong password: %d, want 401", code)
	}
	code, _, hdr := fetch(t, srv, "127.0.0.1", "/", "kari", "riktig")
	if code != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" {
		t.Fatalf("right password from a blocked address: %d, Retry-After %q; want 429 with Retry-After", code, hdr.Get("Retry-After"))
	}
	// /healthz still answers probes, but is no way to try passwords.
	if code, body, _ := fetch(t, srv, "127.0.0.1", "/healthz", "kari", "riktig"); code != http.StatusOK || strings.Contains(body, "imap_error") {
		t.Errorf("/healthz from a blocked address: %d %s", code, body)
	}
	// Another address is not affected.
	if code, _, _ := fetch(t, srv, "127.0.0.2", "/", "kari", "riktig"); code != http.StatusOK {
		t.Errorf("right password from another address: %d, want 200", code)
	}
	c.Add(blockFor)
	if code, _, _ := fetch(t, srv, "127.0.0.1", "/", "kari", "riktig"); code != http.StatusOK {
		t.Errorf("right password after the block: %d, want 200", code)
	}

	out := logs.String()
	if n := strings.Count(out, "dashboard login failed"); n != 2*(maxFailures-1)+1 {
		t.Errorf("%d failed logins logged, want %d:\n%s", n, 2*(maxFailures-1)+1, out)
	}
	for _, want := range []string{"level=WARN", "client=127.0.0.1", "user=kari", "address blocked"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, guess) || strings.Contains(out, "riktig") {
		t.Errorf("log shows a password:\n%s", out)
	}
}

func TestFailuresTableStaysBounded(t *testing.T) {
	c := &clock{t: t0}
	f := newFailures(c.Now)
	for i := range maxTracked + 10 {
		f.add(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	if len(f.m) > maxTracked {
		t.Errorf("%d addresses tracked, at most %d", len(f.m), maxTracked)
	}
}
