package gateway

import (
	"errors"
	"fmt"
	"strings"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/mailbox/mailmsg"
	"kontaktpunkt/routing"
	"kontaktpunkt/store"
	"kontaktpunkt/suggest"
)

// txIndex lets routing's pure threading read the store inside a transaction.
type txIndex struct {
	tx  *store.Tx
	err error
}

func (x *txIndex) LookupID(id string) (kp.CaseID, bool) {
	c, ok, err := x.tx.LookupID(id)
	if err != nil {
		x.err = err
		return 0, false
	}
	return c, ok
}

func (x *txIndex) Case(id kp.CaseID) (*kp.Case, bool) {
	c, err := x.tx.Case(id)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			x.err = err
		}
		return nil, false
	}
	return c, true
}

// inbound is one message with what is known about it: the facts
// routing.Decide reads, and what carrying out its decision needs besides.
type inbound struct {
	routing.Facts
	// now is when the message takes effect: its arrival, or for an
	// archive import the mail's own time.
	now time.Time
	// copyOf is the case of the stored copy (Facts.StoredCopy).
	copyOf kp.CaseID
	// c is the matched case, loaded (an existing case only).
	c *kp.Case
}

// apply stores one parsed message and everything it causes. It reports
// whether outbound mail was queued. What happens is decided by
// routing.Decide from the facts gather finds; carryOut does it.
func (g *Gateway) apply(tx *store.Tx, pi *parsedItem) (Result, bool, error) {
	in, err := g.gather(tx, pi, g.now())
	if err != nil {
		return Result{Source: pi.Source, MessageID: pi.parsed.MessageID, Class: pi.class}, false, err
	}
	d := routing.Decide(in.Facts)
	over := false
	if d.CheckNewCaseLimit {
		if over, err = g.overNewCaseLimit(tx, in.Sender, in.At, in.Arrived); err != nil {
			return Result{Source: pi.Source, MessageID: pi.parsed.MessageID, Class: d.Class}, false, err
		}
		if over {
			in.OverNewCaseLimit = true
			d = routing.Decide(in.Facts)
		}
	}
	res, queued, err := g.carryOut(tx, pi, in, d)
	// Staff may have been told of a sender over the limit.
	return res, queued || over && !g.Quiet, err
}

