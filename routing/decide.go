package routing

import (
	"net/mail"
	"strings"
	"time"

	kp "kontaktpunkt"
)

// Facts is what is known about one inbound message when deciding what
// happens to it: the message itself, the threading decision, and what the
// store, the directory and the configuration say about its sender. The
// gateway gathers them in its write transaction; Decide reads nothing else.
//
// A fact that can only matter after an earlier decision is gathered only
// then: nothing after Screen for a message it settles, AnswersLooseMail
// for a new case, Participant for an existing one, what concerns staff
// for staff, ForwardOf for a new case by staff, and OverNewCaseLimit when
// a decision asked for it (Decision.CheckNewCaseLimit).
type Facts struct {
	// StoredCopy: the message is a copy of one already stored (the
	// duplicate rule, checked before anything else).
	StoredCopy bool
	// ParseError is why the message could not be read ("" if it could).
	ParseError string
	// ParsedClass is the class found with the parse, before threading.
	ParsedClass kp.Class
	// Sender is who wrote the message: From, else Sender, else the first
	// Reply-To ("" if none).
	Sender string

	// Thread is the threading decision (ThreadMessage) and Class the
	// class it was taken with: ParsedClass as the sender's standing and a
	// participant's answer re-judge it.
	Thread Thread
	Class  kp.Class
	// Subject and Text are the message's subject and plain text.
	Subject, Text string

	// AnswersLooseMail: the message replies to mail of ours that belongs
	// to no case (the daily digest). Gathered for a new case.
	AnswersLooseMail bool
	// Participant: the sender is the requester or a participant of the
	// matched case, or joins it by this message's references. Gathered for
	// an existing case.
	Participant bool

	// Staff: the sender is staff or a responsible party (Directory).
	// For staff, Authenticated: a trusted Authentication-Results vouches
	// for the sender; RequireAuth: staff.require_authenticated is on.
	Staff, Authenticated, RequireAuth bool
	// TicketSystem: the sender is a ticket system (a team's configured
	// one, or recognised by its header fields). Gathered for staff.
	TicketSystem bool
	// AnswersInternalMail: the message replies to one of our internal
	// mails (a note or an outsider notice). Gathered for staff.
	AnswersInternalMail bool
	// ForwardOf is the original sender when staff forward someone else's
	// mail to the contact address, checked as a [requester:] would be
	// (zero if the mail is no such forward). Gathered for a new case by
	// staff.
	ForwardOf kp.Address
	// OverNewCaseLimit: the sender has opened limits.new_cases_per_sender
	// cases in the past hour.
	OverNewCaseLimit bool

	// Import: the message comes from an archive import. At is when the
	// message was written (its Date, never later than Arrived) and
	// ImportHorizon is followup.import_horizon (0: none).
	Import        bool
	At, Arrived   time.Time
	ImportHorizon time.Duration
}

// Disposition is what becomes of an inbound message.
type Disposition int

const (
	// Duplicate: the message is stored already; nothing changes.
	Duplicate Disposition = iota + 1
	// Quarantined: stored without a case, for an operator to look at.
	Quarantined
	// Unfiled: stored without a case; nobody is told.
	Unfiled
	// Filed: stored on a case, a new one or the matched one.
	Filed
)

// SenderRole is how the sender of a filed message stands to its case.
type SenderRole int

const (
	// SenderRequester is the requester or a Cc participant.
	SenderRequester SenderRole = iota + 1
	// SenderStaff is authenticated staff or a responsible party.
	SenderStaff
	// SenderOutsider is anyone else writing into a case's thread.
	SenderOutsider
	// SenderUnauthenticated is a staff or team address that was not
	// authenticated while staff.require_authenticated is on. It gains
	// nothing: a forged From must not speak in the contact point's name.
	SenderUnauthenticated
)

// Reasons a message is quarantined or unfiled (Decision.Reason).
const (
	ReasonNoSender  = "no sender address: nobody to answer"
	ReasonNoCase    = "matched no case"
	ReasonLooseMail = "replies to mail of no case"
	ReasonOverLimit = "sender over the new-case limit"
)

// KindNotAuthenticated is the kind of inbound mail in a staff or team
// address's name that was not authenticated.
const KindNotAuthenticated = "not-authenticated"

