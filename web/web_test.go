package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
)

// seedSmall stores a handful of cases covering every filter.
func seedSmall(t testing.TB, st *store.Store) map[string]kp.CaseID {
	t.Helper()
	ids := map[string]kp.CaseID{}
	ids["open"] = addCase(t, st, kp.Case{
		Subject: "Tilgang til FS-API for emner", Status: kp.StatusOpen,
		Requester: kp.Address{Name: "Åse Bjørnstad", Addr: "ase@student.example.no"},
		Assignee:  "per@uio.no", Team: "team-fs", Created: t0.Add(-48 * time.Hour), Updated: t0.Add(-time.Hour),
		Next: &kp.FollowUp{Kind: kp.FollowRespond, Due: t0.Add(24 * time.Hour)},
	},
		kp.Message{Direction: kp.In, Class: kp.ClassHuman, MatchedBy: kp.MatchNew, Kind: "request",
			From: kp.Address{Name: "Åse Bjørnstad", Addr: "ase@student.example.no"}, To: []kp.Address{{Addr: "integrasjon@uio.no"}},
			Subject: "Tilgang til FS-API for emner", Date: t0.Add(-48 * time.Hour), Text: "Hei!\nVi får ikke oppdatert studentdata fra FS til Canvas.\nMvh Åse"},
		kp.Message{Direction: kp.Out, Class: kp.ClassHuman, Kind: "ack", From: kp.Address{Name: "Integrasjon", Addr: "integrasjon@uio.no"},
			To: []kp.Address{{Addr: "ase@student.example.no"}}, Subject: "[INT#1] Tilgang til FS-API for emner", Date: t0.Add(-48 * time.Hour), Text: "Takk for henvendelsen."},
		kp.Message{Direction: kp.In, Class: kp.ClassHuman, MatchedBy: kp.MatchInReplyTo, Kind: "reply", Outsider: true,
			From: kp.Address{Name: "Mallory Outsider", Addr: "mallory@elsewhere.example"}, Subject: "Re: [INT#1] Tilgang til FS-API for emner",
			Date: t0.Add(-2 * time.Hour), Text: "Jeg blander meg inn."},
	)
	ids["waiting"] = addCase(t, st, kp.Case{
		Subject: "Ny klient mot økonomisystemet", Status: kp.StatusWaiting,
		Requester: kp.Address{Addr: "ola@example.no"}, Assignee: "kari@uio.no", Created: t0.Add(-72 * time.Hour), Updated: t0.Add(-3 * time.Hour),
	})
	ids["overdue"] = addCase(t, st, kp.Case{
		Subject: "Synkronisering av grupper stoppet", Status: kp.StatusOpen,
		Requester: kp.Address{Addr: "ingrid@example.no"}, Created: t0.Add(-96 * time.Hour), Updated: t0.Add(-90 * time.Hour),
		Next: &kp.FollowUp{Kind: kp.FollowTriage, Due: t0.Add(-26 * time.Hour)},
	})
	ids["escalated"] = addCase(t, st, kp.Case{
		Subject: "Eksamen: karakterer mangler", Status: kp.StatusOpen, Priority: kp.PriorityUrgent, Escalation: 2,
		Requester: kp.Address{Addr: "trond@example.no"}, Assignee: "per@uio.no", Created: t0.Add(-240 * time.Hour), Updated: t0.Add(-5 * time.Hour),
	})
	ids["resolved"] = addCase(t, st, kp.Case{
		Subject: "Sertifikat utløpt", Status: kp.StatusResolved,
		Requester: kp.Address{Addr: "sigrid@example.no"}, Created: t0.Add(-500 * time.Hour), Updated: t0.Add(-400 * time.Hour), ResolvedAt: t0.Add(-400 * time.Hour),
	})
	return ids
}