// gather finds the facts about pi that routing.Decide reads, each only
// when it can matter: nothing after a duplicate or an unreadable message,
// the case's participants for an existing case, the forward on behalf for
// staff opening one. It only reads the store; of pi it changes the class
// (threading re-judges it) and, when another stored message has its id,
// the id (storedCopy).
func (g *Gateway) gather(tx *store.Tx, pi *parsedItem, arrived time.Time) (*inbound, error) {
	p := pi.parsed
	in := &inbound{now: arrived}
	f := &in.Facts
	f.ParsedClass, f.Sender = pi.class, senderOf(p).Addr
	f.Arrived, f.At = arrived, messageTime(p, arrived)
	f.Import, f.ImportHorizon = g.Quiet, time.Duration(g.Config.FollowUp.ImportHorizon)
	if g.Quiet {
		// An archive import replays history: the case's times are the
		// mail's own, so reopening, follow-ups and reports see them as
		// they happened.
		in.now = f.At
	}
	if pi.parseErr != nil {
		f.ParseError = pi.parseErr.Error()
	}
	var err error
	if in.copyOf, f.StoredCopy, err = g.storedCopy(tx, pi); err != nil {
		return nil, err
	}
	if _, settled := routing.Screen(*f); settled {
		return in, nil
	}

	if pi.class == kp.ClassLoop && !g.isUs(p.Get(kp.LoopHeader)) {
		// Another gateway's loop header: its mail is not ours coming back.
		pi.class = classifyIgnoringLoop(p, g.classifyOptions())
	}
	// Who wrote it decides before how it looks: staff, a team or its
	// ticket system here, a participant of the matched case below.
	from := f.Sender
	f.Staff = g.Dir.IsStaff(from) || g.Dir.IsResponsible(from)
	pi.class = routing.ClassifyFor(p, pi.class, f.Staff)
	var tokenCase kp.CaseID
	if g.TokenSecret != nil {
		tokenCase, _ = routing.FindReplyToken(g.TokenSecret, g.Config.Contact.Address, recipients(p))
	}
	idx := &txIndex{tx: tx}
	tin := routing.ThreadInput{
		Parsed: p, Class: pi.class, TagPrefix: g.Config.Contact.TagPrefix, TokenCase: tokenCase,
		ReopenWithin: time.Duration(g.Config.Contact.ReopenWithin), Now: in.now,
		Sender: from, SenderTeams: g.Dir.TeamsOf(from), OwnText: g.taggedOwnText(p.Text, pi.own),
	}
	th := routing.ThreadMessage(tin, idx)
	pi.class, th = participantAnswer(idx, tin, th)
	if idx.err != nil {
		return nil, idx.err
	}
	f.Thread, f.Class, f.Subject, f.Text = th, pi.class, p.Subject, p.Text

	switch {
	case th.Duplicate || th.Unfiled:
		return in, nil
	case th.NewCase:
		f.AnswersLooseMail = g.answersLooseMail(tx, p)
	case th.Case != 0:
		if in.c, err = tx.Case(th.Case); err != nil {
			return nil, fmt.Errorf("loading case %d: %w", th.Case, err)
		}
		f.Participant = in.c.HasParticipant(from) || th.AddParticipant && g.mayJoin(from)
	}
	if f.Staff {
		ids := g.Config.Staff.TrustedAuthservIDs
		f.Authenticated = routing.Authenticated(routing.OwnAuthResults(p.Trace, ids), ids, from)
		f.RequireAuth = g.Config.RequireAuth()
		f.TicketSystem = g.fromTicketSystem(p, from)
		if f.Authenticated || !f.RequireAuth {
			// Read by the decision for staff-side mail only.
			f.AnswersInternalMail = g.answersInternalMail(tx, p)
			if th.NewCase && f.Class == kp.ClassHuman {
				f.ForwardOf = g.forwardOf(pi, from)
			}
		}
	}
	return in, nil
}

// carryOut does what d decided for pi: it stores the message, and for a
// filed one (file) changes its case and queues the mail and follow-up it
// causes.
func (g *Gateway) carryOut(tx *store.Tx, pi *parsedItem, in *inbound, d routing.Decision) (Result, bool, error) {
	p := pi.parsed
	res := Result{Source: pi.Source, MessageID: p.MessageID, Class: d.Class, MatchedBy: d.MatchedBy}
	msg := &kp.Message{
		ID: p.MessageID, Direction: kp.In, Class: d.Class, MatchedBy: d.MatchedBy, From: p.From, To: p.To, Cc: p.Cc,
		Subject: p.Subject, Date: p.Date, Received: in.Arrived, Text: p.Text, Attachments: p.Attachments,
		Defects: p.Defects, Source: pi.Source, Size: p.Size,
		ContentHash: pi.hash, CollidedID: pi.collided,
	}
	switch d.Disposition {
	case routing.Duplicate:
		res.Status = ResultDuplicate
		if !in.StoredCopy {
			return res, false, nil // threading found it stored
		}
		// Nothing changes; the disposition is that of the original.
		if in.copyOf != 0 {
			id := in.copyOf
			res.Case = &id
		} else if orig, err := tx.Message(p.MessageID); err == nil && orig.Quarantine != "" {
			res.Error = orig.Quarantine
		}
		_ = tx.AddCounter("messages_matched_by:duplicate", 1)
		return res, false, nil
	case routing.Quarantined:
		if pi.parseErr == nil {
			// Unreadable from now on: a retry of the batch does not try
			// to apply it again.
			pi.parseErr = errors.New(d.Reason)
		}
		msg.Kind, msg.Quarantine = "quarantined", d.Reason
		if err := tx.PutMessage(msg, pi.Raw); err != nil {
			return res, false, fmt.Errorf("storing quarantined message: %w", err)
		}
		res.Status, res.Error = ResultQuarantined, d.Reason
		return res, false, countResult(tx, &res)
	case routing.Unfiled:
		msg.Kind = "unfiled"
		if d.Defect != "" {
			msg.Defects = append(msg.Defects, d.Defect)
		}
		if err := tx.PutMessage(msg, pi.Raw); err != nil {
			return res, false, fmt.Errorf("storing unfiled message: %w", err)
		}
		res.Status, res.Error = ResultUnfiled, d.Defect
		return res, false, countResult(tx, &res)
	}
	return g.file(tx, pi, in, d, msg, res)
}

