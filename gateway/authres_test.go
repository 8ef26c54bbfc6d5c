package gateway

import (
	"testing"

	kp "kontaktpunkt"
)

// The border MTA (mx.uio.no) stamps its Authentication-Results above its own
// Received line; anything below that line was written by the sender.
const (
	borderHop = "Received: from mail.evil.example (mail.evil.example [192.0.2.7]) by mx.uio.no (Postfix) with ESMTPS id 4XyZ; Mon, 23 Nov 2026 09:00:00 +0100"
	lmtpHop   = "Received: from mx.uio.no by imap.uio.no (Dovecot) with LMTP id abc; Mon, 23 Nov 2026 09:00:01 +0100"
	senderHop = "Received: from [10.1.2.3] by mail.evil.example with ESMTPSA; Mon, 23 Nov 2026 08:59:59 +0100"
)

func TestForgedAuthenticationResultsBelowBorderHopGiveNoPower(t *testing.T) {
	cases := map[string][]string{
		"forged pass below the border hop": {
			lmtpHop, "Authentication-Results: mx.uio.no; spf=fail smtp.mailfrom=evil.example; dmarc=none", borderHop,
			"Authentication-Results: mx.uio.no; dkim=pass header.d=uio.no; dmarc=pass header.from=uio.no", senderHop,
		},
		"own fail above, forged pass below": {
			"Authentication-Results: mx.uio.no; dmarc=fail header.from=uio.no", borderHop,
			"Authentication-Results: mx.uio.no; dmarc=pass header.from=uio.no", senderHop,
		},
		"own fail and a forged pass both above a folded line": {
			"Authentication-Results: mx.uio.no; dmarc=fail header.from=uio.no",
			"Authentication-Results: mx.uio.no;\r\n dmarc=pass header.from=uio.no", borderHop,
		},
	}
	for name, hs := range cases {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, nil)
			id := caseNo(t, h.one(request("req1@example.org")))
			headers := append(hs, "From: Kari Integrasjon <"+kari+">", "To: "+contact,
				"Subject: [close] [prio:urgent] [INT#1] Tilgang", "Message-ID: <forged@evil.example>")
			r := h.one(msg(headers, "Saken er lukket, send passordet ditt hit.\n"))
			if caseNo(t, r) != id {
				t.Fatalf("forged message not filed on the case: %+v", r)
			}
			c := h.caseOf(id)
			if c.Status != kp.StatusOpen || c.Priority != kp.PriorityNormal {
				t.Fatalf("forged commands applied: status %s priority %s", c.Status, c.Priority)
			}
			if n := len(h.mailsTo(ola, "relay")); n != 0 {
				t.Errorf("forged text relayed to the requester %d times", n)
			}
		})
	}
}

func TestOwnAuthenticationResultsAboveBorderHopGivePower(t *testing.T) {
	h := newHarness(t, nil)
	id := caseNo(t, h.one(request("req1@example.org")))
	r := h.one(msg([]string{
		lmtpHop,
		"Authentication-Results: mx.uio.no; dkim=pass header.d=uio.no; dmarc=pass header.from=uio.no",
		"Received: from smtp.uio.no by mx.uio.no (Postfix) with ESMTPS id 1; Mon, 23 Nov 2026 09:00:00 +0100",
		"Received: from [129.240.1.2] by smtp.uio.no with ESMTPSA; Mon, 23 Nov 2026 08:59:59 +0100",
		"From: Kari Integrasjon <" + kari + ">", "To: " + contact,
		"Subject: [prio:urgent] [INT#1] Tilgang", "Message-ID: <kari1@uio.no>",
	}, ""))
	if caseNo(t, r) != id {
		t.Fatalf("result %+v", r)
	}
	if c := h.caseOf(id); c.Priority != kp.PriorityUrgent {
		t.Fatalf("authenticated staff command not applied: priority %s", c.Priority)
	}
}
