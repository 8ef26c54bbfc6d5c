package gateway

import (
	"slices"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/routing"
)

// PlanStep is one follow-up the case will get if nothing happens.
type PlanStep struct {
	Kind kp.FollowUpKind
	Due  time.Time
	// Notify says who gets the mail; Escalation is the level it raises
	// the case to (0: none); Resolve is set for the auto-resolve.
	Notify     []routing.Role
	Escalation int
	Resolve    bool
}

// FollowUpPlan returns up to n follow-ups the case will get if nothing
// happens, with their business-time due dates: the scheduled one and
// those it leads to, as the follow-up loop would fire them. It changes
// nothing.
func (g *Gateway) FollowUpPlan(c kp.Case, n int) []PlanStep {
	pol := g.policyFor(&c)
	var out []PlanStep
	c.Participants = slices.Clone(c.Participants)
	f := c.Next
	for f != nil && len(out) < n {
		a, next := routing.Fire(&c, *f, pol, g.Clock, f.Due)
		if !a.Skip {
			out = append(out, PlanStep{Kind: f.Kind, Due: f.Due, Notify: a.Notify, Escalation: a.Escalation, Resolve: a.Resolve})
			if a.Escalation > 0 {
				c.Escalation = a.Escalation
			}
			if a.Resolve {
				break
			}
		}
		if next != nil && f != nil && !next.Due.After(f.Due) && next.Kind == f.Kind {
			break // no progress: stop rather than loop
		}
		f = next
	}
	return out
}
