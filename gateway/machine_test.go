package gateway

import (
	"fmt"
	"strings"
	"testing"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
)

// TestSpamTouchesNoCase checks that mail with a spam verdict is stored
// unfiled, answers nobody and leaves the case it names as it was, even
// when it carries the case tag and replies to our acknowledgement.
func TestSpamTouchesNoCase(t *testing.T) {
	cfg := testConfig()
	cfg.Limits.SpamSCL = 5
	h := newHarness(t, cfg)
	id := caseNo(t, h.one(request("req1@example.org")))
	ack := h.mailsTo(ola, "ack")[0]
	before, queued := *h.caseOf(id), len(h.outbox())
	h.clock.Advance(time.Hour)
	for i, extra := range []string{"X-Spam-Flag: YES", "X-Spam-Status: Yes, score=12.3 required=5.0", "X-MS-Exchange-Organization-SCL: 6"} {
		r := h.one(msg([]string{
			"From: " + ola, "To: " + contact, "Subject: Re: " + ack.Subject, extra,
			fmt.Sprintf("Message-ID: <spam%d@example.org>", i), "In-Reply-To: <" + ack.MessageID + ">",
		}, "Billige klokker.\n"))
		if r.Class != kp.ClassSpam || r.Status != ResultUnfiled || r.Case != nil || r.MatchedBy != kp.MatchNone {
			t.Fatalf("%s: result = %+v", extra, r)
		}
	}
	fresh := h.one(msg([]string{"From: spam@example.net", "To: " + contact, "Subject: Tilbud", "X-Spam-Flag: YES", "Message-ID: <spam9@example.net>"}, "Kjøp!\n"))
	if fresh.Class != kp.ClassSpam || fresh.Status != ResultUnfiled || fresh.Case != nil {
		t.Fatalf("new spam = %+v", fresh)
	}
	if after := h.caseOf(id); after.Messages != before.Messages || !after.Updated.Equal(before.Updated) || after.Status != before.Status {
		t.Fatalf("spam touched the case: before %+v after %+v", before, *after)
	}
	if n := len(h.outbox()); n != queued {
		t.Fatalf("spam caused %d mails", n-queued)
	}
	var unfiled []kp.Message
	h.st.View(func(tx *store.Tx) error { unfiled, _ = tx.CaseMessages(0); return nil })
	if len(unfiled) != 4 {
		t.Fatalf("unfiled messages = %d, want the 4 spam mails", len(unfiled))
	}
	// Below the configured SCL the mail is an ordinary reply.
	r := h.one(msg([]string{"From: " + ola, "To: " + contact, "Subject: Re: " + ack.Subject, "X-MS-Exchange-Organization-SCL: 1",
		"Message-ID: <ok1@example.org>"}, "Her er svaret.\n"))
	if r.Class != kp.ClassHuman || caseNo(t, r) != id {
		t.Fatalf("SCL 1 reply = %+v", r)
	}
}

// TestMachineMailBreadthGetsNoAcknowledgement ingests robot, report,
// foreign-loop and localised auto-reply and non-delivery mail, none of
// which may open a case or be acknowledged, beside human mail using the
// same words, which must.
func TestMachineMailBreadthGetsNoAcknowledgement(t *testing.T) {
	h := newHarness(t, nil)
	machine := [][]string{
		{"From: majordomo@lists.example.org", "Subject: Majordomo results"},
		{"From: LISTSERV@LISTSERV.EXAMPLE.EDU", "Subject: Output of your job"},
		{"From: noreply-dmarc-support@google.example", "Subject: Report domain: uio.no Submitter: google.com Report-ID: 99"},
		{"From: dmarc-noreply@mail.example", "Subject: DMARC aggregate report"},
		{"From: tls@mail.example", "TLS-Report-Domain: uio.no", "Subject: Report Domain: uio.no Submitter: mail.example"},
		{"From: tracker@bugs.example.org", "X-Loop: bugs@bugs.example.org", "Subject: [bugs #42] Crash in export"},
		{"From: anne@hvl.no", "Subject: Fraværende"},
		{"From: anne@hvl.no", "Subject: Automatisk svar: Tilgang til studentdata"},
		{"From: system@hvl.no", "Subject: Kan ikke leveres: Tilgang"},
		{"From: system@hvl.no", "Subject: Ikke levert"},
		{"From: hans@example.de", "Subject: Abwesenheitsnotiz: Frage"},
		{"From: sven@example.se", "Subject: Frånvarande"},
		{"From: bounces+123@em.example.com", "Subject: Nyhetsbrev"},
	}
	for i, hs := range machine {
		r := h.one(msg(append(hs, "To: "+contact, fmt.Sprintf("Message-ID: <m%d@example.org>", i)), "Automatisk melding.\n"))
		if !r.Class.Machine() || r.Case != nil {
			t.Errorf("%v: result %+v, want machine mail without a case", hs, r)
		}
	}
	if n := len(h.outbox()); n != 0 {
		t.Fatalf("machine mail caused %d mails", n)
	}
	for i, subj := range []string{"Spørsmål om fraværsregistrering i FS", "Fravær: rapporten viser feil tall", "Ikke levert vitnemål"} {
		r := h.one(msg([]string{"From: " + ola, "To: " + contact, "Subject: " + subj, fmt.Sprintf("Message-ID: <h%d@example.org>", i)}, "Hei.\n"))
		if r.Class != kp.ClassHuman || r.MatchedBy != kp.MatchNew {
			t.Errorf("%q: result %+v, want a new case", subj, r)
		}
	}
	acks := h.mailsTo(ola, "ack")
	if len(acks) != 3 {
		t.Fatalf("acknowledgements to human mail = %d, want 3", len(acks))
	}
	for _, a := range acks {
		if strings.Contains(a.Subject, "Fraværende") {
			t.Errorf("acknowledged an auto-reply: %s", a.Subject)
		}
	}
}
