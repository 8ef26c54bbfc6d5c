package mailmsg

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	gomail "github.com/emersion/go-message/mail"

	kp "kontaktpunkt"
)

func sampleOutMail() OutMail {
	return OutMail{
		From:          kp.Address{Name: "Integrasjon – UiO", Addr: "integrasjon@uio.no"},
		To:            []kp.Address{{Name: "Åse Ødegård", Addr: "ase@example.org"}},
		Cc:            []kp.Address{{Addr: "per@example.org"}},
		ReplyTo:       kp.Address{Name: "Integrasjon", Addr: "integrasjon@uio.no"},
		Subject:       "[INT#42] Spørsmål om blåbærsyltetøy: ÆØÅ æøå",
		Text:          "Hei Åse,\n\nvi har mottatt henvendelsen din om blåbær.\nLinje som starter med .\nFrom the start\n\nHilsen\nKontaktpunktet",
		MessageID:     "abcdefghijklmnopqrstuvwxyz@uio.no",
		InReplyTo:     "orig.1@example.org",
		References:    []string{"root@example.org", "orig.1@example.org"},
		AutoSubmitted: AutoReplied,
		Headers: map[string]string{
			kp.LoopHeader:              "integrasjon@uio.no",
			"X-Auto-Response-Suppress": "All",
			"X-Kontaktpunkt-Case":      "42",
		},
		Date: time.Date(2026, 11, 25, 9, 30, 0, 0, time.FixedZone("CET", 3600)),
	}
}

// readBack parses a composed message with go-message, as a receiving client would.
func readBack(t *testing.T, raw []byte) (gomail.Header, string) {
	t.Helper()
	r, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parsing composed message: %v\n%s", err, raw)
	}
	p, err := r.NextPart()
	if err != nil {
		t.Fatalf("reading body part: %v", err)
	}
	body, err := io.ReadAll(p.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	// quoted-printable carries line breaks as CRLF; compare in Go's "\n".
	return r.Header, strings.ReplaceAll(string(body), "\r\n", "\n")
}

