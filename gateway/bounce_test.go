package gateway

import (
	"strings"
	"testing"
)

// The notice about a delivery failure says who could not be reached and
// why, in the words of the DSN or, without one, of the bounce's text.
func TestDeliveryFailureNoticeExplains(t *testing.T) {
	for _, tc := range []struct {
		name   string
		bounce func(ackID, ackSubject string) []byte
		want   []string
	}{
		{
			name: "postfix dsn",
			bounce: func(ackID, ackSubject string) []byte {
				return msg([]string{
					"From: Mail Delivery System <MAILER-DAEMON@mx.uio.no>", "To: " + contact,
					"Subject: Undelivered Mail Returned to Sender", "Message-ID: <dsn1@mx.uio.no>",
					`Content-Type: multipart/report; report-type=delivery-status; boundary="b1"`, "MIME-Version: 1.0",
				}, "--b1\nContent-Type: text/plain\n\nThis is the mail system at host mx.uio.no.\n\n"+
					"--b1\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.uio.no\n\n"+
					"Final-Recipient: rfc822; "+ola+"\nAction: failed\nStatus: 5.1.1\n"+
					"Diagnostic-Code: smtp; 550 5.1.1 <"+ola+">: Recipient address rejected:\n    User unknown in local recipient table\n\n"+
					"--b1\nContent-Type: text/rfc822-headers\n\nMessage-ID: <"+ackID+">\nSubject: "+ackSubject+"\n\n--b1--\n")
			},
			want: []string{"Mottaker:    " + ola, "Statuskode:  5.1.1", "Feilmelding: 550 5.1.1 <" + ola + ">: Recipient address rejected: User unknown in local recipient table", "Varselet: Undelivered Mail Returned to Sender"},
		},
		{
			name: "norwegian exchange ndr without a dsn part",
			bounce: func(ackID, ackSubject string) []byte {
				return msg([]string{
					"From: postmaster@uio.no", "To: " + contact, "Subject: Kan ikke leveres: " + ackSubject, "Message-ID: <ndr1@uio.no>",
				}, "Leveringen mislyktes for disse mottakerne eller gruppene:\n\n"+ola+"\nE-postadressen du skrev inn, ble ikke funnet.\n\n"+
					"Diagnostisk informasjon for administratorer:\n\nGenererer server: EX01.uio.no\n\n"+ola+"\n"+
					"Ekstern server returnerte '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found'\n\nOpprinnelige meldingshoder:\n\nMessage-ID: <"+ackID+">\n")
			},
			want: []string{"Mottaker:    " + ola, "Statuskode:  5.1.1", "Feilmelding: 550 5.1.1 RESOLVER.ADR.RecipNotFound; not found"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			id := caseNo(t, h.one(request("req1@example.org")))
			ack := h.mailsTo(ola, "ack")[0]
			if r := h.one(tc.bounce(ack.MessageID, ack.Subject)); r.Case == nil || *r.Case != id {
				t.Fatalf("bounce = %+v", r)
			}
			notices := h.mailsTo(kari, "delivery-failure")
			if len(notices) != 1 {
				t.Fatalf("delivery-failure notices = %d, want 1", len(notices))
			}
			text := bodyOf(t, notices[0])
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("notice lacks %q:\n%s", w, text)
				}
			}
		})
	}
}
