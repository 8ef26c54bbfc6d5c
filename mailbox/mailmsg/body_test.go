package mailmsg

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseMissingContentTypeIsPlainText(t *testing.T) {
	p := mustParse(t, "From: a@b.example\nSubject: s\n\nbare tekst\n")
	if p.ContentType != "text/plain" || p.Text != "bare tekst" {
		t.Errorf("content type %q text %q", p.ContentType, p.Text)
	}
}

func TestParseTextIsCappedAtOneMiB(t *testing.T) {
	body := strings.Repeat("æøå ", 600_000) // 4.2 MB of UTF-8
	p := mustParse(t, "From: a@b.example\nSubject: lang\nContent-Type: text/plain; charset=utf-8\n\n"+body)
	if len(p.Text) > maxText || len(p.Text) < maxText-8 || !utf8.ValidString(p.Text) || !hasDefect(p, "text truncated") {
		t.Errorf("text %d bytes, valid %v, defects %q", len(p.Text), utf8.ValidString(p.Text), p.Defects)
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