func TestCaseListFilters(t *testing.T) {
	st := openStore(t)
	seedSmall(t, st)
	h := newHandler(t, st, &clock{t: t0}, nil)

	for _, tc := range []struct {
		target   string
		want     []string
		notWant  []string
		tabCount string
	}{
		{"/", []string{"[INT#1]", "Tilgang til FS-API for emner", "[INT#3]", "[INT#4]"}, []string{"[INT#2]", "[INT#5]"}, ""},
		{"/?f=waiting", []string{"[INT#2]", "Ny klient mot økonomisystemet"}, []string{"[INT#1]", "[INT#3]"}, ""},
		{"/?f=overdue", []string{"[INT#3]", "overdue by 1d 2h"}, []string{"[INT#1]", "[INT#4]"}, ""},
		{"/?f=escalated", []string{"[INT#4]", "escalated 2", "urgent"}, []string{"[INT#1]", "[INT#3]"}, ""},
		{"/?f=resolved", []string{"[INT#5]", "Sertifikat utløpt"}, []string{"[INT#1]"}, ""},
		{"/?f=all", []string{"[INT#1]", "[INT#2]", "[INT#3]", "[INT#4]", "[INT#5]"}, nil, ""},
		{"/?f=all&assignee=PER@uio.no", []string{"[INT#1]", "[INT#4]", "All cases assigned to per@uio.no"}, []string{"[INT#2]", "[INT#3]", "[INT#5]"}, ""},
		{"/?f=bogus", []string{"[INT#1]"}, []string{"[INT#5]"}, ""},
	} {
		t.Run(tc.target, func(t *testing.T) {
			code, body, hdr := get(t, h, tc.target)
			if code != http.StatusOK {
				t.Fatalf("status %d: %s", code, body)
			}
			if ct := hdr.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			mustContain(t, body, tc.want...)
			mustNotContain(t, body, tc.notWant...)
		})
	}
}

func TestCaseListTabsShowCounts(t *testing.T) {
	st := openStore(t)
	seedSmall(t, st)
	_, body, _ := get(t, newHandler(t, st, &clock{t: t0}, nil), "/")
	for _, want := range []string{
		`aria-current="page">Open<span class="n">3</span>`,
		`>Waiting<span class="n">1</span>`,
		`>Overdue<span class="n">1</span>`,
		`>Resolved<span class="n">1</span>`,
		`>All<span class="n">5</span>`,
	} {
		mustContain(t, body, want)
	}
}

func TestCaseListPaginatesNewestFirst(t *testing.T) {
	st := openStore(t)
	for i := 1; i <= 250; i++ {
		addCase(t, st, kp.Case{Subject: fmt.Sprintf("Sak nummer %d", i), Requester: kp.Address{Addr: "a@example.no"}, Created: t0, Updated: t0})
	}
	h := newHandler(t, st, &clock{t: t0}, nil)

	_, p1, _ := get(t, h, "/")
	if n := strings.Count(p1, `class="subject"`); n != perPage {
		t.Errorf("page 1 shows %d cases, want %d", n, perPage)
	}
	mustContain(t, p1, "[INT#250]", "[INT#151]", `href="/?page=2"`)
	mustNotContain(t, p1, "[INT#150]", `rel="prev"`)
	if strings.Index(p1, "[INT#250]") > strings.Index(p1, "[INT#249]") {
		t.Error("page 1 is not newest first")
	}

	_, p3, _ := get(t, h, "/?page=3")
	if n := strings.Count(p3, `class="subject"`); n != 50 {
		t.Errorf("page 3 shows %d cases, want 50", n)
	}
	mustContain(t, p3, "[INT#50]", "[INT#1]", `href="/?page=2"`)
	mustNotContain(t, p3, `rel="next"`, "[INT#51]")

	_, p9, _ := get(t, h, "/?page=9")
	mustContain(t, p9, "No cases on this page.")
}

