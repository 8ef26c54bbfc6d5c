package mailmsg

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	kp "kontaktpunkt"
)

func TestWireAddr(t *testing.T) {
	ok := map[string]string{
		"ola@uio.no":                   "ola@uio.no",
		"ola.nordmann+x@uio.no":        "ola.nordmann+x@uio.no",
		"john smith@example.org":       `"john smith"@example.org`,
		`"john smith"@example.org`:     `"john smith"@example.org`,
		"john.@docomo.ne.jp":           `"john."@docomo.ne.jp`,
		".john@docomo.ne.jp":           `".john"@docomo.ne.jp`,
		"taro..yamada@docomo.ne.jp":    `"taro..yamada"@docomo.ne.jp`,
		"a,b@example.org":              `"a,b"@example.org`,
		`a"b@example.org`:              `"a\"b"@example.org`,
		`a\b@example.org`:              `"a\\b"@example.org`,
		"a@b@example.org":              `"a@b"@example.org`,
		"x@[192.0.2.1]":                "x@[192.0.2.1]",
		"x@mail_relay.example.org":     "x@mail_relay.example.org",
		"o'brien@example.ie":           "o'brien@example.ie",
		"a(comment)b@example.org":      `"a(comment)b"@example.org`,
		"semi;colon@example.org":       `"semi;colon"@example.org`,
		"tab\there@example.org":        "",
		"per\x00@uio.no":               "",
		"per\r\nbcc: x@evil@example":   "",
		"pål@uio.no":                   "",
		"per@uiø.no":                   "",
		"per@":                         "",
		"@uio.no":                      "",
		"per":                          "",
		"per@uio..no":                  "",
		"per@-uio.no":                  "",
		"per@uio.no ":                  "",
		"per@[unclosed":                "",
		strings.Repeat("a", 65) + "@x": "",
	}
	for in, want := range ok {
		got, err := WireAddr(in)
		if want == "" {
			if err == nil || !errors.Is(err, ErrAddress) {
				t.Errorf("WireAddr(%q) = %q, %v; want an ErrAddress", in, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("WireAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestOddAddressesComposeAndParseBack: an address the parser accepted and
// CheckAddress lets through is written so that a parser reads the same
// address back.
func TestOddAddressesComposeAndParseBack(t *testing.T) {
	for _, addr := range []string{"john smith@example.org", "john.@docomo.ne.jp", "taro..yamada@docomo.ne.jp", "a,b@example.org", `a"b@example.org`} {
		if err := CheckAddress(addr); err != nil {
			t.Fatalf("CheckAddress(%q) = %v", addr, err)
		}
		raw, err := Compose(OutMail{
			From: kp.Address{Addr: "integrasjon@uio.no"}, To: []kp.Address{{Name: "Odd", Addr: addr}},
			Cc: []kp.Address{{Addr: "ola@uio.no"}}, Subject: "x", Text: "y", MessageID: "a@uio.no", Date: time.Now(),
		})
		if err != nil {
			t.Fatalf("Compose to %q: %v", addr, err)
		}
		p, err := Parse(raw)
		if err != nil || len(p.To) != 1 || p.To[0].Addr != addr {
			t.Fatalf("composed To %q parsed back as %+v (%v)\n%s", addr, p.To, err, raw)
		}
	}
}

// FuzzComposeParsedAddresses is the property the gateway relies on: every
// address the parser yields from a header either passes CheckAddress, and
// then Compose accepts it, or is refused by CheckAddress and left out.
func FuzzComposeParsedAddresses(f *testing.F) {
	for _, s := range []string{
		`"john smith"@example.org`, "john.@docomo.ne.jp", "taro..yamada@docomo.ne.jp", `"a,b"@example.org`,
		"=?utf-8?q?P=C3=A5l?= <pål@uio.no>", "x\x00y@uio.no", "Ola <ola@uio.no>, Kari <kari@uio.no>",
		"<\"weird\\\"quote\"@x.org>", "a@[1.2.3.4]", "undisclosed-recipients:;", "\xff\xfe@x.y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cc string) {
		raw := []byte("From: ola@uio.no\r\nTo: integrasjon@uio.no\r\nCc: " + cc + "\r\nSubject: x\r\n\r\nbody\r\n")
		p, err := Parse(raw)
		if err != nil || p == nil {
			return
		}
		for _, a := range append(append([]kp.Address{}, p.Cc...), p.To...) {
			if CheckAddress(a.Addr) != nil {
				continue // left out of the mail by the gateway
			}
			_, err := Compose(OutMail{
				From: kp.Address{Addr: "integrasjon@uio.no"}, To: []kp.Address{a}, Subject: "x", Text: "y",
				MessageID: "a@uio.no", Date: time.Now(),
			})
			if err != nil {
				t.Fatalf("CheckAddress accepted %q but Compose refused it: %v", a.Addr, err)
			}
		}
	})
}

func TestParseMalformedAddressesKeepWhatParses(t *testing.T) {
	p := mustParse(t, "From: Bob Dunite <bob@extern> Bobby Dunite <bobby@extern>\n"+
		"To: ok@example.org, \"Broken <x\" , Name With Spaces broken@example.org, =?utf-8?Q?=C3=98ystein?= <oy@example.org>, nobody\n"+
		"Subject: s\n\nx\n")
	if p.From.Addr != "bob@extern" {
		t.Errorf("from %+v", p.From)
	}
	var addrs []string
	for _, a := range p.To {
		addrs = append(addrs, a.Name+"|"+a.Addr)
	}
	want := []string{"|ok@example.org", "Name With Spaces|broken@example.org", "Øystein|oy@example.org"}
	if !equalStrings(addrs, want...) {
		t.Errorf("to = %q, want %q", addrs, want)
	}
	if !hasDefect(p, "malformed address") {
		t.Errorf("defects %q", p.Defects)
	}
}

// TestSimpleAddrListAgreesWithNetMail checks the fast path for common
// address lists against net/mail wherever the fast path answers.
func TestSimpleAddrListAgreesWithNetMail(t *testing.T) {
	inputs := []string{
		"a@b.example",
		"<a@b.example>",
		"Kari Nordmann <kari@vegvesen.no>",
		"Kari   Nordmann <kari@vegvesen.no>",
		`"integrasjon@uio.no" <integrasjon@uio.no>`,
		`"Nordmann  Kari (NAV)" <kari@nav.no>`,
		"a@b.example, Ola <ola@uio.no>, <c@d.example>",
		"O'Brien <ob@x.example>",
		"first.last+tag@sub.example.org",
		"J. R. Hacker <jr@x.example>",
		// Shapes the fast path must leave to net/mail:
		`"Nordmann, Kari" <kari@nav.no>`,
		"=?utf-8?Q?=C3=98ystein?= <oy@example.org>",
		"kari@vegvesen.no (Kari)",
		"undisclosed-recipients:;",
		"Bjørn <b@x.example>",
		`"a\"b" <a@b.example>`,
		"a@b.example,",
		"<a@[192.0.2.1]>",
		".a@b.example",
		"a@b..example",
		"Name <a@b.example> junk",
		"",
	}
	for _, in := range inputs {
		fast, ok := simpleAddrList(in)
		if !ok {
			continue
		}
		l, err := addrParser.ParseList(in)
		if err != nil {
			t.Errorf("%q: fast path accepted what net/mail refuses (%v)", in, err)
			continue
		}
		var slow []kp.Address
		for _, a := range l {
			slow = append(slow, kp.Address{Name: a.Name, Addr: a.Address})
		}
		if fmt.Sprint(fast) != fmt.Sprint(slow) {
			t.Errorf("%q: fast %+v, net/mail %+v", in, fast, slow)
		}
	}
}

func TestDisplayNamesHaveNoLineBreaks(t *testing.T) {
	raw := "From: =?utf-8?q?Ola=0D=0ABcc:_x=40evil.example?= <ola@example.org>\r\n" +
		"To: =?utf-8?q?Integrasjon=0AFake_line?= <integrasjon@uio.no>\r\n" +
		"Cc: =?utf-8?q?Per=C2=85Fake=E2=80=A8line?= <per@example.org>\r\n" +
		"Subject: x\r\n\r\nHei\r\n"
	p, err := Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if p.From.Name != "Ola Bcc: x@evil.example" || len(p.To) != 1 || p.To[0].Name != "Integrasjon Fake line" ||
		len(p.Cc) != 1 || p.Cc[0].Name != "Per Fake line" {
		t.Errorf("From %q, To %q, Cc %q", p.From.Name, p.To, p.Cc)
	}
}
