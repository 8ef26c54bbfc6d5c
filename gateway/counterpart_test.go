package gateway

import (
	"strings"
	"testing"

	kp "kontaktpunkt"
	"kontaktpunkt/config"
	"kontaktpunkt/mailbox/mailmsg"
	"kontaktpunkt/store"
)

const (
	rtQueue = "fs-queue@rt.example"
	rtAR    = "Authentication-Results: mx.uio.no; dkim=pass header.d=rt.example; dmarc=pass header.from=rt.example"
)

// rtConfig has team fs working in its own Request Tracker queue: the
// queue's address is the team's member, and ticketSystem (may be "") the
// team's configured ticket system.
func rtConfig(ticketSystem string) *config.Config {
	cfg := testConfig()
	cfg.Teams = []config.Team{{Name: "fs", Members: []string{rtQueue}, Escalation: "fs-leder@uio.no", TicketSystem: ticketSystem}}
	cfg.Routing = []config.Rule{{Subject: `\bFS\b`, Team: "fs"}}
	return cfg
}

// rtMail is mail as Request Tracker sends it: Precedence: bulk on every
// message, its own RT headers, its subject tag in front.
func rtMail(id, subject string, extra ...string) []byte {
	hs := []string{
		`From: "Per Hansen via RT" <` + rtQueue + ">", "To: " + contact, rtAR, "Subject: " + subject,
		"Message-ID: <" + id + ">", "Precedence: bulk", "RT-Ticket: rt.example #123", "X-RT-Loop-Prevention: rt.example",
		"RT-Originator: per.hansen@uio.no", "Managed-BY: RT 5.0.5 (http://www.bestpractical.com/rt/)",
	}
	return msg(append(hs, extra...), "Hei Ola,\n\ntilgangen er gitt.\n\nPer\n")
}

// TestTeamTicketSystemConversation plays a case whose team answers from its
// RT queue: RT's auto-reply is recorded and not relayed, RT's answer (with
// Precedence: bulk) is relayed to the requester and stops the reminders,
// our later relay to the team carries RT's reference beside our tag, and
// RT mail carrying only its own reference finds the case. The team's RT is
// known by its configured ticket_system, or only by its RT headers.
func TestTeamTicketSystemConversation(t *testing.T) {
	for _, ts := range []string{"@rt.example", ""} {
		t.Run("ticket_system="+ts, func(t *testing.T) { teamTicketSystemConversation(t, ts) })
	}
}