func TestCasePageShowsHeaderAndTimeline(t *testing.T) {
	st := openStore(t)
	ids := seedSmall(t, st)
	h := newHandler(t, st, &clock{t: t0}, nil)
	code, body, _ := get(t, h, fmt.Sprintf("/case/%d", ids["open"]))
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	mustContain(t, body,
		"<h1>[INT#1] Tilgang til FS-API for emner</h1>",
		"<dt>Status</dt><dd>open</dd>", "<dt>Priority</dt><dd>normal</dd>",
		"Åse Bjørnstad &lt;ase@student.example.no&gt;", "per@uio.no", "team-fs",
		"<dt>Escalation</dt><dd>none</dd>", "respond 2026-11-26 10:00 (in 1d 0h)",
		"Timeline (3)", "Vi får ikke oppdatert studentdata fra FS til Canvas.",
		"Takk for henvendelsen.", "OUTSIDER", "Mallory Outsider", "matched by in-reply-to",
		`<meta name="viewport"`,
	)
	if strings.Count(body, "<pre>") != 3 {
		t.Errorf("want 3 message texts in <pre>")
	}
	// The timeline keeps storage order: the request before the outsider.
	if strings.Index(body, "Vi får ikke") > strings.Index(body, "Jeg blander meg inn.") {
		t.Error("timeline out of order")
	}
	if strings.Count(body, "OUTSIDER") != 1 {
		t.Error("OUTSIDER badge on more than the outsider's message")
	}
}

func TestCasePageUnknownCaseIs404(t *testing.T) {
	st := openStore(t)
	seedSmall(t, st)
	h := newHandler(t, st, &clock{t: t0}, nil)
	for _, target := range []string{"/case/999", "/case/0", "/case/abc", "/case/-1", "/nowhere"} {
		if code, _, _ := get(t, h, target); code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", target, code)
		}
	}
}

func TestCaseJumpRedirects(t *testing.T) {
	st := openStore(t)
	h := newHandler(t, st, &clock{t: t0}, nil)
	for in, want := range map[string]string{"42": "/case/42", "[INT#42]": "/case/42", "INT 7": "/case/7", "nothing": "/", "": "/"} {
		code, _, hdr := get(t, h, "/case?id="+strings.NewReplacer("#", "%23", " ", "+", "[", "%5B", "]", "%5D").Replace(in))
		if code != http.StatusSeeOther || hdr.Get("Location") != want {
			t.Errorf("%q: %d %q, want 303 %q", in, code, hdr.Get("Location"), want)
		}
	}
}

func TestHostileMailIsEscaped(t *testing.T) {
	st := openStore(t)
	const evil = `<script>alert("x")</script><img src=x onerror=alert(1)>`
	id := addCase(t, st, kp.Case{
		Subject: "Hjelp " + evil, Requester: kp.Address{Name: evil, Addr: `"><script>@evil.example`}, Assignee: `x"onmouseover="alert(1)`,
		Team: evil, Created: t0, Updated: t0,
	}, kp.Message{
		Direction: kp.In, Class: kp.ClassHuman, Kind: "request", From: kp.Address{Name: evil, Addr: "evil@example.org"},
		Subject: evil, Text: "</pre>" + evil, Attachments: []kp.Attachment{{Name: evil, ContentType: "text/html", Size: 10}},
	})
	h := newHandler(t, st, &clock{t: t0}, nil)
	for _, target := range []string{"/", fmt.Sprintf("/case/%d", id), "/?assignee=" + strings.ReplaceAll(evil, " ", "+")} {
		code, body, hdr := get(t, h, target)
		if code != http.StatusOK {
			t.Fatalf("%s: status %d", target, code)
		}
		mustNotContain(t, body, "<script", "<img", `"onmouseover=`, "</pre><")
		mustContain(t, body, "&lt;script&gt;")
		if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: Content-Security-Policy %q", target, csp)
		}
	}
}

func TestDashboardIsReadOnly(t *testing.T) {
	st := openStore(t)
	h := newHandler(t, st, &clock{t: t0}, nil)
	for _, target := range []string{"/", "/case/1", "/metrics", "/healthz"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, target, strings.NewReader("x=1")))
		if w.Code != http.StatusMethodNotAllowed {
			t.Errorf("POST %s: status %d, want 405", target, w.Code)
		}
	}
}

