package routing

// Follow-up policy (docs/behaviour.md, Follow-up), as pure functions of a case's state.
//
// Every case is in at most one follow-up chain, decided by its state:
//
//   - triage: open, no assignee and no team. Staff are reminded
//     TriageWithin after the case opened (or was last assigned, if the
//     apply step records an unassignment in AssignedAt), then every
//     TriageRepeat.
//   - respond: open, assigned (person or team), and the staff side owes a
//     reply: no staff-side reply since the assignment, or the requester
//     wrote after the last one. The clock starts at since =
//     max(AssignedAt, LastInbound): a new message from the requester
//     restarts it, because that message was just relayed to the assignee.
//     (A requester who keeps writing therefore also delays escalation; the
//     Case records no "first unanswered message" time to count from.)
//     The assignee (else the team) is reminded RespondWithin after since,
//     then every RespondRepeat counted from the last reminder; level 1
//     escalation (team escalation contact and staff lead) comes
//     EscalateAfter after since, level 2 (the manager) Escalate2After after
//     since. Levels already reached (Case.Escalation) are never sent again;
//     reminders to the assignee go on after an escalation. Whether a staff
//     reply or a new assignment resets Case.Escalation is the apply step's
//     choice; if it does, a later stall escalates from level 1 again.
//   - waiting: status waiting. The requester is reminded once
//     WaitingReminder after WaitingSince; the case is resolved with a
//     notice AutoResolveAfter after WaitingSince, but never sooner after
//     the reminder than the policy's gap between the two (so after
//     downtime the requester still gets the full grace period).
//
// A staff-side reply ends the respond chain (the case waits, or simply has
// nothing due). A resolved case has no follow-up. A zero duration in the
// Policy switches its rule off (a zero repeat means "once").
//
// The stored follow-up (Case.Next) is the only memory. The functions keep
// three invariants that make restarts and downtime harmless:
//
//  1. NextFollowUp never moves a follow-up of the current chain earlier:
//     while the stored one still fits the case's state it is returned
//     unchanged, so recomputing after any change or restart is idempotent.
//  2. Fire computes repeats from now, not from the missed due time, so
//     after downtime across several due times each kind fires once as a
//     catch-up and the rhythm continues from then.
//  3. Fire never returns the (kind, due) it was given once it acted on it,
//     and every due time it creates is an instant when the office is open;
//     a follow-up found due outside working hours is deferred to the next
//     opening, so mail goes out on working days within hours only.

import (
	"time"

	kp "kontaktpunkt"
)

// Policy holds the follow-up durations of docs/behaviour.md, Follow-up, all in
// business time. A zero duration switches its rule off.
type Policy struct {
	// TriageWithin: an unassigned case reminds staff this long after it opened.
	TriageWithin BizDuration
	// RespondWithin: an assigned case without a staff-side reply reminds the
	// assignee this long after assignment or the requester's last mail.
	RespondWithin BizDuration
	// EscalateAfter: still no staff-side reply; level 1 escalation.
	EscalateAfter BizDuration
	// Escalate2After: level 2 escalation, to the contact point's manager.
	Escalate2After BizDuration
	// WaitingReminder: a case waiting on the requester reminds them, once.
	WaitingReminder BizDuration
	// AutoResolveAfter: a case still waiting is resolved, with a notice.
	AutoResolveAfter BizDuration
	// TriageRepeat is the interval of further triage reminders ("then daily").
	TriageRepeat BizDuration
	// RespondRepeat is the interval of further reminders to the assignee
	// ("then every 2 days").
	RespondRepeat BizDuration
}

// DefaultPolicy is the table in docs/behaviour.md, Follow-up: triage 4h then daily, respond
// 2d then every 2 days, escalation after 5d and 10d, waiting reminder after
// 5d, auto-resolve after 15d.
func DefaultPolicy() Policy {
	return Policy{
		TriageWithin:     BizDuration{Hours: 4},
		RespondWithin:    BizDuration{Days: 2},
		EscalateAfter:    BizDuration{Days: 5},
		Escalate2After:   BizDuration{Days: 10},
		WaitingReminder:  BizDuration{Days: 5},
		AutoResolveAfter: BizDuration{Days: 15},
		TriageRepeat:     BizDuration{Days: 1},
		RespondRepeat:    BizDuration{Days: 2},
	}
}

