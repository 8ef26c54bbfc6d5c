package routing

import (
	"errors"
	"reflect"
	"testing"

	kp "kontaktpunkt"
)

// Real-world Authentication-Results values (addresses and signatures as
// published in public mail archives and the shared corpus), used as table
// rows and fuzz seeds.
var (
	arGmail = "mx.google.com;\r\n       dkim=pass header.i=@googlemail.com header.s=20210112 header.b=PqBP51+l;\r\n" +
		"       spf=none (google.com: mail-sor-f69.google.com does not designate permitted sender hosts) smtp.helo=mail-sor-f69.google.com;\r\n" +
		"       dmarc=pass (p=QUARANTINE sp=QUARANTINE dis=NONE) header.from=googlemail.com"
	// Microsoft 365 writes no authserv-id and adds compauth and action.
	arM365 = "spf=pass (sender IP is 209.85.128.41)\r\n smtp.mailfrom=gmail.com; dkim=pass (signature was verified)\r\n" +
		" header.d=gmail.com;dmarc=pass action=none header.from=gmail.com;compauth=pass\r\n reason=100"
	arM365Fail = "spf=none (sender IP is 185.132.181.12)\r\n smtp.helo=dispatchb-eu1.ppe-hosted.com; dkim=none (message not signed)\r\n" +
		" header.d=none;dmarc=fail action=none\r\n header.from=hmail.jitbit.com;compauth=softpass reason=202"
	// UiO's inbound relays stamp the header with their host name, as
	// Exim/rspamd-style filters do, and sign outbound mail with d=uio.no.
	arUiO = "mail-mx11.uio.no;\r\n\tdkim=pass header.d=uio.no header.s=key2023 header.b=\"Xk2v/9aQ\";\r\n" +
		"\tdmarc=pass (policy=reject) header.from=uio.no;\r\n\tspf=pass (mail-mx11.uio.no: domain of ola.nordmann@uio.no designates 129.240.10.58 as permitted sender) smtp.mailfrom=ola.nordmann@uio.no"
	// OpenDKIM and OpenDMARC stamp one header each with the same authserv-id.
	arKernelDKIM  = "mail.kernel.org;\r\n\tdkim=fail reason=\"signature verification failed\" (2048-bit key) header.d=infradead.org header.i=@infradead.org header.b=\"D9E3AJHJ\""
	arKernelDMARC = "mail.kernel.org; dmarc=none (p=none dis=none) header.from=lst.de"
	arRFCNone     = "example.com 1; none"
	arRFCExample  = "example.com;\r\n                  spf=pass smtp.mailfrom=example.net\r\n" +
		"                  header.from=example.net; sender-id=pass header.from=example.net"
)