func TestNewRefusesOpenListenerWithoutAuth(t *testing.T) {
	st := openStore(t)
	_, err := New(Options{Store: st, RequireAuth: true})
	if !errors.Is(err, ErrNoAuth) {
		t.Fatalf("New without auth beyond loopback: %v, want ErrNoAuth", err)
	}
	if _, err := New(Options{Store: st, RequireAuth: true, AuthFile: "/nonexistent/users"}); err == nil {
		t.Fatal("New with a missing auth file succeeded")
	}
}

func TestAuthBeyondLoopback(t *testing.T) {
	st := openStore(t)
	seedSmall(t, st)
	auth := writeAuthFile(t, "kari", "hemmelig passord æøå")
	h := newHandler(t, st, &clock{t: t0}, func(o *Options) {
		o.RequireAuth, o.AuthFile, o.TrustedHeader = true, auth, "X-Forwarded-User"
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")} // httptest.NewRequest's peer
	})
	basic := func(u, p string) string {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.SetBasicAuth(u, p)
		return r.Header.Get("Authorization")
	}
	for _, target := range []string{"/", "/?f=all", "/case/1", "/metrics"} {
		t.Run(target, func(t *testing.T) {
			code, _, hdr := get(t, h, target)
			if code != http.StatusUnauthorized {
				t.Errorf("without credentials: %d, want 401", code)
			}
			if !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("WWW-Authenticate %q", hdr.Get("WWW-Authenticate"))
			}
			if code, _, _ := get(t, h, target, "Authorization", basic("kari", "wrong")); code != http.StatusUnauthorized {
				t.Errorf("wrong password: %d, want 401", code)
			}
			if code, _, _ := get(t, h, target, "Authorization", basic("ola", "hemmelig passord æøå")); code != http.StatusUnauthorized {
				t.Errorf("unknown user: %d, want 401", code)
			}
			for range 2 { // the second time from the credential cache
				if code, _, _ := get(t, h, target, "Authorization", basic("kari", "hemmelig passord æøå")); code != http.StatusOK {
					t.Errorf("basic auth from the file: %d, want 200", code)
				}
			}
			code, body, _ := get(t, h, target, "X-Forwarded-User", "per@uio.no")
			if code != http.StatusOK {
				t.Errorf("trusted header: %d, want 200", code)
			}
			if target != "/metrics" {
				mustContain(t, body, "Signed in as per@uio.no")
			}
			if code, _, _ := get(t, h, target, "X-Forwarded-User", "evil\r\nuser"); code != http.StatusUnauthorized {
				t.Errorf("control characters in the trusted header: %d, want 401", code)
			}
		})
	}
	// Probes need no credentials, and learn no error text without them.
	if code, _, _ := get(t, h, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz without credentials: %d, want 200", code)
	}
}

func TestTrustedHeaderOnlyRefusesMissingHeader(t *testing.T) {
	st := openStore(t)
	h := newHandler(t, st, &clock{t: t0}, func(o *Options) {
		o.RequireAuth, o.TrustedHeader = true, "X-Remote-User"
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32")}
	})
	code, _, hdr := get(t, h, "/")
	if code != http.StatusUnauthorized || hdr.Get("WWW-Authenticate") != "" {
		t.Errorf("without header: %d, WWW-Authenticate %q; want 401 without a basic-auth challenge", code, hdr.Get("WWW-Authenticate"))
	}
	if code, _, _ := get(t, h, "/", "X-Remote-User", "kari"); code != http.StatusOK {
		t.Errorf("with header: %d", code)
	}
}

func TestLoopbackNeedsNoAuth(t *testing.T) {
	st := openStore(t)
	h := newHandler(t, st, &clock{t: t0}, nil)
	for _, target := range []string{"/", "/metrics", "/healthz"} {
		if code, _, _ := get(t, h, target); code != http.StatusOK {
			t.Errorf("%s: %d, want 200", target, code)
		}
	}
}

func decodeHealth(t *testing.T, body string) healthReport {
	t.Helper()
	var rep healthReport
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatalf("decoding %q: %v", body, err)
	}
	return rep
}

