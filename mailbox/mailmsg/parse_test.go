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
	"unicode/utf8"

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

func TestParseMboxFromLineBOMAndCROnlyLineEndings(t *testing.T) {
	raw := "\xef\xbb\xbfFrom sender@example.org Mon Nov 10 10:00:00 2025\r" +
		"From: Ola <ola@example.org>\rSubject: Hei\rMessage-ID: <x1@Example.org>\r\rLinje 1\rLinje 2\r"
	p := mustParse(t, raw)
	if p.From.Addr != "ola@example.org" || p.Subject != "Hei" || p.MessageID != "x1@example.org" || p.Text != "Linje 1\nLinje 2" {
		t.Errorf("got from %q subject %q id %q text %q", p.From.Addr, p.Subject, p.MessageID, p.Text)
	}
	if !hasDefect(p, "byte order mark") || !hasDefect(p, "CR line endings") {
		t.Errorf("defects %q", p.Defects)
	}
}

func TestParseMixedLineEndings(t *testing.T) {
	raw := "From: a@b.example\r\nSubject: blandet\nContent-Type: multipart/mixed; boundary=XX\r\n\n--XX\r\nContent-Type: text/plain\n\nhei\r\n--XX--\n"
	p := mustParse(t, raw)
	if p.Subject != "blandet" || p.Text != "hei" {
		t.Errorf("subject %q text %q", p.Subject, p.Text)
	}
}

func TestParseMissingHeaderBodySeparator(t *testing.T) {
	p := mustParse(t, "From: a@b.example\nSubject: uten skille\nDette er teksten.\nOg mer.\n")
	if p.Subject != "uten skille" || p.Text != "Dette er teksten.\nOg mer." || !hasDefect(p, "missing header/body separator") {
		t.Errorf("subject %q text %q defects %q", p.Subject, p.Text, p.Defects)
	}
}

func TestParseRawEightBitHeaders(t *testing.T) {
	// UTF-8 is taken as is; other bytes are windows-1252 unless the body
	// names a charset.
	p := mustParse(t, "From: \"Bjørn\" <b@x.example>\nSubject: Blåbær\n\nx\n")
	if p.Subject != "Blåbær" || p.From.Name != "Bjørn" {
		t.Errorf("utf-8: subject %q from %q", p.Subject, p.From.Name)
	}
	p = mustParse(t, "From: \"Bj\xf8rn\" <b@x.example>\nSubject: Bl\xe5b\xe6r \x80\n\nx\n")
	if p.Subject != "Blåbær €" || p.From.Name != "Bjørn" || !hasDefect(p, "raw 8-bit header") {
		t.Errorf("latin: subject %q from %q defects %q", p.Subject, p.From.Name, p.Defects)
	}
	p = mustParse(t, "From: a@x.example\nSubject: \xf0\xd2\xc9\xd7\xc5\xd4\nContent-Type: text/plain; charset=koi8-r\n\nx\n")
	if p.Subject != "Привет" {
		t.Errorf("koi8-r: subject %q", p.Subject)
	}
}

func TestParseEncodedWords(t *testing.T) {
	tests := []struct{ in, want string }{
		{"=?utf-8?Q?Sp=C3=B8rsm=C3=A5l?=", "Spørsmål"},
		{"=?UTF-8?B?U3DDuHJzbcOlbA==?=", "Spørsmål"},
		{"=?iso-8859-1?q?bl=E5b=E6r?= =?iso-8859-1?q?_og_r=F8d?=", "blåbær og rød"},
		// A character split across two words survives.
		{"=?utf-8?B?w7g=?= =?utf-8?B?w6U=?=", "øå"},
		{"=?utf-8?Q?=C3?= =?utf-8?Q?=B8?=", "ø"},
		{"Re: =?utf-8?Q?f=C3=B8r?= og etter", "Re: før og etter"},
		{"glued=?utf-8?Q?=C3=A6?=text", "gluedætext"},
		{"=?windows-1252?Q?=80_pris?=", "€ pris"},
		{"=?utf-8*nb?Q?hei?=", "hei"},
		{"=?utf-8?X?bad?=", "=?utf-8?X?bad?="},
		{"not =? an encoded word", "not =? an encoded word"},
		{"=?utf-8?B?bad*base64!?=", "m\xa7Z\xc0"},
	}
	for _, tt := range tests {
		p := mustParse(t, "From: a@b.example\nSubject: "+tt.in+"\n\nx\n")
		want := tt.want
		if !utf8.ValidString(want) {
			want = strings.ToValidUTF8(want, "\uFFFD")
		}
		if tt.in == "=?utf-8?B?bad*base64!?=" {
			// Decodes what decodes; only check it did not panic and kept text.
			if p.Subject == "" {
				t.Errorf("bad base64 word lost entirely")
			}
			continue
		}
		if p.Subject != want {
			t.Errorf("subject %q: got %q, want %q", tt.in, p.Subject, want)
		}
	}
}

