package gateway

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/mailbox/mailmsg"
	"kontaktpunkt/routing"
	"kontaktpunkt/store"
)

// followUpBatch bounds the follow-ups fired in one transaction.
const followUpBatch = 1000

// FireDueFollowUps fires every follow-up due at the gateway's now: it
// queues the reminder or escalation mail and stores the case's next
// follow-up in the same transaction, so a restart neither loses nor
// repeats one. It returns how many fired.
func (g *Gateway) FireDueFollowUps(ctx context.Context) (int, error) {
	total := 0
	tk := &tick{budget: g.Config.FollowUp.MaxPerTick}
	if tk.budget <= 0 {
		tk.budget = 50
	}
	for {
		if err := ctx.Err(); err != nil {
			return total, nil
		}
		now := g.now()
		n, queued := 0, false
		saved := tk.budget
		err := g.Store.Update(func(tx *store.Tx) error {
			n, queued = 0, false
			tk.budget, tk.fold = saved, nil
			ids, err := tx.DueFollowUps(now, followUpBatch)
			if err != nil {
				return err
			}
			for _, id := range ids {
				q, err := g.fireOne(tx, id, now, tk)
				if err != nil {
					return fmt.Errorf("case %d: %w", id, err)
				}
				queued = queued || q
				n++
			}
			q, err := g.flushFolded(tx, tk, now)
			queued = queued || q
			return err
		})
		if err != nil {
			return total, fmt.Errorf("firing follow-ups: %w", err)
		}
		total += n
		if queued {
			g.wake()
		}
		if n < followUpBatch {
			return total, nil
		}
	}
}