func TestComposeRoundTripsNorwegianSubjectBodyAndHeaders(t *testing.T) {
	m := sampleOutMail()
	raw, err := Compose(m)
	if err != nil {
		t.Fatal(err)
	}
	h, body := readBack(t, raw)

	if got, err := h.Subject(); err != nil || got != m.Subject {
		t.Errorf("subject = %q, %v; want %q", got, err, m.Subject)
	}
	if want := m.Text + "\n"; body != want {
		t.Errorf("body = %q, want %q", body, want)
	}
	if mt, params, err := h.ContentType(); err != nil || mt != "text/plain" || params["charset"] != "utf-8" {
		t.Errorf("content-type = %q %v %v", mt, params, err)
	}
	if got := h.Get("Content-Transfer-Encoding"); got != "quoted-printable" {
		t.Errorf("content-transfer-encoding = %q", got)
	}
	if got := h.Get("Mime-Version"); got != "1.0" {
		t.Errorf("mime-version = %q", got)
	}
	from, err := h.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != m.From.Name || from[0].Address != m.From.Addr {
		t.Errorf("from = %v, %v", from, err)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != "Åse Ødegård" || to[0].Address != "ase@example.org" {
		t.Errorf("to = %v, %v", to, err)
	}
	cc, err := h.AddressList("Cc")
	if err != nil || len(cc) != 1 || cc[0].Address != "per@example.org" {
		t.Errorf("cc = %v, %v", cc, err)
	}
	rt, err := h.AddressList("Reply-To")
	if err != nil || len(rt) != 1 || rt[0].Address != "integrasjon@uio.no" {
		t.Errorf("reply-to = %v, %v", rt, err)
	}
	if got := h.Get("Message-Id"); got != "<"+m.MessageID+">" {
		t.Errorf("Message-Id field = %q", got)
	}
	if got := h.Get("In-Reply-To"); got != "<orig.1@example.org>" {
		t.Errorf("In-Reply-To field = %q", got)
	}
	if got := h.Get("References"); got != "<root@example.org> <orig.1@example.org>" {
		t.Errorf("References field = %q", got)
	}
	if got, err := h.Date(); err != nil || !got.Equal(m.Date) {
		t.Errorf("date = %v, %v", got, err)
	}
	for k, v := range map[string]string{
		"Auto-Submitted":           "auto-replied",
		kp.LoopHeader:              "integrasjon@uio.no",
		"X-Auto-Response-Suppress": "All",
		"X-Kontaktpunkt-Case":      "42",
	} {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestComposeIsSevenBitCRLFAndShortLines(t *testing.T) {
	m := sampleOutMail()
	m.Subject = strings.Repeat("Blåbærsyltetøy på skiveø ", 8)
	m.Text = strings.Repeat("æøå ", 100) + "\n" + strings.Repeat("x", 300)
	raw, err := Compose(m)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range raw {
		if c >= 0x80 {
			t.Fatalf("byte %d is 8-bit (%#x): every client must read the message", i, c)
		}
		if c == '\n' && (i == 0 || raw[i-1] != '\r') {
			t.Fatalf("bare LF at byte %d", i)
		}
	}
	for n, line := range bytes.Split(raw, []byte("\r\n")) {
		if len(line) > 78 {
			t.Errorf("line %d is %d characters: %q", n+1, len(line), line)
		}
	}
	if !bytes.Contains(raw, []byte("Subject: =?utf-8?q?")) {
		t.Errorf("subject is not an RFC 2047 encoded word:\n%s", raw)
	}
	h, body := readBack(t, raw)
	if got, _ := h.Subject(); got != strings.TrimSpace(m.Subject) {
		t.Errorf("long subject = %q, want %q", got, m.Subject)
	}
	if body != m.Text+"\n" {
		t.Errorf("long body does not round-trip")
	}
}

func TestComposeIsDeterministic(t *testing.T) {
	a, err := Compose(sampleOutMail())
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		b, err := Compose(sampleOutMail())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("two compositions differ:\n%s\n---\n%s", a, b)
		}
	}
}

func TestComposeHeaderOrder(t *testing.T) {
	raw, err := Compose(sampleOutMail())
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	var keys []string
	for _, line := range strings.Split(string(head), "\r\n") {
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		k, _, _ := strings.Cut(line, ":")
		keys = append(keys, k)
	}
	want := []string{"Date", "From", "Reply-To", "To", "Cc", "Subject", "Message-Id", "In-Reply-To",
		"References", "Auto-Submitted", "X-Auto-Response-Suppress", "X-Kontaktpunkt-Case",
		"X-Kontaktpunkt-Loop", "Mime-Version", "Content-Type", "Content-Transfer-Encoding"}
	if strings.Join(keys, ",") != strings.Join(want, ",") {
		t.Errorf("header order\n got %v\nwant %v", keys, want)
	}
}

func TestComposeHumanRelayHasNoAutoSubmitted(t *testing.T) {
	m := sampleOutMail()
	m.AutoSubmitted = ""
	m.InReplyTo = ""
	m.References = nil
	m.ReplyTo = kp.Address{}
	m.Cc = nil
	raw, err := Compose(m)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := readBack(t, raw)
	for _, k := range []string{"Auto-Submitted", "In-Reply-To", "References", "Reply-To", "Cc"} {
		if h.Has(k) {
			t.Errorf("%s present: %q", k, h.Get(k))
		}
	}
}

func TestComposeDropsMalformedAndTrimsLongReferences(t *testing.T) {
	m := sampleOutMail()
	m.InReplyTo = "no at sign"
	refs := []string{"root@example.org", "bad id@x", "<bracketed@x>", "", "dup@x", "dup@x"}
	for i := range 40 {
		refs = append(refs, fmt.Sprintf("r%d@example.org", i))
	}
	m.References = refs
	raw, err := Compose(m)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := readBack(t, raw)
	if h.Has("In-Reply-To") {
		t.Errorf("malformed In-Reply-To written: %q", h.Get("In-Reply-To"))
	}
	got, err := h.MsgIDList("References")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != maxReferences || got[0] != "root@example.org" || got[len(got)-1] != "r39@example.org" {
		t.Errorf("references = %v", got)
	}
	for _, id := range got {
		if id == "dup@x" || strings.Contains(id, " ") {
			t.Errorf("kept %q", id)
		}
	}
}

func TestComposeRefusesBadInput(t *testing.T) {
	cases := []struct {
		name string
		edit func(*OutMail)
		want string
	}{
		{"no from", func(m *OutMail) { m.From = kp.Address{} }, "from"},
		{"no recipients", func(m *OutMail) { m.To, m.Cc = nil, nil }, "no recipient"},
		{"bad to", func(m *OutMail) { m.To = []kp.Address{{Addr: "a@b>\r\nBcc: x@y"}} }, "to:"},
		{"bad cc", func(m *OutMail) { m.Cc = []kp.Address{{Addr: "not an address"}} }, "cc:"},
		{"bad message-id", func(m *OutMail) { m.MessageID = "<x@y>" }, "message-id"},
		{"no date", func(m *OutMail) { m.Date = time.Time{} }, "date"},
		{"bad auto-submitted", func(m *OutMail) { m.AutoSubmitted = "yes" }, "auto-submitted"},
		{"header injection", func(m *OutMail) { m.Headers = map[string]string{"X-A": "1\r\nBcc: x@y"} }, "line break"},
		{"override owned field", func(m *OutMail) { m.Headers = map[string]string{"subject": "x"} }, "written by Compose"},
		{"bad field name", func(m *OutMail) { m.Headers = map[string]string{"X A": "1"} }, "field name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := sampleOutMail()
			c.edit(&m)
			raw, err := Compose(m)
			if err == nil {
				t.Fatalf("composed:\n%s", raw)
			}
			if !errors.Is(err, ErrCompose) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q: want ErrCompose mentioning %q", err, c.want)
			}
		})
	}
}