// Decision is what happens to one inbound message. The gateway carries it
// out in the transaction that stores the message.
type Decision struct {
	Disposition Disposition
	// Reason says why a message is quarantined or unfiled.
	Reason string
	// Defect is recorded with the message and reported as the result's
	// error (a sender over the new-case limit).
	Defect string
	// Class and MatchedBy are stored with the message.
	Class     kp.Class
	MatchedBy kp.MatchedBy

	// CheckNewCaseLimit: the message opens a case for a sender who is
	// not staff. The gateway counts it against limits.new_cases_per_sender
	// and, if the sender is over, decides again with OverNewCaseLimit.
	CheckNewCaseLimit bool

	// NewCase: open a case; else Case is the case the message goes to.
	// Previous is a case resolved too long ago to reopen that the new case
	// follows.
	NewCase  bool
	Case     kp.CaseID
	Previous kp.CaseID
	// Role is how the sender stands to the case.
	Role SenderRole
	// Subject is the message's subject without the tags it gave as
	// commands.
	Subject string
	// Commands are the staff commands to apply, Refused those refused,
	// and Repairs the [merge:…] and [link:…] that act on a second case
	// once this one is stored.
	Commands []Command
	Refused  []Refused
	Repairs  []Command
	// OpenedBy is the staff member who opened the case on the requester's
	// behalf by forwarding their mail ("" if none).
	OpenedBy string
	// Kind is what the message is on its case ("request", "reply",
	// "note", "command", KindNotAuthenticated or a machine class), and
	// Outsider marks a reply from an outsider.
	Kind     string
	Outsider bool
	// Reopen: the message reopens the resolved case.
	Reopen bool
	// Continues: outbound mail on the case continues this message's
	// thread (the case's LastMessageID becomes its id).
	Continues bool
	// RecordCounterpart: a ticket system's reference on the message may
	// be recorded on the case.
	RecordCounterpart bool
	// UnauthenticatedTags are the tags of an unauthenticated staff-address
	// mail, which stay in its subject as text; UnauthenticatedReceipt
	// says the real owner of the address is told it did nothing.
	UnauthenticatedTags    []string
	UnauthenticatedReceipt bool
	// KeepFollowUp: the message is history from an archive import; it
	// arms no follow-up and keeps the one the case had.
	KeepFollowUp bool
}

// Screen decides what needs no threading: a copy of a stored message is a
// duplicate, and a message that could not be read, or human mail with
// nobody to answer, is quarantined. ok is false when the message is to be
// threaded and decided by Decide.
func Screen(f Facts) (d Decision, ok bool) {
	d = Decision{Class: f.ParsedClass, MatchedBy: kp.MatchNone}
	switch {
	case f.StoredCopy:
		d.Disposition, d.MatchedBy = Duplicate, kp.MatchDuplicate
	case f.ParseError != "":
		d.Disposition, d.Reason = Quarantined, f.ParseError
	case f.ParsedClass == kp.ClassHuman && f.Sender == "":
		d.Disposition, d.Reason = Quarantined, ReasonNoSender
	default:
		return Decision{}, false
	}
	return d, true
}

