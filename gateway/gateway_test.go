package gateway

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/config"
	"kontaktpunkt/mailbox/mailmsg"
	"kontaktpunkt/store"
)

// fakeClock is a settable clock for the gateway.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

const (
	contact   = "integrasjon@uio.no"
	kari      = "kari@uio.no"       // staff, lead
	per       = "per.hansen@uio.no" // team fs
	ola       = "ola.nordmann@example.org"
	trustedAR = "Authentication-Results: mx.uio.no; dkim=pass header.d=uio.no; dmarc=pass header.from=uio.no"
)

func testConfig() *config.Config {
	cfg := config.Default()
	cfg.Contact.Address = contact
	cfg.Contact.Name = "Integrasjonskontakt"
	cfg.Staff.Members = []config.Person{{Name: "Kari Integrasjon", Address: kari}}
	cfg.Staff.Lead = kari
	cfg.Staff.Manager = "leder@uio.no"
	cfg.Staff.TrustedAuthservIDs = []string{"mx.uio.no"}
	cfg.Teams = []config.Team{{Name: "fs", Members: []string{per}, Escalation: "fs-leder@uio.no"}}
	return cfg
}

type harness struct {
	t     *testing.T
	g     *Gateway
	st    *store.Store
	clock *fakeClock
}

func newHarness(t *testing.T, cfg *config.Config) *harness {
	t.Helper()
	if cfg == nil {
		cfg = testConfig()
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "kp.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Check(); err != nil {
			t.Errorf("store check: %v", err)
		}
		st.Close()
	})
	g, err := New(cfg, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Monday 2026-11-23 09:00 Oslo.
	clk := &fakeClock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, g.Clock.Loc)}
	g.Now = clk.Now
	h := &harness{t: t, g: g, st: st, clock: clk}
	t.Cleanup(h.assertNothingInternalReachedOutside)
	return h
}

