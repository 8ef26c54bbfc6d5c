package gateway

import (
	"testing"
	"time"

	kp "kontaktpunkt"
)

// TestFollowUpPlanMatchesWhatFires: the plan of a freshly assigned case
// names the reminders and the escalation at the times the follow-up loop
// sends them (see TestFollowUpsThroughTwoWeeks), and changes nothing.
func TestFollowUpPlanMatchesWhatFires(t *testing.T) {
	h := newHarness(t, nil)
	h.clock.t = time.Date(2026, 11, 26, 10, 0, 0, 0, h.g.Clock.Loc)
	id := caseNo(t, h.one(request("req1@example.org")))
	h.one(msg([]string{"From: " + kari, "To: " + contact, trustedAR, "Subject: [assign:per.hansen] [INT#1]", "Message-ID: <k1@uio.no>"}, ""))
	c := h.caseOf(id)
	before := *c
	plan := h.g.FollowUpPlan(*c, 4)
	if len(plan) < 3 {
		t.Fatalf("plan = %+v", plan)
	}
	loc := h.g.Clock.Loc
	if plan[0].Kind != kp.FollowRespond || !plan[0].Due.Equal(time.Date(2026, 11, 30, 10, 0, 0, 0, loc)) {
		t.Errorf("first step %+v, want respond Mon 30 Nov 10:00", plan[0])
	}
	esc := -1
	for i, s := range plan {
		if s.Kind == kp.FollowEscalate1 {
			esc = i
			break
		}
	}
	if esc < 0 || !plan[esc].Due.Equal(time.Date(2026, 12, 3, 10, 0, 0, 0, loc)) || plan[esc].Escalation != 1 {
		t.Errorf("escalation step missing or wrong: %+v", plan)
	}
	if after := h.caseOf(id); after.Escalation != before.Escalation || after.Next.Due != before.Next.Due {
		t.Errorf("plan changed the case")
	}
}