// Role is whom a follow-up mail goes to; the gateway turns roles into
// addresses.
type Role string

const (
	RoleStaff      Role = "staff"      // the contact point's staff
	RoleAssignee   Role = "assignee"   // the case's assignee
	RoleTeam       Role = "team"       // the members of the case's team (no assignee)
	RoleEscalation Role = "escalation" // the team's escalation contact
	RoleLead       Role = "lead"       // the staff lead
	RoleManager    Role = "manager"    // the contact point's manager
	RoleRequester  Role = "requester"  // the requester
)

// Action is what Fire decided: the mail to send and the changes to make.
type Action struct {
	// Kind is the follow-up that fired.
	Kind kp.FollowUpKind
	// Notify lists who gets the mail.
	Notify []Role
	// Escalation is the new escalation level to set (0 = unchanged).
	Escalation int
	// Resolve asks to set the case resolved and tell the requester.
	Resolve bool
	// Skip means nothing is to be sent now (the follow-up is moot, not due,
	// or due outside working hours); the returned next follow-up applies.
	Skip bool
	// ResolveAt is, for a waiting reminder, when the case will be resolved
	// if the requester stays silent (zero if auto-resolve is off). The
	// reminder's text should quote it rather than recompute it: after
	// downtime it is later than WaitingSince + AutoResolveAfter.
	ResolveAt time.Time
}

// chain is the follow-up chain a case is in.
type chain int

const (
	chainNone chain = iota
	chainTriage
	chainRespond
	chainWaiting
)

func chainOf(c *kp.Case) chain {
	switch c.Status {
	case kp.StatusWaiting:
		return chainWaiting
	case kp.StatusOpen, "":
		if c.Assignee == "" && c.Team == "" {
			return chainTriage
		}
		if OwesReply(c) {
			return chainRespond
		}
	}
	return chainNone
}