// Decide decides what happens to an inbound message: whether it is stored
// and where, how its sender stands to the case, which commands it gives,
// what kind of message it is and what it changes on the case besides.
func Decide(f Facts) Decision {
	if d, ok := Screen(f); ok {
		return d
	}
	th := f.Thread
	d := Decision{Class: f.Class, MatchedBy: th.MatchedBy}
	if th.Duplicate {
		d.Disposition = Duplicate
		return d
	}
	unfiled := func(reason string) Decision {
		d.Disposition, d.Reason, d.MatchedBy = Unfiled, reason, kp.MatchNone
		return d
	}
	switch {
	case th.NewCase && f.AnswersLooseMail:
		// A reply to the daily digest, which belongs to no case.
		return unfiled(ReasonLooseMail)
	case th.Unfiled || !th.NewCase && th.Case == 0:
		return unfiled(ReasonNoCase)
	}

	human := f.Class == kp.ClassHuman
	staffSide := f.Staff && (f.Authenticated || !f.RequireAuth)
	unauthenticated := f.Staff && !staffSide && human
	if th.NewCase && !staffSide && human {
		if f.OverNewCaseLimit {
			d = unfiled(ReasonOverLimit)
			d.Defect = ReasonOverLimit
			return d
		}
		d.CheckNewCaseLimit = true
	}
	d.Disposition, d.NewCase, d.Previous = Filed, th.NewCase, th.Previous
	if !th.NewCase {
		d.Case = th.Case
	}

	// Commands: only authenticated staff give them, and not through a
	// ticket system, whose subject may repeat a requester's "[close]".
	subject := f.Subject
	if staffSide && human && !f.TicketSystem {
		d.Commands, d.Refused, subject = ParseCommands(f.Subject)
	} else if unauthenticated {
		// The tags stay in the subject as text; the sender hears why
		// they did nothing.
		cs, rs, _ := ParseCommands(f.Subject)
		for _, c := range cs {
			d.UnauthenticatedTags = append(d.UnauthenticatedTags, c.Raw)
		}
		for _, r := range rs {
			d.UnauthenticatedTags = append(d.UnauthenticatedTags, r.Raw)
		}
	}
	d.Subject = strings.TrimSpace(subject)
	d.Commands, d.Repairs = splitRepairs(d.Commands)
	if th.NewCase && staffSide && human && !f.ForwardOf.IsZero() && !hasVerb(d.Commands, "requester") {
		// Staff forwarding someone's mail open the case for that person,
		// as if they had written [requester:] themselves; one they wrote
		// wins.
		d.Commands = append(d.Commands, Command{Verb: "requester", Arg: RequesterArg(f.ForwardOf),
			Raw: "(forwarded mail from " + kp.NormAddr(f.ForwardOf.Addr) + ")"})
		d.OpenedBy = kp.NormAddr(f.Sender)
	}

	switch {
	case staffSide:
		d.Role = SenderStaff
	case th.NewCase || f.Participant:
		d.Role = SenderRequester
	case unauthenticated:
		d.Role = SenderUnauthenticated
	default:
		d.Role = SenderOutsider
	}
	speaks := d.Role == SenderStaff || d.Role == SenderRequester
	if d.Role == SenderStaff && !hasVerb(d.Commands, "note") && f.AnswersInternalMail {
		// A reply to a note or an outsider notice stays internal: the
		// quoted note must never reach the requester.
		d.Commands = append(d.Commands, Command{Verb: "note", Raw: "(reply to an internal mail)"})
	}
	// Outbound mail continues the thread of the conversation, not of an
	// out-of-office or an outsider.
	d.Continues = !f.Class.Machine() && speaks
	// Not from an outsider or unauthenticated mail in a team's name: a
	// forged reference would go out in our mail to the team.
	d.RecordCounterpart = speaks
	d.Kind, d.Outsider = inboundKind(f.Class, th.NewCase, d.Role, d.Commands, f.Text)
	// Machine mail attaches without reopening.
	d.Reopen = th.Reopen && !th.NewCase && !f.Class.Machine() && speaks
	// (A ticket system gets no receipt: it would open a ticket for it,
	// and perhaps answer.)
	d.UnauthenticatedReceipt = unauthenticated && (len(d.UnauthenticatedTags) > 0 || d.Role == SenderUnauthenticated) && !f.TicketSystem
	// An archive import is history: its old mail arms no reminder (and
	// keeps one a newer message armed).
	d.KeepFollowUp = f.Import && f.ImportHorizon > 0 && f.Arrived.Sub(f.At) > f.ImportHorizon
	return d
}

// RequesterArg is the argument of a [requester:] naming a.
func RequesterArg(a kp.Address) string {
	return (&mail.Address{Name: a.Name, Address: kp.NormAddr(a.Addr)}).String()
}

// splitRepairs takes [merge:…] and [link:…] out of the commands of a
// staff mail: they act on two cases and run after the mail's own case is
// stored. A mail that carries one is internal: it is turned into a note,
// so its text and quoted history never reach the requester.
func splitRepairs(cmds []Command) (rest, repairs []Command) {
	for _, c := range cmds {
		if c.Verb == "merge" || c.Verb == "link" {
			repairs = append(repairs, c)
		} else {
			rest = append(rest, c)
		}
	}
	if len(repairs) > 0 && !hasVerb(rest, "note") {
		rest = append(rest, Command{Verb: "note", Raw: "(a case repair is internal)"})
	}
	return rest, repairs
}

// inboundKind says what an inbound message is on its case, and whether it
// comes from an outsider.
func inboundKind(class kp.Class, newCase bool, r SenderRole, cmds []Command, text string) (kind string, outsider bool) {
	if class.Machine() {
		return string(class), false
	}
	if r == SenderStaff && hasVerb(cmds, "note") {
		return "note", false
	}
	switch {
	case newCase:
		return "request", false
	case r == SenderOutsider:
		return "reply", true
	case r == SenderUnauthenticated:
		return KindNotAuthenticated, false
	case r == SenderStaff && hasVerb(cmds, "assign", "take") && strings.TrimSpace(text) != "":
		// The words go to the assignee with the assignment: internal.
		return "note", false
	case r == SenderStaff && strings.TrimSpace(text) == "" && len(cmds) > 0:
		return "command", false
	}
	return "reply", false
}

// hasVerb reports whether cmds hold one of verbs.
func hasVerb(cmds []Command, verbs ...string) bool {
	for _, c := range cmds {
		for _, v := range verbs {
			if c.Verb == v {
				return true
			}
		}
	}
	return false
}
