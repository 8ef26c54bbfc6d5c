package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	kp "kontaktpunkt"
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
	for {
		if err := ctx.Err(); err != nil {
			return total, nil
		}
		now := g.now()
		n, queued := 0, false
		err := g.Store.Update(func(tx *store.Tx) error {
			n, queued = 0, false
			ids, err := tx.DueFollowUps(now, followUpBatch)
			if err != nil {
				return err
			}
			for _, id := range ids {
				q, err := g.fireOne(tx, id, now)
				if err != nil {
					return fmt.Errorf("case %d: %w", id, err)
				}
				queued = queued || q
				n++
			}
			return nil
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
func (g *Gateway) fireOne(tx *store.Tx, id kp.CaseID, now time.Time) (bool, error) {
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
	if !action.Skip {
		if action.Escalation > c.Escalation {
			c.Escalation = action.Escalation
		}
		if action.Resolve {
			setStatus(c, kp.StatusResolved, now)
		}
		g.followUpMail(out, c, action, f, pol)
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
	if err := tx.PutCase(c); err != nil {
		return false, err
	}
	return out.queued > 0, nil
}

// followUpMail sends the mail of one follow-up action to its roles.
func (g *Gateway) followUpMail(out *outbox, c *kp.Case, a routing.Action, f kp.FollowUp, pol routing.Policy) {
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
	kind := ""
	switch a.Kind {
	case kp.FollowTriage:
		kind = "triage"
	case kp.FollowRespond:
		kind = "respond"
	case kp.FollowEscalate1, kp.FollowEscalate2:
		kind = "escalate"
	case kp.FollowWaiting:
		kind = "waiting"
	case kp.FollowAutoResolve:
		kind = "auto-resolve"
	case kp.FollowSnooze:
		kind = "snooze"
	default:
		kind = "respond"
	}
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
	out.send(c, kind, to, nil, auto, d)
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
		if now := g.now(); now.Sub(lastPrune) > time.Hour {
			// The per-recipient send log only needs the last day.
			if err := g.Store.Update(func(tx *store.Tx) error {
				_, err := tx.PruneSent(now.Add(-25 * time.Hour))
				return err
			}); err != nil {
				g.Log.Error("pruning send log", "err", err)
			}
			lastPrune = now
		}
		return nil
	}, (*store.Tx).NextDue)
}