// msg builds a raw message from header lines and a body.
func msg(headers []string, body string) []byte {
	var b strings.Builder
	for _, h := range headers {
		b.WriteString(h)
		b.WriteString("\r\n")
	}
	if !hasHeader(headers, "Date") {
		b.WriteString("Date: Mon, 23 Nov 2026 09:00:00 +0100\r\n")
	}
	if !hasHeader(headers, "Content-Type") {
		b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	return []byte(b.String())
}

func hasHeader(hs []string, name string) bool {
	for _, h := range hs {
		if strings.HasPrefix(strings.ToLower(h), strings.ToLower(name)+":") {
			return true
		}
	}
	return false
}

func (h *harness) ingest(raw ...[]byte) []Result {
	h.t.Helper()
	items := make([]Item, len(raw))
	for i, r := range raw {
		items[i] = Item{Source: fmt.Sprintf("test#%d", i+1), Raw: r}
	}
	res, err := h.g.Ingest(context.Background(), items)
	if err != nil {
		h.t.Fatal(err)
	}
	return res
}

func (h *harness) one(raw []byte) Result {
	h.t.Helper()
	return h.ingest(raw)[0]
}

func (h *harness) caseOf(id kp.CaseID) *kp.Case {
	h.t.Helper()
	var c *kp.Case
	if err := h.st.View(func(tx *store.Tx) error {
		var err error
		c, err = tx.Case(id)
		return err
	}); err != nil {
		h.t.Fatal(err)
	}
	return c
}

// outbox returns the queued mail, oldest first.
func (h *harness) outbox() []kp.Outbound {
	h.t.Helper()
	var list []kp.Outbound
	if err := h.st.View(func(tx *store.Tx) error {
		var err error
		list, err = tx.DueOutbound(h.clock.Now().Add(time.Hour), 10000)
		return err
	}); err != nil {
		h.t.Fatal(err)
	}
	for i := range list { // the bytes as they would be sent
		raw, err := render(&list[i])
		if err != nil {
			h.t.Fatal(err)
		}
		list[i].Raw = raw
	}
	return list
}

// mailsTo returns queued mail of kind to addr.
func (h *harness) mailsTo(addr, kind string) []kp.Outbound {
	var out []kp.Outbound
	for _, o := range h.outbox() {
		if kind != "" && o.Kind != kind {
			continue
		}
		for _, r := range o.To {
			if kp.SameAddr(r, addr) {
				out = append(out, o)
				break
			}
		}
	}
	return out
}

func caseNo(t *testing.T, r Result) kp.CaseID {
	t.Helper()
	if r.Case == nil {
		t.Fatalf("%s: no case (status %s, matched_by %s, error %q)", r.Source, r.Status, r.MatchedBy, r.Error)
	}
	return *r.Case
}

func request(id string) []byte {
	return msg([]string{
		"From: Ola Nordmann <" + ola + ">",
		"To: " + contact,
		"Subject: Tilgang til studentdata fra FS",
		"Message-ID: <" + id + ">",
	}, "Hei,\n\nvi trenger tilgang til FS-data for et nytt prosjekt.\n\nHilsen Ola\n")
}

func TestNewRequestOpensCaseAcknowledgesAndNotifies(t *testing.T) {
	h := newHarness(t, nil)
	r := h.one(request("req1@example.org"))
	if r.Status != ResultStored || r.MatchedBy != kp.MatchNew || r.Class != kp.ClassHuman {
		t.Fatalf("result = %+v", r)
	}
	c := h.caseOf(caseNo(t, r))
	if c.ID != 1 || c.Status != kp.StatusOpen || !kp.SameAddr(c.Requester.Addr, ola) || c.Subject != "Tilgang til studentdata fra FS" {
		t.Fatalf("case = %+v", c)
	}
	acks := h.mailsTo(ola, "ack")
	if len(acks) != 1 || !strings.Contains(acks[0].Subject, "[INT#1]") {
		t.Fatalf("acks = %+v", acks)
	}
	if !strings.Contains(string(acks[0].Raw), "Auto-Submitted: auto-replied") {
		t.Errorf("ack lacks Auto-Submitted: %s", acks[0].Raw)
	}
	if n := len(h.mailsTo(kari, "notify")); n != 1 {
		t.Errorf("staff notifications = %d, want 1", n)
	}
	if c.Next == nil || c.Next.Kind != kp.FollowTriage {
		t.Errorf("next follow-up = %+v, want triage", c.Next)
	}
}

// TestConversation plays a case through: assignment by a staff subject
// tag, the assignee's answer relayed, the requester's tagless reply with
// only In-Reply-To relayed back, and closing.
func TestConversation(t *testing.T) {
	h := newHarness(t, nil)
	id := caseNo(t, h.one(request("req1@example.org")))
	notify := h.mailsTo(kari, "notify")[0]

	// Staff assign with a tag, replying to the notification (Outlook: In-Reply-To only).
	r := h.one(msg([]string{
		"From: Kari Integrasjon <" + kari + ">", "To: " + contact, trustedAR,
		"Subject: SV: [assign:per.hansen] " + notify.Subject,
		"Message-ID: <kari1@uio.no>", "In-Reply-To: <" + notify.MessageID + ">",
	}, ""))
	if caseNo(t, r) != id || r.MatchedBy != kp.MatchInReplyTo {
		t.Fatalf("assign result = %+v", r)
	}
	c := h.caseOf(id)
	if c.Assignee != per || c.Team != "fs" {
		t.Fatalf("after assign: assignee %q team %q", c.Assignee, c.Team)
	}
	assign := h.mailsTo(per, "assign")
	if len(assign) != 1 {
		t.Fatalf("assignment mails to per = %d", len(assign))
	}
	if len(h.mailsTo(kari, "receipt")) != 1 {
		t.Errorf("no receipt to kari")
	}
	if len(h.mailsTo(ola, "relay")) != 0 {
		t.Errorf("a command-only message was relayed to the requester")
	}

	// The assignee answers (Gmail: References).
	r = h.one(msg([]string{
		"From: Per Hansen <" + per + ">", "To: " + contact, trustedAR,
		"Subject: Re: " + assign[0].Subject, "Message-ID: <per1@uio.no>",
		"References: <" + notify.MessageID + "> <" + assign[0].MessageID + ">",
	}, "Hei Ola, dere får tilgang når avtalen er signert.\n"))
	if caseNo(t, r) != id || r.MatchedBy != kp.MatchReferences {
		t.Fatalf("answer result = %+v", r)
	}
	relays := h.mailsTo(ola, "relay")
	if len(relays) != 1 || !strings.Contains(string(relays[0].Raw), "avtalen er signert") {
		t.Fatalf("relays to ola = %d", len(relays))
	}
	if c := h.caseOf(id); c.Status != kp.StatusWaiting {
		t.Fatalf("status after staff answer = %s", c.Status)
	}

	// The requester replies without the tag, In-Reply-To only, subject changed.
	r = h.one(msg([]string{
		"From: " + ola, "To: " + contact, "Subject: SV: VS: Avtalen",
		"Message-ID: <ola2@example.org>", "In-Reply-To: <" + relays[0].MessageID + ">",
	}, "Avtalen er sendt.\n"))
	if caseNo(t, r) != id || r.MatchedBy != kp.MatchInReplyTo {
		t.Fatalf("reply result = %+v", r)
	}
	if n := len(h.mailsTo(per, "relay")); n != 1 {
		t.Fatalf("relays to per = %d, want 1", n)
	}
	if c := h.caseOf(id); c.Status != kp.StatusOpen {
		t.Fatalf("status after requester reply = %s", c.Status)
	}

	// Close with a message: relayed, resolved.
	r = h.one(msg([]string{
		"From: Per Hansen <" + per + ">", "To: " + contact, trustedAR,
		"Subject: [close] Re: [INT#1] Avtalen", "Message-ID: <per2@uio.no>",
	}, "Da er alt på plass.\n"))
	if caseNo(t, r) != id || r.MatchedBy != kp.MatchSubjectTag {
		t.Fatalf("close result = %+v", r)
	}
	c = h.caseOf(id)
	if c.Status != kp.StatusResolved || c.Next != nil {
		t.Fatalf("after close: %s next %+v", c.Status, c.Next)
	}
	if n := len(h.mailsTo(ola, "relay")); n != 2 {
		t.Fatalf("relays to ola = %d, want 2", n)
	}
}

func TestForgedStaffFromGetsNoPower(t *testing.T) {
	h := newHarness(t, nil)
	id := caseNo(t, h.one(request("req1@example.org")))
	r := h.one(msg([]string{
		"From: Kari Integrasjon <" + kari + ">", "To: " + contact,
		"Authentication-Results: mx.uio.no; dmarc=fail header.from=uio.no",
		"Authentication-Results: evil.example; dmarc=pass header.from=uio.no",
		"Subject: [close] [assign:per.hansen] [INT#1] Tilgang", "Message-ID: <forged@evil.example>",
	}, "Lukker.\n"))
	if caseNo(t, r) != id {
		t.Fatalf("forged message not filed on case: %+v", r)
	}
	c := h.caseOf(id)
	if c.Status != kp.StatusOpen || c.Assignee != "" {
		t.Fatalf("forged commands applied: status %s assignee %q", c.Status, c.Assignee)
	}
	// The real owner of the address hears that mail in their name did
	// nothing, and why.
	receipts := h.mailsTo(kari, "receipt")
	if len(receipts) != 1 {
		t.Fatalf("receipts to the real kari = %d, want 1", len(receipts))
	}
	// The receipt is in the template language (nb here).
	if txt := textOf(t, receipts[0]); !strings.Contains(txt, "avvist: [close]: ") || !strings.Contains(txt, "ikke autentisert") || !strings.Contains(txt, "IKKE videresendt") {
		t.Errorf("receipt does not say what was refused and why:\n%s", txt)
	}
	if len(h.mailsTo(ola, "relay")) != 0 {
		t.Errorf("forged staff mail was relayed to the requester")
	}
	var m *kp.Message
	h.st.View(func(tx *store.Tx) error { m, _ = tx.Message("forged@evil.example"); return nil })
	if m == nil || m.Kind != KindNotAuthenticated || m.Outsider {
		t.Errorf("forged message not marked not-authenticated: %+v", m)
	}
	// A second forged mail within the hour gets no second receipt.
	h.one(msg([]string{
		"From: Kari Integrasjon <" + kari + ">", "To: " + contact,
		"Subject: [close] [INT#1] Tilgang", "Message-ID: <forged2@evil.example>",
	}, "Lukker igjen.\n"))
	if n := len(h.mailsTo(kari, "receipt")); n != 1 {
		t.Errorf("receipts after a second forged mail = %d, want 1", n)
	}
}

func TestMachineMailGetsNoAnswer(t *testing.T) {
	h := newHarness(t, nil)
	id := caseNo(t, h.one(request("req1@example.org")))
	ack := h.mailsTo(ola, "ack")[0]
	before := len(h.outbox())
	ooo := h.one(msg([]string{
		"From: " + ola, "To: " + contact, "Subject: Automatisk svar: " + ack.Subject,
		"Auto-Submitted: auto-replied", "Message-ID: <ooo@example.org>", "In-Reply-To: <" + ack.MessageID + ">",
	}, "Jeg er på ferie.\n"))
	if ooo.Class != kp.ClassAutoReply || caseNo(t, ooo) != id {
		t.Fatalf("out-of-office = %+v", ooo)
	}
	bulk := h.one(msg([]string{
		"From: news@lists.example.org", "To: " + contact, "Subject: Nyhetsbrev", "List-Id: <news.lists.example.org>",
		"List-Unsubscribe: <mailto:unsub@lists.example.org>", "Message-ID: <news1@lists.example.org>",
	}, "Nytt denne uken.\n"))
	if bulk.Class != kp.ClassBulk || bulk.Status != ResultUnfiled || bulk.Case != nil {
		t.Fatalf("newsletter = %+v", bulk)
	}
	if after := len(h.outbox()); after != before {
		t.Fatalf("machine mail caused %d outbound mails", after-before)
	}
}

func TestBounceOfOurMailSuppressesAndTellsStaff(t *testing.T) {
	h := newHarness(t, nil)
	id := caseNo(t, h.one(request("req1@example.org")))
	ack := h.mailsTo(ola, "ack")[0]
	dsn := msg([]string{
		"From: Mail Delivery System <MAILER-DAEMON@mx.uio.no>", "To: " + contact,
		"Subject: Undelivered Mail Returned to Sender", "Message-ID: <dsn1@mx.uio.no>",
		`Content-Type: multipart/report; report-type=delivery-status; boundary="b1"`, "MIME-Version: 1.0",
	}, "--b1\nContent-Type: text/plain\n\nDelivery failed.\n\n--b1\nContent-Type: message/delivery-status\n\n"+
		"Reporting-MTA: dns; mx.uio.no\n\nFinal-Recipient: rfc822; "+ola+"\nAction: failed\nStatus: 5.1.1\n\n"+
		"--b1\nContent-Type: text/rfc822-headers\n\nMessage-ID: <"+ack.MessageID+">\nSubject: "+ack.Subject+"\n\n--b1--\n")
	r := h.one(dsn)
	if r.Class != kp.ClassBounce || caseNo(t, r) != id {
		t.Fatalf("bounce = %+v", r)
	}
	if n := len(h.mailsTo(kari, "delivery-failure")); n != 1 {
		t.Errorf("delivery-failure notices to staff = %d, want 1", n)
	}
	var sup bool
	h.st.View(func(tx *store.Tx) error { sup, _ = tx.Suppressed(ola, h.clock.Now()); return nil })
	if !sup {
		t.Errorf("bounced address not suppressed")
	}
	// A new request from the suppressed address gets no acknowledgement.
	h.one(request("req2@example.org"))
	if n := len(h.mailsTo(ola, "ack")); n != 1 {
		t.Errorf("acks to suppressed address = %d, want still 1", n)
	}
}

func TestDuplicateChangesNothing(t *testing.T) {
	h := newHarness(t, nil)
	first := h.one(request("req1@example.org"))
	n := len(h.outbox())
	again := h.ingest(request("req1@example.org"), request("req1@example.org"))
	for _, r := range again {
		if r.Status != ResultDuplicate || r.MatchedBy != kp.MatchDuplicate || *r.Case != *first.Case {
			t.Fatalf("duplicate = %+v", r)
		}
	}
	if len(h.outbox()) != n {
		t.Fatal("a duplicate queued mail")
	}
	if c := h.caseOf(*first.Case); c.Messages != 1+n {
		// the request plus the mail it caused
		t.Fatalf("messages on case = %d", c.Messages)
	}
}

func TestResolvedCaseReopensOrFollowsUp(t *testing.T) {
	h := newHarness(t, nil)
	id := caseNo(t, h.one(request("req1@example.org")))
	h.one(msg([]string{"From: " + kari, "To: " + contact, trustedAR, "Subject: [close] [INT#1]", "Message-ID: <c1@uio.no>"}, ""))
	if h.caseOf(id).Status != kp.StatusResolved {
		t.Fatal("not closed")
	}
	h.clock.Advance(3 * 24 * time.Hour)
	r := h.one(msg([]string{"From: " + ola, "To: " + contact, "Subject: Re: [INT#1] Tilgang", "Message-ID: <o2@example.org>"}, "Ett spørsmål til.\n"))
	if caseNo(t, r) != id || h.caseOf(id).Status != kp.StatusOpen {
		t.Fatalf("reply within reopen_within: %+v status %s", r, h.caseOf(id).Status)
	}
	h.one(msg([]string{"From: " + kari, "To: " + contact, trustedAR, "Subject: [close] [INT#1]", "Message-ID: <c2@uio.no>"}, ""))
	h.clock.Advance(30 * 24 * time.Hour)
	r = h.one(msg([]string{"From: " + ola, "To: " + contact, "Subject: Re: [INT#1] Tilgang", "Message-ID: <o3@example.org>"}, "Nytt spørsmål.\n"))
	nid := caseNo(t, r)
	if nid == id {
		t.Fatal("late reply reopened the old case")
	}
	if c := h.caseOf(nid); c.PreviousCase != id {
		t.Fatalf("new case does not record the old one: %+v", c)
	}
}

func TestUnusableMessageIsQuarantinedNotDropped(t *testing.T) {
	h := newHarness(t, nil)
	raw := []byte("\x00\x01\x02 garbage without headers or body\xff\xfe")
	r := h.one(raw)
	if r.Status != ResultQuarantined || r.Error == "" || r.Case != nil {
		t.Fatalf("garbage = %+v", r)
	}
	var got []byte
	h.st.View(func(tx *store.Tx) error { got, _ = tx.Raw(r.MessageID); return nil })
	if string(got) != string(raw) {
		t.Fatalf("raw bytes not kept")
	}
	if r2 := h.one(raw); r2.Status != ResultDuplicate || r2.Error == "" {
		t.Fatalf("re-ingest of quarantined = %+v", r2)
	}
}

func TestQuietQueuesNothing(t *testing.T) {
	h := newHarness(t, nil)
	h.g.Quiet = true
	h.one(request("req1@example.org"))
	if n := len(h.outbox()); n != 0 {
		t.Fatalf("quiet ingest queued %d mails", n)
	}
}

func TestOutboundHeaders(t *testing.T) {
	h := newHarness(t, nil)
	h.one(request("req1@example.org"))
	ack := h.mailsTo(ola, "ack")[0]
	p, err := mailmsg.Parse(ack.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if p.MessageID != ack.MessageID || !strings.HasSuffix(ack.MessageID, "@uio.no") {
		t.Errorf("Message-ID %q vs %q", p.MessageID, ack.MessageID)
	}
	if len(p.InReplyTo) != 1 || p.InReplyTo[0] != "req1@example.org" {
		t.Errorf("In-Reply-To = %v", p.InReplyTo)
	}
	for _, k := range []string{"Auto-Submitted", "X-Auto-Response-Suppress", kp.LoopHeader} {
		if p.Get(k) == "" {
			t.Errorf("missing %s", k)
		}
	}
	if !kp.SameAddr(p.From.Addr, contact) {
		t.Errorf("From = %v", p.From)
	}
	// Our own mail coming back is recognised by its Message-ID…
	if r := h.one(ack.Raw); r.Status != ResultDuplicate {
		t.Errorf("own mail back = %+v, want duplicate", r)
	}
	// …and, rewritten by some relay with a new Message-ID, by the loop
	// header: stored unfiled, never a new case, never answered.
	before := len(h.outbox())
	rewritten := strings.Replace(string(ack.Raw), "<"+ack.MessageID+">", "<rewritten-1@relay.example>", 1)
	if r := h.one([]byte(rewritten)); r.Class != kp.ClassLoop || r.Status == ResultDuplicate || r.MatchedBy == kp.MatchNew {
		t.Errorf("own mail with a new Message-ID = %+v, want class loop", r)
	}
	if len(h.outbox()) != before {
		t.Error("our own mail coming back caused mail")
	}
}

func TestReplyTokenThreadsWithoutHeaders(t *testing.T) {
	cfg := testConfig()
	cfg.Contact.ReplyToken.Enabled = true
	cfg.Contact.ReplyToken.Secret.Env = "KP_TEST_TOKEN_SECRET"
	t.Setenv("KP_TEST_TOKEN_SECRET", "0123456789abcdef0123456789abcdef")
	h := newHarness(t, cfg)
	id := caseNo(t, h.one(request("req1@example.org")))
	ack := h.mailsTo(ola, "ack")[0]
	p, err := mailmsg.Parse(ack.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.ReplyTo) != 1 || !strings.HasPrefix(p.ReplyTo[0].Addr, "integrasjon+") {
		t.Fatalf("Reply-To = %v, want a token address", p.ReplyTo)
	}
	// A client that drops every threading header and the tag.
	r := h.one(msg([]string{"From: " + ola, "To: " + p.ReplyTo[0].Addr, "Subject: svar", "Message-ID: <o2@example.org>"}, "Her er svaret.\n"))
	if caseNo(t, r) != id || r.MatchedBy != kp.MatchReplyToken {
		t.Fatalf("token reply = %+v", r)
	}
	// A forged token does not match.
	r = h.one(msg([]string{"From: " + ola, "To: integrasjon+aaaaaaaaaaaaaaaaaa@uio.no", "Subject: svar", "Message-ID: <o3@example.org>"}, "Falsk.\n"))
	if r.MatchedBy == kp.MatchReplyToken {
		t.Fatalf("forged token matched: %+v", r)
	}
}

func TestReplyToNoteStaysInternal(t *testing.T) {
	h := newHarness(t, nil)
	id := caseNo(t, h.one(request("req1@example.org")))
	h.one(msg([]string{"From: " + kari, "To: " + contact, trustedAR, "Subject: [assign:per.hansen] [INT#1]", "Message-ID: <k1@uio.no>"}, ""))
	h.one(msg([]string{"From: " + kari, "To: " + contact, trustedAR, "Subject: [note] [INT#1]", "Message-ID: <k2@uio.no>"}, "Internt: FS-eieren er vanskelig.\n"))
	notes := h.mailsTo(per, "note")
	if len(notes) != 1 || !strings.Contains(notes[0].Subject, "[note]") {
		t.Fatalf("note mails to per = %+v", notes)
	}
	// Per answers the note, quoting it, without any tag of his own.
	h.one(msg([]string{"From: " + per, "To: " + contact, trustedAR, "Subject: Re: " + strings.ReplaceAll(notes[0].Subject, "[note] ", ""),
		"Message-ID: <p1@uio.no>", "In-Reply-To: <" + notes[0].MessageID + ">"}, "Enig.\n\n> Internt: FS-eieren er vanskelig.\n"))
	if n := len(h.mailsTo(ola, "relay")); n != 0 {
		t.Fatalf("a reply to a note was relayed to the requester (%d)", n)
	}
	if c := h.caseOf(id); c.Status != kp.StatusOpen {
		t.Fatalf("status = %s", c.Status)
	}
}

func TestRefusedTagHoldsMessage(t *testing.T) {
	h := newHarness(t, nil)
	h.one(request("req1@example.org"))
	for i, subj := range []string{"[notes] [INT#1]", "[note:for fs] [INT#1]", "[asign:per] [INT#1]"} {
		h.one(msg([]string{"From: " + kari, "To: " + contact, trustedAR, "Subject: " + subj, fmt.Sprintf("Message-ID: <k%d@uio.no>", i)}, "Intern tekst.\n"))
	}
	if n := len(h.mailsTo(ola, "relay")); n != 0 {
		t.Fatalf("messages with refused tags were relayed to the requester (%d)", n)
	}
	receipts := h.mailsTo(kari, "receipt")
	if len(receipts) != 3 {
		t.Fatalf("receipts = %d", len(receipts))
	}
	p, _ := mailmsg.Parse(receipts[0].Raw)
	if !strings.Contains(p.Text, "IKKE videresendt") { // nb, the template language
		t.Errorf("receipt does not say the message was held:\n%s", p.Text)
	}
}

func TestCommandWithQuoteAndSignatureIsNotRelayed(t *testing.T) {
	h := newHarness(t, nil)
	id := caseNo(t, h.one(request("req1@example.org")))
	h.one(msg([]string{"From: " + kari, "To: " + contact, trustedAR, "Subject: SV: [take] [INT#1] Tilgang", "Message-ID: <k1@uio.no>"},
		"\n-- \nKari Integrasjon\nSeniorrådgiver, UiO\n\nFra: Integrasjon <integrasjon@uio.no>\nSendt: mandag\n\n> Hei, vi trenger tilgang.\n"))
	if n := len(h.mailsTo(ola, "relay")); n != 0 {
		t.Fatalf("a command with only a signature and a quote was relayed (%d)", n)
	}
	if c := h.caseOf(id); c.Status != kp.StatusOpen || c.Assignee != kari {
		t.Fatalf("case = %s, assignee %q", c.Status, c.Assignee)
	}
	for in, want := range map[string]string{
		"Takk!\n\nOn Mon, 23 Nov 2026, Ola wrote:\n> hei": "Takk!",
		"Svar her\n-- \nsignatur":                         "Svar her\n-- \nsignatur",
		"> bare sitat\n":                                  "",
		"Hei\n\n-----Opprinnelig melding-----\nFra: x":    "Hei",
	} {
		if got := OwnText(in); got != want {
			t.Errorf("OwnText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOtherGatewaysLoopHeaderIsNotALoop(t *testing.T) {
	h := newHarness(t, nil)
	r := h.one(msg([]string{"From: hjelp@ntnu.no", "To: " + contact, kp.LoopHeader + ": hjelp@ntnu.no", "Subject: [HJELP#7] Spørsmål videresendt", "Message-ID: <ntnu1@ntnu.no>"}, "Kan dere svare på dette?\n"))
	if r.Class != kp.ClassHuman || r.Status != ResultStored {
		t.Fatalf("mail from another gateway = %+v", r)
	}
	own := h.one(msg([]string{"From: " + contact, "To: " + contact, kp.LoopHeader + ": " + contact, "Subject: x", "Message-ID: <own@uio.no>"}, "x\n"))
	if own.Class != kp.ClassLoop {
		t.Fatalf("our own loop header = %+v", own)
	}
}

func TestOutsiderCannotReopen(t *testing.T) {
	h := newHarness(t, nil)
	id := caseNo(t, h.one(request("req1@example.org")))
	h.one(msg([]string{"From: " + kari, "To: " + contact, trustedAR, "Subject: [close] [INT#1]", "Message-ID: <c1@uio.no>"}, ""))
	r := h.one(msg([]string{"From: stranger@example.net", "To: " + contact, "Subject: Re: [INT#1] Tilgang", "Message-ID: <s1@example.net>"}, "Hei!\n"))
	if caseNo(t, r) != id {
		t.Fatalf("outsider = %+v", r)
	}
	if c := h.caseOf(id); c.Status != kp.StatusResolved {
		t.Fatalf("an outsider reopened the case: %s", c.Status)
	}
}

func TestRoutingRuleAssignsTeam(t *testing.T) {
	cfg := testConfig()
	cfg.Routing = []config.Rule{{Subject: `\bFS\b`, Team: "fs"}}
	h := newHarness(t, cfg)
	id := caseNo(t, h.one(request("req1@example.org"))) // "Tilgang til studentdata fra FS"
	if c := h.caseOf(id); c.Team != "fs" || c.Assignee != "" {
		t.Fatalf("routed case: team %q assignee %q", c.Team, c.Assignee)
	}
	if n := len(h.mailsTo(per, "assign")); n != 1 {
		t.Fatalf("team members mailed %d times, want 1", n)
	}
	other := h.one(msg([]string{"From: " + ola, "To: " + contact, "Subject: Noe helt annet", "Message-ID: <o9@example.org>"}, "Hei\n"))
	if c := h.caseOf(caseNo(t, other)); c.Team != "" {
		t.Fatalf("unmatched case routed to %q", c.Team)
	}
}

func TestTemplateOverrideFolder(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "nb"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nb", "ack.tmpl"), []byte("Takk! Saksnummer {{.Tag}}.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Templates.Dir = dir
	h := newHarness(t, cfg)
	h.one(request("req1@example.org"))
	p, err := mailmsg.Parse(h.mailsTo(ola, "ack")[0].Raw)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(p.Text) != "Takk! Saksnummer [INT#1]." {
		t.Fatalf("overridden ack = %q", p.Text)
	}
	if err := os.WriteFile(filepath.Join(dir, "nb", "note.tmpl"), []byte("{{.Broken"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTemplates("nb", dir); err == nil || !strings.Contains(err.Error(), "note") {
		t.Fatalf("a broken override is not reported at load: %v", err)
	}
}

func TestEnglishTemplates(t *testing.T) {
	cfg := testConfig()
	cfg.Templates.Language = "en"
	h := newHarness(t, cfg)
	h.one(request("req1@example.org"))
	p, _ := mailmsg.Parse(h.mailsTo(ola, "ack")[0].Raw)
	if !strings.Contains(p.Text, "Thank you for contacting") {
		t.Fatalf("English ack = %q", p.Text)
	}
}

func TestAttachmentsArePassedOn(t *testing.T) {
	h := newHarness(t, nil)
	req := msg([]string{"From: Ola Nordmann <" + ola + ">", "To: " + contact, "Subject: Avtale", "Message-ID: <att1@example.org>",
		`Content-Type: multipart/mixed; boundary="b"`, "MIME-Version: 1.0"},
		"--b\nContent-Type: text/plain; charset=utf-8\n\nAvtalen er vedlagt.\n--b\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=\"avtale.pdf\"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--b--\n")
	id := caseNo(t, h.one(req))
	attachmentsOf := func(o kp.Outbound) []kp.Attachment {
		p, err := mailmsg.Parse(o.Raw)
		if err != nil {
			t.Fatal(err)
		}
		return p.Attachments
	}
	if a := attachmentsOf(h.mailsTo(kari, "notify")[0]); len(a) != 1 || a[0].Name != "avtale.pdf" {
		t.Fatalf("staff notification attachments = %+v", a)
	}
	if a := attachmentsOf(h.mailsTo(ola, "ack")[0]); len(a) != 0 {
		t.Fatalf("the acknowledgement sent the requester's own attachment back: %+v", a)
	}
	h.one(msg([]string{"From: " + kari, "To: " + contact, trustedAR, "Subject: [assign:per.hansen] [INT#1]", "Message-ID: <k1@uio.no>"}, ""))
	if a := attachmentsOf(h.mailsTo(per, "assign")[0]); len(a) != 1 || a[0].Name != "avtale.pdf" {
		t.Fatalf("assignment attachments = %+v", a)
	}
	var timeline []kp.Message
	h.st.View(func(tx *store.Tx) error { timeline, _ = tx.CaseMessages(id); return nil })
	found := false
	for _, m := range timeline {
		if m.Kind == "assign" && len(m.Attachments) == 1 {
			found = true
		}
	}
	if !found {
		t.Error("the timeline does not list the assignment's attachment")
	}
}