func TestParseAuthResults(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		id      string
		results []AuthResult
		err     bool
	}{
		{name: "gmail", in: arGmail, id: "mx.google.com", results: []AuthResult{
			{"dkim", "pass", map[string]string{"header.i": "@googlemail.com", "header.s": "20210112", "header.b": "PqBP51+l"}},
			{"spf", "none", map[string]string{"smtp.helo": "mail-sor-f69.google.com"}},
			{"dmarc", "pass", map[string]string{"header.from": "googlemail.com"}},
		}},
		{name: "microsoft 365 without authserv-id", in: arM365, id: "", results: []AuthResult{
			{"spf", "pass", map[string]string{"smtp.mailfrom": "gmail.com"}},
			{"dkim", "pass", map[string]string{"header.d": "gmail.com"}},
			{"dmarc", "pass", map[string]string{"action": "none", "header.from": "gmail.com"}},
			{"compauth", "pass", map[string]string{"reason": "100"}},
		}},
		{name: "microsoft 365 fail", in: arM365Fail, id: "", results: []AuthResult{
			{"spf", "none", map[string]string{"smtp.helo": "dispatchb-eu1.ppe-hosted.com"}},
			{"dkim", "none", map[string]string{"header.d": "none"}},
			{"dmarc", "fail", map[string]string{"action": "none", "header.from": "hmail.jitbit.com"}},
			{"compauth", "softpass", map[string]string{"reason": "202"}},
		}},
		{name: "uio", in: arUiO, id: "mail-mx11.uio.no", results: []AuthResult{
			{"dkim", "pass", map[string]string{"header.d": "uio.no", "header.s": "key2023", "header.b": "Xk2v/9aQ"}},
			{"dmarc", "pass", map[string]string{"header.from": "uio.no"}},
			{"spf", "pass", map[string]string{"smtp.mailfrom": "ola.nordmann@uio.no"}},
		}},
		{name: "quoted reason", in: arKernelDKIM, id: "mail.kernel.org", results: []AuthResult{
			{"dkim", "fail", map[string]string{"reason": "signature verification failed", "header.d": "infradead.org", "header.i": "@infradead.org", "header.b": "D9E3AJHJ"}},
		}},
		{name: "none with version", in: arRFCNone, id: "example.com"},
		{name: "rfc example", in: arRFCExample, id: "example.com", results: []AuthResult{
			{"spf", "pass", map[string]string{"smtp.mailfrom": "example.net", "header.from": "example.net"}},
			{"sender-id", "pass", map[string]string{"header.from": "example.net"}},
		}},
		{name: "method version and spaces around equals", in: "mx.example.org; dkim/1 = pass header.d = example.org",
			id: "mx.example.org", results: []AuthResult{{"dkim", "pass", map[string]string{"header.d": "example.org"}}}},
		{name: "quoted authserv-id and nested comment", in: `"mx.example.org" (a (nested \) comment)); dmarc=PASS header.from=Example.ORG`,
			id: "mx.example.org", results: []AuthResult{{"dmarc", "pass", map[string]string{"header.from": "Example.ORG"}}}},
		{name: "trailing semicolon", in: "mx.example.org; spf=pass smtp.mailfrom=a@example.org;",
			id: "mx.example.org", results: []AuthResult{{"spf", "pass", map[string]string{"smtp.mailfrom": "a@example.org"}}}},
		{name: "duplicate property keeps the first", in: "mx; dkim=pass header.d=a.example header.d=b.example",
			id: "mx", results: []AuthResult{{"dkim", "pass", map[string]string{"header.d": "a.example"}}}},
		{name: "empty value", in: "mx; dkim=pass header.d= header.s=x",
			id: "mx", results: []AuthResult{{"dkim", "pass", map[string]string{"header.d": "", "header.s": "x"}}}},

		{name: "empty", in: "", err: true},
		{name: "only comment", in: " (nothing) ", err: true},
		{name: "missing semicolon after id", in: "mx4.mail5.example.com\r\n  from=example.jp; domainkeys=neutral (no sig)", err: true},
		{name: "unterminated comment", in: "mx; dkim=pass (oops", err: true},
		{name: "unbalanced paren", in: "mx; dkim=pass oops)", err: true},
		{name: "unterminated quote", in: `mx; dkim=pass reason="oops`, err: true},
		{name: "method without result", in: "mx; dkim", err: true},
		{name: "method with empty result", in: "mx; dkim=", err: true},
		{name: "stray word", in: "mx; dkim=pass header.d=x junk", err: true},
		{name: "two words before semicolon", in: "mx other; dkim=pass", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, results, err := ParseAuthResults(tt.in)
			if tt.err {
				if err == nil || !errors.Is(err, ErrAuthResults) {
					t.Fatalf("ParseAuthResults = %q, %#v, %v; want ErrAuthResults", id, results, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAuthResults: %v", err)
			}
			if id != tt.id {
				t.Errorf("authserv-id = %q, want %q", id, tt.id)
			}
			if !reflect.DeepEqual(results, tt.results) {
				t.Errorf("results =\n%#v\nwant\n%#v", results, tt.results)
			}
		})
	}
}

