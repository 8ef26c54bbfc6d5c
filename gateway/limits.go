package gateway

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
)

// Flood limits (limits.max_participants, limits.new_cases_per_sender,
// limits.relays_per_case). Their counts are kept in the store's send log
// under keys of their own, so they hold across restarts and batches.

// messageTime is when a message counts for the hourly limits: its Date,
// but never later than its arrival (a wrong clock, or a forged Date
// written to dodge the limit, cannot push it into the future).
func messageTime(p *kp.Parsed, arrived time.Time) time.Time {
	if p.Date.IsZero() || p.Date.After(arrived) {
		return arrived
	}
	return p.Date
}

// overNewCaseLimit reports whether sender has already opened
// limits.new_cases_per_sender cases in the hour before at; if not, it
// counts the case about to be opened. Once over, staff are told once an
// hour per sender.
func (g *Gateway) overNewCaseLimit(tx *store.Tx, sender string, at, now time.Time) (bool, error) {
	limit := g.Config.Limits.NewCasesPerSender
	if limit <= 0 || sender == "" {
		return false, nil
	}
	key := "new-case:" + kp.NormAddr(sender)
	n, err := tx.CountSentIn(key, at.Add(-time.Hour), at)
	if err != nil {
		return false, err
	}
	if n < limit {
		return false, tx.RecordSent(key, at)
	}
	told := "new-case-told:" + kp.NormAddr(sender)
	if k, err := tx.CountSentIn(told, at.Add(-time.Hour), at); err != nil || k > 0 {
		return true, err
	}
	if err := tx.RecordSent(told, at); err != nil {
		return true, err
	}
	if err := tx.AddCounter("new_case_limited", 1); err != nil {
		return true, err
	}
	g.Log.Warn("sender over the new-case limit: its new mail is stored unfiled", "limit", limit)
	if g.Quiet {
		return true, nil
	}
	to := g.staffAddrs("")
	if len(to) == 0 {
		return true, nil
	}
	body, err := g.Templates.Render("flood", &caseData{ContactName: g.contactName(), Author: sender, Limit: limit})
	if err != nil {
		return true, err
	}
	subject := "Mange nye saker fra " + kp.NormAddr(sender)
	if g.Templates.Lang() == "en" {
		subject = "Many new cases from " + kp.NormAddr(sender)
	}
	return true, g.queueLoose(tx, "flood", to, subject, body, now)
}

// relayAllowed reports whether case c may relay one more mail this hour,
// and counts it when it may. The first refusal in an hour records an event
// on the case and tells staff.
func (o *outbox) relayAllowed(c *kp.Case) bool {
	limit := o.g.Config.Limits.RelaysPerCase
	if limit <= 0 {
		return true
	}
	id := strconv.FormatUint(uint64(c.ID), 10)
	key := "relay:" + id
	n, err := o.tx.CountSentIn(key, o.now.Add(-time.Hour), o.now)
	if err != nil {
		o.err = err
		return false
	}
	if n < limit {
		o.err = o.tx.RecordSent(key, o.now)
		return o.err == nil
	}
	told := "relay-told:" + id
	k, err := o.tx.CountSentIn(told, o.now.Add(-time.Hour), o.now)
	if err != nil || k > 0 {
		o.err = err
		o.events = append(o.events, "relay paused: the case is over its limit of relays an hour")
		return false
	}
	if o.err = o.tx.RecordSent(told, o.now); o.err != nil {
		return false
	}
	_ = o.tx.AddCounter("relay_limited", 1)
	o.g.Log.Warn("case over its relay limit: relays paused", "case", uint64(c.ID), "limit", limit)
	o.events = append(o.events, fmt.Sprintf("relay paused: %d relays in the last hour (limit %d); staff told", n, limit))
	d := o.g.caseData(c, nil)
	d.Limit = limit
	o.send(c, "relay-paused", o.g.staffAddrs(""), nil, "auto-generated", d)
	return false
}

// capRecipients keeps at most limits.max_participants outside addresses
// in to and cc together (the contact point's own people are not counted)
// and names the rest in an event.
func (o *outbox) capRecipients(kind string, to, cc []kp.Address) ([]kp.Address, []kp.Address) {
	max := o.g.Config.Limits.MaxParticipants
	if max <= 0 {
		return to, cc
	}
	n := 0
	var left []string
	keep := func(list []kp.Address) []kp.Address {
		var out []kp.Address
		for _, a := range list {
			if o.g.Dir.IsStaff(a.Addr) || o.g.Dir.IsResponsible(a.Addr) {
				out = append(out, a)
				continue
			}
			if n >= max {
				left = append(left, a.Addr)
				continue
			}
			n++
			out = append(out, a)
		}
		return out
	}
	to, cc = keep(to), keep(cc)
	if len(left) > 0 {
		o.events = append(o.events, fmt.Sprintf("%s: %d recipients over the limit of %d left out: %s", kind, len(left), max, joinCapped(left, 50)))
	}
	return to, cc
}

// capParticipants adds addrs to c's participants up to
// limits.max_participants addresses on the case, the requester included,
// and returns those left out.
func (g *Gateway) capParticipants(c *kp.Case, addrs []string) (left []string) {
	max := g.Config.Limits.MaxParticipants
	for _, a := range addrs {
		if c.HasParticipant(a) {
			continue
		}
		if max > 0 && 1+len(c.Participants) >= max {
			left = append(left, kp.NormAddr(a))
			continue
		}
		c.Participants = appendAddr(c.Participants, a)
	}
	return left
}

// joinCapped joins at most n items and says how many more there were.
func joinCapped(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(" and %d more", len(items)-n)
}
