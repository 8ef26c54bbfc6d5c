package mailmsg

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	kp "kontaktpunkt"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/parse/*.golden.json from the current parser")

// goldenView is the compact JSON form of a Parsed kept in
// testdata/parse/*.golden.json: every extracted field, and the header only
// as its sorted keys (the values are the raw file's).
type goldenView struct {
	MessageID        string          `json:"message_id"`
	SyntheticID      bool            `json:"synthetic_id,omitempty"`
	Subject          string          `json:"subject"`
	From             kp.Address      `json:"from"`
	Sender           *kp.Address     `json:"sender,omitempty"`
	ReplyTo          []kp.Address    `json:"reply_to,omitempty"`
	To               []kp.Address    `json:"to,omitempty"`
	Cc               []kp.Address    `json:"cc,omitempty"`
	Date             string          `json:"date,omitempty"`
	InReplyTo        []string        `json:"in_reply_to,omitempty"`
	References       []string        `json:"references,omitempty"`
	Text             string          `json:"text"`
	Attachments      []kp.Attachment `json:"attachments,omitempty"`
	ContentType      string          `json:"content_type"`
	ReportType       string          `json:"report_type,omitempty"`
	EmbeddedIDs      []string        `json:"embedded_ids,omitempty"`
	BounceRecipients []string        `json:"bounce_recipients,omitempty"`
	BouncePermanent  bool            `json:"bounce_permanent,omitempty"`
	Defects          []string        `json:"defects,omitempty"`
	Size             int64           `json:"size"`
	HeaderKeys       []string        `json:"header_keys"`
}

func viewOf(p *kp.Parsed) goldenView {
	v := goldenView{
		MessageID: p.MessageID, SyntheticID: p.SyntheticID, Subject: p.Subject, From: p.From,
		ReplyTo: p.ReplyTo, To: p.To, Cc: p.Cc, InReplyTo: p.InReplyTo, References: p.References,
		Text: p.Text, Attachments: p.Attachments, ContentType: p.ContentType, ReportType: p.ReportType,
		EmbeddedIDs: p.EmbeddedIDs, BounceRecipients: p.BounceRecipients, BouncePermanent: p.BouncePermanent,
		Defects: p.Defects, Size: p.Size,
	}
	if !p.Sender.IsZero() {
		s := p.Sender
		v.Sender = &s
	}
	if !p.Date.IsZero() {
		v.Date = p.Date.Format(time.RFC3339)
	}
	for k := range p.Header {
		v.HeaderKeys = append(v.HeaderKeys, k)
	}
	sort.Strings(v.HeaderKeys)
	return v
}

// TestParseGolden parses each fixture in testdata/parse and compares the
// extracted fields with its .golden.json (rewrite with -update). The
// fixtures are realistic mail from the clients the contact point meets.
func TestParseGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "parse", "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Parse(raw)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(viewOf(p)); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			golden := strings.TrimSuffix(f, ".eml") + ".golden.json"
			if *updateGolden {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the parser's output:\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
}

// TestParseFixtureFacts states the facts the golden files hold that matter
// most for threading and display, so a careless -update cannot lose them.
func TestParseFixtureFacts(t *testing.T) {
	parse := func(name string) *kp.Parsed {
		t.Helper()
		raw, err := os.ReadFile(filepath.Join("testdata", "parse", name))
		if err != nil {
			t.Fatal(err)
		}
		p, err := Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return p
	}

	p := parse("outlook-reply-in-reply-to.eml")
	if !equalStrings(p.InReplyTo, "kp.7f3c2a9e41d04b6a@uio.no") || len(p.References) != 0 {
		t.Errorf("outlook: in-reply-to %q references %q", p.InReplyTo, p.References)
	}
	if p.From.Name != "Kari Nordmann (Statens vegvesen)" || !strings.Contains(p.Text, "Vi har nå sendt inn skjemaet") {
		t.Errorf("outlook: from %q, text %q", p.From.Name, p.Text)
	}
	if strings.Contains(p.Text, "<p>") {
		t.Errorf("outlook: the HTML alternative was chosen over text/plain")
	}
	if p.Get("Thread-Index") == "" {
		t.Errorf("outlook: Thread-Index missing from Header")
	}

	p = parse("gmail-reply-references.eml")
	if !equalStrings(p.References, "kp.1a2b3c4d5e6f7081@uio.no", "kp.99aa88bb77cc66dd@uio.no") ||
		!equalStrings(p.InReplyTo, "kp.99aa88bb77cc66dd@uio.no") {
		t.Errorf("gmail: references %q in-reply-to %q", p.References, p.InReplyTo)
	}
	if len(p.Cc) != 1 || p.Cc[0].Addr != "lise.berg@usit.uio.no" {
		t.Errorf("gmail: cc %v", p.Cc)
	}

	p = parse("apple-mail-reply.eml")
	if p.MessageID != "6F1D0B2E-9C4A-4E7B-8D3F-2A1B5C9E7F60@icloud.com" || !strings.Contains(p.Text, "så saken kan lukkes for min del") {
		t.Errorf("apple: id %q text %q", p.MessageID, p.Text)
	}

	p = parse("reply-prefixes-changed-subject.eml")
	if p.MessageID != "20251107090000.4411.ABCD@mail.example.de" || p.Subject != "AW: SV: VS: Ny frist for overgangen til nytt API" {
		t.Errorf("prefixes: id %q subject %q", p.MessageID, p.Subject)
	}

	p = parse("latin1-norwegian.eml")
	if p.Subject != "Spørsmål om ændringer i fællesstyrt datadeling" || p.From.Name != "Bjørn Ærlig" ||
		!strings.Contains(p.Text, "ærlige\nsøknader") || !strings.Contains(p.Text, "Hilsen Bjørn Ærlig") {
		t.Errorf("latin1: subject %q from %q text %q", p.Subject, p.From.Name, p.Text)
	}

	p = parse("html-only.eml")
	for _, want := range []string{"Integrasjon mot saksarkiv\n\nHei,\nvi ønsker å koble saksarkivet vårt mot integrasjonsplattformen <https://www.uio.no/tjenester/it/integrasjon/>.",
		"- API-nøkkel\n- Dokumentasjon", "Mvh\nServicedesk"} {
		if !strings.Contains(p.Text, want) {
			t.Errorf("html: text lacks %q:\n%s", want, p.Text)
		}
	}
	if strings.Contains(p.Text, "alert") || strings.Contains(p.Text, "color") || strings.Contains(p.Text, "Ignorert") {
		t.Errorf("html: script, style or title leaked into text:\n%s", p.Text)
	}

	p = parse("forward-attached-message.eml")
	if !strings.HasPrefix(p.Text, "Hei, denne kom i natt. Kan dere se på det? Jeg tror feilen ligger i overføringen fra FS.") ||
		strings.Contains(p.Text, "Synkroniseringen av emner") {
		t.Errorf("forward: text %q (want the outer text only, flowed lines joined)", p.Text)
	}
	if len(p.Attachments) != 1 || p.Attachments[0].ContentType != "message/rfc822" || p.Attachments[0].Name != "Synkronisering feilet.eml" {
		t.Errorf("forward: attachments %+v", p.Attachments)
	}
	if !equalStrings(p.EmbeddedIDs, "sync-failed-20251112@lms.example.org") {
		t.Errorf("forward: embedded ids %q", p.EmbeddedIDs)
	}

	p = parse("exchange-out-of-office.eml")
	if p.Get("Auto-Submitted") != "auto-generated" || !strings.Contains(p.Text, "Jeg er på ferie") {
		t.Errorf("oof: auto-submitted %q text %q", p.Get("Auto-Submitted"), p.Text)
	}

	p = parse("dsn-multipart-report.eml")
	if p.ContentType != "multipart/report" || p.ReportType != "delivery-status" {
		t.Errorf("dsn: content type %q report type %q", p.ContentType, p.ReportType)
	}
	if !containsString(p.EmbeddedIDs, "abc123@integrasjon.example.org") {
		t.Errorf("dsn: embedded ids %q lack the original's id", p.EmbeddedIDs)
	}
	if !equalStrings(p.BounceRecipients, "ukjent.person@uio.no") || !p.BouncePermanent {
		t.Errorf("dsn: recipients %q permanent %v", p.BounceRecipients, p.BouncePermanent)
	}
	if p.From.Addr != "MAILER-DAEMON@mail-mx10.uio.no" || p.From.Name != "Mail Delivery System" {
		t.Errorf("dsn: from %+v", p.From)
	}
}

func equalStrings(got []string, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func containsString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func mustParse(t *testing.T, raw string) *kp.Parsed {
	t.Helper()
	p, err := Parse([]byte(raw))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

func hasDefect(p *kp.Parsed, prefix string) bool {
	for _, d := range p.Defects {
		if strings.HasPrefix(d, prefix) {
			return true
		}
	}
	return false
}

func TestParseEmptyAndGarbageAreUnusableWithReasonAndID(t *testing.T) {
	for _, raw := range []string{"", "\r\n\r\n", "   \n\t\n"} {
		p, err := Parse([]byte(raw))
		if !errors.Is(err, ErrUnusable) {
			t.Errorf("Parse(%q): err %v, want ErrUnusable", raw, err)
		}
		if p == nil || !p.SyntheticID || p.MessageID != SyntheticID([]byte(raw)) || p.Size != int64(len(raw)) {
			t.Errorf("Parse(%q) = %+v", raw, p)
		}
		if err != nil && !strings.Contains(err.Error(), "no sender") && !strings.Contains(err.Error(), "empty") {
			t.Errorf("reason %q does not say what is missing", err)
		}
	}
}

func TestParseSenderOnlyIsUsable(t *testing.T) {
	p := mustParse(t, "From: a@b.example\r\n\r\n")
	if p.From.Addr != "a@b.example" {
		t.Errorf("from %+v", p.From)
	}
}

func TestParseDeepNestingIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("From: a@b.example\nSubject: dyp\n")
	const n = 5000
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\n\ninnerst\n")
	p := mustParse(t, b.String())
	if !hasDefect(p, "MIME nesting too deep") {
		t.Errorf("defects %q", p.Defects)
	}
	if p.Subject != "dyp" {
		t.Errorf("subject %q", p.Subject)
	}
}

func TestParseManyPartsIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("From: a@b.example\nSubject: mange\nContent-Type: multipart/mixed; boundary=X\n\n")
	for i := 0; i < 3*maxParts; i++ {
		b.WriteString("--X\nContent-Type: application/octet-stream\n\nx\n")
	}
	b.WriteString("--X--\n")
	p := mustParse(t, b.String())
	if len(p.Attachments) >= maxParts || !hasDefect(p, "too many MIME parts") {
		t.Errorf("%d attachments, defects %q", len(p.Attachments), p.Defects)
	}
}

func TestParseNeverPanicsOnTruncations(t *testing.T) {
	// Every prefix of a structured message parses without panic.
	raw, err := os.ReadFile(filepath.Join("testdata", "parse", "dsn-multipart-report.eml"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i <= len(raw); i += 7 {
		p, _ := Parse(raw[:i])
		if p == nil || p.MessageID == "" || p.Size != int64(i) {
			t.Fatalf("prefix %d: %+v", i, p)
		}
	}
}

// big25MB builds a ~25 MB message: a short text and three base64
// attachments, one of them a quoted-printable text file.
func big25MB() []byte {
	var b bytes.Buffer
	b.WriteString("From: Ola <ola@example.org>\r\nTo: integrasjon@uio.no\r\nSubject: Store vedlegg\r\n" +
		"Message-ID: <big@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"BIG\"\r\n\r\n" +
		"--BIG\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHer er loggene.\r\n")
	chunk := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/"), 57) // 3648 bytes
	line := base64.StdEncoding.EncodeToString(chunk[:57])
	for a := 0; a < 3; a++ {
		fmt.Fprintf(&b, "--BIG\r\nContent-Type: application/zip; name=\"logg%d.zip\"\r\nContent-Disposition: attachment; filename=\"logg%d.zip\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", a, a)
		for b.Len() < (a+1)*8_300_000 {
			b.WriteString(line)
			b.WriteString("\r\n")
		}
	}
	b.WriteString("--BIG--\r\n")
	return b.Bytes()
}

// TestParseLargeMessageMemory parses a 25 MB message and checks that the
// attachments were measured, not decoded into memory: the parse allocates
// a small fraction of the message size.
func TestParseLargeMessageMemory(t *testing.T) {
	raw := big25MB()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	p, err := Parse(raw)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d byte message: parse allocated %d bytes in total", len(raw), alloc)
	if alloc > 4<<20 {
		t.Errorf("parse allocated %d bytes for a %d byte message; attachments are being held", alloc, len(raw))
	}
	if len(p.Attachments) != 3 || p.Attachments[0].Size < 6_000_000 || p.Text != "Her er loggene." {
		t.Errorf("attachments %+v text %q", p.Attachments, p.Text)
	}
}

// plain3K is a typical ~3 KB plain-text request as Outlook sends it.
var plain3K = func() []byte {
	var b strings.Builder
	b.WriteString("Received: from EUR02-AM0-obe.outbound.protection.outlook.com (mail-am0eur02on2110.outbound.protection.outlook.com [40.107.12.110])\r\n" +
		"\tby mail-mx10.uio.no with esmtps (TLS1.2) tls TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\r\n\t(Exim 4.96) id 1qZ9Xy-000AbC-2Q for integrasjon@uio.no; Tue, 04 Nov 2025 09:14:27 +0100\r\n" +
		"Authentication-Results: mail-mx10.uio.no; dkim=pass header.d=vegvesen.no; dmarc=pass header.from=vegvesen.no\r\n" +
		"From: =?iso-8859-1?Q?Kari_Nordmann_=28Statens_vegvesen=29?= <kari.nordmann@vegvesen.no>\r\n" +
		"To: \"integrasjon@uio.no\" <integrasjon@uio.no>\r\nCc: Ola Hansen <ola.hansen@vegvesen.no>\r\n" +
		"Subject: SV: [INT#42] Tilgang til FS-API for studentdata\r\nThread-Topic: [INT#42] Tilgang til FS-API for studentdata\r\n" +
		"Thread-Index: AQHaDk5ZcE2pQ3m7S0uJc9cN7y5X2bBpYxWAgAABm4A=\r\nDate: Tue, 4 Nov 2025 08:14:22 +0000\r\n" +
		"Message-ID: <AM9PR07MB7236E1C4E0F63C1D9B7A2F4BD5A12@AM9PR07MB7236.eurprd07.PROD.OUTLOOK.COM>\r\n" +
		"In-Reply-To: <kp.7f3c2a9e41d04b6a@uio.no>\r\nReferences: <kp.7f3c2a9e41d04b6a@uio.no>\r\n" +
		"Content-Language: nb-NO\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=\"iso-8859-1\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	for b.Len() < 3000 {
		b.WriteString("Vi har n=E5 sendt inn skjemaet for tilgang, og kontaktpersonen v=E5r er Ola Hansen.\r\n")
	}
	return []byte(b.String())
}()

// BenchmarkParse parses a typical ~3 KB plain-text message.
func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(plain3K)))
	for b.Loop() {
		if _, err := Parse(plain3K); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParse25MB parses a 25 MB message with three attachments.
func BenchmarkParse25MB(b *testing.B) {
	raw := big25MB()
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := Parse(raw); err != nil {
			b.Fatal(err)
		}
	}
}