func TestAuthenticated(t *testing.T) {
	trusted := []string{"mail-mx11.uio.no", "MX.Google.com"}
	tests := []struct {
		name    string
		headers []string
		trusted []string
		from    string
		want    bool
	}{
		{name: "uio dmarc pass", headers: []string{arUiO}, from: "ola.nordmann@uio.no", want: true},
		{name: "uio From case-insensitive", headers: []string{arUiO}, from: "Ola.Nordmann@UIO.NO", want: true},
		{name: "gmail dmarc pass, trusted id case-insensitive", headers: []string{arGmail}, from: "x@googlemail.com", want: true},
		{name: "dmarc header.from other domain", headers: []string{arGmail}, from: "x@uio.no", want: false},
		{name: "untrusted authserv-id", headers: []string{arUiO}, trusted: []string{"mx.example.org"}, from: "ola@uio.no", want: false},
		{name: "no trusted ids", headers: []string{arUiO}, trusted: []string{}, from: "ola@uio.no", want: false},
		{name: "m365 without id untrusted by default", headers: []string{arM365}, from: "x@gmail.com", want: false},
		{name: "m365 trusted when empty id listed", headers: []string{arM365}, trusted: []string{""}, from: "x@gmail.com", want: true},
		{name: "m365 dmarc fail", headers: []string{arM365Fail}, trusted: []string{""}, from: "x@hmail.jitbit.com", want: false},
		{name: "dmarc pass without header.from", headers: []string{"mail-mx11.uio.no; dmarc=pass"}, from: "a@uio.no", want: true},
		{name: "dmarc fail", headers: []string{"mail-mx11.uio.no; dmarc=fail header.from=uio.no"}, from: "a@uio.no", want: false},
		{name: "spf pass alone is not enough", headers: []string{"mail-mx11.uio.no; spf=pass smtp.mailfrom=a@uio.no"}, from: "a@uio.no", want: false},
		{name: "dkim aligned exact", headers: []string{"mail-mx11.uio.no; dkim=pass header.d=uio.no"}, from: "a@uio.no", want: true},
		{name: "dkim aligned subdomain signer", headers: []string{"mail-mx11.uio.no; dkim=pass header.d=ifi.uio.no"}, from: "a@uio.no", want: true},
		{name: "dkim aligned subdomain From", headers: []string{"mail-mx11.uio.no; dkim=pass header.d=uio.no"}, from: "a@usit.uio.no", want: true},
		{name: "dkim sibling subdomains align", headers: []string{"mail-mx11.uio.no; dkim=pass header.d=mail.uio.no"}, from: "a@usit.uio.no", want: true},
		{name: "dkim header.i only", headers: []string{"mail-mx11.uio.no; dkim=pass header.i=@uio.no"}, from: "a@uio.no", want: true},
		{name: "dkim header.i with local part", headers: []string{"mail-mx11.uio.no; dkim=pass header.i=ola@ifi.uio.no"}, from: "a@uio.no", want: true},
		{name: "dkim unaligned", headers: []string{"mail-mx11.uio.no; dkim=pass header.d=evil.example"}, from: "a@uio.no", want: false},
		{name: "dkim lookalike suffix", headers: []string{"mail-mx11.uio.no; dkim=pass header.d=notuio.no"}, from: "a@uio.no", want: false},
		{name: "dkim under the From as suffix of attacker", headers: []string{"mail-mx11.uio.no; dkim=pass header.d=uio.no.evil.example"}, from: "a@uio.no", want: false},
		{name: "dkim co.uk siblings do not align", headers: []string{"mail-mx11.uio.no; dkim=pass header.d=evil.co.uk"}, from: "a@victim.co.uk", want: false},
		{name: "dkim co.uk subdomain aligns", headers: []string{"mail-mx11.uio.no; dkim=pass header.d=mail.victim.co.uk"}, from: "a@victim.co.uk", want: true},
		{name: "dkim gov.uk siblings do not align", headers: []string{"mail-mx11.uio.no; dkim=pass header.d=evil.gov.uk"}, from: "a@victim.gov.uk", want: false},
		{name: "dkim com.au siblings do not align", headers: []string{"mail-mx11.uio.no; dkim=pass header.d=evil.com.au"}, from: "a@victim.com.au", want: false},
		{name: "dkim two-letter org name: exact only", headers: []string{"mail-mx11.uio.no; dkim=pass header.d=nr.no"}, from: "a@nr.no", want: true},
		{name: "dkim signed by public suffix", headers: []string{"mail-mx11.uio.no; dkim=pass header.d=no"}, from: "a@uio.no", want: false},
		{name: "dkim fail", headers: []string{"mail-mx11.uio.no; dkim=fail header.d=uio.no"}, from: "a@uio.no", want: false},
		{name: "dkim pass without domain", headers: []string{"mail-mx11.uio.no; dkim=pass"}, from: "a@uio.no", want: false},
		{name: "separate dkim and dmarc headers", headers: []string{"mail-mx11.uio.no; dkim=fail header.d=uio.no", "mail-mx11.uio.no; dmarc=pass header.from=uio.no"}, from: "a@uio.no", want: true},
		{name: "malformed header ignored, next counts", headers: []string{"mail-mx11.uio.no; dmarc=pass (oops", "mail-mx11.uio.no; dkim=pass header.d=uio.no"}, from: "a@uio.no", want: true},
		{name: "forged header from untrusted id", headers: []string{"mail-mx11.uio.no; dmarc=fail header.from=uio.no", "evil.example; dmarc=pass header.from=uio.no"}, from: "a@uio.no", want: false},
		{name: "no headers", from: "a@uio.no", want: false},
		{name: "no From", headers: []string{arUiO}, from: "", want: false},
		{name: "From without domain", headers: []string{"mail-mx11.uio.no; dmarc=pass"}, from: "ola", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := trusted
			if tt.trusted != nil {
				tr = tt.trusted
			}
			if got := Authenticated(tt.headers, tr, tt.from); got != tt.want {
				t.Errorf("Authenticated(%q, %q, %q) = %v, want %v", tt.headers, tr, tt.from, got, tt.want)
			}
		})
	}
}

