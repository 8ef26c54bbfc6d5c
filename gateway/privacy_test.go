package gateway

import (
	"testing"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/config"
	"kontaktpunkt/store"
)

func TestStaffCommandsInMailAreAudited(t *testing.T) {
	h := newHarness(t, nil)
	id := caseNo(t, h.one(request("req1@example.org")))
	// Forged: refused, so nothing changed and nothing is recorded.
	h.one(msg([]string{"From: " + kari, "To: " + contact, "Subject: [close] [INT#1]", "Message-ID: <forged@evil.example>"}, ""))
	h.one(msg([]string{"From: " + kari, "To: " + contact, trustedAR, "Subject: [close] [archived:2026/1234] [INT#1]", "Message-ID: <c1@uio.no>"}, ""))
	if c := h.caseOf(id); c.Archived != "2026/1234" || c.Status != kp.StatusResolved {
		t.Fatalf("case after [close] [archived:…]: status %s, archived %q", c.Status, c.Archived)
	}
	var as []store.AuditEntry
	if err := h.st.View(func(tx *store.Tx) error {
		var err error
		as, err = tx.Audit(id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(as) != 2 || as[0].Action != "close" || as[1].Action != "archived" || as[1].Detail != "[archived:2026/1234]: filed in the archive as 2026/1234" {
		t.Fatalf("audit: %+v", as)
	}
	for _, a := range as {
		if a.Actor != kari || a.Channel != ChannelMail || a.Case != id || !a.At.Equal(h.clock.Now()) {
			t.Errorf("audit entry %+v", a)
		}
	}
}

func TestRetentionPurgesResolvedCasesToTombstones(t *testing.T) {
	cfg := testConfig()
	cfg.Retention = config.Retention{ResolvedAfter: 365 * config.Day}
	h := newHarness(t, cfg)
	old := caseNo(t, h.one(request("req1@example.org")))
	h.one(msg([]string{"From: " + kari, "To: " + contact, trustedAR, "Subject: [close] [INT#1]", "Message-ID: <c1@uio.no>"}, ""))
	h.clock.Advance(200 * 24 * time.Hour)
	h.one(msg([]string{"From: " + ola, "To: " + contact, "Subject: Noe nytt", "Message-ID: <n1@example.org>"}, "Hei igjen.\n"))
	h.clock.Advance(200 * 24 * time.Hour)
	before := h.caseOf(old)
	dry, err := h.g.PurgeExpired("retention", ChannelSchedule, true)
	if err != nil || dry.Cases != 1 {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	rep, err := h.g.PurgeExpired("retention", ChannelSchedule, false)
	if err != nil || rep.Cases != 1 || rep.Messages != before.Messages {
		t.Fatalf("purge: %+v %v (case had %d messages)", rep, err, before.Messages)
	}
	after := h.caseOf(old)
	if after.Subject != "" || after.Requester.Addr != "" || after.Messages != before.Messages || after.Status != kp.StatusResolved ||
		!after.Created.Equal(before.Created) || !after.ResolvedAt.Equal(before.ResolvedAt) {
		t.Errorf("tombstone case %+v, was %+v", after, before)
	}
	err = h.st.View(func(tx *store.Tx) error {
		if ms, err := tx.CaseMessages(old); err != nil || len(ms) != 0 {
			t.Errorf("purged case keeps %d messages (%v)", len(ms), err)
		}
		if ms, err := tx.CaseMessages(old + 1); err != nil || len(ms) == 0 {
			t.Errorf("the newer case lost its messages (%v)", err)
		}
		tb, ok, err := tx.Tombstone(old)
		if err != nil || !ok || tb.Inbound == 0 {
			t.Errorf("tombstone %+v %v %v", tb, ok, err)
		}
		as, err := tx.Audit(0)
		if err != nil || len(as) == 0 || as[len(as)-1].Action != "purge" || as[len(as)-1].Channel != ChannelSchedule {
			t.Errorf("audit: %+v %v", as, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A reply to the purged case opens a new one.
	r := h.one(msg([]string{"From: " + ola, "To: " + contact, "Subject: Re: [INT#1] Tilgang", "Message-ID: <o9@example.org>"}, "Hei.\n"))
	if caseNo(t, r) == old {
		t.Error("a reply reopened the purged case")
	}
}
