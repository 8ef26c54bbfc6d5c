package routing

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	kp "kontaktpunkt"
)

// fu renders a follow-up for comparison: "respond 2026-11-25 09:00 Wed #1".
func fu(clk *Clock, f *kp.FollowUp) string {
	if f == nil {
		return "none"
	}
	return fmt.Sprintf("%s %s #%d", f.Kind, fmtOslo(clk, f.Due), f.Count)
}

func roles(rs []Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

func wantFU(t *testing.T, clk *Clock, what string, got *kp.FollowUp, want string) {
	t.Helper()
	if g := fu(clk, got); g != want {
		t.Errorf("%s: got %s, want %s", what, g, want)
	}
}

// fire fires f at now and checks that it acted (not skipped) with the
// given roles.
func fire(t *testing.T, clk *Clock, c *kp.Case, f *kp.FollowUp, now time.Time, wantRoles string) (Action, *kp.FollowUp) {
	t.Helper()
	if f == nil {
		t.Fatalf("nothing to fire at %s", fmtOslo(clk, now))
	}
	a, next := Fire(c, *f, DefaultPolicy(), clk, now)
	if a.Skip {
		t.Fatalf("Fire(%s) at %s skipped", fu(clk, f), fmtOslo(clk, now))
	}
	if a.Kind != f.Kind || roles(a.Notify) != wantRoles {
		t.Errorf("Fire(%s): action %s to %q, want %s to %q", fu(clk, f), a.Kind, roles(a.Notify), f.Kind, wantRoles)
	}
	if next != nil && next.Kind == f.Kind && next.Due.Equal(f.Due) {
		t.Errorf("Fire(%s) returned the same follow-up again", fu(clk, f))
	}
	return a, next
}

func openCase(created time.Time) *kp.Case {
	return &kp.Case{ID: 1, Status: kp.StatusOpen, Created: created, Updated: created, LastInbound: created,
		Requester: kp.Address{Addr: "student@example.org"}}
}

func TestTriageReminderThenDaily(t *testing.T) {
	clk, pol := osloClock(t), DefaultPolicy()
	c := openCase(at(t, clk, "2026-11-23 14:00"))
	next := NextFollowUp(c, pol, clk, nil)
	wantFU(t, clk, "new unassigned case", next, "triage 2026-11-24 10:00 Tue #0")
	_, next = fire(t, clk, c, next, next.Due, "staff")
	wantFU(t, clk, "after the first triage reminder", next, "triage 2026-11-25 10:00 Wed #1")
	_, next = fire(t, clk, c, next, next.Due, "staff")
	wantFU(t, clk, "after the second", next, "triage 2026-11-26 10:00 Thu #2")
	_, next = fire(t, clk, c, next, next.Due, "staff")
	_, next = fire(t, clk, c, next, next.Due, "staff")
	wantFU(t, clk, "daily means working days", next, "triage 2026-11-30 10:00 Mon #4")
}

func TestTriageEndsWhenAssigned(t *testing.T) {
	clk, pol := osloClock(t), DefaultPolicy()
	c := openCase(at(t, clk, "2026-11-23 14:00"))
	prev := NextFollowUp(c, pol, clk, nil)
	c.Assignee, c.AssignedAt = "kari@uio.no", at(t, clk, "2026-11-23 15:00")
	wantFU(t, clk, "assigned", NextFollowUp(c, pol, clk, prev), "respond 2026-11-25 15:00 Wed #0")
	c2 := openCase(at(t, clk, "2026-11-23 14:00"))
	c2.Team, c2.AssignedAt = "fs", c2.Created // routed to a team at intake
	wantFU(t, clk, "routed to a team", NextFollowUp(c2, pol, clk, nil), "respond 2026-11-25 14:00 Wed #0")
}

func TestRespondRemindersAndEscalationLevels(t *testing.T) {
	clk, pol := osloClock(t), DefaultPolicy()
	c := openCase(at(t, clk, "2026-11-23 08:30"))
	c.Assignee, c.Team, c.AssignedAt = "kari@uio.no", "fs", at(t, clk, "2026-11-23 09:00")
	next := NextFollowUp(c, pol, clk, nil)
	type step struct{ roles, next string }
	for i, s := range []step{
		{"assignee", "respond 2026-11-27 09:00 Fri #1"},        // from Wed 09:00: every 2 days
		{"assignee", "escalate-1 2026-11-30 09:00 Mon #0"},     // 5d after assignment comes first
		{"escalation,lead", "respond 2026-12-02 09:00 Wed #0"}, // reminders go on after level 1
		{"assignee", "respond 2026-12-04 09:00 Fri #1"},        // …
		{"assignee", "escalate-2 2026-12-07 09:00 Mon #0"},     // 10d: level 2
		{"manager", "respond 2026-12-09 09:00 Wed #0"},         // then reminders only
		{"assignee", "respond 2026-12-11 09:00 Fri #1"},        // …
		{"assignee", "respond 2026-12-15 09:00 Tue #2"},        // across the weekend
		{"assignee", "respond 2026-12-17 09:00 Thu #3"},        // …
		{"assignee", "respond 2026-12-21 09:00 Mon #4"},        // …
		{"assignee", "respond 2026-12-23 09:00 Wed #5"},        // …
		{"assignee", "respond 2026-12-28 09:00 Mon #6"},        // Christmas Day (Fri) closed
		{"assignee", "respond 2026-12-30 09:00 Wed #7"},        // …
		{"assignee", "respond 2027-01-04 09:00 Mon #8"},        // New Year's Day closed
	} {
		if i == 0 {
			wantFU(t, clk, "first", next, "respond 2026-11-25 09:00 Wed #0")
		}
		a, n := fire(t, clk, c, next, next.Due, s.roles)
		if a.Escalation > 0 {
			c.Escalation = a.Escalation
		}
		wantFU(t, clk, fmt.Sprintf("step %d after %s", i, fu(clk, next)), n, s.next)
		next = n
	}
	if c.Escalation != 2 {
		t.Errorf("escalation level %d, want 2", c.Escalation)
	}
}

// Follow-ups skip weekends and holidays: 17 May on a Wednesday, Easter,
// Christmas.
func TestFollowUpsSkipHolidays(t *testing.T) {
	clk, pol := osloClock(t), DefaultPolicy()
	c := openCase(at(t, clk, "2028-05-16 14:00"))
	wantFU(t, clk, "triage over 17 May 2028", NextFollowUp(c, pol, clk, nil), "triage 2028-05-18 10:00 Thu #0")
	d := openCase(at(t, clk, "2028-05-15 14:00"))
	next := NextFollowUp(d, pol, clk, nil)
	_, next = fire(t, clk, d, next, next.Due, "staff")
	wantFU(t, clk, "daily over 17 May 2028", next, "triage 2028-05-18 10:00 Thu #1")

	e := openCase(at(t, clk, "2026-03-31 13:00"))
	e.Assignee, e.AssignedAt = "kari@uio.no", e.Created
	next = NextFollowUp(e, pol, clk, nil)
	wantFU(t, clk, "respond over Easter 2026", next, "respond 2026-04-07 13:00 Tue #0")
	_, next = fire(t, clk, e, next, next.Due, "assignee")
	wantFU(t, clk, "repeat after Easter", next, "respond 2026-04-09 13:00 Thu #1")
	_, next = fire(t, clk, e, next, next.Due, "assignee")
	wantFU(t, clk, "level 1 after Easter", next, "escalate-1 2026-04-10 13:00 Fri #0")

	w := openCase(at(t, clk, "2026-12-21 09:00"))
	w.Assignee, w.AssignedAt = "kari@uio.no", w.Created
	w.Status, w.WaitingSince, w.LastStaffReply = kp.StatusWaiting, at(t, clk, "2026-12-21 09:15"), at(t, clk, "2026-12-21 09:15")
	next = NextFollowUp(w, pol, clk, nil)
	wantFU(t, clk, "waiting over Christmas and New Year", next, "waiting 2026-12-29 09:15 Tue #0")
	_, next = fire(t, clk, w, next, next.Due, "requester")
	wantFU(t, clk, "auto-resolve", next, "auto-resolve 2027-01-13 09:15 Wed #0")
}

func TestStaffReplyEndsNoReplyCondition(t *testing.T) {
	clk, pol := osloClock(t), DefaultPolicy()
	c := openCase(at(t, clk, "2026-11-23 08:30"))
	c.Assignee, c.AssignedAt = "kari@uio.no", at(t, clk, "2026-11-23 09:00")
	prev := NextFollowUp(c, pol, clk, nil)

	// A staff-side reply on a case that stays open (e.g. "[status:open]"):
	// nothing is owed, nothing is due.
	c.LastStaffReply = at(t, clk, "2026-11-24 10:00")
	if got := NextFollowUp(c, pol, clk, prev); got != nil {
		t.Errorf("after a staff reply: %s, want none", fu(clk, got))
	}
	// A stale follow-up fired anyway is skipped, and nothing replaces it.
	if a, n := Fire(c, *prev, pol, clk, prev.Due); !a.Skip || n != nil {
		t.Errorf("stale respond fired: %+v, next %s", a, fu(clk, n))
	}
	// The requester writes again: the staff side owes a reply, counted from then.
	c.LastInbound = at(t, clk, "2026-11-25 13:15")
	wantFU(t, clk, "requester wrote after the reply", NextFollowUp(c, pol, clk, nil), "respond 2026-11-27 13:15 Fri #0")
	// Reassignment before any reply restarts the clock for the new assignee.
	c.LastStaffReply = time.Time{}
	c.Assignee, c.AssignedAt = "ola@uio.no", at(t, clk, "2026-11-26 09:00")
	wantFU(t, clk, "reassigned", NextFollowUp(c, pol, clk, NextFollowUp(c, pol, clk, nil)), "respond 2026-11-30 09:00 Mon #0")
}

func TestRequesterMailRestartsRespondClock(t *testing.T) {
	clk, pol := osloClock(t), DefaultPolicy()
	c := openCase(at(t, clk, "2026-11-23 09:00"))
	c.Assignee, c.AssignedAt = "kari@uio.no", c.Created
	prev := NextFollowUp(c, pol, clk, nil)
	wantFU(t, clk, "first", prev, "respond 2026-11-25 09:00 Wed #0")
	c.LastInbound = at(t, clk, "2026-11-24 11:00")
	wantFU(t, clk, "after another requester mail", NextFollowUp(c, pol, clk, prev), "respond 2026-11-26 11:00 Thu #0")
}

func TestWaitingReminderOnceThenAutoResolve(t *testing.T) {
	clk, pol := osloClock(t), DefaultPolicy()
	c := openCase(at(t, clk, "2026-11-23 09:00"))
	c.Assignee, c.AssignedAt = "kari@uio.no", c.Created
	c.Status, c.LastStaffReply, c.WaitingSince = kp.StatusWaiting, at(t, clk, "2026-11-23 10:00"), at(t, clk, "2026-11-23 10:00")
	next := NextFollowUp(c, pol, clk, nil)
	wantFU(t, clk, "waiting", next, "waiting 2026-11-30 10:00 Mon #0")
	_, next = fire(t, clk, c, next, next.Due, "requester")
	wantFU(t, clk, "after the reminder", next, "auto-resolve 2026-12-14 10:00 Mon #0")
	// Recomputing (another change, a restart) does not bring the reminder back.
	c.Priority = kp.PriorityHigh
	wantFU(t, clk, "recomputed", NextFollowUp(c, pol, clk, next), "auto-resolve 2026-12-14 10:00 Mon #0")
	a, next := fire(t, clk, c, next, next.Due, "requester")
	if !a.Resolve || next != nil {
		t.Errorf("auto-resolve: %+v, next %s", a, fu(clk, next))
	}
}

func TestWaitingEndsWhenRequesterReplies(t *testing.T) {
	clk, pol := osloClock(t), DefaultPolicy()
	c := openCase(at(t, clk, "2026-11-23 09:00"))
	c.Assignee, c.AssignedAt = "kari@uio.no", c.Created
	c.Status, c.LastStaffReply, c.WaitingSince = kp.StatusWaiting, at(t, clk, "2026-11-23 10:00"), at(t, clk, "2026-11-23 10:00")
	prev := NextFollowUp(c, pol, clk, nil)
	c.Status, c.LastInbound = kp.StatusOpen, at(t, clk, "2026-11-24 12:00")
	wantFU(t, clk, "requester replied", NextFollowUp(c, pol, clk, prev), "respond 2026-11-26 12:00 Thu #0")
	// A new waiting period after another staff reply reminds the requester again.
	after := NextFollowUp(c, pol, clk, prev)
	c.Status, c.LastStaffReply, c.WaitingSince = kp.StatusWaiting, at(t, clk, "2026-11-25 09:00"), at(t, clk, "2026-11-25 09:00")
	wantFU(t, clk, "waiting again", NextFollowUp(c, pol, clk, after), "waiting 2026-12-02 09:00 Wed #0")
}

func TestResolvedCaseHasNoFollowUp(t *testing.T) {
	clk, pol := osloClock(t), DefaultPolicy()
	c := openCase(at(t, clk, "2026-11-23 09:00"))
	prev := NextFollowUp(c, pol, clk, nil)
	c.Status = kp.StatusResolved
	if got := NextFollowUp(c, pol, clk, prev); got != nil {
		t.Errorf("resolved: %s", fu(clk, got))
	}
	if a, n := Fire(c, *prev, pol, clk, prev.Due); !a.Skip || n != nil {
		t.Errorf("resolved case fired %+v, next %s", a, fu(clk, n))
	}
}

func TestZeroDurationSwitchesRuleOff(t *testing.T) {
	clk := osloClock(t)
	pol := DefaultPolicy()
	pol.TriageRepeat = BizDuration{}
	pol.EscalateAfter = BizDuration{}
	pol.WaitingReminder = BizDuration{}
	c := openCase(at(t, clk, "2026-11-23 14:00"))
	next := NextFollowUp(c, pol, clk, nil)
	if _, n := Fire(c, *next, pol, clk, next.Due); n != nil {
		t.Errorf("triage without repeat: next %s, want none", fu(clk, n))
	}
	c.Assignee, c.AssignedAt = "kari@uio.no", at(t, clk, "2026-11-23 09:00")
	c.Escalation = 0
	f := &kp.FollowUp{Kind: kp.FollowRespond, Due: at(t, clk, "2026-12-04 09:00"), Count: 2}
	// Level 1 off: level 2 comes straight from level 0, 10d after assignment.
	_, n := Fire(c, *f, pol, clk, f.Due)
	wantFU(t, clk, "level 1 off", n, "escalate-2 2026-12-07 14:00 Mon #0") // since: the request at 14:00
	c.Status, c.WaitingSince, c.LastStaffReply = kp.StatusWaiting, at(t, clk, "2026-11-23 10:00"), at(t, clk, "2026-11-23 10:00")
	wantFU(t, clk, "waiting reminder off", NextFollowUp(c, pol, clk, nil), "auto-resolve 2026-12-14 10:00 Mon #0")
}

// After downtime across several due times, each kind sends one catch-up
// mail and the schedule continues after now.
func TestDowntimeAcrossSeveralDueTimes(t *testing.T) {
	clk, pol := osloClock(t), DefaultPolicy()
	c := openCase(at(t, clk, "2026-11-23 08:30"))
	c.Assignee, c.Team, c.AssignedAt = "kari@uio.no", "fs", at(t, clk, "2026-11-23 09:00")
	f := NextFollowUp(c, pol, clk, nil) // respond Wed 25 09:00
	// Down until Thursday 10 December 11:00: respond reminders (25, 27,
	// 1, 3, 7, 9), level 1 (30 Nov) and level 2 (7 Dec) all fell due.
	now := at(t, clk, "2026-12-10 11:00")
	var sent []string
	for f != nil && !f.Due.After(now) {
		a, next := Fire(c, *f, pol, clk, now)
		if a.Skip {
			t.Fatalf("skipped %s", fu(clk, f))
		}
		sent = append(sent, string(a.Kind)+" to "+roles(a.Notify))
		if a.Escalation > 0 {
			c.Escalation = a.Escalation
		}
		f = next
		if len(sent) > 10 {
			t.Fatal("catch-up does not end")
		}
	}
	want := []string{"respond to assignee", "escalate-1 to escalation,lead", "escalate-2 to manager"}
	if !slices.Equal(sent, want) {
		t.Errorf("catch-up mails %q, want %q", sent, want)
	}
	wantFU(t, clk, "then", f, "respond 2026-12-14 11:00 Mon #0")

	// Triage: five daily reminders missed, one sent.
	c2 := openCase(at(t, clk, "2026-11-23 14:00"))
	f = NextFollowUp(c2, pol, clk, nil)
	a, next := Fire(c2, *f, pol, clk, at(t, clk, "2026-11-30 13:00"))
	if a.Skip || a.Kind != kp.FollowTriage {
		t.Fatalf("triage catch-up: %+v", a)
	}
	wantFU(t, clk, "triage after downtime", next, "triage 2026-12-01 13:00 Tue #1")

	// Waiting: the reminder and auto-resolve both fell due; the reminder
	// goes out and the requester still gets the full ten days.
	c3 := openCase(at(t, clk, "2026-11-23 09:00"))
	c3.Assignee, c3.AssignedAt = "kari@uio.no", c3.Created
	c3.Status, c3.WaitingSince, c3.LastStaffReply = kp.StatusWaiting, c3.Created, c3.Created
	f = NextFollowUp(c3, pol, clk, nil)
	a, next = Fire(c3, *f, pol, clk, at(t, clk, "2026-12-22 10:00"))
	if a.Skip || a.Kind != kp.FollowWaiting {
		t.Fatalf("waiting catch-up: %+v", a)
	}
	wantFU(t, clk, "auto-resolve after a late reminder", next, "auto-resolve 2027-01-07 10:00 Thu #0")
	if !a.ResolveAt.Equal(next.Due) {
		t.Errorf("the reminder quotes %s, auto-resolve is %s", fmtOslo(clk, a.ResolveAt), fu(clk, next))
	}
}

// A restart between a follow-up's due time and its sending: the stored
// follow-up survives, fires once on restart, and is not repeated.
func TestRestartBetweenDueAndSend(t *testing.T) {
	clk, pol := osloClock(t), DefaultPolicy()
	c := openCase(at(t, clk, "2026-11-23 14:00"))
	c.Next = NextFollowUp(c, pol, clk, nil) // triage Tue 10:00; the process dies at 09:59
	// On restart the gateway loads the case and may recompute: nothing changes.
	if got := NextFollowUp(c, pol, clk, c.Next); fu(clk, got) != fu(clk, c.Next) {
		t.Fatalf("recompute on restart changed %s to %s", fu(clk, c.Next), fu(clk, got))
	}
	now := at(t, clk, "2026-11-24 13:40") // back up hours later
	a, next := Fire(c, *c.Next, pol, clk, now)
	if a.Skip {
		t.Fatal("the overdue follow-up was lost")
	}
	c.Next = next
	wantFU(t, clk, "next", c.Next, "triage 2026-11-25 13:40 Wed #1")
	// A second restart right after: the stored next is not due, a second
	// fire sends nothing, and a recompute keeps it.
	if a, n := Fire(c, *c.Next, pol, clk, now); !a.Skip || fu(clk, n) != fu(clk, c.Next) {
		t.Errorf("fired again at once: %+v, %s", a, fu(clk, n))
	}
	if got := NextFollowUp(c, pol, clk, c.Next); fu(clk, got) != fu(clk, c.Next) {
		t.Errorf("recompute changed %s to %s", fu(clk, c.Next), fu(clk, got))
	}
}

func TestFireOutsideHoursDefersToOpening(t *testing.T) {
	clk, pol := osloClock(t), DefaultPolicy()
	c := openCase(at(t, clk, "2026-11-26 11:00"))
	f := NextFollowUp(c, pol, clk, nil) // triage Thu 15:00
	a, next := Fire(c, *f, pol, clk, at(t, clk, "2026-11-28 10:00"))
	if !a.Skip {
		t.Errorf("fired on a Saturday: %+v", a)
	}
	wantFU(t, clk, "deferred", next, "triage 2026-11-30 08:00 Mon #0")
	if got := NextFollowUp(c, pol, clk, next); fu(clk, got) != fu(clk, next) {
		t.Errorf("recompute undid the deferral: %s", fu(clk, got))
	}
	_, next = fire(t, clk, c, next, next.Due, "staff")
	wantFU(t, clk, "after", next, "triage 2026-12-01 08:00 Tue #1")
}

func TestFireNotDueYetReturnsItUnchanged(t *testing.T) {
	clk, pol := osloClock(t), DefaultPolicy()
	c := openCase(at(t, clk, "2026-11-23 14:00"))
	f := NextFollowUp(c, pol, clk, nil)
	a, n := Fire(c, *f, pol, clk, f.Due.Add(-time.Minute))
	if !a.Skip || fu(clk, n) != fu(clk, f) {
		t.Errorf("early fire: %+v, %s", a, fu(clk, n))
	}
}

func TestStaleFollowUpSkippedAndReplaced(t *testing.T) {
	clk, pol := osloClock(t), DefaultPolicy()
	c := openCase(at(t, clk, "2026-11-23 14:00"))
	f := NextFollowUp(c, pol, clk, nil) // triage
	c.Assignee, c.AssignedAt = "kari@uio.no", at(t, clk, "2026-11-23 15:00")
	a, n := Fire(c, *f, pol, clk, f.Due)
	if !a.Skip {
		t.Errorf("triage fired for an assigned case: %+v", a)
	}
	wantFU(t, clk, "replacement", n, "respond 2026-11-25 15:00 Wed #0")
}

func TestSnoozeRemindsAndScheduleResumes(t *testing.T) {
	clk, pol := osloClock(t), DefaultPolicy()
	c := openCase(at(t, clk, "2026-11-23 09:00"))
	c.Assignee, c.AssignedAt = "kari@uio.no", c.Created
	c.Next = NextFollowUp(c, pol, clk, nil)
	// [remind:3d] on Tuesday 10:00.
	r := clk.Add(at(t, clk, "2026-11-24 10:00"), BizDuration{Days: 3})
	c.Next = Snooze(c, r)
	wantFU(t, clk, "snooze", c.Next, "remind 2026-11-27 10:00 Fri #0")
	// It overrides the reminder of Wednesday and survives recomputation.
	c.Priority = kp.PriorityHigh
	wantFU(t, clk, "recomputed", NextFollowUp(c, pol, clk, c.Next), "remind 2026-11-27 10:00 Fri #0")
	_, next := fire(t, clk, c, c.Next, c.Next.Due, "assignee")
	// The schedule resumes from then: next reminder 2 days later, level 1
	// still at its time (Mon 30 09:00) since it comes first.
	wantFU(t, clk, "resumed", next, "escalate-1 2026-11-30 09:00 Mon #0")

	// [remind:2026-12-01] is the opening of that day.
	wantFU(t, clk, "date", Snooze(c, clk.Date(2026, 12, 1)), "remind 2026-12-01 08:00 Tue #0")

	// Unassigned: the snooze reminds staff, then triage resumes daily.
	u := openCase(at(t, clk, "2026-11-23 09:00"))
	u.Next = Snooze(u, at(t, clk, "2026-11-25 08:00"))
	_, next = fire(t, clk, u, u.Next, u.Next.Due, "staff")
	wantFU(t, clk, "triage resumed", next, "triage 2026-11-26 08:00 Thu #0")

	// Snoozed on a resolved case ("[close][remind:…]"): it still fires, nothing follows.
	res := openCase(at(t, clk, "2026-11-23 09:00"))
	res.Status = kp.StatusResolved
	res.Next = Snooze(res, at(t, clk, "2026-11-25 08:00"))
	if _, n := fire(t, clk, res, res.Next, res.Next.Due, "staff"); n != nil {
		t.Errorf("after a snooze on a resolved case: %s", fu(clk, n))
	}
}

func TestSnoozeWhileWaitingDoesNotRepeatReminder(t *testing.T) {
	clk, pol := osloClock(t), DefaultPolicy()
	c := openCase(at(t, clk, "2026-11-23 09:00"))
	c.Assignee, c.AssignedAt = "kari@uio.no", c.Created
	c.Status, c.WaitingSince, c.LastStaffReply = kp.StatusWaiting, at(t, clk, "2026-11-23 10:00"), at(t, clk, "2026-11-23 10:00")
	c.Next = NextFollowUp(c, pol, clk, nil)
	_, c.Next = fire(t, clk, c, c.Next, c.Next.Due, "requester") // waiting reminder Mon 30
	c.Next = Snooze(c, at(t, clk, "2026-12-02 08:00"))
	_, next := fire(t, clk, c, c.Next, c.Next.Due, "assignee")
	wantFU(t, clk, "after the snooze", next, "auto-resolve 2026-12-14 10:00 Mon #0")

	// Snoozed before the reminder went out: the reminder follows the snooze.
	d := openCase(at(t, clk, "2026-11-23 09:00"))
	d.Assignee, d.AssignedAt = "kari@uio.no", d.Created
	d.Status, d.WaitingSince, d.LastStaffReply = kp.StatusWaiting, at(t, clk, "2026-11-23 10:00"), at(t, clk, "2026-11-23 10:00")
	d.Next = NextFollowUp(d, pol, clk, nil)
	d.Next = Snooze(d, at(t, clk, "2026-12-02 08:00"))
	_, next = fire(t, clk, d, d.Next, d.Next.Due, "assignee")
	wantFU(t, clk, "reminder as catch-up", next, "waiting 2026-11-30 10:00 Mon #0")
}

func TestEscalateCommand(t *testing.T) {
	clk, pol := osloClock(t), DefaultPolicy()
	c := openCase(at(t, clk, "2026-11-23 09:00"))
	c.Assignee, c.Team, c.AssignedAt = "kari@uio.no", "fs", c.Created
	// The two respond reminders went out; level 1 is next (Mon 30).
	c.Next = &kp.FollowUp{Kind: kp.FollowEscalate1, Due: at(t, clk, "2026-11-30 09:00")}
	now := at(t, clk, "2026-11-27 14:00")
	a, next := EscalateNow(c, pol, clk, now)
	if a.Skip || a.Kind != kp.FollowEscalate1 || a.Escalation != 1 || roles(a.Notify) != "escalation,lead" {
		t.Errorf("[escalate] at level 0: %+v", a)
	}
	// Level 1 is done by hand: no reminder earlier than the stored one, and
	// level 2 stays at its time.
	wantFU(t, clk, "after [escalate]", next, "respond 2026-11-30 09:00 Mon #0")
	// The gateway may instead raise the level itself and recompute.
	c.Escalation = 1
	wantFU(t, clk, "recomputed", NextFollowUp(c, pol, clk, c.Next), "respond 2026-11-30 09:00 Mon #0")
	a, _ = EscalateNow(c, pol, clk, now)
	if a.Kind != kp.FollowEscalate2 || a.Escalation != 2 || roles(a.Notify) != "manager" {
		t.Errorf("[escalate] at level 1: %+v", a)
	}
	c.Escalation = 2
	if a, _ := EscalateNow(c, pol, clk, now); !a.Skip {
		t.Errorf("[escalate] at level 2: %+v", a)
	}
}

func TestDigestDue(t *testing.T) {
	clk := osloClock(t)
	for _, tc := range []struct {
		last, now string
		due       bool
		next      string
	}{
		{"2026-11-24 08:00", "2026-11-25 07:59", false, "2026-11-25 08:00"},
		{"2026-11-24 08:00", "2026-11-25 08:00", true, "2026-11-26 08:00"},
		{"2026-11-25 08:00", "2026-11-25 09:00", false, "2026-11-26 08:00"},
		{"2026-11-20 08:00", "2026-11-25 11:00", true, "2026-11-26 08:00"},  // downtime: one digest
		{"2026-11-27 08:00", "2026-11-28 09:00", false, "2026-11-30 08:00"}, // Saturday
		{"2026-12-24 08:00", "2026-12-25 09:00", false, "2026-12-28 08:00"}, // Christmas Day
		{"", "2026-11-25 08:30", true, "2026-11-26 08:00"},                  // never sent
	} {
		var last time.Time
		if tc.last != "" {
			last = at(t, clk, tc.last)
		}
		due, next := DigestDue(clk, "08:00", last, at(t, clk, tc.now))
		if due != tc.due || !next.Equal(at(t, clk, tc.next)) {
			t.Errorf("DigestDue(last %s, now %s) = %v, %s; want %v, %s", tc.last, tc.now, due, fmtOslo(clk, next), tc.due, tc.next)
		}
	}
}

func TestDigestSortsOpenAndOverdue(t *testing.T) {
	clk, pol := osloClock(t), DefaultPolicy()
	now := at(t, clk, "2026-11-26 08:00")
	mk := func(id kp.CaseID, assignee string, assigned string, st kp.Status) *kp.Case {
		c := openCase(at(t, clk, assigned))
		c.ID, c.Assignee, c.AssignedAt, c.Status = id, assignee, c.Created, st
		return c
	}
	cases := []*kp.Case{
		mk(1, "kari@uio.no", "2026-11-23 09:00", kp.StatusOpen),     // reply due Wed: overdue
		mk(2, "KARI@uio.no", "2026-11-25 09:00", kp.StatusOpen),     // due Fri: open
		mk(3, "kari@uio.no", "2026-11-20 09:00", kp.StatusWaiting),  // waiting: open
		mk(4, "kari@uio.no", "2026-11-20 09:00", kp.StatusResolved), // resolved: not listed
		mk(5, "ola@uio.no", "2026-11-20 09:00", kp.StatusOpen),      // someone else's
	}
	open, overdue := Digest("kari@uio.no", cases, pol, clk, now)
	ids := func(cs []*kp.Case) (s []kp.CaseID) {
		for _, c := range cs {
			s = append(s, c.ID)
		}
		return s
	}
	if !slices.Equal(ids(open), []kp.CaseID{2, 3}) || !slices.Equal(ids(overdue), []kp.CaseID{1}) {
		t.Errorf("open %v overdue %v", ids(open), ids(overdue))
	}
}

func TestNoPanicOnOddInput(t *testing.T) {
	clk, pol := osloClock(t), DefaultPolicy()
	now := at(t, clk, "2026-11-25 10:00")
	odd := []*kp.Case{
		nil,
		{},
		{Status: "bogus"},
		{Status: kp.StatusWaiting},
		{Status: kp.StatusOpen, Assignee: "x", Escalation: 7},
		{Status: kp.StatusOpen, Team: "t", Escalation: -3, LastInbound: now.AddDate(5, 0, 0)},
	}
	for _, c := range odd {
		for _, k := range []kp.FollowUpKind{kp.FollowTriage, kp.FollowRespond, kp.FollowEscalate1, kp.FollowEscalate2,
			kp.FollowWaiting, kp.FollowAutoResolve, kp.FollowSnooze, "martian"} {
			f := kp.FollowUp{Kind: k, Due: now.AddDate(0, 0, -400), Count: -1}
			_, _ = Fire(c, f, pol, clk, now)
			_ = NextFollowUp(c, pol, clk, &f)
		}
		_, _ = EscalateNow(c, pol, clk, now)
		_ = Snooze(c, now)
		_, _ = Fire(c, kp.FollowUp{}, Policy{Escalate2After: BizDuration{Days: -5}}, &Clock{}, now)
	}
	if _, n := Fire(openCase(now), kp.FollowUp{}, pol, nil, now); n != nil {
		t.Error("nil clock gave a follow-up")
	}
}

// sim plays scripted cases through fake time the way the gateway does:
// every scripted event changes a case and recomputes its follow-up; every
// 15 minutes (except during downtime) due follow-ups fire, and their mail
// is recorded. It checks on every step that a recomputation (a restart)
// changes nothing, that mail goes out on working days within hours only,
// and that no follow-up fires twice.
type sim struct {
	t      *testing.T
	clk    *Clock
	pol    Policy
	cases  map[kp.CaseID]*kp.Case
	events map[time.Time][]func()
	mails  []string
	fired  map[string]bool
}

func newSim(t *testing.T) *sim {
	return &sim{t: t, clk: osloClock(t), pol: DefaultPolicy(), cases: map[kp.CaseID]*kp.Case{},
		events: map[time.Time][]func(){}, fired: map[string]bool{}}
}

// on schedules a change of case id at the Oslo wall time when.
func (s *sim) on(when string, id kp.CaseID, change func(c *kp.Case, now time.Time)) {
	now := at(s.t, s.clk, when)
	s.events[now] = append(s.events[now], func() {
		c := s.cases[id]
		if c == nil {
			c = &kp.Case{ID: id, Status: kp.StatusOpen, Created: now, LastInbound: now}
			s.cases[id] = c
		}
		prev := c.Next
		change(c, now)
		c.Updated = now
		if c.Next == prev { // a [remind:…] sets Next itself
			c.Next = NextFollowUp(c, s.pol, s.clk, prev)
		}
	})
}

func (s *sim) run(from, to string, down ...string) {
	start, end := at(s.t, s.clk, from), at(s.t, s.clk, to)
	var downFrom, downTo time.Time
	if len(down) == 2 {
		downFrom, downTo = at(s.t, s.clk, down[0]), at(s.t, s.clk, down[1])
	}
	for now := start; now.Before(end); now = now.Add(15 * time.Minute) {
		for _, ev := range s.events[now] {
			ev()
		}
		if !now.Before(downFrom) && now.Before(downTo) {
			continue
		}
		for _, id := range slices.Sorted(maps.Keys(s.cases)) {
			c := s.cases[id]
			// A restart at this instant recomputes from the stored state.
			if got := NextFollowUp(c, s.pol, s.clk, c.Next); c.Next != nil && c.Status != kp.StatusResolved && fu(s.clk, got) != fu(s.clk, c.Next) {
				s.t.Fatalf("%s case %d: recompute changed %s to %s", fmtOslo(s.clk, now), id, fu(s.clk, c.Next), fu(s.clk, got))
			}
			for n := 0; c.Next != nil && !c.Next.Due.After(now); n++ {
				if n > 5 {
					s.t.Fatalf("%s case %d: follow-ups do not settle", fmtOslo(s.clk, now), id)
				}
				f := *c.Next
				a, next := Fire(c, f, s.pol, s.clk, now)
				if !a.Skip {
					key := fmt.Sprintf("%d %s %s", id, f.Kind, f.Due.UTC().Format(time.RFC3339))
					if s.fired[key] {
						s.t.Errorf("fired twice: %s", key)
					}
					s.fired[key] = true
					if !s.clk.IsOpen(now) {
						s.t.Errorf("mail outside working hours: %s", fmtOslo(s.clk, now))
					}
					s.mails = append(s.mails, fmt.Sprintf("%s #%d %s %s", fmtOslo(s.clk, now), id, a.Kind, roles(a.Notify)))
					if a.Escalation > c.Escalation {
						c.Escalation = a.Escalation
					}
					if a.Resolve {
						c.Status, c.ResolvedAt = kp.StatusResolved, now
					}
				}
				c.Next = next
			}
		}
	}
}

func assign(who, team string) func(c *kp.Case, now time.Time) {
	return func(c *kp.Case, now time.Time) { c.Assignee, c.Team, c.AssignedAt = who, team, now }
}

func staffReplies(c *kp.Case, now time.Time) {
	c.LastStaffReply, c.Status, c.WaitingSince = now, kp.StatusWaiting, now
}

func requesterWrites(c *kp.Case, now time.Time) {
	c.LastInbound = now
	if c.Status == kp.StatusWaiting {
		c.Status = kp.StatusOpen
	}
}

// script is four weeks around Easter 2026 (Maundy Thursday 2 April to
// Easter Monday 6 April closed; clocks go forward on Sunday 29 March).
func script(s *sim) {
	// #1 arrives unassigned, waits two days for triage, then stalls with
	// its assignee until a reply on 15 April.
	s.on("2026-03-23 14:00", 1, func(*kp.Case, time.Time) {})
	s.on("2026-03-25 11:00", 1, assign("kari@uio.no", "fs"))
	s.on("2026-04-15 10:00", 1, staffReplies)
	// #2 is routed to a team at intake; on 30 March staff snooze it
	// with [remind:2026-04-08].
	s.on("2026-03-24 11:00", 2, assign("", "fs"))
	s.on("2026-03-30 13:00", 2, func(c *kp.Case, now time.Time) {
		c.Next = Snooze(c, s.clk.Date(2026, 4, 8))
	})
	// #3 is answered at once and the requester never writes back.
	s.on("2026-03-23 09:00", 3, assign("ola@uio.no", "fs"))
	s.on("2026-03-23 09:30", 3, staffReplies)
	// #4 comes in the week after Easter; the requester adds to it, the
	// assignee answers, the requester answers back, and then silence.
	s.on("2026-04-09 15:00", 4, func(*kp.Case, time.Time) {})
	s.on("2026-04-09 15:30", 4, assign("ola@uio.no", ""))
	s.on("2026-04-10 10:00", 4, requesterWrites)
	s.on("2026-04-14 09:00", 4, staffReplies)
	s.on("2026-04-15 12:00", 4, requesterWrites)
}

func TestWeeksOfFakeTime(t *testing.T) {
	s := newSim(t)
	script(s)
	s.run("2026-03-23 00:00", "2026-04-20 00:00")
	want := []string{
		"2026-03-24 10:00 Tue #1 triage staff",
		"2026-03-25 10:00 Wed #1 triage staff",
		"2026-03-26 11:00 Thu #2 respond team",
		"2026-03-27 11:00 Fri #1 respond assignee",
		"2026-03-30 09:30 Mon #3 waiting requester",
		"2026-03-30 11:00 Mon #2 respond team",
		"2026-03-31 11:00 Tue #1 respond assignee",
		"2026-04-01 11:00 Wed #1 escalate-1 escalation,lead",
		"2026-04-08 08:00 Wed #2 remind team",
		"2026-04-08 08:00 Wed #2 escalate-1 escalation,lead",
		"2026-04-08 11:00 Wed #1 respond assignee",
		"2026-04-10 08:00 Fri #2 respond team",
		"2026-04-10 11:00 Fri #1 respond assignee",
		"2026-04-10 11:00 Fri #2 escalate-2 manager",
		"2026-04-13 11:00 Mon #1 escalate-2 manager",
		"2026-04-14 11:00 Tue #2 respond team",
		"2026-04-16 09:30 Thu #3 auto-resolve requester",
		"2026-04-16 11:00 Thu #2 respond team",
		"2026-04-17 12:00 Fri #4 respond assignee",
	}
	if !slices.Equal(s.mails, want) {
		t.Errorf("mails:\n%s\nwant:\n%s", strings.Join(s.mails, "\n"), strings.Join(want, "\n"))
	}
}

func TestWeeksOfFakeTimeWithDowntime(t *testing.T) {
	s := newSim(t)
	script(s)
	// The service is down from Tuesday 31 March 08:00 to Thursday 9 April
	// 13:00: each case gets one catch-up mail per kind, then its rhythm.
	s.run("2026-03-23 00:00", "2026-04-20 00:00", "2026-03-31 08:00", "2026-04-09 13:00")
	want := []string{
		"2026-03-24 10:00 Tue #1 triage staff",
		"2026-03-25 10:00 Wed #1 triage staff",
		"2026-03-26 11:00 Thu #2 respond team",
		"2026-03-27 11:00 Fri #1 respond assignee",
		"2026-03-30 09:30 Mon #3 waiting requester",
		"2026-03-30 11:00 Mon #2 respond team",
		"2026-04-09 13:00 Thu #1 respond assignee",
		"2026-04-09 13:00 Thu #1 escalate-1 escalation,lead",
		"2026-04-09 13:00 Thu #2 remind team",
		"2026-04-09 13:00 Thu #2 escalate-1 escalation,lead",
		"2026-04-10 11:00 Fri #2 escalate-2 manager",
		"2026-04-13 11:00 Mon #1 escalate-2 manager",
		"2026-04-14 11:00 Tue #2 respond team",
		"2026-04-16 09:30 Thu #3 auto-resolve requester",
		"2026-04-16 11:00 Thu #2 respond team",
		"2026-04-17 12:00 Fri #4 respond assignee",
	}
	if !slices.Equal(s.mails, want) {
		t.Errorf("mails:\n%s\nwant:\n%s", strings.Join(s.mails, "\n"), strings.Join(want, "\n"))
	}
}

// TestFollowUpInvariants checks the package invariants on random case
// states, stored follow-ups and firing times (fixed seed).
func TestFollowUpInvariants(t *testing.T) {
	clk, pol := osloClock(t), DefaultPolicy()
	rnd := rand.New(rand.NewPCG(1, 2))
	base := at(t, clk, "2026-03-16 00:00")
	tm := func() time.Time { return base.Add(time.Duration(rnd.IntN(60*24*4)) * 15 * time.Minute) }
	maybe := func() time.Time {
		if rnd.IntN(4) == 0 {
			return time.Time{}
		}
		return tm()
	}
	kinds := []kp.FollowUpKind{kp.FollowTriage, kp.FollowRespond, kp.FollowEscalate1, kp.FollowEscalate2,
		kp.FollowWaiting, kp.FollowAutoResolve, kp.FollowSnooze}
	statuses := []kp.Status{kp.StatusOpen, kp.StatusOpen, kp.StatusWaiting, kp.StatusResolved}
	for i := range 20000 {
		c := &kp.Case{ID: 1, Status: statuses[rnd.IntN(len(statuses))], Created: tm(), Escalation: rnd.IntN(3),
			AssignedAt: maybe(), LastInbound: maybe(), LastStaffReply: maybe(), WaitingSince: maybe()}
		switch rnd.IntN(3) {
		case 0:
			c.Assignee = "kari@uio.no"
		case 1:
			c.Team = "fs"
		}
		var prev *kp.FollowUp
		if rnd.IntN(3) > 0 {
			prev = &kp.FollowUp{Kind: kinds[rnd.IntN(len(kinds))], Due: tm(), Count: rnd.IntN(3)}
		}
		n1 := NextFollowUp(c, pol, clk, prev)
		if n2 := NextFollowUp(c, pol, clk, n1); fu(clk, n2) != fu(clk, n1) {
			t.Fatalf("%d: not idempotent: %s then %s (case %+v, prev %s)", i, fu(clk, n1), fu(clk, n2), c, fu(clk, prev))
		}
		if prev == nil {
			continue
		}
		now := tm()
		a, next := Fire(c, *prev, pol, clk, now)
		if !a.Skip && !clk.IsOpen(now) {
			t.Fatalf("%d: acted outside working hours at %s", i, fmtOslo(clk, now))
		}
		if next == nil {
			continue
		}
		after := *c
		if a.Escalation > after.Escalation {
			after.Escalation = a.Escalation
		}
		if got := NextFollowUp(&after, pol, clk, next); !a.Resolve && fu(clk, got) != fu(clk, next) {
			t.Fatalf("%d: Fire(%s) at %s stored %s, a recompute makes it %s (case %+v)", i, fu(clk, prev), fmtOslo(clk, now), fu(clk, next), fu(clk, got), c)
		}
		if !a.Skip && next.Kind == prev.Kind && !next.Due.After(now) {
			t.Fatalf("%d: fired %s and returned %s, not after now %s", i, fu(clk, prev), fu(clk, next), fmtOslo(clk, now))
		}
		if !prev.Due.After(now) && next.Kind == prev.Kind && next.Due.Equal(prev.Due) {
			t.Fatalf("%d: Fire returned the same %s at %s", i, fu(clk, next), fmtOslo(clk, now))
		}
		if next.Due.After(now) && !clk.IsOpen(next.Due) && *next != *prev {
			t.Fatalf("%d: next %s is not an open instant", i, fu(clk, next))
		}
	}
}

// When a reminder and an escalation fall due at the same instant, the
// reminder goes first and the escalation follows at once.
func TestSameInstantReminderThenEscalation(t *testing.T) {
	clk := osloClock(t)
	pol := DefaultPolicy()
	pol.EscalateAfter = pol.RespondWithin
	c := openCase(at(t, clk, "2026-11-23 09:00"))
	c.Assignee, c.AssignedAt = "kari@uio.no", c.Created
	next := NextFollowUp(c, pol, clk, nil)
	wantFU(t, clk, "tie", next, "respond 2026-11-25 09:00 Wed #0")
	a, next := Fire(c, *next, pol, clk, next.Due)
	if a.Skip || a.Kind != kp.FollowRespond {
		t.Fatalf("first: %+v", a)
	}
	wantFU(t, clk, "then", next, "escalate-1 2026-11-25 09:00 Wed #0")
}
