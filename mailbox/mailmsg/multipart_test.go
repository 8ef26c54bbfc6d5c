package mailmsg

import (
	"testing"
)

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
