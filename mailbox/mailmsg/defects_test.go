package mailmsg

import (
	"encoding/base64"
	"testing"

	kp "kontaktpunkt"
)

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

func TestParseRepairsQuotedPrintableWithRawControlBytes(t *testing.T) {
	p := mustParse(t, "From: a@b.example\nSubject: s\nContent-Type: text/plain; charset=iso-2022-jp\n"+
		"Content-Transfer-Encoding: quoted-printable\n\n\x1b$B$K$c!<$s\x1b(B=21\n")
	if p.Text != "にゃーん!" || !hasDefect(p, "bad quoted-printable") {
		t.Errorf("text %q defects %q", p.Text, p.Defects)
	}
}
