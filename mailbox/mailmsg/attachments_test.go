package mailmsg

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	kp "kontaktpunkt"
)

const withAttachments = "From: Ola <ola@example.org>\r\nTo: integrasjon@uio.no\r\nSubject: Avtale\r\nMessage-ID: <a1@example.org>\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n" +
	"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAvtalen er vedlagt.\r\n" +
	"--b\r\nContent-Type: application/pdf; name=\"avtale.pdf\"\r\nContent-Disposition: attachment; filename*=utf-8''databehandleravtale-%C3%A6%C3%B8%C3%A5.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcOkw7zDtsOf\r\n" +
	"--b\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n" +
	"--b--\r\n"

func TestAttachmentsAreExtractedAndComposed(t *testing.T) {
	list, omitted := Attachments([]byte(withAttachments), 1<<20)
	if len(list) != 2 || len(omitted) != 0 {
		t.Fatalf("attachments = %+v, omitted %v", list, omitted)
	}
	if list[0].Name != "databehandleravtale-æøå.pdf" || list[0].ContentType != "application/pdf" || !bytes.HasPrefix(list[0].Data, []byte("%PDF-1.4")) {
		t.Fatalf("first attachment = %q %q %q", list[0].Name, list[0].ContentType, list[0].Data)
	}
	if _, omitted := Attachments([]byte(withAttachments), 10); len(omitted) == 0 {
		t.Fatal("a size cap of 10 bytes omitted nothing")
	}

	raw, err := Compose(OutMail{
		From: kp.Address{Addr: "integrasjon@uio.no"}, To: []kp.Address{{Addr: "per@uio.no"}},
		Subject: "[INT#1] Avtale", Text: "Ola skrev:\n\nAvtalen er vedlagt.", MessageID: "m1@uio.no",
		Date: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), Attachments: list,
	})
	if err != nil {
		t.Fatal(err)
	}
	again, err := Compose(OutMail{
		From: kp.Address{Addr: "integrasjon@uio.no"}, To: []kp.Address{{Addr: "per@uio.no"}},
		Subject: "[INT#1] Avtale", Text: "Ola skrev:\n\nAvtalen er vedlagt.", MessageID: "m1@uio.no",
		Date: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), Attachments: list,
	})
	if err != nil || !bytes.Equal(raw, again) {
		t.Fatal("Compose with attachments is not deterministic")
	}
	p, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Text, "Avtalen er vedlagt.") || len(p.Attachments) != 2 || p.Attachments[0].Name != "databehandleravtale-æøå.pdf" {
		t.Fatalf("composed mail parsed back: text %q attachments %+v", p.Text, p.Attachments)
	}
	back, _ := Attachments(raw, 1<<20)
	if len(back) != 2 || !bytes.Equal(back[0].Data, list[0].Data) || !bytes.Equal(back[1].Data, list[1].Data) {
		t.Fatalf("attachments did not survive the round trip: %+v", back)
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
