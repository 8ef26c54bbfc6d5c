package mailmsg

import (
	"strings"
	"testing"
)

func TestParseMissingHeaderBodySeparator(t *testing.T) {
	p := mustParse(t, "From: a@b.example\nSubject: uten skille\nDette er teksten.\nOg mer.\n")
	if p.Subject != "uten skille" || p.Text != "Dette er teksten.\nOg mer." || !hasDefect(p, "missing header/body separator") {
		t.Errorf("subject %q text %q defects %q", p.Subject, p.Text, p.Defects)
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