// countResult counts a stored message by class and matching rule.
func countResult(tx *store.Tx, r *Result) error {
	if err := tx.AddCounter("messages_class:"+string(r.Class), 1); err != nil {
		return err
	}
	return tx.AddCounter("messages_matched_by:"+string(r.MatchedBy), 1)
}

// file stores msg on its case, new or existing, and does what the
// decision says to the case: the sender's commands, reopening, the mail
// to staff and requester, the follow-up.
func (g *Gateway) file(tx *store.Tx, pi *parsedItem, in *inbound, d routing.Decision, msg *kp.Message, res Result) (Result, bool, error) {
	p := pi.parsed
	if p.From.IsZero() {
		p.From = senderOf(p)
		msg.From = p.From
	}
	sender := p.From.Addr
	msg.Authenticated = in.Authenticated
	msg.Subject = d.Subject
	now := in.now
	out := &outbox{g: g, tx: tx, now: now, quiet: g.Quiet, own: pi.own}
	if len(p.Attachments) > 0 && !g.Quiet && !d.Class.Machine() {
		out.attach, out.omitted = mailmsg.Attachments(pi.Raw, maxRelayAttachments)
	}
	c := in.c
	before := changeRecord{status: kp.StatusOpen}
	if d.NewCase {
		id, err := tx.NextCaseID()
		if err != nil {
			return res, false, err
		}
		var left []string
		c, left = g.newCase(id, p, msg.Subject, now)
		c.PreviousCase = d.Previous
		if len(left) > 0 {
			out.events = append(out.events, fmt.Sprintf("%d addresses over the limit of %d participants not added and not mailed: %s",
				len(left), g.Config.Limits.MaxParticipants, joinCapped(left, 50)))
		}
	} else {
		before = recordOf(c)
	}
	g.joinThread(c, in.Thread, p)
	msg.Case = c.ID
	id := c.ID
	res.Case = &id
	res.Status = ResultStored
	c.Messages++
	c.Updated = now
	prevNext := c.Next

	if d.Continues {
		c.LastMessageID = p.MessageID
	}
	if d.RecordCounterpart {
		g.recordCounterpart(c, p, pi.ticket, sender, d.Role == routing.SenderStaff)
	}
	msg.Kind, msg.Outsider = d.Kind, d.Outsider
	tx.GivenTextTokens(msg.Text, pi.textTokens)
	if err := tx.PutMessage(msg, pi.Raw); err != nil {
		return res, false, fmt.Errorf("storing message: %w", err)
	}
	if err := g.indexThread(tx, c, p, d.NewCase); err != nil {
		return res, false, err
	}

	switch {
	case d.Class.Machine():
		// Machine mail attaches without reopening and triggers no mail,
		// except that a bounce of our own mail is a delivery failure staff
		// must hear about (docs/behaviour.md, Outbound mail).
		if d.Class == kp.ClassBounce {
			if err := out.bounce(c, p); err != nil {
				return res, false, err
			}
		}
	case d.NewCase:
		g.markForwarded(c, out, d.OpenedBy)
		if err := g.openCase(out, c, msg, p, pi.suggestSubject, pi.suggestText, d.Role == routing.SenderStaff, d.Commands, d.Refused); err != nil {
			return res, false, err
		}
	default:
		if d.Reopen {
			c.Status, c.ResolvedAt = kp.StatusOpen, time.Time{}
		}
		if err := g.reply(out, c, msg, d.Role, d.Commands, d.Refused); err != nil {
			return res, false, err
		}
	}
	if d.UnauthenticatedReceipt {
		out.unauthenticatedReceipt(c, msg.From, d.UnauthenticatedTags, d.Role == routing.SenderUnauthenticated)
	}

	if d.KeepFollowUp {
		// Old mail from an archive import keeps the follow-up a newer
		// message armed and arms none; followup rearm arms open cases
		// on purpose.
		c.Next = prevNext
		if c.Status == kp.StatusResolved {
			c.Next = nil
		}
	} else {
		g.schedule(c, prevNext, out.remind)
	}
	if err := g.recordChanges(tx, c, before, now); err != nil {
		return res, false, err
	}
	if err := tx.PutCase(c); err != nil {
		return res, false, fmt.Errorf("storing case %d: %w", c.ID, err)
	}
	if err := g.applyRepairs(tx, out, c, msg.From, d.Repairs); err != nil {
		return res, false, err
	}
	if out.err != nil {
		return res, false, out.err
	}
	return res, out.queued > 0 || c.Next != prevNext, countResult(tx, &res)
}