func teamTicketSystemConversation(t *testing.T, ticketSystem string) {
	h := newHarness(t, rtConfig(ticketSystem))
	id := caseNo(t, h.one(request("req1@example.org")))
	assign := h.mailsTo(rtQueue, "assign")
	if len(assign) != 1 {
		t.Fatalf("assignment mails to the queue = %d", len(assign))
	}

	// RT opens ticket 123 and answers with its auto-reply.
	// RT puts its tag in front of the template's subject and marks the
	// auto-reply only by that subject.
	auto := h.one(rtMail("rt-auto@rt.example", "[rt.example #123] AutoReply: "+assign[0].Subject,
		"In-Reply-To: <"+assign[0].MessageID+">"))
	if auto.Class != kp.ClassAutoReply || caseNo(t, auto) != id {
		t.Fatalf("RT auto-reply = %+v", auto)
	}
	if n := len(h.mailsTo(ola, "relay")); n != 0 {
		t.Fatalf("RT's auto-reply was relayed to the requester")
	}
	c := h.caseOf(id)
	if len(c.Counterparts) != 1 || c.Counterparts[0].Ref != "[rt.example #123]" || c.Counterparts[0].Team != "fs" || c.Counterparts[0].System != "rt" {
		t.Fatalf("counterpart refs after the auto-reply = %+v", c.Counterparts)
	}
	if c.Status != kp.StatusOpen || c.Next == nil || c.Next.Kind != kp.FollowRespond {
		t.Fatalf("after the auto-reply: status %s next %+v, want open with the respond reminder", c.Status, c.Next)
	}

	// The team answers from RT.
	ans := h.one(rtMail("rt-answer@rt.example", "[rt.example #123] "+assign[0].Subject,
		"In-Reply-To: <"+assign[0].MessageID+">"))
	if ans.Class != kp.ClassHuman || caseNo(t, ans) != id {
		t.Fatalf("RT answer = %+v", ans)
	}
	relays := h.mailsTo(ola, "relay")
	if len(relays) != 1 || !strings.Contains(string(relays[0].Raw), "tilgangen er gitt") {
		t.Fatalf("relays to the requester = %d", len(relays))
	}
	if strings.Contains(relays[0].Subject, "rt.example") {
		t.Errorf("the team's reference went to the requester: %q", relays[0].Subject)
	}
	c = h.caseOf(id)
	if c.Status != kp.StatusWaiting || c.Next == nil || c.Next.Kind != kp.FollowWaiting || c.LastStaffReply.IsZero() {
		t.Fatalf("after RT's answer: status %s next %+v, want waiting on the requester", c.Status, c.Next)
	}

	// The requester answers; the relay to the team carries RT's reference.
	h.one(msg([]string{"From: " + ola, "To: " + contact, "Subject: Re: " + relays[0].Subject,
		"Message-ID: <ola2@example.org>", "In-Reply-To: <" + relays[0].MessageID + ">"}, "Takk!\n"))
	back := h.mailsTo(rtQueue, "relay")
	if len(back) != 1 || !strings.HasPrefix(back[0].Subject, "[INT#1] [rt.example #123] ") {
		var subjects []string
		for _, o := range back {
			subjects = append(subjects, o.Subject)
		}
		t.Fatalf("relays to the team: %q", subjects)
	}
	if strings.Count(back[0].Subject, "rt.example") != 1 {
		t.Errorf("reference repeated: %q", back[0].Subject)
	}
	if p, err := mailmsg.Parse(back[0].Raw); err != nil || p.Subject != back[0].Subject {
		t.Errorf("the mail on the wire has subject %q (%v), want %q", p.Subject, err, back[0].Subject)
	}

	// RT mail with only its own reference (no tag of ours, no headers).
	only := h.one(rtMail("rt-3@rt.example", "[rt.example #123] Tilgang"))
	if only.MatchedBy != kp.MatchCounterpartRef || caseNo(t, only) != id {
		t.Fatalf("RT mail by its reference = %+v", only)
	}
	// A ticket's subject may carry a requester's words: no commands.
	cmd := h.one(rtMail("rt-4@rt.example", "[rt.example #123] [INT#1] [close] Tilgang"))
	if caseNo(t, cmd) != id || h.caseOf(id).Status == kp.StatusResolved || len(h.mailsTo(rtQueue, "receipt")) != 0 {
		t.Fatalf("a ticket system's subject was taken as a command: %+v, status %s", cmd, h.caseOf(id).Status)
	}
	// The same reference from someone else is no match.
	other := h.one(msg([]string{"From: " + ola, "To: " + contact, "Subject: [rt.example #123] Tilgang", "Message-ID: <ola3@example.org>"}, "Hei\n"))
	if other.MatchedBy == kp.MatchCounterpartRef {
		t.Fatalf("a stranger's mail matched by RT's reference: %+v", other)
	}
}