// fireOne fires the due follow-up of one case.
func (g *Gateway) fireOne(tx *store.Tx, id kp.CaseID, now time.Time, tk *tick) (bool, error) {
	c, err := tx.Case(id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if c.Next == nil || c.Next.Due.After(now) {
		return false, tx.PutCase(c) // stale index entry: rewriting the case repairs it
	}
	f := *c.Next
	pol := g.policyFor(c)
	action, next := routing.Fire(c, f, pol, g.Clock, now)
	out := &outbox{g: g, tx: tx, now: now, quiet: g.Quiet}
	if !action.Skip && tk.budget <= 0 && !IsInternalKind(followUpKind(action.Kind)) {
		// Over this round's limit: a requester's reminder or notice is
		// not folded into a digest; it waits for a later round.
		c.Next.Due = now.Add(deferFollowUp)
		return false, tx.PutCase(c)
	}
	before := recordOf(c)
	if !action.Skip {
		if action.Escalation > c.Escalation {
			c.Escalation = action.Escalation
		}
		if action.Resolve {
			setStatus(c, kp.StatusResolved, now)
		}
		g.followUpMail(out, c, action, f, pol, tk)
		if out.err != nil {
			return false, out.err
		}
		if err := tx.AddCounter("followups_sent:"+string(action.Kind), 1); err != nil {
			return false, err
		}
		g.Log.Info("follow-up fired", "case", uint64(c.ID), "kind", string(action.Kind), "due", f.Due)
	}
	c.Next = next
	if c.Status == kp.StatusResolved && next != nil && next.Kind != kp.FollowSnooze {
		c.Next = nil
	}
	c.Updated = now
	if err := g.recordChanges(tx, c, before, now); err != nil {
		return false, err
	}
	if err := tx.PutCase(c); err != nil {
		return false, err
	}
	return out.queued > 0, nil
}

// followUpMail sends the mail of one follow-up action to its roles.
func (g *Gateway) followUpMail(out *outbox, c *kp.Case, a routing.Action, f kp.FollowUp, pol routing.Policy, tk *tick) {
	d := g.caseData(c, nil)
	since := c.AssignedAt
	if c.LastInbound.After(since) {
		since = c.LastInbound
	}
	d.Since = g.fmtTime(since)
	d.Level = a.Escalation
	if !a.ResolveAt.IsZero() {
		d.ResolveOn = a.ResolveAt.In(g.Clock.Loc).Format("2006-01-02")
	} else if !c.WaitingSince.IsZero() {
		d.ResolveOn = g.Clock.Add(c.WaitingSince, pol.AutoResolveAfter).In(g.Clock.Loc).Format("2006-01-02")
	}
	kind := followUpKind(a.Kind)
	auto := "auto-generated"
	var to []kp.Address
	for _, r := range a.Notify {
		switch r {
		case routing.RoleStaff:
			to = append(to, g.staffAddrs("")...)
		case routing.RoleAssignee, routing.RoleTeam:
			to = append(to, g.assigneeAddrs(c, "")...)
		case routing.RoleEscalation:
			if t, ok := g.Dir.Team(c.Team); ok && t.Escalation != "" {
				to = append(to, kp.Address{Name: g.Dir.Name(t.Escalation), Addr: t.Escalation})
			}
		case routing.RoleLead:
			if g.Dir.Lead != "" {
				to = append(to, kp.Address{Name: g.Dir.Name(g.Dir.Lead), Addr: g.Dir.Lead})
			}
		case routing.RoleManager:
			if g.Dir.Manager != "" {
				to = append(to, kp.Address{Name: g.Dir.Name(g.Dir.Manager), Addr: g.Dir.Manager})
			}
		case routing.RoleRequester:
			to = append(to, c.Requester)
		}
	}
	if len(to) == 0 {
		to = g.staffAddrs("")
	}
	if tk != nil && tk.budget <= 0 && IsInternalKind(kind) {
		tk.add(c, kind, to, g.Config.Contact.TagPrefix)
		return
	}
	before := out.queued
	out.send(c, kind, to, nil, auto, d)
	if tk != nil && out.queued > before {
		tk.budget--
	}
}

// followUpKind is the mail kind (template) of a follow-up.
func followUpKind(k kp.FollowUpKind) string {
	switch k {
	case kp.FollowTriage:
		return "triage"
	case kp.FollowEscalate1, kp.FollowEscalate2:
		return "escalate"
	case kp.FollowWaiting:
		return "waiting"
	case kp.FollowAutoResolve:
		return "auto-resolve"
	case kp.FollowSnooze:
		return "snooze"
	}
	return "respond"
}

// deferFollowUp is how long a requester's follow-up over a round's limit
// waits.
const deferFollowUp = time.Minute

// tick is one round of firing follow-ups: how many mails it may still
// send (followup.max_per_tick) and the internal follow-ups folded, per
// recipient, into one mail once that is spent.
type tick struct {
	budget int
	fold   map[string]*folded
}

type folded struct {
	to    kp.Address
	lines []digestLine
}

func (t *tick) add(c *kp.Case, kind string, to []kp.Address, prefix string) {
	if t.fold == nil {
		t.fold = map[string]*folded{}
	}
	for _, a := range to {
		key := kp.NormAddr(a.Addr)
		f := t.fold[key]
		if f == nil {
			f = &folded{to: a}
			t.fold[key] = f
		}
		f.lines = append(f.lines, digestLine{Tag: c.ID.Tag(prefix), Subject: c.Subject, Status: c.Status, Kind: kind})
	}
}

// flushFolded queues one mail per recipient with the follow-ups folded in
// this round, in the transaction that advanced their cases.
func (g *Gateway) flushFolded(tx *store.Tx, tk *tick, now time.Time) (bool, error) {
	if len(tk.fold) == 0 || g.Quiet {
		return false, nil
	}
	keys := make([]string, 0, len(tk.fold))
	for k := range tk.fold {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	subject := "Samlede påminnelser"
	if g.Templates.Lang() == "en" {
		subject = "Reminders, folded"
	}
	for _, k := range keys {
		f := tk.fold[k]
		if g.isUs(f.to.Addr) || IsNoReply(f.to.Addr) || mailmsg.CheckAddress(f.to.Addr) != nil {
			continue
		}
		body, err := g.Templates.Render("followup-digest", &caseData{ContactName: g.contactName(), Cases: f.lines})
		if err != nil {
			return false, err
		}
		if err := g.queueLoose(tx, "followup-digest", []kp.Address{f.to}, fmt.Sprintf("%s (%d)", subject, len(f.lines)), body, now); err != nil {
			return false, err
		}
	}
	tk.fold = nil
	return true, nil
}

// RunFollowUps fires follow-ups until ctx ends: whenever the earliest one
// is due, when woken (a case changed), and at least every minute.
func (g *Gateway) RunFollowUps(ctx context.Context, wake <-chan struct{}) error {
	var lastPrune time.Time
	return g.runLoop(ctx, wake, func() error {
		if _, err := g.FireDueFollowUps(ctx); err != nil {
			g.Log.Error("follow-up", "err", err)
		}
		if _, err := g.SendDigests(ctx); err != nil {
			g.Log.Error("digest", "err", err)
		}
		if _, err := g.SendWeeklyReport(ctx); err != nil {
			g.Log.Error("weekly report", "err", err)
		}
		if now := g.now(); now.Sub(lastPrune) > time.Hour {
			// The per-recipient send log only needs the last day.
			if err := g.Store.Update(func(tx *store.Tx) error {
				_, err := tx.PruneSent(now.Add(-25 * time.Hour))
				return err
			}); err != nil {
				g.Log.Error("pruning send log", "err", err)
			}
			lastPrune = now
			// Retention: purges in short batches, intake goes on between them.
			if rep, err := g.PurgeExpired("retention", "schedule", false); err != nil {
				g.Log.Error("retention purge", "err", err)
			} else if rep.Cases+rep.Messages > 0 {
				g.Log.Info("retention purge", "cases", rep.Cases, "messages", rep.Messages, "batches", rep.Batches, "max_batch", rep.MaxBatch)
			}
		}
		return nil
	}, (*store.Tx).NextDue)
}

// Rearm gives every open or waiting case without a scheduled follow-up,
// updated at or after since, the follow-up its policy says, from now on: a
// due time already past becomes now. It is for cases an archive import
// left unarmed on purpose. With dryRun it only counts them.
func (g *Gateway) Rearm(since time.Time, dryRun bool) (int, error) {
	n := 0
	now := g.now()
	update := g.Store.Update
	if dryRun {
		update = g.Store.View
	}
	err := update(func(tx *store.Tx) error {
		n = 0
		for _, st := range []kp.Status{kp.StatusOpen, kp.StatusWaiting} {
			cases, err := tx.Cases(store.CaseFilter{Status: st})
			if err != nil {
				return err
			}
			for i := range cases {
				c := &cases[i]
				if c.Next != nil || c.Updated.Before(since) {
					continue
				}
				next := routing.NextFollowUp(c, g.policyFor(c), g.Clock, nil)
				if next == nil {
					continue
				}
				n++
				if dryRun {
					continue
				}
				if next.Due.Before(now) {
					next.Due = now
				}
				c.Next = next
				if err := tx.PutCase(c); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil && n > 0 && !dryRun {
		g.wake()
	}
	return n, err
}