func TestParseUnknownCharsetKeepsTextAndRecordsDefect(t *testing.T) {
	p := mustParse(t, "From: a@b.example\nSubject: =?x-no-such-charset?Q?Hei_der?=\nContent-Type: text/plain; charset=x-unknown-8bit\n\nbl\xe5b\xe6r\n")
	if p.Subject != "Hei der" || p.Text != "blåbær" {
		t.Errorf("subject %q text %q", p.Subject, p.Text)
	}
	if !hasDefect(p, "unknown charset x-no-such-charset") || !hasDefect(p, "unknown charset x-unknown-8bit") {
		t.Errorf("defects %q", p.Defects)
	}
}

func TestParseBadBase64AndQuotedPrintableDecodeWhatDecodes(t *testing.T) {
	good := base64.StdEncoding.EncodeToString([]byte("Hei, dette er teksten som kommer fram."))
	raw := "From: a@b.example\nSubject: b64\nContent-Transfer-Encoding: base64\n\n" + good[:20] + "!!#\n" + good[20:] + "\n"
	p := mustParse(t, raw)
	if p.Text != "Hei, dette er teksten som kommer fram." || !hasDefect(p, "bad base64") {
		t.Errorf("base64: text %q defects %q", p.Text, p.Defects)
	}
	p = mustParse(t, "From: a@b.example\nSubject: qp\nContent-Transfer-Encoding: quoted-printable\n\nbl=E5b=\n=E6r =ZZ slutt=\n")
	if p.Text != "bl\uFFFDb\uFFFDr =ZZ slutt" && p.Text != "blåbær =ZZ slutt" {
		t.Errorf("qp: text %q", p.Text)
	}
}

func TestParseMissingFinalBoundaryAndWrongBoundary(t *testing.T) {
	p := mustParse(t, "From: a@b.example\nSubject: s\nContent-Type: multipart/mixed; boundary=\"abc\"\n\n--abc\nContent-Type: text/plain\n\nteksten\n--abc\nContent-Type: application/pdf; name=a.pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0x\n")
	if p.Text != "teksten" || len(p.Attachments) != 1 || p.Attachments[0].Size != 6 || !hasDefect(p, "missing final boundary") {
		t.Errorf("text %q attachments %+v defects %q", p.Text, p.Attachments, p.Defects)
	}
	p = mustParse(t, "From: a@b.example\nSubject: s\nContent-Type: multipart/mixed; boundary=\"declared\"\n\n--used\nContent-Type: text/plain\n\nteksten\n--used--\n")
	if p.Text != "teksten" || !hasDefect(p, "wrong multipart boundary") {
		t.Errorf("text %q defects %q", p.Text, p.Defects)
	}
}

func TestParseMissingContentTypeIsPlainText(t *testing.T) {
	p := mustParse(t, "From: a@b.example\nSubject: s\n\nbare tekst\n")
	if p.ContentType != "text/plain" || p.Text != "bare tekst" {
		t.Errorf("content type %q text %q", p.ContentType, p.Text)
	}
}

