package gateway

import (
	"context"
	"fmt"
	"testing"
	"time"

	kp "kontaktpunkt"
)

func datedRequest(from, id string, date time.Time) []byte {
	return msg([]string{
		"From: " + from, "To: " + contact, "Subject: Sak " + id, "Message-ID: <" + id + ">",
		"Date: " + date.Format(time.RFC1123Z),
	}, "Hei, et spørsmål om "+id+".\n")
}

// TestArchiveImportSchedulesNoFlood: an archive import (quiet) of old mail
// arms no follow-up, so a day later nothing is sent; recent mail imported
// after an outage is still followed up; rearm arms the old ones on purpose.
func TestArchiveImportSchedulesNoFlood(t *testing.T) {
	h := newHarness(t, nil)
	h.g.Quiet = true
	now := h.clock.Now()
	var batch [][]byte
	for i := range 40 {
		batch = append(batch, datedRequest(fmt.Sprintf("p%d@example.org", i), fmt.Sprintf("old%d@example.org", i), now.Add(-time.Duration(30+i)*24*time.Hour)))
	}
	batch = append(batch, datedRequest("fresh@example.org", "fresh@example.org", now.Add(-26*time.Hour)))
	res := h.ingest(batch...)
	old := h.caseOf(caseNo(t, res[0]))
	if old.Next != nil {
		t.Errorf("an old imported case has a follow-up: %+v", old.Next)
	}
	if !old.Created.Equal(now.Add(-30 * 24 * time.Hour).Truncate(time.Second)) {
		t.Errorf("imported case created %s, want the mail's own date", old.Created)
	}
	fresh := h.caseOf(caseNo(t, res[40]))
	if fresh.Next == nil || fresh.Next.Kind != kp.FollowTriage {
		t.Fatalf("a recent imported case has no triage follow-up: %+v", fresh.Next)
	}

	h.g.Quiet = false
	h.clock.Advance(24 * time.Hour)
	if _, err := h.g.FireDueFollowUps(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(h.mailsTo(kari, "triage")); n != 1 {
		t.Errorf("triage reminders after a day = %d, want 1 (the recent case only)", n)
	}

	n, err := h.g.Rearm(time.Time{}, true)
	if err != nil || n != 40 {
		t.Fatalf("Rearm dry run = %d, %v; want 40", n, err)
	}
	if c := h.caseOf(old.ID); c.Next != nil {
		t.Fatalf("a dry run armed a case")
	}
	if n, err := h.g.Rearm(now.Add(-35*24*time.Hour), false); err != nil || n != 6 {
		t.Fatalf("Rearm since 35 days ago = %d, %v; want 6", n, err)
	}
	if c := h.caseOf(old.ID); c.Next == nil || c.Next.Due.Before(h.clock.Now()) {
		t.Errorf("re-armed case next = %+v, want a due time from now on", c.Next)
	}
}

// TestFollowUpsAtOnceAreCapped: when more follow-ups fall due at once than
// followup.max_per_tick, the rest of the staff reminders come folded into
// one mail per recipient, and requesters' reminders wait for a later round.
func TestFollowUpsAtOnceAreCapped(t *testing.T) {
	cfg := testConfig()
	cfg.FollowUp.MaxPerTick = 10
	h := newHarness(t, cfg)
	var batch [][]byte
	for i := range 30 {
		batch = append(batch, datedRequest(fmt.Sprintf("p%d@example.org", i), fmt.Sprintf("r%d@example.org", i), h.clock.Now()))
	}
	res := h.ingest(batch...)
	// Five of them wait on the requester.
	for i := range 5 {
		id := caseNo(t, res[i])
		h.one(msg([]string{
			"From: Kari Integrasjon <" + kari + ">", "To: " + contact, trustedAR,
			"Subject: Re: " + id.Tag("INT") + " Tilgang", fmt.Sprintf("Message-ID: <w%d@uio.no>", i),
		}, "Kan du sende mer informasjon?\n"))
	}
	h.clock.Advance(21 * 24 * time.Hour) // a Monday
	if _, err := h.g.FireDueFollowUps(context.Background()); err != nil {
		t.Fatal(err)
	}
	sent := 0
	folded := 0
	for _, o := range h.outbox() {
		switch o.Kind {
		case "triage", "respond", "escalate", "waiting", "auto-resolve":
			if !o.Queued.Before(h.clock.Now()) {
				sent++
			}
		case "followup-digest":
			folded++
		}
	}
	if sent != 10 {
		t.Errorf("follow-up mails in one round = %d, want 10", sent)
	}
	if folded != 1 {
		t.Errorf("folded mails = %d, want 1 (kari is the only staff member)", folded)
	}
	h.clock.Advance(2 * time.Minute)
	if _, err := h.g.FireDueFollowUps(context.Background()); err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := range 5 {
		a := fmt.Sprintf("p%d@example.org", i)
		n += len(h.mailsTo(a, "waiting")) + len(h.mailsTo(a, "auto-resolve"))
	}
	if n < 5 {
		t.Errorf("requester follow-ups after a later round = %d, want at least 5", n)
	}
}
