package gateway

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
)

// advanceTo moves the fake clock to t and fires what is due.
func (h *harness) advanceTo(t time.Time) int {
	h.t.Helper()
	h.clock.t = t
	n, err := h.g.FireDueFollowUps(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

// kinds lists the kinds of queued mail, in order.
func (h *harness) kinds() []string {
	var out []string
	for _, o := range h.outbox() {
		out = append(out, o.Kind+"->"+strings.Join(o.To, ","))
	}
	return out
}

func countKind(list []kp.Outbound, kind string) int {
	n := 0
	for _, o := range list {
		if o.Kind == kind {
			n++
		}
	}
	return n
}

// TestFollowUpsThroughTwoWeeks plays an assigned case nobody answers
// through two weeks of fake time, stepping every 15 minutes: the
// assignee is reminded after 2 working days, escalation level 1 after 5,
// all on working days within hours, and nothing twice.
func TestFollowUpsThroughTwoWeeks(t *testing.T) {
	h := newHarness(t, nil)
	// Thursday 2026-11-26 10:00: assigned at once by a staff tag.
	h.clock.t = time.Date(2026, 11, 26, 10, 0, 0, 0, h.g.Clock.Loc)
	id := caseNo(t, h.one(request("req1@example.org")))
	h.one(msg([]string{"From: " + kari, "To: " + contact, trustedAR, "Subject: [assign:per.hansen] [INT#1]", "Message-ID: <k1@uio.no>"}, ""))
	if c := h.caseOf(id); c.Next == nil || c.Next.Kind != kp.FollowRespond {
		t.Fatalf("next after assignment = %+v", c.Next)
	}
	type fired struct {
		at   time.Time
		kind string
	}
	var got []fired
	seen := len(h.outbox())
	end := h.clock.t.Add(14 * 24 * time.Hour)
	for at := h.clock.t; at.Before(end); at = at.Add(15 * time.Minute) {
		h.advanceTo(at)
		list := h.outbox()
		for _, o := range list[seen:] {
			got = append(got, fired{at, o.Kind})
			if !h.g.Clock.IsOpen(at) {
				t.Errorf("%s mail at %s, outside working hours", o.Kind, at)
			}
		}
		seen = len(list)
	}
	// Thu 26 10:00 + 2d = Mon 30 10:00 (respond); +2d more = Wed 2 Dec 10:00
	// (respond again); escalation at +5d = Thu 3 Dec 10:00; respond Fri 4 Dec …
	want := map[string]int{"respond": 0, "escalate": 0}
	for _, f := range got {
		want[f.kind]++
	}
	if want["escalate"] != 1 {
		t.Errorf("escalations = %d, want exactly 1 (level 1) in two weeks: %v", want["escalate"], got)
	}
	if want["respond"] < 2 {
		t.Errorf("respond reminders = %d, want at least 2: %v", want["respond"], got)
	}
	t.Logf("fired: %v", got)
	first := got[0]
	if first.kind != "respond" || !first.at.Equal(time.Date(2026, 11, 30, 10, 0, 0, 0, h.g.Clock.Loc)) {
		t.Errorf("first follow-up = %+v, want respond at Mon 30 Nov 10:00", first)
	}
	if c := h.caseOf(id); c.Escalation != 1 {
		t.Errorf("escalation level = %d", c.Escalation)
	}
}

// TestFollowUpCatchUpAfterDowntime: the process was down across several
// due times; on restart each case gets one catch-up mail per kind.
func TestFollowUpCatchUpAfterDowntime(t *testing.T) {
	h := newHarness(t, nil)
	id := caseNo(t, h.one(request("req1@example.org")))
	before := countKind(h.outbox(), "triage")
	// Three weeks of downtime: the triage reminder fell due many times.
	h.advanceTo(h.clock.t.Add(21 * 24 * time.Hour))
	after := countKind(h.outbox(), "triage")
	if after-before != 1 {
		t.Fatalf("triage reminders after downtime = %d, want 1", after-before)
	}
	// Firing again at the same time sends nothing more.
	h.advanceTo(h.clock.t)
	if n := countKind(h.outbox(), "triage"); n != after {
		t.Fatalf("second fire at the same time sent %d more", n-after)
	}
	if c := h.caseOf(id); c.Next == nil || !c.Next.Due.After(h.clock.t) {
		t.Fatalf("next follow-up not in the future: %+v", c.Next)
	}
}

// TestRemindAndEscalateTags: [remind:3d] snoozes, [escalate] escalates now.
func TestRemindAndEscalateTags(t *testing.T) {
	h := newHarness(t, nil)
	id := caseNo(t, h.one(request("req1@example.org")))
	h.one(msg([]string{"From: " + kari, "To: " + contact, trustedAR, "Subject: [remind:3d] [INT#1]", "Message-ID: <k1@uio.no>"}, ""))
	c := h.caseOf(id)
	want := time.Date(2026, 11, 26, 9, 0, 0, 0, h.g.Clock.Loc) // Mon 09:00 + 3 working days
	if c.Next == nil || c.Next.Kind != kp.FollowSnooze || !c.Next.Due.Equal(want) {
		t.Fatalf("after [remind:3d] next = %+v, want remind at %s", c.Next, want)
	}
	h.one(msg([]string{"From: " + kari, "To: " + contact, trustedAR, "Subject: [remind:2026-12-01] [INT#1]", "Message-ID: <k2@uio.no>"}, ""))
	c = h.caseOf(id)
	if c.Next == nil || c.Next.Due.In(h.g.Clock.Loc).Format("2006-01-02 15:04") != "2026-12-01 08:00" {
		t.Fatalf("after [remind:2026-12-01] next = %+v", c.Next)
	}
	h.one(msg([]string{"From: " + kari, "To: " + contact, trustedAR, "Subject: [assign:fs] [escalate] [INT#1]", "Message-ID: <k3@uio.no>"}, ""))
	c = h.caseOf(id)
	if c.Escalation != 1 {
		t.Fatalf("escalation = %d", c.Escalation)
	}
	esc := h.mailsTo("fs-leder@uio.no", "escalate")
	if len(esc) != 1 {
		t.Fatalf("escalation mails to the team's contact = %d: %v", len(esc), h.kinds())
	}
}

// TestWaitingReminderAndAutoResolve: staff answered, the requester went
// quiet: one reminder to the requester, then the case resolves with a notice.
func TestWaitingReminderAndAutoResolve(t *testing.T) {
	h := newHarness(t, nil)
	id := caseNo(t, h.one(request("req1@example.org")))
	h.one(msg([]string{"From: " + kari, "To: " + contact, trustedAR, "Subject: Re: [INT#1] Tilgang", "Message-ID: <k1@uio.no>"}, "Hvilke data trenger dere?\n"))
	if c := h.caseOf(id); c.Status != kp.StatusWaiting {
		t.Fatalf("status = %s", c.Status)
	}
	for d := 0; d < 40; d++ {
		h.advanceTo(h.clock.t.Add(24 * time.Hour))
	}
	if n := len(h.mailsTo(ola, "waiting")); n != 1 {
		t.Errorf("waiting reminders = %d, want 1", n)
	}
	if n := len(h.mailsTo(ola, "auto-resolve")); n != 1 {
		t.Errorf("auto-resolve notices = %d, want 1", n)
	}
	if c := h.caseOf(id); c.Status != kp.StatusResolved || c.Next != nil {
		t.Errorf("after auto-resolve: %s next %+v", c.Status, c.Next)
	}
}

// BenchmarkFollowUpTick measures one follow-up tick over 100,000 open
// cases when nothing is due (the due-time index, not a scan), and firing
// 1,000 due follow-ups with their mail queued.
func BenchmarkFollowUpTick(b *testing.B) {
	st, err := store.Open(filepath.Join(b.TempDir(), "kp.db"), store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	g, err := New(testConfig(), st, nil)
	if err != nil {
		b.Fatal(err)
	}
	base := time.Date(2026, 11, 23, 9, 0, 0, 0, g.Clock.Loc)
	const total, due = 100000, 1000
	for i := 0; i < total; i += 5000 {
		if err := st.Update(func(tx *store.Tx) error {
			for j := i; j < i+5000; j++ {
				id, err := tx.NextCaseID()
				if err != nil {
					return err
				}
				at := base.Add(30 * 24 * time.Hour) // far in the future
				if j < due {
					at = base.Add(time.Minute)
				}
				c := &kp.Case{ID: id, Subject: "Sak", Status: kp.StatusOpen, Priority: kp.PriorityNormal,
					Requester: kp.Address{Addr: "r@example.org"}, Created: base, Updated: base,
					Next: &kp.FollowUp{Kind: kp.FollowTriage, Due: at}}
				if err := tx.PutCase(c); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("nothing-due", func(b *testing.B) {
		g.Now = func() time.Time { return base }
		for range b.N {
			if n, err := g.FireDueFollowUps(context.Background()); err != nil || n != 0 {
				b.Fatal(n, err)
			}
		}
	})
	b.Run("1000-due", func(b *testing.B) {
		for i := range b.N {
			b.StopTimer()
			// Each round moves the clock on a day so the 1,000 cases fire again.
			now := base.Add(time.Duration(i+1) * 24 * time.Hour)
			if err := st.Update(func(tx *store.Tx) error {
				for id := kp.CaseID(1); id <= due; id++ {
					c, err := tx.Case(id)
					if err != nil {
						return err
					}
					c.Next = &kp.FollowUp{Kind: kp.FollowTriage, Due: now.Add(-time.Minute)}
					if err := tx.PutCase(c); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			g.Now = func() time.Time { return now }
			b.StartTimer()
			n, err := g.FireDueFollowUps(context.Background())
			if err != nil || n != due {
				b.Fatal(n, err)
			}
		}
	})
}

func TestDailyDigest(t *testing.T) {
	cfg := testConfig()
	cfg.FollowUp.Digest.Enabled = true
	h := newHarness(t, cfg)
	h.one(request("req1@example.org"))
	h.one(msg([]string{"From: " + kari, "To: " + contact, trustedAR, "Subject: [assign:per.hansen] [INT#1]", "Message-ID: <k1@uio.no>"}, ""))
	// Tuesday 07:00: not yet; 08:30: one digest; again 09:00: none; Wednesday 08:00: the next.
	digests := func() int { return len(h.mailsTo(per, "digest")) }
	for _, step := range []struct {
		at   time.Time
		want int
	}{
		{time.Date(2026, 11, 24, 7, 0, 0, 0, h.g.Clock.Loc), 0},
		{time.Date(2026, 11, 24, 8, 30, 0, 0, h.g.Clock.Loc), 1},
		{time.Date(2026, 11, 24, 9, 0, 0, 0, h.g.Clock.Loc), 1},
		{time.Date(2026, 11, 25, 8, 0, 0, 0, h.g.Clock.Loc), 2},
	} {
		h.clock.t = step.at
		if _, err := h.g.SendDigests(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := digests(); got != step.want {
			t.Fatalf("at %s: %d digests, want %d", step.at, got, step.want)
		}
	}
	d := h.mailsTo(per, "digest")[0]
	if !strings.Contains(string(d.Raw), "INT#1") {
		t.Errorf("digest lacks the case: %s", d.Raw)
	}
}

// TestChattyRequesterDoesNotPostponeEscalation: the requester asks for
// news every day; the escalation still comes 5 working days after the
// first unanswered message.
func TestChattyRequesterDoesNotPostponeEscalation(t *testing.T) {
	h := newHarness(t, nil)
	id := caseNo(t, h.one(request("req1@example.org")))
	h.one(msg([]string{"From: " + kari, "To: " + contact, trustedAR, "Subject: [assign:per.hansen] [INT#1]", "Message-ID: <k1@uio.no>"}, ""))
	start := h.clock.t
	for day := 1; day <= 7; day++ {
		h.advanceTo(start.Add(time.Duration(day) * 24 * time.Hour))
		h.one(msg([]string{"From: " + ola, "To: " + contact, "Subject: Re: [INT#1] Tilgang", fmt.Sprintf("Message-ID: <nag%d@example.org>", day)}, "Noe nytt?\n"))
	}
	// Mon 09:00 + 5 working days = the next Monday 09:00, well inside the week of nagging.
	if c := h.caseOf(id); c.Escalation != 1 {
		t.Fatalf("escalation after a week of unanswered nagging = %d, want 1", c.Escalation)
	}
}
