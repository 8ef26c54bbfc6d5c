package gateway

import (
	"net/mail"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/routing"
)

// commandEffects is what staff commands did to a case beyond its fields.
type commandEffects struct {
	applied []string // in English: the audit trail and the command line
	refused []string // each with its reason, in English
	// receiptApplied and receiptRefused are the same lines in the
	// template language, for the sender's receipt.
	receiptApplied []string
	receiptRefused []string
	note           bool      // [note]: internal note
	escalated      bool      // [escalate]
	statusSet      bool      // an explicit status change
	remind         time.Time // [remind:…]: the next follow-up
}

// applyCommands applies parsed subject commands to c. It only changes c and
// returns what else must happen; it does no I/O, so table tests cover it.
func (g *Gateway) applyCommands(c *kp.Case, cmds []routing.Command, refused []routing.Refused, sender string, now time.Time) commandEffects {
	var fx commandEffects
	for _, r := range refused {
		fx.refuseText(r.Reason, g.refusal(r))
	}
	// ok and no record a receipt line in the template language.
	ok := func(cmd routing.Command, key string, args ...any) {
		fx.apply(g, key, append([]any{cmd.Raw}, args...)...)
	}
	no := func(cmd routing.Command, key string, args ...any) {
		fx.refuse(g, key, append([]any{cmd.Raw}, args...)...)
	}
	for _, cmd := range cmds {
		switch cmd.Verb {
		case "assign":
			assignee, team, err := g.Dir.Resolve(cmd.Arg)
			if err != nil {
				fx.refuseText(cmd.Raw+": "+err.Error(), g.resolveRefusal(cmd.Raw, cmd.Arg, err))
				continue
			}
			c.Assignee, c.Team, c.AssignedAt, c.Escalation = kp.NormAddr(assignee), team, now, 0
			if c.Assignee != "" && c.Team == "" {
				c.Team = g.teamOf(c.Assignee)
			}
			if c.Assignee != "" {
				ok(cmd, "assigned", c.Assignee)
			} else {
				ok(cmd, "assigned-team", team)
			}
		case "take":
			c.Assignee, c.AssignedAt, c.Escalation = kp.NormAddr(sender), now, 0
			if c.Team == "" {
				c.Team = g.teamOf(c.Assignee)
			}
			ok(cmd, "assigned", c.Assignee)
		case "unassign":
			c.Assignee, c.Team, c.AssignedAt = "", "", now // triage counts afresh
			ok(cmd, "unassigned")
		case "status", "close", "reopen":
			s := kp.Status(cmd.Arg)
			if cmd.Verb == "close" {
				s = kp.StatusResolved
			} else if cmd.Verb == "reopen" {
				s = kp.StatusOpen
			}
			if !s.Valid() {
				no(cmd, "status-invalid")
				continue
			}
			setStatus(c, s, now)
			fx.statusSet = true
			ok(cmd, "status", string(s))
		case "note":
			fx.note = true
			ok(cmd, "note")
		case "prio":
			p := kp.Priority(cmd.Arg)
			if !p.Valid() {
				no(cmd, "prio-invalid")
				continue
			}
			c.Priority = p
			ok(cmd, "prio", string(p))
		case "remind":
			r, err := routing.ParseRemind(cmd.Arg)
			if err != nil {
				no(cmd, "bad-remind", err.Error())
				continue
			}
			var at time.Time
			if !r.Date.IsZero() {
				at = g.Clock.Date(r.Date.Year(), r.Date.Month(), r.Date.Day())
			} else {
				at = g.Clock.Add(now, routing.BizDuration{Days: r.Days, Hours: r.Hours})
			}
			if !at.After(now) {
				no(cmd, "date-past")
				continue
			}
			fx.remind = at
			ok(cmd, "remind", at.In(g.Clock.Loc).Format("2006-01-02 15:04"))
		case "escalate":
			if c.Escalation >= 2 {
				no(cmd, "top-level")
				continue
			}
			c.Escalation++
			fx.escalated = true
			ok(cmd, "escalated", c.Escalation)
		case "cc":
			a, why := g.commandAddress(cmd.Arg)
			if why != "" {
				no(cmd, why)
				continue
			}
			if left := g.capParticipants(c, []string{a.Address}); len(left) > 0 {
				no(cmd, "max-participants", g.Config.Limits.MaxParticipants)
				continue
			}
			ok(cmd, "cc", kp.NormAddr(a.Address))
		case "requester":
			a, why := g.commandAddress(cmd.Arg)
			if why != "" {
				no(cmd, why)
				continue
			}
			c.Requester = kp.Address{Name: kp.CleanName(a.Name), Addr: kp.NormAddr(a.Address)}
			c.Participants = removeAddr(c.Participants, a.Address)
			ok(cmd, "requester", c.Requester.Addr)
		case "archived":
			c.Archived = cmd.Arg
			ok(cmd, "archived", cmd.Arg)
		default:
			no(cmd, "unknown-command")
		}
	}
	return fx
}

// apply records an applied command's line, in English and in the template
// language.
func (fx *commandEffects) apply(g *Gateway, key string, args ...any) {
	fx.applied = append(fx.applied, g.sayIn(false, key, args...))
	fx.receiptApplied = append(fx.receiptApplied, g.say(key, args...))
}

// refuse records a refusal's line, in English and in the template language.
func (fx *commandEffects) refuse(g *Gateway, key string, args ...any) {
	fx.refuseText(g.sayIn(false, key, args...), g.say(key, args...))
}

// refuseText records a refusal already worded in both.
func (fx *commandEffects) refuseText(english, local string) {
	fx.refused = append(fx.refused, english)
	fx.receiptRefused = append(fx.receiptRefused, local)
}

// setStatus changes a case's status and the times that go with it.
func setStatus(c *kp.Case, s kp.Status, now time.Time) {
	if c.Status == s {
		return
	}
	c.Status = s
	switch s {
	case kp.StatusResolved:
		c.ResolvedAt = now
	case kp.StatusWaiting:
		c.WaitingSince, c.ResolvedAt = now, time.Time{}
	case kp.StatusOpen:
		c.ResolvedAt, c.WaitingSince = time.Time{}, time.Time{}
		c.LastInbound = now
	}
}

// teamOf returns the name of the first team addr belongs to, or "".
func (g *Gateway) teamOf(addr string) string {
	for _, t := range g.Dir.Teams {
		for _, m := range t.Members {
			if kp.SameAddr(m, addr) {
				return t.Name
			}
		}
	}
	return ""
}

// commandAddress parses the address argument of [cc:] and [requester:];
// a non-empty phrase key says why it is refused.
func (g *Gateway) commandAddress(arg string) (*mail.Address, string) {
	a, err := mail.ParseAddress(arg)
	if err != nil {
		return nil, "not-address"
	}
	if g.isUs(a.Address) {
		return nil, "contact-itself"
	}
	return a, ""
}
