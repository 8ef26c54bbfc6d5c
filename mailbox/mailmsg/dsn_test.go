package mailmsg

import (
	"strings"
	"testing"
)

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
