package gateway

import (
	"strings"
	"testing"

	kp "kontaktpunkt"
	"kontaktpunkt/mailbox/mailmsg"
	"kontaktpunkt/store"
)

func TestReplyTokenInFrom(t *testing.T) {
	cfg := testConfig()
	cfg.Contact.ReplyToken.Enabled = true
	cfg.Contact.ReplyToken.InFrom = true
	cfg.Contact.ReplyToken.Secret.Env = "KP_TEST_TOKEN_SECRET"
	t.Setenv("KP_TEST_TOKEN_SECRET", "0123456789abcdef0123456789abcdef")
	h := newHarness(t, cfg)
	id := caseNo(t, h.one(request("req1@example.org")))
	ack, err := mailmsg.Parse(h.mailsTo(ola, "ack")[0].Raw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ack.From.Addr, "integrasjon+") || ack.From.Name != cfg.Contact.Name || len(ack.ReplyTo) != 1 || ack.From.Addr != ack.ReplyTo[0].Addr {
		t.Fatalf("acknowledgement From %+v, Reply-To %+v: want the signed address with the display name", ack.From, ack.ReplyTo)
	}
	if env := h.mailsTo(ola, "ack")[0].From; env != contact {
		t.Errorf("envelope sender %q, want the contact address", env)
	}
	notify, err := mailmsg.Parse(h.mailsTo(kari, "notify")[0].Raw)
	if err != nil {
		t.Fatal(err)
	}
	if notify.From.Addr != contact {
		t.Errorf("staff notification From %q, want the contact address", notify.From.Addr)
	}
	// An archive system answering From threads by the token.
	r := h.one(msg([]string{"From: " + ola, "To: " + ack.From.Addr, "Subject: Svar", "Message-ID: <o2@example.org>"}, "Svar fra arkivet.\n"))
	if caseNo(t, r) != id || r.MatchedBy != kp.MatchReplyToken {
		t.Fatalf("reply to From = %+v", r)
	}
}

func TestAckForwardedOff(t *testing.T) {
	cfg := testConfig()
	off := false
	cfg.Contact.AckForwarded = &off
	h := newHarness(t, cfg)
	r := h.one(msg([]string{"From: " + kari, "To: " + contact, trustedAR, "Subject: VS: Tilgang", "Message-ID: <k1@uio.no>"},
		"Kan dere ta denne?\n\n-----Opprinnelig melding-----\nFra: Bjørn <bjorn@kommune.example>\nSendt: 1. desember 2026\nTil: Kari\nEmne: Tilgang\n\nHei.\n"))
	c := h.caseOf(caseNo(t, r))
	if c.Requester.Addr != "bjorn@kommune.example" || c.OpenedBy != kari {
		t.Fatalf("case = %+v", c)
	}
	if n := len(h.mailsTo("bjorn@kommune.example", "ack")); n != 0 {
		t.Errorf("%d acknowledgements with ack_forwarded off", n)
	}
	if n := len(h.mailsTo(kari, "receipt")); n != 1 {
		t.Errorf("%d receipts to the staff member, want 1", n)
	}
}

func TestForwardNeedsAuthenticatedStaff(t *testing.T) {
	// Without the trusted Authentication-Results a staff From is forgeable:
	// the mail opens a case for its sender, not for the quoted person.
	h := newHarness(t, nil)
	r := h.one(msg([]string{"From: " + kari, "To: " + contact, "Subject: VS: Tilgang", "Message-ID: <k1@uio.no>"},
		"-----Opprinnelig melding-----\nFra: Bjørn <bjorn@kommune.example>\nSendt: 1. desember 2026\nTil: Kari\nEmne: Tilgang\n\nHei.\n"))
	if c := h.caseOf(caseNo(t, r)); kp.SameAddr(c.Requester.Addr, "bjorn@kommune.example") || c.OpenedBy != "" {
		t.Fatalf("unauthenticated forward opened the case for the quoted sender: %+v", c)
	}
}

