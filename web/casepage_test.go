package web

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
)

func TestCasePageBadgesNotesAndPlan(t *testing.T) {
	st := openStore(t)
	c := &clock{t: t0}
	id := addCase(t, st, kp.Case{Subject: "Tilgang", Requester: kp.Address{Addr: "ola@example.org"},
		Next: &kp.FollowUp{Kind: kp.FollowRespond, Due: t0.Add(48 * time.Hour)}},
		kp.Message{Direction: kp.In, Kind: "request", Class: kp.ClassHuman, From: kp.Address{Addr: "ola@example.org"}, Text: "Hei"},
		kp.Message{Direction: kp.In, Kind: "note", Class: kp.ClassHuman, From: kp.Address{Addr: "kari@uio.no"}, Text: "Ringte Ola"},
		kp.Message{Direction: kp.In, Kind: "not-authenticated", Class: kp.ClassHuman, From: kp.Address{Addr: "per@uio.no"}, Text: "[close]"},
		kp.Message{Direction: kp.In, Kind: "reply", Class: kp.ClassBounce, From: kp.Address{Addr: "mailer-daemon@example.org"}, Text: "550"},
		kp.Message{Direction: kp.In, Kind: "event", Class: kp.ClassHuman, Text: "tildelt"},
	)
	if err := st.Update(func(tx *store.Tx) error { return tx.Suppress("ola@example.org", t0.Add(time.Hour)) }); err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, st, c, func(o *Options) {
		o.FollowUpPlan = func(c kp.Case) []PlanStep {
			return []PlanStep{{Kind: "respond", Due: c.Next.Due, Who: "assignee"}, {Kind: "escalate-1", Due: c.Next.Due.Add(72 * time.Hour), Who: "escalation, lead", Escalation: 1}}
		}
	})
	_, body, _ := get(t, h, fmt.Sprintf("/case/%d", id))
	mustContain(t, body, "requester suppressed", `class="in note"`, "Internal note · staff only", "not authenticated</span>",
		"bounce</span>", `class="in event"`, "If nothing happens", "2026-11-27 10:00</time> respond → assignee",
		"escalate-1 → escalation, lead (escalation level 1)")
}

func TestWebNoteShowsAsInternal(t *testing.T) {
	s := newGateway(t)
	c := newWebServer(t, s, gwKari)
	c.act(fmt.Sprintf("/case/%d/act", s.id), url.Values{"do": {"note"}, "text": {"Ringte Ola, venter på svar."}}, s.id)
	_, body := c.do("GET", fmt.Sprintf("/case/%d", s.id), nil, true)
	i := strings.Index(body, "Ringte Ola, venter på svar.")
	j := strings.LastIndex(body[:max(i, 0)], "<li id=")
	if i < 0 || j < 0 || !strings.Contains(body[j:i], "note") || !strings.Contains(body[j:i], "Internal note") {
		t.Fatalf("the note is not marked internal")
	}
}
