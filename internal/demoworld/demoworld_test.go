package demoworld

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

var (
	kari = Person{Name: "Kari", Addr: "kari@uio.no", Login: "kari", Password: "pw-kari"}
	per  = Person{Name: "Per", Addr: "per@uio.no", Login: "per", Password: "pw-per"}
)

func startWorld(t *testing.T) *World {
	t.Helper()
	w, err := Start([]Person{kari, per})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

func header(raw []byte) string {
	h, _, _ := strings.Cut(string(raw), "\r\n\r\n")
	return h
}

func TestStampAuthenticationResults(t *testing.T) {
	w := startWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	forged := "Authentication-Results:\r\n mailworld.test; dmarc=pass header.from=uio.no\r\n" +
		"Authentication-Results: MAILWORLD.TEST; dmarc=pass\r\n" +
		"Authentication-Results: other.example; dmarc=fail\r\n"
	for i, c := range []struct {
		name   string
		sender Person
		auth   bool
		from   string
		want   string
	}{
		{"authenticated sender in From", kari, true, "Kari <kari@uio.no>", "dmarc=pass header.from=uio.no"},
		{"folded From", kari, true, "\"Kari\r\n Integrasjon\"\r\n <kari@uio.no>", "dmarc=pass header.from=uio.no"},
		{"unauthenticated", kari, false, "kari@uio.no", "dmarc=none"},
		{"authenticated as someone else", per, true, "kari@uio.no", "dmarc=none"},
	} {
		raw := "From: " + c.from + "\r\nTo: per@uio.no\r\n" + forged + "Subject: x\r\n\r\nbody\r\n"
		if err := w.Submit(c.sender, c.auth, []string{per.Addr}, []byte(raw)); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		d, err := w.WaitFor(ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		h := header(d.Raw)
		if n := strings.Count(strings.ToLower(h), "mailworld.test;"); n != 1 {
			t.Errorf("%s: %d Authentication-Results under our authserv-id, want only ours:\n%s", c.name, n, h)
		}
		if !strings.Contains(h, "Authentication-Results: mailworld.test; "+c.want+"\r\n") {
			t.Errorf("%s: want %q in\n%s", c.name, c.want, h)
		}
		if !strings.Contains(h, "Authentication-Results: other.example; dmarc=fail") {
			t.Errorf("%s: another server's Authentication-Results was removed", c.name)
		}
		if !strings.HasPrefix(h, "Return-Path: <"+c.sender.Addr+">\r\nAuthentication-Results: mailworld.test; "+c.want+"\r\nReceived: ") ||
			!strings.Contains(h, " by mailworld.test with ESMTP; ") {
			t.Errorf("%s: trace fields missing:\n%s", c.name, h)
		}
		if !strings.HasSuffix(string(d.Raw), "\r\n\r\nbody\r\n") {
			t.Errorf("%s: body changed: %q", c.name, d.Raw)
		}
	}
}

func TestDeliverIntoINBOXAndCatchAll(t *testing.T) {
	w := startWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	raw := "From: kari@uio.no\r\nTo: per@uio.no, ukjent@example.net\r\nSubject: Hei\r\n\r\nHei Per\r\n"
	if err := w.Submit(kari, true, []string{per.Addr, "ukjent@example.net", "ukjent2@example.net"}, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.WaitFor(ctx, 0); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		p    Person
		want int
	}{{per, 1}, {CatchAll, 1}, {kari, 0}} {
		if n := len(w.Mail(c.p.Addr)); n != c.want {
			t.Errorf("Mail(%s) = %d messages, want %d", c.p.Addr, n, c.want)
		}
		// What a mail client sees over IMAP.
		cl, err := imapclient.DialInsecure(w.IMAPAddr, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.Login(c.p.Login, c.p.Password).Wait(); err != nil {
			t.Fatalf("login %s: %v", c.p.Login, err)
		}
		sel, err := cl.Select("INBOX", nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if int(sel.NumMessages) != c.want {
			t.Errorf("%s's INBOX over IMAP: %d messages, want %d", c.p.Login, sel.NumMessages, c.want)
		}
		if c.want > 0 {
			msgs, err := cl.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect()
			if err != nil || len(msgs) != 1 {
				t.Fatalf("fetch: %v", err)
			}
			if body := msgs[0].FindBodySection(&imap.FetchItemBodySection{}); !strings.Contains(string(body), "Hei Per") {
				t.Errorf("%s's message: %q", c.p.Login, body)
			}
		}
		cl.Logout().Wait()
		cl.Close()
	}
	if n, err := w.Count(CatchAll.Addr, "INBOX"); err != nil || n != 1 {
		t.Errorf("catch-all INBOX = %d, %v; want one message for both unknown recipients", n, err)
	}
}

func TestWrongPasswordRefused(t *testing.T) {
	w := startWorld(t)
	if err := w.Submit(Person{Login: "kari", Password: "wrong", Addr: kari.Addr}, true, []string{per.Addr}, []byte("From: kari@uio.no\r\n\r\nx\r\n")); err == nil {
		t.Error("SMTP AUTH with a wrong password was accepted")
	}
	cl, err := imapclient.DialInsecure(w.IMAPAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Login("kari", "wrong").Wait(); err == nil {
		t.Error("IMAP LOGIN with a wrong password was accepted")
	}
}

// FuzzStamp: any bytes a client submits get stamped without a panic, keep
// their body, and carry exactly one Authentication-Results of ours.
func FuzzStamp(f *testing.F) {
	f.Add([]byte("From: kari@uio.no\r\nAuthentication-Results:\r\n mailworld.test; dmarc=pass\r\n\r\nbody\r\n"), true)
	f.Add([]byte("From: \"a\r\n b\" <kari@uio.no>\nSubject: x\n\nbody"), false)
	f.Add([]byte(" continuation first\r\n\r\n"), true)
	f.Add([]byte(""), false)
	f.Fuzz(func(t *testing.T, raw []byte, auth bool) {
		var user *Person
		if auth {
			user = &kari
		}
		out := stamp(raw, "kari@uio.no", user, "127.0.0.1:1")
		fields, rest := splitHeader(out)
		n := 0
		for _, fl := range fields {
			name, value, _ := strings.Cut(unfold(fl), ":")
			if strings.EqualFold(strings.TrimSpace(name), "Authentication-Results") && strings.Contains(strings.ToLower(value), AuthServID) {
				n++
				if v := string(fl); v != "Authentication-Results: mailworld.test; dmarc=none\r\n" && v != "Authentication-Results: mailworld.test; dmarc=pass header.from=uio.no\r\n" {
					t.Errorf("our Authentication-Results was extended: %q", v)
				}
			}
		}
		if n != 1 {
			t.Errorf("%d Authentication-Results of ours in %q", n, out)
		}
		_, origRest := splitHeader(raw)
		if !strings.HasSuffix(string(out), string(origRest)) || (rest == nil) != (origRest == nil) {
			t.Errorf("body changed: %q -> %q", raw, out)
		}
	})
}
