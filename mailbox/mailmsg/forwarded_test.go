package mailmsg

import (
	"strings"
	"testing"
)

// forwardedAsAttachment is a staff member's mail with the requester's mail
// attached, as Outlook and Gmail send "forward as attachment".
const forwardedAsAttachment = "From: Kari <kari@uio.no>\r\nTo: integrasjon@uio.no\r\nSubject: Fwd: Tilgang\r\n" +
	"Message-ID: <fwd-1@uio.no>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
	"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nKan dere ta denne?\r\n" +
	"--b1\r\nContent-Type: message/rfc822; name=\"Tilgang.eml\"\r\nContent-Disposition: attachment; filename=\"Tilgang.eml\"\r\n\r\n" +
	"From: =?utf-8?q?=C3=85se_Lund?= <ase.lund@kommune.example>\r\nTo: kari@uio.no\r\nSubject: Tilgang\r\nMessage-ID: <orig@kommune.example>\r\n\r\nHei, jeg trenger tilgang.\r\n" +
	"--b1--\r\n"

func TestAttachedSender(t *testing.T) {
	got, subject, ok := AttachedSender([]byte(forwardedAsAttachment))
	if !ok || got.Addr != "ase.lund@kommune.example" || got.Name != "Åse Lund" || subject != "Tilgang" {
		t.Errorf("AttachedSender = %+v, %q, %v", got, subject, ok)
	}
	for _, raw := range []string{
		"",
		"From: a@b.example\r\nSubject: x\r\n\r\nplain text\r\n",
		strings.Replace(forwardedAsAttachment, "From: =?utf-8?q?=C3=85se_Lund?= <ase.lund@kommune.example>\r\n", "", 1),
	} {
		if got, _, ok := AttachedSender([]byte(raw)); ok {
			t.Errorf("AttachedSender(%.40q) = %+v, want none", raw, got)
		}
	}
}

func FuzzAttachedSender(f *testing.F) {
	addFuzzSeeds(f)
	f.Add([]byte(forwardedAsAttachment))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if a, _, ok := AttachedSender(raw); ok && !strings.Contains(a.Addr, "@") {
			t.Errorf("sender without an address: %+v", a)
		}
	})
}
