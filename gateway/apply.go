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

// role is how the sender of an inbound message stands to its case.
type role int

const (
	roleRequester role = iota // the requester or a Cc participant
	roleStaffSide             // authenticated staff or responsible party
	roleOutsider              // anyone else writing into a case's thread
	// roleUnauthenticated: mail from a staff or team address that was not
	// authenticated while staff.require_authenticated is on. It gains
	// nothing: a forged From must not speak in the contact point's name.
	roleUnauthenticated
)

// apply stores one parsed message and everything it causes. It reports
// whether outbound mail was queued.
func (g *Gateway) apply(tx *store.Tx, pi *parsedItem) (Result, bool, error) {
	p := pi.parsed
	arrived := g.now()
	now := arrived
	if g.Quiet {
		// An archive import replays history: the case's times are the
		// mail's own, so reopening, follow-ups and reports see them as
		// they happened.
		now = messageTime(p, arrived)
	}
	res := Result{Source: pi.Source, MessageID: p.MessageID, Class: pi.class}

	// Rule 1: duplicate. Nothing changes; the disposition is that of the original.
	if id, ok, err := g.storedCopy(tx, pi); err != nil {
		return res, false, err
	} else if ok {
		res.MessageID = p.MessageID // a derived id when that is what it copies
		res.MatchedBy, res.Status = kp.MatchDuplicate, ResultDuplicate
		if id != 0 {
			res.Case = &id
		} else if orig, err := tx.Message(p.MessageID); err == nil && orig.Quarantine != "" {
			res.Error = orig.Quarantine
		}
		_ = tx.AddCounter("messages_matched_by:duplicate", 1)
		return res, false, nil
	}
	res.MessageID = p.MessageID

	msg := &kp.Message{
		ID: p.MessageID, Direction: kp.In, Class: pi.class, From: p.From, To: p.To, Cc: p.Cc,
		Subject: p.Subject, Date: p.Date, Received: arrived, Text: p.Text, Attachments: p.Attachments,
		Defects: p.Defects, Source: pi.Source, Size: p.Size,
		ContentHash: pi.hash, CollidedID: pi.collided,
	}
	count := func(r *Result) error {
		if err := tx.AddCounter("messages_class:"+string(r.Class), 1); err != nil {
			return err
		}
		return tx.AddCounter("messages_matched_by:"+string(r.MatchedBy), 1)
	}

	if pi.parseErr == nil && pi.class == kp.ClassHuman && senderOf(p).IsZero() {
		pi.parseErr = errors.New("no sender address: nobody to answer")
	}
	if pi.parseErr != nil {
		msg.MatchedBy, msg.Kind, msg.Quarantine = kp.MatchNone, "quarantined", pi.parseErr.Error()
		if err := tx.PutMessage(msg, pi.Raw); err != nil {
			return res, false, fmt.Errorf("storing quarantined message: %w", err)
		}
		res.MatchedBy, res.Status, res.Error = kp.MatchNone, ResultQuarantined, msg.Quarantine
		return res, false, count(&res)
	}

	if pi.class == kp.ClassLoop && !g.isUs(p.Get(kp.LoopHeader)) {
		// Another gateway's loop header: its mail is not ours coming back.
		pi.class = classifyIgnoringLoop(p, g.classifyOptions())
		msg.Class, res.Class = pi.class, pi.class
	}
	// Who wrote it decides before how it looks: staff, a team or its
	// ticket system here, a participant of the matched case below.
	from := senderOf(p).Addr
	pi.class = routing.ClassifyFor(p, pi.class, g.Dir.IsStaff(from) || g.Dir.IsResponsible(from))
	var tokenCase kp.CaseID
	if g.TokenSecret != nil {
		tokenCase, _ = routing.FindReplyToken(g.TokenSecret, g.Config.Contact.Address, recipients(p))
	}
	idx := &txIndex{tx: tx}
	in := routing.ThreadInput{
		Parsed: p, Class: pi.class, TagPrefix: g.Config.Contact.TagPrefix, TokenCase: tokenCase,
		ReopenWithin: time.Duration(g.Config.Contact.ReopenWithin), Now: now,
		Sender: from, SenderTeams: g.Dir.TeamsOf(from), OwnText: g.taggedOwnText(p.Text),
	}
	th := routing.ThreadMessage(in, idx)
	pi.class, th = participantAnswer(idx, in, th)
	msg.Class, res.Class = pi.class, pi.class
	if idx.err != nil {
		return res, false, idx.err
	}
	msg.MatchedBy = th.MatchedBy
	res.MatchedBy = th.MatchedBy

	if th.Duplicate {
		res.Status = ResultDuplicate
		return res, false, nil
	}
	if th.NewCase && g.answersLooseMail(tx, p) {
		// A reply to the daily digest, which belongs to no case.
		th.Unfiled, th.NewCase = true, false
	}
	if th.Unfiled || (!th.NewCase && th.Case == 0) {
		msg.MatchedBy, msg.Kind = kp.MatchNone, "unfiled"
		if err := tx.PutMessage(msg, pi.Raw); err != nil {
			return res, false, fmt.Errorf("storing unfiled message: %w", err)
		}
		res.MatchedBy, res.Status = kp.MatchNone, ResultUnfiled
		return res, false, count(&res)
	}

	if p.From.IsZero() {
		p.From = senderOf(p)
		msg.From = p.From
	}
	sender := p.From.Addr
	staffish := g.Dir.IsStaff(sender) || g.Dir.IsResponsible(sender)
	if staffish {
		msg.Authenticated = routing.Authenticated(routing.OwnAuthResults(p.Trace, g.Config.Staff.TrustedAuthservIDs), g.Config.Staff.TrustedAuthservIDs, sender)
	}
	staffSide := staffish && (msg.Authenticated || !g.Config.RequireAuth())

	if th.NewCase && !staffSide && pi.class == kp.ClassHuman {
		over, err := g.overNewCaseLimit(tx, sender, messageTime(p, arrived), arrived)
		if err != nil {
			return res, false, err
		}
		if over {
			msg.MatchedBy, msg.Kind = kp.MatchNone, "unfiled"
			msg.Defects = append(msg.Defects, "sender over the new-case limit")
			if err := tx.PutMessage(msg, pi.Raw); err != nil {
				return res, false, fmt.Errorf("storing unfiled message: %w", err)
			}
			res.MatchedBy, res.Status, res.Error = kp.MatchNone, ResultUnfiled, "sender over the new-case limit"
			return res, !g.Quiet, count(&res)
		}
	}

	var (
		cmds    []routing.Command
		refused []routing.Refused
		subject = p.Subject
	)
	unauthenticated := staffish && !staffSide && pi.class == kp.ClassHuman
	var unauthTags []string
	if staffSide && pi.class == kp.ClassHuman && !g.fromTicketSystem(p, sender) {
		cmds, refused, subject = routing.ParseCommands(p.Subject)
	} else if unauthenticated {
		// The tags stay in the subject as text; the sender hears why
		// they did nothing.
		cs, rs, _ := routing.ParseCommands(p.Subject)
		for _, c := range cs {
			unauthTags = append(unauthTags, c.Raw)
		}
		for _, r := range rs {
			unauthTags = append(unauthTags, r.Raw)
		}
	}
	cmds, repairs := splitRepairs(cmds)
	var fwd *forwarded
	if th.NewCase && staffSide && pi.class == kp.ClassHuman {
		cmds, fwd = g.forwardedOnBehalf(pi, cmds, sender)
	}
	msg.Subject = strings.TrimSpace(subject)

	out := &outbox{g: g, tx: tx, now: now, quiet: g.Quiet}
	if len(p.Attachments) > 0 && !g.Quiet && !pi.class.Machine() {
		out.attach, out.omitted = mailmsg.Attachments(pi.Raw, maxRelayAttachments)
	}
	var c *kp.Case
	if th.NewCase {
		id, err := tx.NextCaseID()
		if err != nil {
			return res, false, err
		}
		var left []string
		c, left = g.newCase(id, p, msg.Subject, now)
		c.PreviousCase = th.Previous
		if len(left) > 0 {
			out.events = append(out.events, fmt.Sprintf("%d addresses over the limit of %d participants not added and not mailed: %s",
				len(left), g.Config.Limits.MaxParticipants, joinCapped(left, 50)))
		}
	} else {
		var err error
		if c, err = tx.Case(th.Case); err != nil {
			return res, false, fmt.Errorf("loading case %d: %w", th.Case, err)
		}
	}
	before := recordOf(c)
	if th.NewCase {
		before = changeRecord{status: kp.StatusOpen}
	}
	g.joinThread(c, th, p)
	msg.Case = c.ID
	id := c.ID
	res.Case = &id
	res.Status = ResultStored
	c.Messages++
	c.Updated = now
	prevNext := c.Next

	r := roleOutsider
	switch {
	case staffSide:
		r = roleStaffSide
	case th.NewCase || c.HasParticipant(sender):
		r = roleRequester
	case unauthenticated:
		r = roleUnauthenticated
	}
	if r == roleStaffSide && !fxNoteIn(cmds) && g.answersInternalMail(tx, p) {
		// A reply to a note or an outsider notice stays internal: the
		// quoted note must never reach the requester.
		cmds = append(cmds, routing.Command{Verb: "note", Raw: "(reply to an internal mail)"})
	}
	if !pi.class.Machine() && r != roleOutsider && r != roleUnauthenticated {
		// Outbound mail continues the thread of the conversation, not of
		// an out-of-office or an outsider.
		c.LastMessageID = p.MessageID
	}
	if r == roleStaffSide || r == roleRequester {
		// Not from an outsider or unauthenticated mail in a team's name:
		// a forged reference would go out in our mail to the team.
		g.recordCounterpart(c, p, sender, r == roleStaffSide)
	}
	msg.Kind, msg.Outsider = inboundKind(pi.class, th.NewCase, r, cmds, msg.Text)
	tx.GivenTextTokens(msg.Text, pi.textTokens)
	if err := tx.PutMessage(msg, pi.Raw); err != nil {
		return res, false, fmt.Errorf("storing message: %w", err)
	}
	if err := g.indexThread(tx, c, p, th.NewCase); err != nil {
		return res, false, err
	}

	switch {
	case pi.class.Machine():
		// Machine mail attaches without reopening and triggers no mail,
		// except that a bounce of our own mail is a delivery failure staff
		// must hear about (docs/behaviour.md, Outbound mail).
		if pi.class == kp.ClassBounce {
			if err := out.bounce(c, p); err != nil {
				return res, false, err
			}
		}
	case th.NewCase:
		g.markForwarded(c, out, fwd)
		if err := g.openCase(out, c, msg, p, staffSide, cmds, refused); err != nil {
			return res, false, err
		}
	default:
		if th.Reopen && r != roleOutsider && r != roleUnauthenticated {
			c.Status, c.ResolvedAt = kp.StatusOpen, time.Time{}
		}
		if err := g.reply(out, c, msg, r, cmds, refused); err != nil {
			return res, false, err
		}
	}
	if unauthenticated && (len(unauthTags) > 0 || r == roleUnauthenticated) && !g.fromTicketSystem(p, sender) {
		// (A ticket system gets no receipt: it would open a ticket for
		// it, and perhaps answer.)
		out.unauthenticatedReceipt(c, msg.From, unauthTags, r == roleUnauthenticated)
	}

	if g.Quiet && g.isHistory(now, arrived) {
		// An archive import is history: its old mail arms no reminder
		// (and keeps one a newer message armed). followup rearm arms
		// open cases on purpose.
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
	if err := g.applyRepairs(tx, out, c, msg.From, repairs); err != nil {
		return res, false, err
	}
	if out.err != nil {
		return res, false, out.err
	}
	return res, out.queued > 0 || c.Next != prevNext, count(&res)
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
func (g *Gateway) openCase(out *outbox, c *kp.Case, msg *kp.Message, p *kp.Parsed, staffSide bool, cmds []routing.Command, refused []routing.Refused) error {
	if team, assignee, ok := routing.Route(g.Rules, p); ok {
		c.Team, c.Assignee, c.AssignedAt = team, kp.NormAddr(assignee), out.now
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
	sug, err := g.suggestCase(out, c, msg)
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
func (g *Gateway) reply(out *outbox, c *kp.Case, msg *kp.Message, r role, cmds []routing.Command, refused []routing.Refused) error {
	data := out.caseData(c, msg)
	switch r {
	case roleStaffSide:
		before := *c
		fx := g.applyCommands(c, cmds, refused, msg.From.Addr, out.now)
		out.remind = fx.remind
		if err := g.recordAudit(out.tx, out.now, msg.From.Addr, ChannelMail, c.ID, fx); err != nil {
			return err
		}
		own := g.Templates.Trimmer().Split(msg.Text).Own
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
	case roleUnauthenticated:
		// Stored on the case for staff to see; nothing is sent on its
		// behalf. The receipt to the real address follows in apply.
	case roleRequester:
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

// inboundKind says what an inbound message is on its case, and whether it
// comes from an outsider. It is decided before the message is stored.
func inboundKind(class kp.Class, newCase bool, r role, cmds []routing.Command, text string) (kind string, outsider bool) {
	if class.Machine() {
		return string(class), false
	}
	if r == roleStaffSide {
		for _, c := range cmds {
			if c.Verb == "note" {
				return "note", false
			}
		}
	}
	switch {
	case newCase:
		return "request", false
	case r == roleOutsider:
		return "reply", true
	case r == roleUnauthenticated:
		return KindNotAuthenticated, false
	case r == roleStaffSide && hasVerb(cmds, "assign", "take") && strings.TrimSpace(text) != "":
		// The words go to the assignee with the assignment: internal.
		return "note", false
	case r == roleStaffSide && strings.TrimSpace(text) == "" && len(cmds) > 0:
		return "command", false
	}
	return "reply", false
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

// fxNoteIn reports whether cmds hold a [note].
func fxNoteIn(cmds []routing.Command) bool {
	for _, c := range cmds {
		if c.Verb == "note" {
			return true
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
