package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/config"
	"kontaktpunkt/gateway"
	"kontaktpunkt/store"
)

const (
	gwContact = "integrasjon@uio.no"
	gwKari    = "kari@uio.no"       // staff
	gwPer     = "per.hansen@uio.no" // team fs
	gwOla     = "ola.nordmann@example.org"
	gwAR      = "Authentication-Results: mx.uio.no; dkim=pass header.d=uio.no; dmarc=pass header.from=uio.no"
)

// gwSetup is a gateway over its own store with one case opened by mail
// from Ola, Monday 09:00 in Oslo.
type gwSetup struct {
	g   *gateway.Gateway
	st  *store.Store
	now time.Time
	id  kp.CaseID
}

func newGateway(t *testing.T) *gwSetup {
	t.Helper()
	cfg := config.Default()
	cfg.Contact.Address = gwContact
	cfg.Contact.Name = "Integrasjonskontakt"
	cfg.Staff.Members = []config.Person{{Name: "Kari Integrasjon", Address: gwKari}}
	cfg.Staff.Lead = gwKari
	cfg.Staff.Manager = "leder@uio.no"
	cfg.Staff.TrustedAuthservIDs = []string{"mx.uio.no"}
	cfg.Teams = []config.Team{{Name: "fs", Members: []string{gwPer}, Escalation: "fs-leder@uio.no"}}
	cfg.Limits.SpamSCL = 5
	st, err := store.Open(filepath.Join(t.TempDir(), "kp.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Check(); err != nil {
			t.Errorf("store check: %v", err)
		}
		st.Close()
	})
	g, err := gateway.New(cfg, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &gwSetup{g: g, st: st, now: time.Date(2026, 11, 23, 9, 0, 0, 0, g.Clock.Loc)}
	g.Now = func() time.Time { return s.now }
	res := s.ingest(t, rawMail([]string{"From: Ola Nordmann <" + gwOla + ">", "To: " + gwContact,
		"Subject: Tilgang til studentdata", "Message-ID: <req1@example.org>"}, "Hei,\nvi trenger tilgang.\n"))
	if res.Case == nil {
		t.Fatalf("setup: %+v", res)
	}
	s.id = *res.Case
	return s
}

func (s *gwSetup) ingest(t *testing.T, raw []byte) gateway.Result {
	t.Helper()
	s.now = s.now.Add(time.Minute)
	res, err := s.g.Ingest(context.Background(), []gateway.Item{{Source: "test", Raw: raw}})
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}

