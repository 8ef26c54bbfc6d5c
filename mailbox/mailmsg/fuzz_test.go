package mailmsg

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	kp "kontaktpunkt"
)

// fuzzCorpusSeeds are shared-corpus files that exercise the parser's
// lenient paths; they are read at run time (never copied into the
// repository) when the corpus is present.
var fuzzCorpusSeeds = []string{
	"mimekit/compliance/missing-multipart-boundary.eml",
	"mimekit/compliance/raw-koi8r-header.eml",
	"mimekit/compliance/invalid-content-transfer-encoding-rfc822.eml",
	"mimekit/messages/delivery-status-no-blank-line.txt",
	"mimekit/messages/body.5.txt",
	"enmime/low-quality/bad-header-wrap.raw",
	"enmime/mail/malformed-multiple-address-header-values.raw",
	"enmime/parts/multimixed-no-closing-boundary.raw",
	"sisimai/maildir-mac-cr/lhost-postfix-01.eml",
	"sisimai/maildir-bsd/lhost-qmail-01.eml",
}

func addFuzzSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "parse", "*.eml"))
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte(""))
	f.Add([]byte("From: a@b\n\nx"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/alternative; boundary=b\n\n--b\n\nx\n--b--\n--a--\n"))
	f.Add([]byte("Subject: =?utf-8?B?w7g=?= =?x?Q?=FF?=\r\nContent-Type: text/html\r\n\r\n<p>a<br><a href=x>y</a>"))
	f.Add([]byte("From: =?utf-8?q?Ola=0D=0ABcc:_x?= <a@b.example>\r\nCc: =?utf-8?q?P=C2=85er=E2=80=A8?= <c@d.example>, \"x\\\ry\" <e@f.example>\r\n\r\nx"))
	// The shared corpus is optional here: fuzzing is not a correctness
	// gate for it (the corpus tests are).
	if root := findCorpus(); root != "" {
		for _, rel := range fuzzCorpusSeeds {
			if raw, err := os.ReadFile(filepath.Join(root, rel)); err == nil {
				f.Add(raw)
			}
		}
	}
}

// findCorpus returns ../shared/corpus next to the repository root, or "".
func findCorpus() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			c := filepath.Join(dir, "..", "shared", "corpus")
			if _, err := os.Stat(c); err == nil {
				return c
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// FuzzParse checks Parse's guarantees on arbitrary input: no panic (the
// top-level recover would report it as a defect, which fails here too), a
// result with a canonical MessageID and the right Size, valid UTF-8 text
// within the cap, and an error only wrapping ErrUnusable.
func FuzzParse(f *testing.F) {
	addFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := Parse(raw)
		if p == nil {
			t.Fatal("nil result")
		}
		for _, d := range p.Defects {
			if strings.HasPrefix(d, "internal parser failure") {
				t.Fatalf("panic inside Parse: %s", d)
			}
		}
		if p.MessageID == "" || CanonicalID(p.MessageID) != p.MessageID {
			t.Fatalf("MessageID %q is not canonical", p.MessageID)
		}
		if p.Size != int64(len(raw)) {
			t.Fatalf("Size %d, want %d", p.Size, len(raw))
		}
		if len(p.Text) > maxText || !utf8.ValidString(p.Text) || !utf8.ValidString(p.Subject) {
			t.Fatalf("text %d bytes, valid text %v, valid subject %v", len(p.Text), utf8.ValidString(p.Text), utf8.ValidString(p.Subject))
		}
		if err != nil && p.From.Addr != "" {
			t.Fatalf("unusable although a sender was found: %v", err)
		}
		for _, a := range p.Attachments {
			if a.Size < 0 || a.Size > int64(len(raw)) {
				t.Fatalf("attachment size %d of a %d byte message", a.Size, len(raw))
			}
		}
		for _, a := range append(append(append([]kp.Address{p.From, p.Sender}, p.ReplyTo...), p.To...), p.Cc...) {
			if kp.CleanName(a.Name) != a.Name {
				t.Fatalf("display name %q is not clean", a.Name)
			}
		}
		if len(p.BounceDetails) != len(p.BounceRecipients) {
			t.Fatalf("%d bounce details for %d recipients", len(p.BounceDetails), len(p.BounceRecipients))
		}
		for i, d := range p.BounceDetails {
			if d.Recipient != p.BounceRecipients[i] || len(d.Diagnostic) > maxDiagnostic+len("…") || !utf8.ValidString(d.Diagnostic) {
				t.Fatalf("bounce detail %d = %+v for recipient %q", i, d, p.BounceRecipients[i])
			}
		}
		for _, id := range append(append(p.InReplyTo, p.References...), p.EmbeddedIDs...) {
			if id == "" || CanonicalID(id) != id {
				t.Fatalf("id %q is not canonical", id)
			}
		}
	})
}

// FuzzParseIDList checks that every id returned is canonical, unique and
// free of brackets and white space, and that the list is bounded.
func FuzzParseIDList(f *testing.F) {
	for _, s := range []string{
		"<a@b.example> <c@D.example>",
		"<a@b.example>,<c@d.example>",
		"(comment <x@y>) <a@b.example>",
		`Your message of "Mon" <a@b.example>`,
		"a@b.example c@d.example",
		"<a@b.example",
		"<<>>",
		"((((",
		"<a@b.example>\r\n\t<c@d.example>",
		// Unicode white space, where CanonicalID and ParseIDList once
		// disagreed.
		"0\u3000@",
		"0\u0085@",
		"<a\u2028b@c.example>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids := ParseIDList(s)
		if len(ids) > maxIDs {
			t.Fatalf("%d ids", len(ids))
		}
		seen := map[string]bool{}
		for _, id := range ids {
			if id == "" || CanonicalID(id) != id || strings.ContainsAny(id, "<> \t\r\n") {
				t.Fatalf("id %q not canonical (%q)", id, CanonicalID(id))
			}
			if seen[id] {
				t.Fatalf("duplicate %q", id)
			}
			seen[id] = true
		}
	})
}

// FuzzSimpleAddrList checks the address fast path against net/mail: what
// the fast path accepts, net/mail must parse to the same addresses.
func FuzzSimpleAddrList(f *testing.F) {
	for _, s := range []string{
		"a@b.example", "Kari Nordmann <kari@vegvesen.no>", `"x@y" <x@y.example>`,
		"a@b.example, Ola <ola@uio.no>", "J. R. Hacker <jr@x.example>", "O'Brien <ob@x.example>",
		"\v0@0", // white space net/mail does not skip
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fast, ok := simpleAddrList(s)
		if !ok {
			return
		}
		l, err := addrParser.ParseList(s)
		if err != nil {
			t.Fatalf("%q: fast path accepted what net/mail refuses: %v", s, err)
		}
		if len(l) != len(fast) {
			t.Fatalf("%q: fast %v, net/mail %v", s, fast, l)
		}
		for i, a := range l {
			if a.Name != fast[i].Name || a.Address != fast[i].Addr {
				t.Fatalf("%q: fast %+v, net/mail %+v", s, fast[i], a)
			}
		}
	})
}