// newCase makes the case a new request opens.
func (g *Gateway) newCase(id kp.CaseID, p *kp.Parsed, subject string, now time.Time) (c *kp.Case, left []string) {
	s := routing.CaseSubject(subject, g.Config.Contact.TagPrefix)
	if s == "" {
		s = g.noSubject()
	}
	c = &kp.Case{
		ID: id, Subject: s, Status: kp.StatusOpen, Requester: p.From, Priority: kp.PriorityNormal,
		Created: now, Updated: now, LastInbound: now, ThreadID: p.MessageID,
	}
	if c.Requester.Name == "" {
		c.Requester.Name = g.Dir.Name(p.From.Addr)
	}
	var addrs []string
	for _, a := range append(append([]kp.Address{}, p.To...), p.Cc...) {
		if g.isUs(a.Addr) || kp.SameAddr(a.Addr, p.From.Addr) || g.Dir.IsStaff(a.Addr) || g.Dir.IsResponsible(a.Addr) {
			continue
		}
		addrs = append(addrs, a.Addr)
	}
	left = g.capParticipants(c, addrs)
	return c, left
}

func (g *Gateway) noSubject() string {
	if g.Templates != nil && g.Templates.Lang() == "en" {
		return "(no subject)"
	}
	return "(uten emne)"
}

// openCase handles the first message of a case: routing rules, staff
// commands, the acknowledgement, the staff notification and the assignment.
// subject and text are the request's prepared for suggestions, or nil.
func (g *Gateway) openCase(out *outbox, c *kp.Case, msg *kp.Message, p *kp.Parsed, subject, text *suggest.Prepared, staffSide bool, cmds []routing.Command, refused []routing.Refused) error {
	if r := routing.First(g.Rules, p); r != nil {
		c.Team, c.Assignee, c.AssignedAt, c.Rule = r.Team, kp.NormAddr(r.Assignee), out.now, r.Key
	}
	before := *c
	var fx commandEffects
	if staffSide {
		fx = g.applyCommands(c, cmds, refused, msg.From.Addr, out.now)
		out.remind = fx.remind
		if err := g.recordAudit(out.tx, out.now, msg.From.Addr, ChannelMail, c.ID, fx); err != nil {
			return err
		}
		if !kp.SameAddr(c.Requester.Addr, before.Requester.Addr) {
			// Staff wrote in on someone's behalf: the sender is not a participant.
			c.Participants = removeAddr(c.Participants, c.Requester.Addr)
		}
	}
	sug, err := g.suggestCase(out, c, msg, subject, text)
	if err != nil {
		return err
	}
	data := out.caseData(c, msg)
	data.Suggest = sug
	if !fx.note && !out.noAck {
		out.send(c, "ack", []kp.Address{c.Requester}, nil, "auto-replied", data)
	}
	out.send(c, "notify", g.staffAddrs(msg.From.Addr), nil, "auto-generated", data)
	if c.Assignee != "" || c.Team != "" {
		out.send(c, "assign", g.assigneeAddrs(c, msg.From.Addr), nil, "auto-generated", data)
	}
	if fx.escalated {
		out.escalate(c, c.Escalation)
	}
	if staffSide && (len(fx.applied) > 0 || len(fx.refused) > 0) {
		out.receipt(c, msg.From, fx)
	}
	return nil
}