func TestOrgDomain(t *testing.T) {
	tests := []struct{ in, want string }{
		{"uio.no", "uio.no"},
		{"mail.ifi.UIO.no.", "uio.no"},
		{"victim.co.uk", "victim.co.uk"},
		{"a.b.victim.co.uk", "victim.co.uk"},
		{"x.y.gov.uk", "y.gov.uk"},
		{"mail.victim.com.au", "victim.com.au"},
		{"ola.priv.no", "ola.priv.no"},
		{"mail.example.com", "example.com"},
		{"example.unknowntld", "example.unknowntld"},
		{"no", ""},
		{"co.uk", ""},
		{"gov.uk", ""},
		{"nr.no", ""}, // the approximation's known strictness
		{"", ""},
		{".uio.no", ""},
		{"a..uio.no", ""},
	}
	for _, tt := range tests {
		if got := orgDomain(tt.in); got != tt.want {
			t.Errorf("orgDomain(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAligned(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"uio.no", "UIO.NO", true},
		{"ifi.uio.no", "uio.no", true},
		{"ifi.uio.no", "usit.uio.no", true},
		{"nr.no", "nr.no", true},
		{"mail.nr.no", "nr.no", false},
		{"notuio.no", "uio.no", false},
		{"co.uk", "co.uk", true},
		{"a.co.uk", "co.uk", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := aligned(tt.a, tt.b); got != tt.want {
			t.Errorf("aligned(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func BenchmarkAuthenticated(b *testing.B) {
	headers := []string{arM365, arGmail, arUiO}
	trusted := []string{"mail-mx11.uio.no"}
	for b.Loop() {
		Authenticated(headers, trusted, "ola.nordmann@uio.no")
	}
}

func TestOwnAuthResults(t *testing.T) {
	trusted := []string{"mx.uio.no"}
	const (
		own      = "mx.uio.no; dmarc=pass header.from=uio.no"
		ownFail  = "mx.uio.no; dmarc=fail header.from=uio.no"
		forged   = "mx.uio.no; dmarc=pass (forged) header.from=uio.no"
		border   = "from mail.example.org (mail.example.org [192.0.2.1]) by mx.uio.no (Postfix) with ESMTPS id 4Abc; Mon, 23 Nov 2026 09:00:00 +0100"
		lmtp     = "from mx.uio.no by imap.uio.no (Dovecot) with LMTP id x; Mon, 23 Nov 2026 09:00:01 +0100"
		outside  = "from [10.0.0.5] by mail.example.org (Postfix) with ESMTPSA id 1; Mon, 23 Nov 2026 08:59:59 +0100"
		fakeHop  = "from evil by mx.uio.no with SMTP id fake; Mon, 23 Nov 2026 08:59:58 +0100"
		otherMTA = "from a by b.example.net with SMTP; Mon, 23 Nov 2026 08:59:58 +0100"
	)
	ar := func(v string) kp.HeaderField { return kp.HeaderField{Name: "Authentication-Results", Value: v} }
	rc := func(v string) kp.HeaderField { return kp.HeaderField{Name: "Received", Value: v} }
	tests := []struct {
		name  string
		trace []kp.HeaderField
		want  []string
	}{
		{"above the border hop", []kp.HeaderField{ar(own), rc(border), rc(outside)}, []string{own}},
		{"internal hop above the border", []kp.HeaderField{rc(lmtp), ar(own), rc(border), rc(outside)}, []string{own}},
		{"sender's header below the border hop", []kp.HeaderField{rc(border), ar(forged), rc(outside)}, nil},
		{"sender's header below ours", []kp.HeaderField{ar(ownFail), rc(border), ar(forged)}, []string{ownFail}},
		{"forged Received naming us below the real one", []kp.HeaderField{ar(own), rc(border), ar(forged), rc(fakeHop)}, []string{own}},
		{"no Received names us: only above every Received", []kp.HeaderField{ar(own), rc(otherMTA), ar(forged)}, []string{own}},
		{"no Received names us, nothing above", []kp.HeaderField{rc(otherMTA), ar(forged)}, nil},
		{"no Received at all", []kp.HeaderField{ar(own)}, []string{own}},
		{"untrusted id above the border", []kp.HeaderField{ar("evil.example; dmarc=pass"), rc(border)}, nil},
		{"border hop with comment before by", []kp.HeaderField{ar(own), rc("from x (helo by evil) by MX.UIO.NO. with ESMTP"), ar(forged)}, []string{own}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := OwnAuthResults(tt.trace, trusted)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("OwnAuthResults = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAuthenticatedFailWinsOverPass(t *testing.T) {
	trusted := []string{"mx.uio.no"}
	for _, hs := range [][]string{
		{"mx.uio.no; dmarc=fail header.from=uio.no", "mx.uio.no; dmarc=pass header.from=uio.no"},
		{"mx.uio.no; dmarc=pass header.from=uio.no", "mx.uio.no; dmarc=fail header.from=uio.no"},
		{"mx.uio.no; dkim=pass header.d=uio.no; dmarc=fail header.from=uio.no"},
		{"mx.uio.no; dmarc=fail", "mx.uio.no; dkim=pass header.d=uio.no"},
	} {
		if Authenticated(hs, trusted, "kari@uio.no") {
			t.Errorf("Authenticated(%q) = true, want false: a fail wins", hs)
		}
	}
}

func TestReceivedBy(t *testing.T) {
	for v, want := range map[string]string{
		"from a (b [1.2.3.4]) by mx.uio.no (Postfix) with ESMTP id X; date": "mx.uio.no",
		"by MX.UIO.NO. with LMTP":                    "mx.uio.no",
		"from a (by evil.example) by mx.uio.no":      "mx.uio.no",
		"from a (nested (by evil)) BY host.example;": "host.example",
		"from a with SMTP":                           "",
		"":                                           "",
		"by":                                         "",
	} {
		if got := ReceivedBy(v); got != want {
			t.Errorf("ReceivedBy(%q) = %q, want %q", v, got, want)
		}
	}
}
