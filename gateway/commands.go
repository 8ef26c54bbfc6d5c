package gateway

import (
	"fmt"
	"net/mail"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/routing"
)

// commandEffects is what staff commands did to a case beyond its fields.
type commandEffects struct {
	applied   []string  // human-readable, for the receipt
	refused   []string  // each with its reason
	note      bool      // [note]: internal note
	escalated bool      // [escalate]
	statusSet bool      // an explicit status change
	remind    time.Time // [remind:…]: the next follow-up
}

// applyCommands applies parsed subject commands to c. It only changes c and
// returns what else must happen; it does no I/O, so table tests cover it.
func (g *Gateway) applyCommands(c *kp.Case, cmds []routing.Command, refused []routing.Refused, sender string, now time.Time) commandEffects {
	var fx commandEffects
	for _, r := range refused {
		fx.refused = append(fx.refused, r.Reason)
	}
	ok := func(cmd routing.Command, what string) {
		fx.applied = append(fx.applied, fmt.Sprintf("%s: %s", cmd.Raw, what))
	}
	no := func(cmd routing.Command, why string) {
		fx.refused = append(fx.refused, fmt.Sprintf("%s: %s", cmd.Raw, why))
	}
	for _, cmd := range cmds {
		switch cmd.Verb {
		case "assign":
			assignee, team, err := g.Dir.Resolve(cmd.Arg)
			if err != nil {
				no(cmd, err.Error())
				continue
			}
			c.Assignee, c.Team, c.AssignedAt, c.Escalation = kp.NormAddr(assignee), team, now, 0
			if c.Assignee != "" && c.Team == "" {
				c.Team = g.teamOf(c.Assignee)
			}
			if c.Assignee != "" {
				ok(cmd, "assigned to "+c.Assignee)
			} else {
				ok(cmd, "assigned to team "+team)
			}
		case "take":
			c.Assignee, c.AssignedAt, c.Escalation = kp.NormAddr(sender), now, 0
			if c.Team == "" {
				c.Team = g.teamOf(c.Assignee)
			}
			ok(cmd, "assigned to "+c.Assignee)
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
				no(cmd, "status must be open, waiting or resolved")
				continue
			}
			setStatus(c, s, now)
			fx.statusSet = true
			ok(cmd, "status "+string(s))
		case "note":
			fx.note = true
			ok(cmd, "internal note, not sent to the requester")
		case "prio":
			p := kp.Priority(cmd.Arg)
			if !p.Valid() {
				no(cmd, "priority must be low, normal, high or urgent")
				continue
			}
			c.Priority = p
			ok(cmd, "priority "+string(p))
		case "remind":
			r, err := routing.ParseRemind(cmd.Arg)
			if err != nil {
				no(cmd, err.Error())
				continue
			}
			var at time.Time
			if !r.Date.IsZero() {
				at = g.Clock.Date(r.Date.Year(), r.Date.Month(), r.Date.Day())
			} else {
				at = g.Clock.Add(now, routing.BizDuration{Days: r.Days, Hours: r.Hours})
			}
			if !at.After(now) {
				no(cmd, "the date is not in the future")
				continue
			}
			fx.remind = at
			ok(cmd, "next follow-up "+at.In(g.Clock.Loc).Format("2006-01-02 15:04"))
		case "escalate":
			if c.Escalation >= 2 {
				no(cmd, "already at the highest escalation level")
				continue
			}
			c.Escalation++
			fx.escalated = true
			ok(cmd, fmt.Sprintf("escalated to level %d", c.Escalation))
		case "cc":
			a, why := g.commandAddress(cmd.Arg)
			if why != "" {
				no(cmd, why)
				continue
			}
			if left := g.capParticipants(c, []string{a.Address}); len(left) > 0 {
				no(cmd, fmt.Sprintf("the case already has the most participants allowed (%d)", g.Config.Limits.MaxParticipants))
				continue
			}
			ok(cmd, "added participant "+kp.NormAddr(a.Address))
		case "requester":
			a, why := g.commandAddress(cmd.Arg)
			if why != "" {
				no(cmd, why)
				continue
			}
			c.Requester = kp.Address{Name: kp.CleanName(a.Name), Addr: kp.NormAddr(a.Address)}
			c.Participants = removeAddr(c.Participants, a.Address)
			ok(cmd, "requester "+c.Requester.Addr)
		case "archived":
			c.Archived = cmd.Arg
			ok(cmd, "filed in the archive as "+cmd.Arg)
		default:
			no(cmd, "unknown command")
		}
	}
	return fx
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
// a non-empty reason says why it is refused.
func (g *Gateway) commandAddress(arg string) (*mail.Address, string) {
	a, err := mail.ParseAddress(arg)
	if err != nil {
		return nil, "not an e-mail address"
	}
	if g.isUs(a.Address) {
		return nil, "that is the contact address itself"
	}
	return a, ""
}