func TestParseAttachmentNamesAndDecodedSizes(t *testing.T) {
	data := bytes.Repeat([]byte{0, 1, 2, 250}, 1000) // 4000 bytes
	b64 := base64.StdEncoding.EncodeToString(data)
	var wrapped strings.Builder
	for i := 0; i < len(b64); i += 76 {
		wrapped.WriteString(b64[i:min(i+76, len(b64))] + "\r\n")
	}
	raw := "From: a@b.example\r\nSubject: vedlegg\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n" +
		"--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSe vedlegg.\r\n" +
		"--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*=utf-8''%C3%B8konomi%20rapport.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n" + wrapped.String() +
		"--B\r\nContent-Type: text/csv; name=\"=?utf-8?Q?bl=C3=A5b=C3=A6r.csv?=\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\na;b=3Dc\r\n" +
		"--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment;\r\n filename*0*=iso-8859-1''s%F8knad;\r\n filename*1=\".pdf\"\r\n\r\n%PDF\r\n" +
		"--B--\r\n"
	p := mustParse(t, raw)
	want := []kp.Attachment{
		{Name: "økonomi rapport.bin", ContentType: "application/octet-stream", Size: 4000},
		{Name: "blåbær.csv", ContentType: "text/csv", Size: 5},
		{Name: "søknad.pdf", ContentType: "application/pdf", Size: 4},
	}
	if fmt.Sprint(p.Attachments) != fmt.Sprint(want) {
		t.Errorf("attachments\n got %+v\nwant %+v", p.Attachments, want)
	}
	if p.Text != "Se vedlegg." {
		t.Errorf("text %q", p.Text)
	}
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

func TestParseTextIsCappedAtOneMiB(t *testing.T) {
	body := strings.Repeat("æøå ", 600_000) // 4.2 MB of UTF-8
	p := mustParse(t, "From: a@b.example\nSubject: lang\nContent-Type: text/plain; charset=utf-8\n\n"+body)
	if len(p.Text) > maxText || len(p.Text) < maxText-8 || !utf8.ValidString(p.Text) || !hasDefect(p, "text truncated") {
		t.Errorf("text %d bytes, valid %v, defects %q", len(p.Text), utf8.ValidString(p.Text), p.Defects)
	}
}

func TestParseDeliveryStatusWithoutBlankLinesAndTemporaryFailures(t *testing.T) {
	raw := "From: MAILER-DAEMON@x.example\nSubject: Delivery Status Notification\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=R\n\n" +
		"--R\nContent-Type: text/plain\n\nSee below.\n" +
		"--R\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x.example\n" +
		"Final-Recipient: rfc822; one@a.example\nAction: failed\nStatus: 5.1.1\n" +
		"Final-Recipient: rfc822; two@a.example\nAction: delayed\nStatus: 4.4.1\n" +
		"Original-Recipient: rfc822;three@a.example\nFinal-Recipient: rfc822; <three@A.example>\nAction: failed\nStatus: 5.2.2\n" +
		"--R--\n"
	p := mustParse(t, raw)
	if !equalStrings(p.BounceRecipients, "one@a.example", "three@A.example") || !p.BouncePermanent {
		t.Errorf("recipients %q permanent %v", p.BounceRecipients, p.BouncePermanent)
	}
	p = mustParse(t, strings.ReplaceAll(strings.ReplaceAll(raw, "Action: failed", "Action: delayed"), "Status: 5", "Status: 4"))
	if len(p.BounceRecipients) != 0 || p.BouncePermanent {
		t.Errorf("delay report: recipients %q permanent %v", p.BounceRecipients, p.BouncePermanent)
	}
}

func TestParseXFailedRecipientsAndPlainTextBounce(t *testing.T) {
	p := mustParse(t, "From: Mail Delivery System <Mailer-Daemon@mx.example>\nTo: integrasjon@uio.no\nSubject: Mail delivery failed: returning message to sender\n"+
		"X-Failed-Recipients: gone@example.net, also@example.net\n\n"+
		"This message was created automatically by mail delivery software.\n\n"+
		"  gone@example.net\n    SMTP error from remote mail server after RCPT TO:<gone@example.net>:\n    550 5.1.1 User unknown\n\n"+
		"------ This is a copy of the message, including all the headers. ------\n\n"+
		"Message-ID: <kp.0102030405060708@UIO.NO>\nSubject: [INT#7] svar\n")
	if !equalStrings(p.BounceRecipients, "gone@example.net", "also@example.net") || !p.BouncePermanent {
		t.Errorf("recipients %q permanent %v", p.BounceRecipients, p.BouncePermanent)
	}
	if !equalStrings(p.EmbeddedIDs, "kp.0102030405060708@uio.no") {
		t.Errorf("embedded %q", p.EmbeddedIDs)
	}

	// qmail: no DSN, no X-Failed-Recipients.
	p = mustParse(t, "From: MAILER-DAEMON@mx.example\nTo: integrasjon@uio.no\nSubject: failure notice\n\n"+
		"Hi. This is the qmail-send program at mx.example.\nI'm afraid I wasn't able to deliver your message to the following addresses.\n"+
		"This is a permanent error; I've given up. Sorry it didn't work out.\n\n"+
		"<nobody@example.net>:\n192.0.2.1 does not like recipient.\nRemote host said: 550 5.1.1 no mailbox here\n\n"+
		"--- Below this line is a copy of the message.\n\nMessage-Id: <abc@Integrasjon.example.org>\nTo: nobody@example.net\n")
	if !equalStrings(p.BounceRecipients, "nobody@example.net") || !p.BouncePermanent || !equalStrings(p.EmbeddedIDs, "abc@integrasjon.example.org") {
		t.Errorf("qmail: recipients %q permanent %v embedded %q", p.BounceRecipients, p.BouncePermanent, p.EmbeddedIDs)
	}
}

func TestParseHeaderMapHasAllTopLevelFieldsDecoded(t *testing.T) {
	p := mustParse(t, "From: a@b.example\nsubject: =?utf-8?Q?hei_p=C3=A5_deg?=\nX-Custom: one\nx-custom: two\n"+
		"Authentication-Results: mx.example; dkim=pass header.d=b.example\nAUTO-SUBMITTED: auto-replied\n\nbody\n")
	if got := p.Header["Subject"]; len(got) != 1 || got[0] != "hei på deg" {
		t.Errorf("Subject %q", got)
	}
	if got := p.Header["X-Custom"]; !equalStrings(got, "one", "two") {
		t.Errorf("X-Custom %q", got)
	}
	if p.Get("Auto-Submitted") != "auto-replied" || p.Get("Authentication-Results") == "" {
		t.Errorf("header %v", p.Header)
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

func TestHTMLToText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"paragraphs", "<p>Hei</p><p>Andre avsnitt</p>", "Hei\n\nAndre avsnitt"},
		{"line breaks", "a<br>b<br/>c", "a\nb\nc"},
		{"white space collapsed", "  mange   \n\t mellomrom&nbsp;her  ", "mange mellomrom her"},
		{"entities", "bl&aring;b&aelig;r &amp; r&oslash;d &lt;tag&gt; &#8364;", "blåbær & rød <tag> €"},
		{"link with text", `Se <a href="https://uio.no/x">dokumentasjonen</a>.`, "Se dokumentasjonen <https://uio.no/x>."},
		{"link showing its url", `<a href="https://uio.no/">https://uio.no/</a>`, "https://uio.no/"},
		{"mailto link", `<a href="mailto:ola@uio.no">ola@uio.no</a>`, "ola@uio.no"},
		{"anchor and javascript links", `<a href="#top">Til toppen</a> <a href="javascript:x()">Klikk</a>`, "Til toppen Klikk"},
		{"empty link text", `<a href="https://uio.no/y"></a>`, "https://uio.no/y"},
		{"lists", "<ul><li>en</li><li>to</li></ul><ol><li>tre</li></ol>", "- en\n- to\n\n- tre"},
		{"table rows", "<table><tr><td>Navn</td><td>Ola</td></tr><tr><td>Rolle</td><td>Utvikler</td></tr></table>", "Navn Ola\nRolle Utvikler"},
		{"script style head dropped", "<html><head><title>T</title><style>p{}</style></head><body><script>var x;</script>Tekst</body></html>", "Tekst"},
		{"pre kept", "<pre>linje 1\n  innrykk</pre>etter", "linje 1\n  innrykk\n\netter"},
		{"divs are lines", "<div>a</div><div>b</div><div><br></div><div>c</div>", "a\nb\n\nc"},
		{"outlook markup", `<p class=MsoNormal>Hei<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p><p class=MsoNormal>Mvh<o:p></o:p></p>`, "Hei\n\nMvh"},
		{"image alt", `<img src="cid:x" alt="Logo">Tekst`, "[Logo]Tekst"},
		{"unclosed tags", "<p>a<p>b<div>c", "a\n\nb\nc"},
		{"broken markup", "<<p>>a</b></p>&bogus; <", "<\n\n>a\n\n&bogus; <"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := htmlToText(tt.in); got != tt.want {
				t.Errorf("htmlToText(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestUnflow(t *testing.T) {
	tests := []struct {
		in    string
		delsp bool
		want  string
	}{
		{"en lang \nlinje som \nfortsetter.\nNy linje.", false, "en lang linje som fortsetter.\nNy linje."},
		{"delt-\nord", false, "delt-\nord"},
		{"sp \nlit", true, "split"},
		{"> sitert \n> tekst\nsvar", false, "> sitert tekst\nsvar"},
		{"-- \nsignatur", false, "-- \nsignatur"},
		{" From stuffed \nline", false, "From stuffed line"},
	}
	for _, tt := range tests {
		if got := unflow(tt.in, tt.delsp); got != tt.want {
			t.Errorf("unflow(%q, %v) = %q, want %q", tt.in, tt.delsp, got, tt.want)
		}
	}
}

func TestParseHostileHeadersStayLinear(t *testing.T) {
	// Many "=?" without a closing "?=", and a closing one far away, in a
	// 4 MB subject; and a million header fields. Both must stay cheap: a
	// quadratic scan would not finish in the test's lifetime.
	words := strings.Repeat("=?a?q?x ", 120_000) // just under maxFieldLen
	p := mustParse(t, "From: a@b.example\nSubject: "+words+"end\n\nx\n")
	if !strings.HasSuffix(p.Subject, "x end") {
		t.Errorf("subject tail %q", p.Subject[max(0, len(p.Subject)-20):])
	}
	p = mustParse(t, "From: a@b.example\nSubject: "+words+"?=\n\nx\n")
	if p.Subject == "" {
		t.Error("subject lost")
	}
	p = mustParse(t, "From: a@b.example\nSubject: "+strings.Repeat("x", 3*maxFieldLen)+"\n\nx\n")
	if len(p.Subject) != maxFieldLen || !hasDefect(p, "header field truncated") {
		t.Errorf("subject of %d bytes kept, defects %q", len(p.Subject), p.Defects)
	}
	// Many fields each just short of the length mime.WordDecoder is given,
	// full of "=?" with a "?=" at the end.
	word := strings.Repeat("=?a?q?x ", (maxWordHeader-8)/8) + "?="
	p = mustParse(t, "From: a@b.example\n"+strings.Repeat("X-W: "+word+"\n", 3000)+"Subject: w\n\nx\n")
	if p.Subject != "w" || len(p.Header["X-W"]) != 3000 {
		t.Errorf("subject %q, %d X-W fields", p.Subject, len(p.Header["X-W"]))
	}
	fields := strings.Repeat("X-A: b\n", 1_000_000)
	p = mustParse(t, "From: a@b.example\n"+fields+"Subject: s\n\nx\n")
	if len(p.Header["X-A"]) > maxFields || !hasDefect(p, "too many header fields") || p.Text != "x" || p.Subject != "s" {
		t.Errorf("%d X-A fields kept, defects %q, text %q", len(p.Header["X-A"]), p.Defects, p.Text)
	}
}

func TestParseISO88591IsReadAsWindows1252(t *testing.T) {
	// Outlook labels text ISO-8859-1 and writes windows-1252 quotes and
	// euro signs.
	p := mustParse(t, "From: a@b.example\nSubject: =?iso-8859-1?Q?=93pris=94_=80?=\nContent-Type: text/plain; charset=iso-8859-1\n\nDet koster 5 \x80 \x96 \x93bl\xe5tt\x94.\n")
	if p.Subject != "“pris” €" || p.Text != "Det koster 5 € – “blått”." {
		t.Errorf("subject %q text %q", p.Subject, p.Text)
	}
}

func TestRepairBase64(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"aGVp", "aGVp"},
		{"aG!V#p", "aGVp"},
		{"aGVpIQ", "aGVpIQ=="},
		{"aGVpIQ==junk", "aGVpIQ=="},
		{"aGVpI", "aGVp"},
		{"a-_b", "a+/b"},
		{"", ""},
	} {
		if got := string(repairBase64([]byte(tt.in))); got != tt.want {
			t.Errorf("repairBase64(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCRLFToLF(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"a\r\nb\rc\r\n", "a\nb\rc\n"},
		{"\r", "\r"},
		{"\r\n\r\n", "\n\n"},
		{"none", "none"},
	} {
		if got := crlfToLF([]byte(tt.in)); string(got) != tt.want {
			t.Errorf("crlfToLF(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFixLineEndings(t *testing.T) {
	for _, tt := range []struct{ in, want, defect string }{
		{"a\r\nb\r\n", "a\r\nb\r\n", ""},
		{"a\nb\n", "a\nb\n", ""},
		{"a\rb\rc\r", "a\nb\nc\n", "CR line endings"},
		{"a\r\nb\nc\r\n", "a\nb\nc\n", "mixed line endings"},
		{"a\r\nb\rc\r\n", "a\r\nb\rc\r\n", ""},
	} {
		w := &walker{p: &kp.Parsed{}}
		if got := string(w.fixLineEndings([]byte(tt.in))); got != tt.want {
			t.Errorf("fixLineEndings(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if tt.defect != "" && !hasDefect(w.p, tt.defect) {
			t.Errorf("fixLineEndings(%q): defects %q", tt.in, w.p.Defects)
		}
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

func TestParseRepairsHeadersGoMessageRefuses(t *testing.T) {
	// An unindented continuation line, a field name with a space in it and
	// a parameter on a line of its own: ReadHeader refuses each; the
	// header is repaired and read again.
	raw := "Received: from a.example\nby b.example with ESMTP\nFrom: a@b.example\nBad Name: x\n" +
		"Subject: reparert\nContent-Type: text/plain;\ncharset=\"iso-8859-1\"\n\nbl\xe5\n"
	p := mustParse(t, raw)
	if p.Subject != "reparert" || p.From.Addr != "a@b.example" || p.Text != "blå" {
		t.Errorf("subject %q from %q text %q", p.Subject, p.From.Addr, p.Text)
	}
	if got := p.Get("Received"); got != "from a.example by b.example with ESMTP" {
		t.Errorf("received %q", got)
	}
	if !hasDefect(p, "badly folded header") || !hasDefect(p, "malformed header field") {
		t.Errorf("defects %q", p.Defects)
	}
}

func TestParseRepairsPartHeadersAndParsesAgain(t *testing.T) {
	// The second part's header has an unindented parameter line, which
	// makes go-message's NextPart fail after the first part.
	raw := "From: a@b.example\nSubject: s\nContent-Type: multipart/mixed; boundary=\"B\"\n\n" +
		"--B\nContent-Type: text/plain\n\nteksten\n" +
		"--B\nContent-Type: application/zip;\nname=\"a.zip\"\nContent-Transfer-Encoding: base64\n\nUEsDBA==\n--B--\n"
	p := mustParse(t, raw)
	if p.Text != "teksten" || len(p.Attachments) != 1 || p.Attachments[0].Name != "a.zip" || p.Attachments[0].Size != 4 {
		t.Errorf("text %q attachments %+v defects %q", p.Text, p.Attachments, p.Defects)
	}
	// The first part's header is broken: no part is read until repaired.
	raw = "From: a@b.example\nSubject: s\nContent-Type: multipart/alternative; boundary=\"B\"\n\n" +
		"--B\nContent-Type: text/plain;\nformat=flowed\nContent-Transfer-Encoding: quoted-printable\n\nbl=C3=A5\n--B--\n"
	p = mustParse(t, raw)
	if p.Text != "blå" {
		t.Errorf("text %q defects %q", p.Text, p.Defects)
	}
}

func TestParseRepairsQuotedPrintableWithRawControlBytes(t *testing.T) {
	p := mustParse(t, "From: a@b.example\nSubject: s\nContent-Type: text/plain; charset=iso-2022-jp\n"+
		"Content-Transfer-Encoding: quoted-printable\n\n\x1b$B$K$c!<$s\x1b(B=21\n")
	if p.Text != "にゃーん!" || !hasDefect(p, "bad quoted-printable") {
		t.Errorf("text %q defects %q", p.Text, p.Defects)
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
