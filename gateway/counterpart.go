package gateway

import (
	"slices"
	"strings"

	kp "kontaktpunkt"
	"kontaktpunkt/routing"
)

// CounterpartCases lets the counterpart-ref threading rule use the store's
// reference index.
func (x *txIndex) CounterpartCases(key string) []kp.CaseID {
	ids, err := x.tx.CounterpartCases(key)
	if err != nil {
		x.err = err
		return nil
	}
	return ids
}

// participantAnswer re-judges a bulk-looking message that threaded to a
// case on which its sender is the requester or a Cc participant: it is a
// person's answer, so it is threaded again as human mail (which may reopen
// a resolved case, as any human reply does).
func participantAnswer(idx routing.Index, in routing.ThreadInput, th routing.Thread) (kp.Class, routing.Thread) {
	if in.Class != kp.ClassBulk || th.Case == 0 || th.Duplicate {
		return in.Class, th
	}
	c, ok := idx.Case(th.Case)
	if !ok || !c.HasParticipant(in.Sender) {
		return in.Class, th
	}
	in.Class = routing.ClassifyFor(in.Parsed, in.Class, true)
	return in.Class, routing.ThreadMessage(in, idx)
}

// fromTicketSystem reports mail from a ticket system: a team's configured
// one, or any recognised by its header fields. Its subject is the
// ticket's, which may repeat a requester's "[close]", so it gives no
// commands. (A person's reply quoting a ticket mail keeps its commands.)
func (g *Gateway) fromTicketSystem(p *kp.Parsed, sender string) bool {
	return g.Dir.IsTicketSystem(sender) || routing.TicketHeaders(p)
}

// recordCounterpart records on c the reference a ticket system gave the
// case, when the sender is one: recognised by its headers, or configured
// as a team's ticket_system. A staff-side sender's reference holds for its
// team (the case's own team when it works for several), anyone else's for
// its address. mark is the ticket mark found with the parse, or nil.
func (g *Gateway) recordCounterpart(c *kp.Case, p *kp.Parsed, mark *ticketMark, sender string, staffSide bool) {
	configured := g.Dir.IsTicketSystem(sender)
	if !configured && g.Dir.IsStaff(sender) {
		return // staff answering a ticket system's mail quote its marks
	}
	tr, detected := mark.detect(p)
	if !detected && !configured {
		return
	}
	if tr.System == "" {
		tr.System = routing.TicketOther
	}
	if tr.Ref == "" {
		tr.Ref = routing.SubjectTicketRef(p.Subject, g.Config.Contact.TagPrefix)
	}
	ref := kp.CounterpartRef{Addr: kp.NormAddr(sender), System: tr.System, Ref: tr.Ref}
	if teams := g.Dir.TeamsOf(sender); staffSide && len(teams) > 0 {
		ref.Team = teams[0]
		if i := slices.IndexFunc(teams, func(t string) bool { return strings.EqualFold(t, c.Team) }); i >= 0 {
			ref.Team = teams[i]
		}
	}
	routing.AddCounterpartRef(c, ref)
}

// counterpartRefsFor returns the references of the counterparts among the
// recipients of a mail on c, to stand beside the case tag in its subject.
func (g *Gateway) counterpartRefsFor(c *kp.Case, to, cc []kp.Address) []string {
	var refs []string
	for _, r := range c.Counterparts {
		for _, a := range append(slices.Clip(to), cc...) {
			if r.Team != "" && g.Dir.InTeam(r.Team, a.Addr) || r.Team == "" && kp.SameAddr(r.Addr, a.Addr) {
				refs = append(refs, r.Ref)
				break
			}
		}
	}
	return refs
}