func TestComposeFlattensControlCharactersInSubjectAndNames(t *testing.T) {
	m := sampleOutMail()
	m.Subject = "Sv: hei\r\nBcc: victim@example.org"
	m.To[0].Name = "Eve\r\nBcc: x@y"
	m.Text = "linje 1\r\nlinje 2\rlinje 3\xff"
	raw, err := Compose(m)
	if err != nil {
		t.Fatal(err)
	}
	h, body := readBack(t, raw)
	if h.Has("Bcc") {
		t.Fatalf("header injected:\n%s", raw)
	}
	if got, _ := h.Subject(); got != "Sv: hei  Bcc: victim@example.org" {
		t.Errorf("subject = %q", got)
	}
	if body != "linje 1\nlinje 2\nlinje 3\uFFFD\n" {
		t.Errorf("body = %q", body)
	}
}

var messageIDPattern = regexp.MustCompile(`^[a-z2-7]{29}@uio\.no$`)

func TestNewMessageIDIsRandomBase32OnDomain(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewMessageID("UiO.no")
		if !messageIDPattern.MatchString(id) {
			t.Fatalf("id %q does not match %s", id, messageIDPattern)
		}
		if seen[id] {
			t.Fatalf("id %q repeated", id)
		}
		seen[id] = true
		if !validMsgID(id) {
			t.Fatalf("id %q is not a valid msg-id", id)
		}
	}
	if id := NewMessageID(""); !strings.HasSuffix(id, "@localhost") {
		t.Errorf("empty domain gave %q", id)
	}
}

// TestNewMessageIDSortsByTime: an id made later sorts after one made
// earlier, whatever its random part, also across a carry in the
// encoded time; ids of the same millisecond differ.
func TestNewMessageIDSortsByTime(t *testing.T) {
	base := time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)
	var prev string
	for i := range 5000 {
		now := base.Add(time.Duration(i*i) * time.Millisecond)
		id := newMessageID("uio.no", now)
		if !messageIDPattern.MatchString(id) {
			t.Fatalf("id %q does not match %s", id, messageIDPattern)
		}
		if i > 0 && id <= prev {
			t.Fatalf("id %q made at %v sorts before %q made earlier", id, now, prev)
		}
		if same := newMessageID("uio.no", now); same == id {
			t.Fatalf("two ids made in one millisecond are both %q", id)
		}
		prev = id
	}
}

func FuzzCompose(f *testing.F) {
	m := sampleOutMail()
	f.Add(m.Subject, m.Text, m.To[0].Name, m.To[0].Addr, m.InReplyTo)
	f.Add("", "", "", "a@b", "")
	f.Add("=?utf-8?q?already=20encoded?=", ".\r\n.\r\n", "\"quoted\"", "x.y+z@example.org", "<a@b>")
	f.Add("\xff\xfe", "\x00\x01", "æ\r\nø", "bad", "a b@c")
	f.Fuzz(func(t *testing.T, subject, text, name, addr, inReplyTo string) {
		m := sampleOutMail()
		m.Subject, m.Text, m.InReplyTo = subject, text, inReplyTo
		m.To = []kp.Address{{Name: name, Addr: addr}}
		raw, err := Compose(m)
		if err != nil {
			if !errors.Is(err, ErrCompose) {
				t.Fatalf("error does not wrap ErrCompose: %v", err)
			}
			return
		}
		h, body := readBack(t, raw)
		if got, err := h.Subject(); err != nil || got != truncate(strings.TrimSpace(oneLine(subject)), maxTextFieldRunes) {
			t.Errorf("subject %q came back as %q (%v)", subject, got, err)
		}
		if !utf8.ValidString(body) {
			t.Errorf("body is not UTF-8: %q", body)
		}
		if h.Has("Bcc") {
			t.Errorf("Bcc injected:\n%s", raw)
		}
	})
}

func TestComposeTruncatesHugeSubjectAndNames(t *testing.T) {
	m := sampleOutMail()
	m.Subject = strings.Repeat("æ", 5000)
	m.To[0].Name = strings.Repeat("ø", 5000)
	raw, err := Compose(m)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := readBack(t, raw)
	subj, _ := h.Subject()
	if n := utf8.RuneCountInString(subj); n != maxTextFieldRunes || !strings.HasSuffix(subj, "æ…") {
		t.Errorf("subject has %d runes, ends %q", n, subj[len(subj)-8:])
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 1 || utf8.RuneCountInString(to[0].Name) != maxNameRunes {
		t.Errorf("to = %v, %v", to, err)
	}
	if got := truncate("abc", 3); got != "abc" {
		t.Errorf("truncate kept-length = %q", got)
	}
	if got := truncate("abcd", 3); got != "ab…" {
		t.Errorf("truncate = %q", got)
	}
}

// BenchmarkCompose measures composing a typical acknowledgement, a text
// of about 1.5 KB.
func BenchmarkCompose(b *testing.B) {
	m := sampleOutMail()
	m.Text = strings.Repeat(m.Text+"\n", 12)
	b.ReportAllocs()
	for range b.N {
		if _, err := Compose(m); err != nil {
			b.Fatal(err)
		}
	}
}
