package mailmsg

import (
	"testing"
)

func TestParseUnknownCharsetKeepsTextAndRecordsDefect(t *testing.T) {
	p := mustParse(t, "From: a@b.example\nSubject: =?x-no-such-charset?Q?Hei_der?=\nContent-Type: text/plain; charset=x-unknown-8bit\n\nbl\xe5b\xe6r\n")
	if p.Subject != "Hei der" || p.Text != "blåbær" {
		t.Errorf("subject %q text %q", p.Subject, p.Text)
	}
	if !hasDefect(p, "unknown charset x-no-such-charset") || !hasDefect(p, "unknown charset x-unknown-8bit") {
		t.Errorf("defects %q", p.Defects)
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