// OwesReply reports whether the staff side owes the requester an answer.
func OwesReply(c *kp.Case) bool {
	return c.LastStaffReply.IsZero() || c.LastStaffReply.Before(c.AssignedAt) ||
		c.LastInbound.After(c.LastStaffReply)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// triageSince is when the case last became unassigned work.
func triageSince(c *kp.Case) time.Time { return later(c.Created, c.AssignedAt) }

// respondSince is when the staff side's current debt began.
func respondSince(c *kp.Case) time.Time {
	if s := later(c.AssignedAt, c.LastInbound); !s.IsZero() {
		return s
	}
	return c.Created
}

// waitingSince is when the case went to waiting, with fallbacks for
// records that lack it.
func waitingSince(c *kp.Case) time.Time {
	for _, t := range []time.Time{c.WaitingSince, c.LastStaffReply, c.Updated} {
		if !t.IsZero() {
			return t
		}
	}
	return c.Created
}

// kindRank orders follow-ups that fall due at the same instant.
func kindRank(k kp.FollowUpKind) int {
	switch k {
	case kp.FollowRespond:
		return 0
	case kp.FollowEscalate1:
		return 1
	case kp.FollowEscalate2:
		return 2
	}
	return 3
}

// earliest returns the earliest of the non-nil candidates.
func earliest(fs ...*kp.FollowUp) *kp.FollowUp {
	var best *kp.FollowUp
	for _, f := range fs {
		if f == nil {
			continue
		}
		if best == nil || f.Due.Before(best.Due) || (f.Due.Equal(best.Due) && kindRank(f.Kind) < kindRank(best.Kind)) {
			best = f
		}
	}
	return best
}

// nextEscalation is the next escalation level not yet reached, due
// counted from since; nil when none is left or the rules are off. A due
// time in the past is kept as is: it fires at once, as a catch-up.
func nextEscalation(c *kp.Case, pol Policy, clk *Clock, since time.Time) *kp.FollowUp {
	if c.Escalation < 1 && !pol.EscalateAfter.IsZero() {
		return &kp.FollowUp{Kind: kp.FollowEscalate1, Due: clk.Add(since, pol.EscalateAfter)}
	}
	if c.Escalation < 2 && !pol.Escalate2After.IsZero() {
		return &kp.FollowUp{Kind: kp.FollowEscalate2, Due: clk.Add(since, pol.Escalate2After)}
	}
	return nil
}

// respondAfter is the next follow-up of the respond chain after a reminder
// or escalation went out at now: the first reminder if it is still ahead,
// else a repeat counted from now, or the next escalation if that is sooner.
func respondAfter(c *kp.Case, pol Policy, clk *Clock, now time.Time, count int) *kp.FollowUp {
	since := respondSince(c)
	var r *kp.FollowUp
	if !pol.RespondWithin.IsZero() {
		if first := clk.Add(since, pol.RespondWithin); first.After(now) {
			r = &kp.FollowUp{Kind: kp.FollowRespond, Due: first}
		} else if !pol.RespondRepeat.IsZero() {
			r = &kp.FollowUp{Kind: kp.FollowRespond, Due: clk.Add(now, pol.RespondRepeat), Count: count}
		}
	}
	return earliest(r, nextEscalation(c, pol, clk, since))
}

// waitingGap is the business time between the waiting reminder and
// auto-resolve under pol, never negative.
func waitingGap(pol Policy, clk *Clock) BizDuration {
	gap := pol.AutoResolveAfter.minutes(clk.DayLength()) - pol.WaitingReminder.minutes(clk.DayLength())
	return BizDuration{Minutes: max(gap, 0)}
}

// autoResolveAfterReminder is the auto-resolve follow-up once the waiting
// reminder went out at now.
func autoResolveAfterReminder(c *kp.Case, pol Policy, clk *Clock, now time.Time) *kp.FollowUp {
	if pol.AutoResolveAfter.IsZero() {
		return nil
	}
	due := later(clk.Add(waitingSince(c), pol.AutoResolveAfter), clk.Add(now, waitingGap(pol, clk)))
	return &kp.FollowUp{Kind: kp.FollowAutoResolve, Due: due}
}

// fresh is the first follow-up of the case's chain, as if nothing had
// been sent yet.
func fresh(c *kp.Case, ch chain, pol Policy, clk *Clock) *kp.FollowUp {
	switch ch {
	case chainTriage:
		if pol.TriageWithin.IsZero() {
			return nil
		}
		return &kp.FollowUp{Kind: kp.FollowTriage, Due: clk.Add(triageSince(c), pol.TriageWithin)}
	case chainRespond:
		since := respondSince(c)
		var r *kp.FollowUp
		if !pol.RespondWithin.IsZero() {
			r = &kp.FollowUp{Kind: kp.FollowRespond, Due: clk.Add(since, pol.RespondWithin)}
		}
		return earliest(r, nextEscalation(c, pol, clk, since))
	case chainWaiting:
		w := waitingSince(c)
		if !pol.WaitingReminder.IsZero() {
			return &kp.FollowUp{Kind: kp.FollowWaiting, Due: clk.Add(w, pol.WaitingReminder)}
		}
		if !pol.AutoResolveAfter.IsZero() {
			return &kp.FollowUp{Kind: kp.FollowAutoResolve, Due: clk.Add(w, pol.AutoResolveAfter)}
		}
	}
	return nil
}

// fits reports whether f is a follow-up of the case's current chain and
// current episode: its kind belongs to the chain, its rule is on, the
// level it escalates to is not reached, and it is not earlier than the
// chain's first due time for that kind (an earlier one was scheduled
// before the chain's clock restarted).
func fits(c *kp.Case, ch chain, pol Policy, clk *Clock, f kp.FollowUp) bool {
	switch ch {
	case chainTriage:
		return f.Kind == kp.FollowTriage && !pol.TriageWithin.IsZero() &&
			!f.Due.Before(clk.Add(triageSince(c), pol.TriageWithin))
	case chainRespond:
		since := respondSince(c)
		switch f.Kind {
		case kp.FollowRespond:
			return !pol.RespondWithin.IsZero() && !f.Due.Before(clk.Add(since, pol.RespondWithin))
		case kp.FollowEscalate1:
			return c.Escalation < 1 && !pol.EscalateAfter.IsZero() && !f.Due.Before(clk.Add(since, pol.EscalateAfter))
		case kp.FollowEscalate2:
			return c.Escalation < 2 && (c.Escalation == 1 || pol.EscalateAfter.IsZero()) &&
				!pol.Escalate2After.IsZero() && !f.Due.Before(clk.Add(since, pol.Escalate2After))
		}
	case chainWaiting:
		w := waitingSince(c)
		switch f.Kind {
		case kp.FollowWaiting:
			return !pol.WaitingReminder.IsZero() && !f.Due.Before(clk.Add(w, pol.WaitingReminder))
		case kp.FollowAutoResolve:
			return !pol.AutoResolveAfter.IsZero() && !f.Due.Before(clk.Add(w, pol.AutoResolveAfter))
		}
	}
	return false
}

// NextFollowUp says what the case's next follow-up is, from its state and
// the follow-up stored so far (prev, usually Case.Next; nil if none). It is
// pure and idempotent: NextFollowUp(c, …, NextFollowUp(c, …, p)) gives the
// same result, so the gateway may call it after every change and after a
// restart.
//
//   - A snooze (FollowSnooze) is kept until it fires, whatever the state.
//   - A resolved case, or one in no chain (see the package comment), has none.
//   - If prev still fits the case's chain it is returned unchanged: a
//     recomputation never sends a reminder again or earlier.
//   - Otherwise the chain starts afresh: triage at Add(since, TriageWithin);
//     respond at Add(since, RespondWithin) or the next escalation level if
//     sooner; waiting at Add(WaitingSince, WaitingReminder). Due times in
//     the past fire at once, as one catch-up.
//
// One exception keeps escalations honest: when prev is an escalation of
// the current episode that the case has meanwhile reached (an
// "[escalate]" from staff), the next reminder to the assignee is not
// earlier than prev was.
func NextFollowUp(c *kp.Case, pol Policy, clk *Clock, prev *kp.FollowUp) *kp.FollowUp {
	if c == nil || clk == nil {
		return nil
	}
	if prev != nil && prev.Kind == kp.FollowSnooze {
		p := *prev
		return &p
	}
	ch := chainOf(c)
	if ch == chainNone {
		return nil
	}
	if prev != nil && fits(c, ch, pol, clk, *prev) {
		p := *prev
		return &p
	}
	if ch == chainRespond && prev != nil && (prev.Kind == kp.FollowEscalate1 || prev.Kind == kp.FollowEscalate2) {
		since := respondSince(c)
		first := clk.Add(since, pol.EscalateAfter)
		if prev.Kind == kp.FollowEscalate2 {
			first = clk.Add(since, pol.Escalate2After)
		}
		if !prev.Due.Before(first) { // same episode; the level was reached by hand
			var r *kp.FollowUp
			if !pol.RespondWithin.IsZero() {
				r = &kp.FollowUp{Kind: kp.FollowRespond, Due: later(clk.Add(since, pol.RespondWithin), clk.NextOpen(prev.Due))}
			}
			return earliest(r, nextEscalation(c, pol, clk, since))
		}
	}
	return fresh(c, ch, pol, clk)
}

// Fire decides what to do when f is due at now. It is pure: it returns the
// action and the follow-up to store next (nil: none), and the gateway
// applies both in one transaction.
//
//   - f not yet due: Skip, and NextFollowUp(c, pol, clk, &f) is returned
//     (f itself while it fits the case).
//   - f no longer fits the case (state changed and nobody recomputed):
//     Skip, and the follow-up the state calls for is returned.
//   - now outside working hours: Skip, and f is deferred to the next
//     opening.
//   - Otherwise the mail goes out: triage to staff (next: TriageRepeat from
//     now); respond to the assignee, else the team (next: RespondRepeat
//     from now, or an escalation level that is due sooner); escalate-1 to
//     the team's escalation contact and the staff lead, escalate-2 to the
//     manager (next: the following level or reminder); waiting to the
//     requester (next: auto-resolve); auto-resolve resolves the case and
//     tells the requester (next: none); a snooze reminds the assignee, else
//     the team, else staff (next: see Snooze).
//
// Repeats count from now, so a follow-up found due long after its time
// (downtime) sends one catch-up mail and the schedule continues from now;
// other kinds that fell due meanwhile follow at once, one mail each.
func Fire(c *kp.Case, f kp.FollowUp, pol Policy, clk *Clock, now time.Time) (Action, *kp.FollowUp) {
	skip := Action{Kind: f.Kind, Skip: true}
	if c == nil || clk == nil {
		return skip, nil
	}
	if f.Due.After(now) {
		return skip, NextFollowUp(c, pol, clk, &f)
	}
	ch := chainOf(c)
	if f.Kind != kp.FollowSnooze {
		if ch == chainNone {
			return skip, nil
		}
		if !fits(c, ch, pol, clk, f) {
			return skip, NextFollowUp(c, pol, clk, &f)
		}
	}
	if !clk.IsOpen(now) {
		return skip, &kp.FollowUp{Kind: f.Kind, Due: clk.NextOpen(now), Count: f.Count}
	}
	a := Action{Kind: f.Kind}
	var next *kp.FollowUp
	switch f.Kind {
	case kp.FollowTriage:
		a.Notify = []Role{RoleStaff}
		if !pol.TriageRepeat.IsZero() {
			next = &kp.FollowUp{Kind: kp.FollowTriage, Due: clk.Add(now, pol.TriageRepeat), Count: f.Count + 1}
		}
	case kp.FollowRespond:
		a.Notify = []Role{assigneeRole(c)}
		next = respondAfter(c, pol, clk, now, f.Count+1)
	case kp.FollowEscalate1, kp.FollowEscalate2:
		level := 1
		a.Notify = []Role{RoleEscalation, RoleLead}
		if f.Kind == kp.FollowEscalate2 {
			level = 2
			a.Notify = []Role{RoleManager}
		}
		a.Escalation = level
		after := *c
		after.Escalation = level
		next = respondAfter(&after, pol, clk, now, 0)
	case kp.FollowWaiting:
		a.Notify = []Role{RoleRequester}
		next = autoResolveAfterReminder(c, pol, clk, now)
		if next != nil {
			a.ResolveAt = next.Due
		}
	case kp.FollowAutoResolve:
		a.Notify = []Role{RoleRequester}
		a.Resolve = true
	case kp.FollowSnooze:
		a.Notify = []Role{assigneeRole(c)}
		next = resume(c, ch, pol, clk, f, now)
	default:
		// An unknown kind (a newer version's record): drop it and let the
		// state decide.
		return skip, NextFollowUp(c, pol, clk, nil)
	}
	return a, next
}

// assigneeRole is who a reminder about the case goes to: the assignee,
// else the team, else staff.
func assigneeRole(c *kp.Case) Role {
	switch {
	case c.Assignee != "":
		return RoleAssignee
	case c.Team != "":
		return RoleTeam
	}
	return RoleStaff
}

// resume is the follow-up after a snooze fired at now. The snooze counts
// as the chain's reminder of this round: repeating reminders count from
// now; escalation levels, the waiting reminder and auto-resolve keep their
// times, and those that fell due during the snooze follow at once, as
// catch-ups (a snooze defers the next follow-up, it cancels nothing). The
// waiting reminder is not sent again if it went out before the snooze was
// set (the snooze's Count, see Snooze).
func resume(c *kp.Case, ch chain, pol Policy, clk *Clock, f kp.FollowUp, now time.Time) *kp.FollowUp {
	switch ch {
	case chainTriage:
		if pol.TriageWithin.IsZero() {
			return nil
		}
		if first := clk.Add(triageSince(c), pol.TriageWithin); first.After(now) {
			return &kp.FollowUp{Kind: kp.FollowTriage, Due: first}
		}
		if pol.TriageRepeat.IsZero() {
			return nil
		}
		return &kp.FollowUp{Kind: kp.FollowTriage, Due: clk.Add(now, pol.TriageRepeat)}
	case chainRespond:
		return respondAfter(c, pol, clk, now, 0)
	case chainWaiting:
		w := waitingSince(c)
		if pol.WaitingReminder.IsZero() {
			return fresh(c, ch, pol, clk)
		}
		reminder := clk.Add(w, pol.WaitingReminder)
		// A reminder due only at or after the snooze fired cannot have been
		// sent before the snooze was set.
		if f.Count > 0 && reminder.Before(f.Due) {
			if pol.AutoResolveAfter.IsZero() {
				return nil
			}
			return &kp.FollowUp{Kind: kp.FollowAutoResolve, Due: later(clk.Add(w, pol.AutoResolveAfter), reminder)}
		}
		return &kp.FollowUp{Kind: kp.FollowWaiting, Due: reminder}
	}
	return nil
}

// Snooze is the follow-up for "[remind:…]": a FollowSnooze due at r. It
// replaces the case's next follow-up until it fires (NextFollowUp keeps
// it), then reminds the assignee (else the team, else staff), and the
// normal schedule resumes from then. A snooze on a resolved case still
// fires, and nothing follows it.
//
// Its Count records whether the case's waiting reminder was already sent
// when the snooze was set (1) or not (0), read from c.Next, so the
// resumed schedule does not remind the requester twice.
func Snooze(c *kp.Case, r time.Time) *kp.FollowUp {
	if c == nil {
		return nil
	}
	f := &kp.FollowUp{Kind: kp.FollowSnooze, Due: r}
	if n := c.Next; n != nil && c.Status == kp.StatusWaiting &&
		(n.Kind == kp.FollowAutoResolve || (n.Kind == kp.FollowSnooze && n.Count > 0)) {
		f.Count = 1
	}
	return f
}

// EscalateNow is "[escalate]": it raises the case one level now, with the
// mail of that level, and returns the follow-up to store next. Call it
// with the case as it was before the command; the returned Action's
// Escalation is the new level. At level 2 already it returns Skip and the
// case's follow-up unchanged.
func EscalateNow(c *kp.Case, pol Policy, clk *Clock, now time.Time) (Action, *kp.FollowUp) {
	if c == nil || clk == nil {
		return Action{Skip: true}, nil
	}
	if c.Escalation >= 2 {
		return Action{Kind: kp.FollowEscalate2, Skip: true}, NextFollowUp(c, pol, clk, c.Next)
	}
	a := Action{Kind: kp.FollowEscalate1, Notify: []Role{RoleEscalation, RoleLead}, Escalation: 1}
	if c.Escalation == 1 {
		a = Action{Kind: kp.FollowEscalate2, Notify: []Role{RoleManager}, Escalation: 2}
	}
	after := *c
	after.Escalation = a.Escalation
	return a, NextFollowUp(&after, pol, clk, c.Next)
}

// DigestDue says whether an assignee's daily digest is due at now and
// when the next one is. The digest goes out once per working day at the
// wall-clock time at ("08:00"; an unreadable value means opening time):
// it is due when now is on a working day, at or after that day's time,
// and the last digest (last, zero if never) went out before it. Days
// missed during downtime are not made up: one digest covers them. next
// is the first digest time after now that is still to be sent.
func DigestDue(clk *Clock, at string, last time.Time, now time.Time) (due bool, next time.Time) {
	if clk == nil {
		return false, time.Time{}
	}
	off, err := ParseTimeOfDay(at)
	if err != nil || off >= 24*time.Hour {
		off = clk.Start
	}
	n := now.In(clk.loc())
	today := clk.at(n, off)
	if clk.workday(n) {
		if !today.After(n) {
			due = last.Before(today)
		} else if last.Before(today) {
			return false, today
		}
	}
	return due, clk.at(clk.nextWorkday(n), off)
}

// Digest sorts the cases of one assignee's daily digest: overdue are
// unresolved cases in the respond chain whose first reminder time has
// passed at now (the staff side owes a reply and is late), open are the
// assignee's other unresolved cases, both in the order given.
func Digest(assignee string, cases []*kp.Case, pol Policy, clk *Clock, now time.Time) (open, overdue []*kp.Case) {
	if clk == nil {
		return nil, nil
	}
	for _, c := range cases {
		if c == nil || c.Status == kp.StatusResolved || !kp.SameAddr(c.Assignee, assignee) {
			continue
		}
		if chainOf(c) == chainRespond && !pol.RespondWithin.IsZero() &&
			!clk.Add(respondSince(c), pol.RespondWithin).After(now) {
			overdue = append(overdue, c)
			continue
		}
		open = append(open, c)
	}
	return open, overdue
}
