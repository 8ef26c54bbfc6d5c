package gateway

import (
	"errors"
	"slices"
	"testing"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
)

// TestOpenFromMessageActsAsNewRequest checks that opening a case from an
// unfiled message moves it onto a new case and causes the mail a new
// request causes: the sender's acknowledgement and the staff notice.
func TestOpenFromMessageActsAsNewRequest(t *testing.T) {
	cfg := testConfig()
	cfg.Limits.SpamSCL = 5
	h := newHarness(t, cfg)
	r := h.one(msg([]string{"From: Ola <" + ola + ">", "To: " + contact, "Subject: Tilgang til FS", "X-Spam-Flag: YES", "Message-ID: <fp@example.org>"}, "Ikke spam likevel.\n"))
	if r.Status != ResultUnfiled {
		t.Fatalf("setup: %+v", r)
	}
	if n := len(h.outbox()); n != 0 {
		t.Fatalf("spam caused %d mails", n)
	}
	actor := kp.Address{Name: "Kari", Addr: kari}
	id, err := h.g.OpenFromMessage("<fp@example.org>", actor)
	if err != nil {
		t.Fatal(err)
	}
	c := h.caseOf(id)
	if c.Subject != "Tilgang til FS" || c.Requester.Addr != ola || c.Status != kp.StatusOpen {
		t.Fatalf("case = %+v", c)
	}
	if len(h.mailsTo(ola, "ack")) != 1 || len(h.mailsTo(kari, "notify")) != 1 {
		t.Fatalf("mail = %+v", h.outbox())
	}
	var onCase, unfiled []kp.Message
	h.st.View(func(tx *store.Tx) error {
		onCase, _ = tx.CaseMessages(id)
		unfiled, _ = tx.Unfiled(0)
		return nil
	})
	if len(unfiled) != 0 || !slices.ContainsFunc(onCase, func(m kp.Message) bool { return m.ID == "fp@example.org" }) {
		t.Fatalf("message not moved: case %v unfiled %v", onCase, unfiled)
	}
	if _, err := h.g.OpenFromMessage("fp@example.org", actor); !errors.Is(err, ErrRepair) {
		t.Fatalf("second open: %v", err)
	}
}

// TestFileUnfiledIntoCase checks that MoveMessage files a message of no
// case onto a case and counts it there.
func TestFileUnfiledIntoCase(t *testing.T) {
	h := newHarness(t, nil)
	id := caseNo(t, h.one(request("req1@example.org")))
	h.one([]byte("\x00\x01 garbage"))
	var unfiled []kp.Message
	h.st.View(func(tx *store.Tx) error { unfiled, _ = tx.Unfiled(0); return nil })
	if len(unfiled) != 1 {
		t.Fatalf("setup: %d unfiled", len(unfiled))
	}
	before := h.caseOf(id).Messages
	from, err := h.g.MoveMessage(unfiled[0].ID, id, kp.Address{Addr: kari})
	if err != nil || from != 0 {
		t.Fatalf("move: %v from %d", err, from)
	}
	if got := h.caseOf(id).Messages; got != before+2 { // the message and the line saying who moved it
		t.Fatalf("messages %d, want %d", got, before+2)
	}
}

func TestLinkCasesBothWays(t *testing.T) {
	h := newHarness(t, nil)
	a := caseNo(t, h.one(request("a@example.org")))
	b := caseNo(t, h.one(msg([]string{"From: " + ola, "To: " + contact, "Subject: Noe helt annet", "Message-ID: <b@example.org>"}, "Hei\n")))
	if err := h.g.LinkCases(a, b, kp.Address{Addr: kari}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(h.caseOf(a).Links, b) || !slices.Contains(h.caseOf(b).Links, a) {
		t.Fatalf("links: %v / %v", h.caseOf(a).Links, h.caseOf(b).Links)
	}
	if err := h.g.LinkCases(a, a, kp.Address{Addr: kari}); !errors.Is(err, ErrRepair) {
		t.Fatalf("self link: %v", err)
	}
}