// TestKnownSendersBulkLookIsAnAnswer checks item by item that who wrote a
// message decides before how it looks.
func TestKnownSendersBulkLookIsAnAnswer(t *testing.T) {
	h := newHarness(t, nil)
	id := caseNo(t, h.one(request("req1@example.org")))
	ack := h.mailsTo(ola, "ack")[0]

	// Staff, through a list that stamps Precedence: list and List-Id.
	r := h.one(msg([]string{"From: " + kari, "To: " + contact, trustedAR, "Subject: Re: " + ack.Subject,
		"Message-ID: <k1@uio.no>", "Precedence: list", "List-Id: <staff.lists.uio.no>"}, "Vi ser på det.\n"))
	if r.Class != kp.ClassHuman || caseNo(t, r) != id {
		t.Fatalf("staff mail with list headers = %+v", r)
	}
	if n := len(h.mailsTo(ola, "relay")); n != 1 {
		t.Fatalf("staff answer relayed %d times, want 1", n)
	}

	// The requester, from a system that stamps Precedence: bulk: known
	// only once threading found the case.
	h.one(msg([]string{"From: " + kari, "To: " + contact, trustedAR, "Subject: [close] [INT#1]", "Message-ID: <k2@uio.no>"}, ""))
	r = h.one(msg([]string{"From: " + ola, "To: " + contact, "Subject: Re: " + ack.Subject,
		"Message-ID: <ola2@example.org>", "In-Reply-To: <" + ack.MessageID + ">", "Precedence: bulk"}, "Det virker fortsatt ikke.\n"))
	if r.Class != kp.ClassHuman || caseNo(t, r) != id {
		t.Fatalf("requester mail with Precedence: bulk = %+v", r)
	}
	if c := h.caseOf(id); c.Status != kp.StatusOpen {
		t.Fatalf("the requester's answer did not reopen the case: %s", c.Status)
	}
	if n := len(h.mailsTo(kari, "relay")); n != 1 {
		t.Fatalf("requester answer relayed to staff %d times, want 1", n)
	}

	// An auto-reply from the requester stays an auto-reply.
	r = h.one(msg([]string{"From: " + ola, "To: " + contact, "Subject: Automatisk svar: " + ack.Subject,
		"Message-ID: <ola3@example.org>", "In-Reply-To: <" + ack.MessageID + ">", "Precedence: bulk"}, "Jeg er borte.\n"))
	if r.Class != kp.ClassAutoReply {
		t.Fatalf("requester's auto-reply = %+v", r)
	}

	// A stranger's bulk mail threading to the case stays bulk.
	before := h.caseOf(id).Messages
	r = h.one(msg([]string{"From: news@lists.example.org", "To: " + contact, "Subject: Re: " + ack.Subject,
		"Message-ID: <n1@lists.example.org>", "In-Reply-To: <" + ack.MessageID + ">", "List-Id: <news.lists.example.org>"}, "Nyhetsbrev\n"))
	if r.Class != kp.ClassBulk {
		t.Fatalf("stranger's list mail = %+v", r)
	}
	var m *kp.Message
	h.st.View(func(tx *store.Tx) error { m, _ = tx.Message("n1@lists.example.org"); return nil })
	if m == nil || m.Kind != "bulk" || h.caseOf(id).Messages != before+1 {
		t.Fatalf("stranger's list mail stored as %+v", m)
	}
}

// TestUnauthenticatedTicketMailRecordsNoReference checks that mail in the
// name of a team's ticket system that our mail system did not authenticate
// leaves no reference on the case: it would go out in our mail to the team.
func TestUnauthenticatedTicketMailRecordsNoReference(t *testing.T) {
	h := newHarness(t, rtConfig("@rt.example"))
	id := caseNo(t, h.one(request("req1@example.org")))
	forged := strings.Replace(string(rtMail("rt-forged@evil.example", "[rt.example #666] [INT#1] Tilgang")), rtAR+"\r\n", "", 1)
	if r := h.one([]byte(forged)); caseNo(t, r) != id {
		t.Fatalf("forged RT mail = %+v", r)
	}
	if c := h.caseOf(id); len(c.Counterparts) != 0 {
		t.Fatalf("an unauthenticated ticket mail recorded %+v", c.Counterparts)
	}
	if n := len(h.mailsTo(ola, "relay")); n != 0 {
		t.Fatalf("unauthenticated ticket mail relayed to the requester (%d)", n)
	}
}