func rawMail(headers []string, body string) []byte {
	return []byte(strings.Join(headers, "\r\n") + "\r\nDate: Mon, 23 Nov 2026 09:00:00 +0100\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + strings.ReplaceAll(body, "\n", "\r\n"))
}

func (s *gwSetup) caseNow(t *testing.T) kp.Case {
	t.Helper()
	var c *kp.Case
	if err := s.st.View(func(tx *store.Tx) error {
		var err error
		c, err = tx.Case(s.id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return *c
}

// mail returns "kind to recipients" of every queued message after the
// first skip, leaving out the receipts a tag mail gets and the relay of
// its text to the requester, which a web action has no counterpart of.
func (s *gwSetup) mail(t *testing.T, skip int) []string {
	t.Helper()
	var list []kp.Outbound
	s.st.View(func(tx *store.Tx) error {
		var err error
		list, err = tx.ListOutbound("", 0)
		return err
	})
	slices.Reverse(list)
	var out []string
	for _, o := range list[skip:] {
		if o.Kind == "receipt" || o.Kind == "relay" {
			continue
		}
		out = append(out, o.Kind+" to "+strings.Join(o.To, ","))
	}
	return out
}

func (s *gwSetup) queued(t *testing.T) int {
	var n int
	s.st.View(func(tx *store.Tx) error {
		l, err := tx.ListOutbound("", 0)
		n = len(l)
		return err
	})
	return n
}

// webClient talks to a real HTTP server over the gateway's store.
type webClient struct {
	t    *testing.T
	srv  *httptest.Server
	user string
	pass string
}

func newWebServer(t *testing.T, s *gwSetup, authUser string) *webClient {
	t.Helper()
	o := Options{Store: s.st, TagPrefix: "INT", Now: s.g.Now, Location: s.g.Clock.Loc,
		Actions: s.g, IsStaff: s.g.Dir.IsStaff}
	if authUser != "" {
		o.AuthFile = writeAuthFile(t, authUser, "hemmelig")
	}
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &webClient{t: t, srv: srv, user: authUser, pass: "hemmelig"}
}

func (c *webClient) do(method, path string, form url.Values, auth bool) (int, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.srv.URL+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if auth && c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token reads the CSRF token from a case page.
func (c *webClient) token(id kp.CaseID) string {
	c.t.Helper()
	code, body := c.do("GET", fmt.Sprintf("/case/%d", id), nil, true)
	m := csrfRE.FindStringSubmatch(body)
	if code != 200 || m == nil {
		c.t.Fatalf("case page %d without a form token", code)
	}
	return m[1]
}

// act posts one action with a fresh token and expects the redirect back.
func (c *webClient) act(path string, form url.Values, id kp.CaseID) {
	c.t.Helper()
	form.Set("csrf", c.token(id))
	if code, body := c.do("POST", path, form, true); code != http.StatusSeeOther {
		c.t.Fatalf("POST %s %v: %d %s", path, form, code, body)
	}
}

func TestActionsRefusedWithoutAuthOrToken(t *testing.T) {
	s := newGateway(t)
	c := newWebServer(t, s, gwKari)
	path := fmt.Sprintf("/case/%d/act", s.id)
	before, queued := s.caseNow(t), s.queued(t)
	tok := c.token(s.id)

	other := newWebServer(t, s, "someone") // another process: another key
	otherTok := other.token(s.id)
	for _, tc := range []struct {
		name string
		form url.Values
		auth bool
		want int
	}{
		{"unauthenticated", url.Values{"do": {"close"}, "csrf": {tok}}, false, http.StatusUnauthorized},
		{"no token", url.Values{"do": {"close"}}, true, http.StatusForbidden},
		{"bad token", url.Values{"do": {"close"}, "csrf": {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}, true, http.StatusForbidden},
		{"token of another server", url.Values{"do": {"close"}, "csrf": {otherTok}}, true, http.StatusForbidden},
		{"tampered token", url.Values{"do": {"close"}, "csrf": {tok[:len(tok)-2] + "xx"}}, true, http.StatusForbidden},
	} {
		if code, _ := c.do("POST", path, tc.form, tc.auth); code != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, code, tc.want)
		}
	}
	if code, _ := c.do("GET", path, nil, true); code != http.StatusMethodNotAllowed {
		t.Errorf("GET of an action: %d", code)
	}
	for _, p := range []string{"/message/act", "/outbox/1/retry"} {
		if code, _ := c.do("POST", p, url.Values{"do": {"open"}, "msg": {"x"}}, false); code != http.StatusUnauthorized {
			t.Errorf("unauthenticated POST %s: %d", p, code)
		}
		if code, _ := c.do("POST", p, url.Values{"do": {"open"}, "msg": {"x"}}, true); code != http.StatusForbidden {
			t.Errorf("POST %s without token: %d", p, code)
		}
	}
	// A token is bound to its user and expires.
	s.now = s.now.Add(csrfTTL + time.Minute)
	if code, _ := c.do("POST", path, url.Values{"do": {"close"}, "csrf": {tok}}, true); code != http.StatusForbidden {
		t.Errorf("expired token: %d", code)
	}
	if after := s.caseNow(t); after.Status != before.Status || s.queued(t) != queued {
		t.Fatalf("a refused action changed the case or sent mail: %+v", after)
	}
}

func TestActionsWithoutAuthOnlyFromLoopback(t *testing.T) {
	s := newGateway(t)
	h, err := New(Options{Store: s.st, TagPrefix: "INT", Now: s.g.Now, Actions: s.g})
	if err != nil {
		t.Fatal(err)
	}
	// A request from elsewhere gets no form and may not act.
	code, body, _ := get(t, h, fmt.Sprintf("/case/%d", s.id))
	if code != 200 || strings.Contains(body, `name="csrf"`) {
		t.Fatalf("non-loopback client got forms (%d)", code)
	}
	r := httptest.NewRequest("POST", fmt.Sprintf("/case/%d/act", s.id), strings.NewReader("do=close"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden {
		t.Fatalf("POST from %s: %d", r.RemoteAddr, w.Code)
	}
	// httptest.Server listens on loopback: that client may.
	c := newWebServer(t, s, "")
	c.act(fmt.Sprintf("/case/%d/act", s.id), url.Values{"do": {"close"}}, s.id)
	if got := s.caseNow(t); got.Status != kp.StatusResolved {
		t.Fatalf("status %s", got.Status)
	}
}

// TestWebActionEqualsTag runs each action once from the web and once as
// a tag in a staff mail, on two stores with the same case, and compares
// the case and the mail each caused.
func TestWebActionEqualsTag(t *testing.T) {
	for _, tc := range []struct {
		name string
		form url.Values
		tag  string
	}{
		{"assign", url.Values{"do": {"assign"}, "arg": {gwPer}}, "[assign:" + gwPer + "]"},
		{"assign team", url.Values{"do": {"assign"}, "arg": {"fs"}}, "[assign:fs]"},
		{"take", url.Values{"do": {"take"}}, "[take]"},
		{"close", url.Values{"do": {"close"}}, "[close]"},
		{"status waiting", url.Values{"do": {"status"}, "arg": {"waiting"}}, "[status:waiting]"},
		{"priority", url.Values{"do": {"prio"}, "arg": {"urgent"}}, "[prio:urgent]"},
		{"escalate", url.Values{"do": {"escalate"}}, "[escalate]"},
		{"remind", url.Values{"do": {"remind"}, "arg": {"3d"}}, "[remind:3d]"},
		{"note", url.Values{"do": {"note"}, "text": {"Ringte Ola."}}, "[note]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			web, tag := newGateway(t), newGateway(t)
			skip := web.queued(t)
			c := newWebServer(t, web, gwKari)
			web.now = web.now.Add(time.Minute) // as the tag mail's ingest does
			c.act(fmt.Sprintf("/case/%d/act", web.id), tc.form, web.id)

			// Tags alone: text would be relayed to the requester, which
			// is the mail's doing, not the command's.
			body := ""
			if tc.name == "note" {
				body = "Ringte Ola.\n"
			}
			tag.ingest(t, rawMail([]string{"From: Kari <" + gwKari + ">", "To: " + gwContact, gwAR,
				fmt.Sprintf("Subject: Re: [INT#%d] Tilgang til studentdata %s", tag.id, tc.tag), "Message-ID: <kari1@uio.no>"}, body))

			a, b := web.caseNow(t), tag.caseNow(t)
			type fields struct {
				Status       kp.Status
				Assignee     string
				Team         string
				Priority     kp.Priority
				Escalation   int
				Next         string
				Participants int
			}
			f := func(c kp.Case) fields {
				n := ""
				if c.Next != nil {
					n = string(c.Next.Kind) + " " + c.Next.Due.Format(time.RFC3339)
				}
				return fields{c.Status, c.Assignee, c.Team, c.Priority, c.Escalation, n, len(c.Participants)}
			}
			if f(a) != f(b) {
				t.Errorf("case from the web %+v, from the tag %+v", f(a), f(b))
			}
			if wm, tm := web.mail(t, skip), tag.mail(t, skip); !slices.Equal(wm, tm) {
				t.Errorf("mail from the web %q, from the tag %q", wm, tm)
			}
			var msgs []kp.Message
			web.st.View(func(tx *store.Tx) error { msgs, _ = tx.CaseMessages(web.id); return nil })
			last := msgs[len(msgs)-1]
			for _, m := range msgs {
				if m.Source == "operator" {
					last = m
				}
			}
			if last.From.Addr != gwKari {
				t.Errorf("recorded as %q, want the staff address", last.From.Addr)
			}
		})
	}
}

func TestWebMergeLinkMoveRetry(t *testing.T) {
	s := newGateway(t)
	other := s.ingest(t, rawMail([]string{"From: Ola Nordmann <" + gwOla + ">", "To: " + gwContact,
		"Subject: Noe annet", "Message-ID: <req2@example.org>"}, "Hei igjen.\n"))
	o := *other.Case
	c := newWebServer(t, s, "kari") // not an address: acts as kari@web
	c.act(fmt.Sprintf("/case/%d/act", o), url.Values{"do": {"link"}, "arg": {fmt.Sprintf("[INT#%d]", s.id)}}, o)
	if got := s.caseNow(t); !slices.Contains(got.Links, o) {
		t.Fatalf("links %v", got.Links)
	}
	c.act("/message/act", url.Values{"do": {"move"}, "msg": {"req2@example.org"}, "case": {fmt.Sprint(s.id)}}, o)
	var m *kp.Message
	s.st.View(func(tx *store.Tx) error { m, _ = tx.Message("req2@example.org"); return nil })
	if m.Case != s.id {
		t.Fatalf("message on case %d", m.Case)
	}
	c.act(fmt.Sprintf("/case/%d/act", o), url.Values{"do": {"merge"}, "arg": {fmt.Sprint(s.id)}}, o)
	var merged *kp.Case
	s.st.View(func(tx *store.Tx) error { merged, _ = tx.Case(o); return nil })
	if merged.MergedInto != s.id {
		t.Fatalf("merged into %d", merged.MergedInto)
	}
	var msgs []kp.Message
	s.st.View(func(tx *store.Tx) error { msgs, _ = tx.CaseMessages(s.id); return nil })
	if !slices.ContainsFunc(msgs, func(m kp.Message) bool { return m.From.Addr == "kari@web" }) {
		t.Fatal("no line recorded as kari@web")
	}
	// A refused repair says why, and changes nothing.
	form := url.Values{"do": {"merge"}, "arg": {fmt.Sprint(s.id)}, "csrf": {c.token(s.id)}}
	if code, body := c.do("POST", fmt.Sprintf("/case/%d/act", s.id), form, true); code != http.StatusConflict || !strings.Contains(body, "itself") {
		t.Fatalf("merge into itself: %d %s", code, body)
	}
	// Retry of a failed outbound message.
	var failed uint64
	s.st.Update(func(tx *store.Tx) error {
		l, _ := tx.ListOutbound(kp.OutQueued, 0)
		for _, o := range l {
			if o.Case == s.id {
				o.State, o.LastError = kp.OutFailed, "550 no such user"
				failed = o.ID
				return tx.PutOutbound(&o)
			}
		}
		return fmt.Errorf("no mail of case %d", s.id)
	})
	_, page := c.do("GET", fmt.Sprintf("/case/%d", s.id), nil, true)
	mustContain(t, page, fmt.Sprintf(`action="/outbox/%d/retry"`, failed), "550 no such user")
	c.act(fmt.Sprintf("/outbox/%d/retry", failed), url.Values{}, s.id)
	s.st.View(func(tx *store.Tx) error {
		ob, _ := tx.Outbound(failed)
		if ob.State != kp.OutQueued {
			t.Errorf("after retry: %s", ob.State)
		}
		return nil
	})
}

func TestWebOpensCaseFromQuarantine(t *testing.T) {
	s := newGateway(t)
	r := s.ingest(t, rawMail([]string{"From: Liv <liv@example.net>", "To: " + gwContact, "Subject: Eksamen", "X-Spam-Flag: YES",
		"Message-ID: <liv1@example.net>"}, "Ikke spam.\n"))
	if r.Case != nil {
		t.Fatalf("setup: %+v", r)
	}
	garbage := s.ingest(t, []byte("\x00\x01 garbage"))
	c := newWebServer(t, s, gwKari)
	code, page := c.do("GET", "/unfiled", nil, true)
	if code != 200 {
		t.Fatalf("unfiled: %d", code)
	}
	mustContain(t, page, "Eksamen", "liv@example.net", "spam", "quarantined", `value="liv1@example.net"`, `value="open"`)
	_, page = c.do("GET", "/unfiled?f=spam", nil, true)
	mustContain(t, page, "Eksamen")
	mustNotContain(t, page, "quarantined</span>")
	// File the quarantined one into the case.
	c.act("/message/act", url.Values{"do": {"move"}, "msg": {garbage.MessageID}, "case": {fmt.Sprint(s.id)}}, s.id)
	var g *kp.Message
	s.st.View(func(tx *store.Tx) error { g, _ = tx.Message(garbage.MessageID); return nil })
	if g.Case != s.id {
		t.Fatalf("quarantined message on case %d", g.Case)
	}
	form := url.Values{"do": {"open"}, "msg": {"liv1@example.net"}, "csrf": {c.token(s.id)}}
	code, _ = c.do("POST", "/message/act", form, true)
	if code != http.StatusSeeOther {
		t.Fatalf("open: %d", code)
	}
	var m *kp.Message
	s.st.View(func(tx *store.Tx) error { m, _ = tx.Message("liv1@example.net"); return nil })
	if m.Case == 0 {
		t.Fatal("message still unfiled")
	}
	if got := s.mail(t, 0); !slices.Contains(got, "ack to liv@example.net") {
		t.Fatalf("mail %q", got)
	}
	if _, page = c.do("GET", "/unfiled", nil, true); !strings.Contains(page, "Nothing here.") {
		t.Fatal("filed messages still listed")
	}
}
