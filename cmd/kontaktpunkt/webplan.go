package main

import (
	"strings"

	kp "kontaktpunkt"
	"kontaktpunkt/gateway"
	"kontaktpunkt/web"
)

// webPlan gives the dashboard the gateway's follow-up plan of a case.
func webPlan(g *gateway.Gateway) func(kp.Case) []web.PlanStep {
	return func(c kp.Case) []web.PlanStep {
		var out []web.PlanStep
		for _, s := range g.FollowUpPlan(c, 4) {
			who := make([]string, len(s.Notify))
			for i, r := range s.Notify {
				who[i] = string(r)
			}
			out = append(out, web.PlanStep{Kind: string(s.Kind), Due: s.Due, Who: strings.Join(who, ", "), Escalation: s.Escalation, Resolve: s.Resolve})
		}
		return out
	}
}