func TestReusedMessageIDAgainstOldEntry(t *testing.T) {
	// A message stored before content hashes were kept has none in its id
	// entry: its raw bytes decide.
	h := newHarness(t, nil)
	first := request("reused@p360.example")
	if err := h.st.Update(func(tx *store.Tx) error {
		return tx.PutMessage(&kp.Message{ID: "reused@p360.example", Direction: kp.In, Class: kp.ClassHuman, Kind: "unfiled"}, first)
	}); err != nil {
		t.Fatal(err)
	}
	again := append([]byte("Received: from relay2.example by mx.uio.no; Mon, 23 Nov 2026 09:10:00 +0100\r\n"), first...)
	if r := h.one(again); r.Status != ResultDuplicate {
		t.Errorf("same mail by another route: %+v", r)
	}
	other := msg([]string{"From: Ola Nordmann <" + ola + ">", "To: " + contact, "Subject: Noe annet", "Message-ID: <reused@p360.example>"}, "Et helt annet brev.\n")
	r := h.one(other)
	if r.Status != ResultStored || r.MatchedBy != kp.MatchNew || !strings.HasPrefix(r.MessageID, "reused@p360.example-") {
		t.Fatalf("different mail with a known id: %+v", r)
	}
	if r2 := h.one(other); r2.Status != ResultDuplicate || r2.MessageID != r.MessageID {
		t.Errorf("the different mail again: %+v, want a duplicate of %s", r2, r.MessageID)
	}
}

func TestContentHash(t *testing.T) {
	a := contentHash([]byte("Subject: x\r\nReceived: a\r\n\r\nHei  \r\nLine\r\n"))
	b := contentHash([]byte("Subject: x\nReceived: b\nX-Other: c\n\nHei\nLine\n"))
	c := contentHash([]byte("Subject: x\n\nHei\nLine 2\n"))
	if a != b || a == c || a == 0 {
		t.Errorf("hashes %x %x %x: want the first two equal and the third different", a, b, c)
	}
}

// attachedMail is a staff mail with subject subj and a mail from
// phisher@bad.example with subject "Your account" attached.
func attachedMail(id, subj string) []byte {
	return msg([]string{"From: " + kari, "To: " + contact, trustedAR, "Subject: " + subj, "Message-ID: <" + id + ">",
		"MIME-Version: 1.0", "Content-Type: multipart/mixed; boundary=\"b1\""},
		"--b1\nContent-Type: text/plain; charset=utf-8\n\nSe vedlegg.\n"+
			"--b1\nContent-Type: message/rfc822\nContent-Disposition: attachment; filename=\"m.eml\"\n\n"+
			"From: Sender <phisher@bad.example>\nTo: kari@uio.no\nSubject: Your account\nMessage-ID: <att@bad.example>\n\nClick here.\n--b1--\n")
}

func TestAttachedMailIsAForwardOnlyWhenTheSubjectSaysSo(t *testing.T) {
	h := newHarness(t, nil)
	for _, tt := range []struct {
		id, subject, requester string
	}{
		{"k1@uio.no", "Mistenkelig e-post mottatt", kari},           // sent in as evidence
		{"k2@uio.no", "Your account", "phisher@bad.example"},        // Gmail's forward as attachment keeps the subject
		{"k3@uio.no", "FW: Your account", "phisher@bad.example"},    // Outlook's
		{"k4@uio.no", "[Fwd: Your account]", "phisher@bad.example"}, // Thunderbird's
	} {
		c := h.caseOf(caseNo(t, h.one(attachedMail(tt.id, tt.subject))))
		if !kp.SameAddr(c.Requester.Addr, tt.requester) {
			t.Errorf("%q: requester %s, want %s", tt.subject, c.Requester.Addr, tt.requester)
		}
	}
}

func BenchmarkContentHash(b *testing.B) {
	raw := benchMail(1)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		contentHash(raw)
	}
}