// reply handles a message on an existing case.
func (g *Gateway) reply(out *outbox, c *kp.Case, msg *kp.Message, r routing.SenderRole, cmds []routing.Command, refused []routing.Refused) error {
	data := out.caseData(c, msg)
	switch r {
	case routing.SenderStaff:
		before := *c
		fx := g.applyCommands(c, cmds, refused, msg.From.Addr, out.now)
		out.remind = fx.remind
		if err := g.recordAudit(out.tx, out.now, msg.From.Addr, ChannelMail, c.ID, fx); err != nil {
			return err
		}
		own := out.ownText(msg.Text)
		hasText := own != ""
		assignedWithText := false
		switch {
		case fx.note:
			to := g.staffAddrs(msg.From.Addr)
			to = append(to, g.assigneeAddrs(c, msg.From.Addr)...)
			out.send(c, "note", to, nil, "", data)
		case len(refused) > 0:
			// A mistyped tag might have been meant as [note]: hold the
			// message rather than risk relaying internal text.
			fx.refuse(g, "not-relayed")
		case hasVerb(cmds, "assign", "take") && (c.Assignee != "" || c.Team != ""):
			// "[assign:per] Per, kan du ta denne?" speaks to the
			// colleague: the words go with the assignment, the case
			// stays open and the respond clock runs.
			if hasText {
				out.assignWith(c, msg.From.Addr, msg.From.String(), own)
				assignedWithText = true
			}
		case hasText || len(cmds) == 0:
			if !out.quiet {
				data.Text = out.withholdInternal(c, data.Text)
				data.Quote = quote(data.Text)
			}
			to, cc := g.requesterAddrs(c, msg.From.Addr)
			out.send(c, "relay", to, cc, "", data)
			c.LastStaffReply = out.now
			if !fx.statusSet && c.Status != kp.StatusResolved {
				c.Status, c.WaitingSince = kp.StatusWaiting, out.now
			}
		}
		if !assignedWithText && ((c.Assignee != before.Assignee && c.Assignee != "") || (c.Team != before.Team && c.Team != "")) {
			out.assign(c, msg.From.Addr)
		}
		if fx.escalated {
			out.escalate(c, c.Escalation)
		}
		if len(fx.applied) > 0 || len(fx.refused) > 0 {
			out.receipt(c, msg.From, fx)
		}
	case routing.SenderUnauthenticated:
		// Stored on the case for staff to see; nothing is sent on its
		// behalf. The receipt to the real address follows in apply.
	case routing.SenderRequester:
		if !routing.OwesReply(c) {
			// The staff side's debt starts with the first unanswered
			// message: a requester asking "any news?" every day must not
			// push the reminders and escalations back.
			c.LastInbound = out.now
		}
		if c.Status == kp.StatusWaiting {
			c.Status, c.WaitingSince = kp.StatusOpen, time.Time{}
		}
		to := g.assigneeAddrs(c, msg.From.Addr)
		if len(to) == 0 {
			to = g.staffAddrs(msg.From.Addr)
		}
		out.send(c, "relay", to, nil, "", data)
	default:
		to := g.assigneeAddrs(c, msg.From.Addr)
		if len(to) == 0 {
			to = g.staffAddrs(msg.From.Addr)
		}
		out.send(c, "outsider", to, nil, "auto-generated", data)
	}
	return nil
}