func TestHealthzReportsOutboxAge(t *testing.T) {
	st := openStore(t)
	err := st.Update(func(tx *store.Tx) error {
		return tx.Enqueue(&kp.Outbound{Kind: "ack", MessageID: "a@uio.no", From: "integrasjon@uio.no", To: []string{"x@example.no"},
			Raw: []byte("raw"), Queued: t0.Add(-90 * time.Second), NextTry: t0})
	})
	if err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, st, &clock{t: t0}, nil) // no Health: reads the store itself
	code, body, hdr := get(t, h, "/healthz")
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	rep := decodeHealth(t, body)
	if rep.Status != "ok" || rep.Store != "ok" || rep.IMAP != "not-configured" || rep.OutboxOldestAgeSeconds != 90 {
		t.Errorf("report %+v", rep)
	}
}

func TestHealthzFailsWhenStoreUnreadable(t *testing.T) {
	st := openStore(t)
	h := newHandler(t, st, &clock{t: t0}, func(o *Options) {
		o.Health = func() Health { return Health{StoreOK: false} }
	})
	code, body, _ := get(t, h, "/healthz")
	if rep := decodeHealth(t, body); code != http.StatusServiceUnavailable || rep.Status != "unhealthy" || rep.Store != "error" {
		t.Errorf("status %d, report %+v", code, rep)
	}
}

func TestHealthzToleratesShortIMAPOutage(t *testing.T) {
	st := openStore(t)
	c := &clock{t: t0}
	connected := true
	h := newHandler(t, st, c, func(o *Options) {
		o.Health = func() Health {
			return Health{StoreOK: true, IMAPConfigured: true, IMAPConnected: connected, IMAPError: "dial tcp: connection refused"}
		}
	})
	check := func(wantCode int, wantIMAP string) healthReport {
		t.Helper()
		code, body, _ := get(t, h, "/healthz")
		rep := decodeHealth(t, body)
		if code != wantCode || rep.IMAP != wantIMAP {
			t.Fatalf("status %d imap %q, want %d %q (%s)", code, rep.IMAP, wantCode, wantIMAP, body)
		}
		return rep
	}
	check(http.StatusOK, "connected")
	connected = false
	if rep := check(http.StatusOK, "disconnected"); rep.IMAPError != "dial tcp: connection refused" {
		t.Errorf("imap_error %q", rep.IMAPError)
	}
	c.Add(DefaultIMAPGrace - time.Second)
	check(http.StatusOK, "disconnected")
	c.Add(time.Second)
	if rep := check(http.StatusServiceUnavailable, "disconnected"); rep.IMAPDownSeconds != DefaultIMAPGrace.Seconds() {
		t.Errorf("imap_down_seconds %v", rep.IMAPDownSeconds)
	}
	connected = true
	check(http.StatusOK, "connected")
	// A new outage starts its own grace period.
	connected = false
	check(http.StatusOK, "disconnected")
}

func TestHealthzFailsAtOnceOnIMAPAuthFailure(t *testing.T) {
	st := openStore(t)
	auth := writeAuthFile(t, "kari", "pw")
	h := newHandler(t, st, &clock{t: t0}, func(o *Options) {
		o.RequireAuth, o.AuthFile = true, auth
		o.Health = func() Health {
			return Health{StoreOK: true, IMAPConfigured: true, IMAPAuthFailed: true, IMAPError: "AUTHENTICATE failed for user x"}
		}
	})
	code, body, _ := get(t, h, "/healthz")
	rep := decodeHealth(t, body)
	if code != http.StatusServiceUnavailable || rep.IMAP != "auth-failed" {
		t.Errorf("status %d, report %+v", code, rep)
	}
	if rep.IMAPError != "" {
		t.Errorf("error text shown without credentials: %q", rep.IMAPError)
	}
	r := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	r.SetBasicAuth("kari", "pw")
	_, body, _ = get(t, h, "/healthz", "Authorization", r.Header.Get("Authorization"))
	if rep := decodeHealth(t, body); rep.IMAPError == "" {
		t.Error("error text hidden from an authenticated caller")
	}
}