// isUs reports whether addr is the contact address or one of its
// plus-addresses (reply tokens).
func (g *Gateway) isUs(addr string) bool {
	contact := kp.NormAddr(g.Config.Contact.Address)
	a := kp.NormAddr(addr)
	if a == contact {
		return true
	}
	cl, cd, ok1 := strings.Cut(contact, "@")
	al, ad, ok2 := strings.Cut(a, "@")
	return ok1 && ok2 && cd == ad && strings.HasPrefix(al, cl+"+")
}

func recipients(p *kp.Parsed) []string {
	var out []string
	for _, a := range p.To {
		out = append(out, a.Addr)
	}
	for _, a := range p.Cc {
		out = append(out, a.Addr)
	}
	for _, v := range p.Header["Delivered-To"] {
		out = append(out, strings.TrimSpace(v))
	}
	return out
}

func appendAddr(list []string, addr string) []string {
	addr = kp.NormAddr(addr)
	if addr == "" {
		return list
	}
	for _, a := range list {
		if kp.SameAddr(a, addr) {
			return list
		}
	}
	return append(list, addr)
}

func removeAddr(list []string, addr string) []string {
	out := list[:0]
	for _, a := range list {
		if !kp.SameAddr(a, addr) {
			out = append(out, a)
		}
	}
	return out
}

// senderOf is who wrote p: From, else Sender, else the first Reply-To.
func senderOf(p *kp.Parsed) kp.Address {
	switch {
	case p.From.Addr != "":
		return p.From
	case p.Sender.Addr != "":
		return p.Sender
	case len(p.ReplyTo) > 0:
		return p.ReplyTo[0]
	}
	return kp.Address{}
}

// hasVerb reports whether cmds hold one of verbs.
func hasVerb(cmds []routing.Command, verbs ...string) bool {
	for _, c := range cmds {
		for _, v := range verbs {
			if c.Verb == v {
				return true
			}
		}
	}
	return false
}

// answersInternalMail reports whether p replies to one of our internal
// mails (a note or an outsider notice), by In-Reply-To or the newest
// References entry.
func (g *Gateway) answersInternalMail(tx *store.Tx, p *kp.Parsed) bool {
	ids := append([]string{}, p.InReplyTo...)
	if n := len(p.References); n > 0 {
		ids = append(ids, p.References[n-1])
	}
	for _, id := range ids {
		if m, err := tx.Message(id); err == nil && m.Direction == kp.Out && (m.Kind == "note" || m.Kind == "outsider") {
			return true
		}
	}
	return false
}

// answersLooseMail reports whether p replies to mail of ours that belongs
// to no case (the daily digest): its id is in the index under case 0 with
// no message record.
func (g *Gateway) answersLooseMail(tx *store.Tx, p *kp.Parsed) bool {
	for _, id := range p.InReplyTo {
		if c, ok, err := tx.LookupID(id); err == nil && ok && c == 0 {
			if _, err := tx.Message(id); err != nil {
				return true
			}
		}
	}
	return false
}

// classifyIgnoringLoop classifies p as if it carried no loop header.
func classifyIgnoringLoop(p *kp.Parsed, o routing.ClassifyOptions) kp.Class {
	q := *p
	q.Header = make(map[string][]string, len(p.Header))
	for k, v := range p.Header {
		if k != kp.LoopHeader {
			q.Header[k] = v
		}
	}
	return routing.ClassifyWith(&q, o)
}

// OwnText is what the writer of a reply wrote themselves: without quoted
// history, our own mail's text and a signature with nothing before it
// ("" when nothing new remains).
func OwnText(text string) string {
	return builtinTrimmer().Split(text).Own
}

// schedule sets a case's next follow-up after a change: the [remind:…]
// time when one was given, else what the policy says; none once resolved.
func (g *Gateway) schedule(c *kp.Case, prev *kp.FollowUp, remind time.Time) {
	switch {
	case !remind.IsZero():
		c.Next = routing.Snooze(c, remind)
	case c.Status == kp.StatusResolved:
		c.Next = nil
	default:
		c.Next = routing.NextFollowUp(c, g.policyFor(c), g.Clock, prev)
	}
}
