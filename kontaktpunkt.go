// Package kontaktpunkt holds the domain types of the contact-point gateway:
// cases, messages, outbound mail and follow-ups. It imports nothing of ours
// and no third-party package, so every other package can speak in these
// types without knowing about IMAP, MIME, SMTP or bbolt.
package kontaktpunkt

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// CaseID numbers cases from 1 in order of creation. Zero means "no case".
type CaseID uint64

// Tag renders the case tag with the configured prefix, e.g. "[INT#42]".
func (id CaseID) Tag(prefix string) string {
	return "[" + prefix + "#" + strconv.FormatUint(uint64(id), 10) + "]"
}

// Status is where a case stands.
type Status string

const (
	StatusOpen     Status = "open"     // someone on the staff side owes an answer
	StatusWaiting  Status = "waiting"  // the staff side answered; the requester owes one
	StatusResolved Status = "resolved" // closed; a reply within reopen_within reopens it
)

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	return s == StatusOpen || s == StatusWaiting || s == StatusResolved
}

// Class is what kind of sender wrote a message (docs/behaviour.md, Reading a message).
type Class string

const (
	ClassHuman     Class = "human"
	ClassAutoReply Class = "auto-reply"
	ClassBounce    Class = "bounce"
	ClassBulk      Class = "bulk"
	ClassLoop      Class = "loop"
	// ClassSpam is mail a spam filter gave a spam verdict: stored unfiled,
	// never on a case, never answered.
	ClassSpam Class = "spam"
)

// Machine reports whether mail of this class was written by a machine; such
// mail never reopens a case and never triggers mail.
func (c Class) Machine() bool { return c != ClassHuman && c != "" }

// MatchedBy names the threading rule that decided a message's case
// (docs/behaviour.md, Threading).
type MatchedBy string

const (
	MatchDuplicate  MatchedBy = "duplicate"
	MatchReplyToken MatchedBy = "reply-token"
	MatchInReplyTo  MatchedBy = "in-reply-to"
	MatchReferences MatchedBy = "references"
	MatchSubjectTag MatchedBy = "subject-tag"
	MatchBounce     MatchedBy = "bounce"
	// MatchCounterpartRef: a counterpart ticket system's own reference,
	// recorded on the case, in the subject of mail from that counterpart.
	MatchCounterpartRef MatchedBy = "counterpart-ref"
	// MatchReferencedBy: a stored message referenced this message's id
	// (the parent arrived after its reply).
	MatchReferencedBy MatchedBy = "referenced-by"
	// MatchSharedParent: this message references an id a stored message
	// also referenced (a parent never received), and shares a participant.
	MatchSharedParent MatchedBy = "shared-parent"
	// MatchSubject: a reply prefix and the same normalised subject as
	// exactly one live case the sender takes part in.
	MatchSubject MatchedBy = "subject"
	// MatchBodyTag: the case tag written in the body outside quoted text.
	MatchBodyTag MatchedBy = "body-tag"
	MatchNew     MatchedBy = "new"
	MatchNone    MatchedBy = "none" // unfiled or quarantined
)

// MatchedByValues lists every MatchedBy value in threading order, for
// metrics and documentation.
var MatchedByValues = []MatchedBy{
	MatchDuplicate, MatchReplyToken, MatchInReplyTo, MatchReferences, MatchSubjectTag, MatchBounce, MatchCounterpartRef,
	MatchReferencedBy, MatchSharedParent, MatchSubject, MatchBodyTag, MatchNew, MatchNone,
}

// Priority of a case.
type Priority string

const (
	PriorityLow    Priority = "low"
	PriorityNormal Priority = "normal"
	PriorityHigh   Priority = "high"
	PriorityUrgent Priority = "urgent"
)

// Valid reports whether p is one of the known priorities.
func (p Priority) Valid() bool {
	switch p {
	case PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent:
		return true
	}
	return false
}

// Direction of a stored message.
type Direction string

const (
	In  Direction = "in"
	Out Direction = "out"
)

// Address is one mailbox. Addr is kept as written; compare with SameAddr.
type Address struct {
	Name string `json:"name,omitempty"`
	Addr string `json:"addr"`
}

// String renders the address the way a person reads it, on one line.
func (a Address) String() string {
	name := CleanName(a.Name)
	if name == "" {
		return a.Addr
	}
	return name + " <" + a.Addr + ">"
}

// CleanName makes a display name safe to write into a header, a mail body
// or a page: every control character (C0 such as CR and LF, DEL, C1 such
// as NEL) and the Unicode line and paragraph separators become a space,
// runs of white space left by them shrink to one, and invalid UTF-8 is
// replaced. A name from mail can carry any of them (an encoded word
// decodes to anything), and in a body or a header each would start a line
// of the sender's choosing.
func CleanName(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if !strings.ContainsFunc(s, breaksLine) {
		return s
	}
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || breaksLine(r) }), " ")
}

// breaksLine reports characters CleanName removes.
func breaksLine(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}

// IsZero reports whether the address is empty.
func (a Address) IsZero() bool { return a.Addr == "" }

// NormAddr lower-cases and trims an address for comparison and indexing.
func NormAddr(addr string) string { return strings.ToLower(strings.TrimSpace(addr)) }

// SameAddr compares two addresses case-insensitively.
func SameAddr(a, b string) bool { return NormAddr(a) == NormAddr(b) && a != "" }

// Attachment describes one attachment; the bytes stay in the raw message.
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// Parsed is everything parsing extracts from a raw message. It is derived
// from the raw bytes and can always be derived again.
type Parsed struct {
	// MessageID is canonical: no angle brackets, domain part lower-cased.
	MessageID string
	// SyntheticID is set when the message had no usable Message-ID and
	// MessageID was made from the SHA-256 of the raw bytes.
	SyntheticID bool
	Subject     string
	From        Address
	Sender      Address
	ReplyTo     []Address
	To          []Address
	Cc          []Address
	Date        time.Time
	InReplyTo   []string // canonical ids
	References  []string // canonical ids, oldest first as in the header
	// Text is the readable body: text/plain preferred, HTML converted.
	Text        string
	Attachments []Attachment
	// Header holds every top-level header field, decoded to UTF-8 text,
	// keyed by canonical MIME header key ("Auto-Submitted").
	Header map[string][]string
	// Trace holds the Received and Authentication-Results fields in the
	// order they stand in the header, top first: whether an
	// Authentication-Results header counts depends on where it stands.
	Trace []HeaderField
	// ContentType is the top-level media type, lower-case ("multipart/report").
	ContentType string
	// ReportType is the report-type parameter of a multipart/report.
	ReportType string
	// EmbeddedIDs are Message-IDs (and In-Reply-To/References) found in
	// returned messages or headers inside a report or bounce, canonical.
	EmbeddedIDs []string
	// BounceRecipients are the failed recipients named by a bounce.
	BounceRecipients []string
	// BouncePermanent is set when a bounce reports a permanent (5.x.x) failure.
	BouncePermanent bool
	// BounceDetails says why delivery failed, one entry per entry of
	// BounceRecipients in the same order.
	BounceDetails []BounceDetail
	// Defects lists what was wrong with the message, for the operator.
	Defects []string
	// Size is the length of the raw message in bytes.
	Size int64
}

// HeaderField is one header field, its value decoded to UTF-8 text.
type HeaderField struct {
	Name  string // canonical key, "Received"
	Value string
}

// BounceDetail is what a bounce says about one failed recipient, from its
// delivery-status part or, without one, from its text.
type BounceDetail struct {
	Recipient string `json:"recipient"`
	// Status is the enhanced status code ("5.1.1"); "" when none was given.
	Status string `json:"status,omitempty"`
	// Diagnostic is the receiving server's reply or the mail system's
	// explanation ("550 5.1.1 <a@b.example>: Recipient address rejected:
	// User unknown"); "" when none was found.
	Diagnostic string `json:"diagnostic,omitempty"`
}

// Get returns the first value of a header field, or "".
func (p *Parsed) Get(key string) string {
	if v := p.Header[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Message is one stored message, inbound or outbound.
type Message struct {
	// ID is the canonical Message-ID (or synthetic id); unique in the store.
	ID        string    `json:"message_id"`
	Case      CaseID    `json:"case,omitempty"`
	Direction Direction `json:"direction"`
	Class     Class     `json:"class"`
	MatchedBy MatchedBy `json:"matched_by"`
	// Kind says what the message was for the case: "request", "reply",
	// "note", "command" for inbound; the outbound event kind otherwise.
	Kind    string    `json:"kind"`
	From    Address   `json:"from"`
	To      []Address `json:"to,omitempty"`
	Cc      []Address `json:"cc,omitempty"`
	Subject string    `json:"subject"`
	Date    time.Time `json:"date"`
	// Received is when the gateway stored it.
	Received    time.Time    `json:"received"`
	Text        string       `json:"text"`
	Attachments []Attachment `json:"attachments,omitempty"`
	// Outsider marks mail from someone who is not a participant of the case.
	Outsider bool `json:"outsider"`
	// Authenticated marks inbound mail whose sender passed the
	// Authentication-Results check (docs/behaviour.md, Staff commands).
	Authenticated bool `json:"authenticated,omitempty"`
	// Quarantine is the reason the message was quarantined, if it was.
	Quarantine string `json:"quarantine,omitempty"`
	// Defects are parsing problems found in the message.
	Defects []string `json:"defects,omitempty"`
	// Source names where it came from: "imap:INBOX/uidvalidity/uid", a file path.
	Source string `json:"source,omitempty"`
	// Size is the raw size in bytes.
	Size int64 `json:"size"`
	// CollidedID is set when the message arrived with a Message-ID that an
	// earlier, different message already had (archive systems reuse ids):
	// ID is then a derived id and CollidedID the id it arrived with.
	CollidedID string `json:"collided_id,omitempty"`
	// Seq is the store's internal sequence number (the raw message key).
	Seq uint64 `json:"-"`
	// ContentHash, when not zero, is kept with the Message-ID index entry
	// (not in the record) so a later message with the same id can be told
	// apart from a copy of this one.
	ContentHash uint64 `json:"-"`
}

// Case is one request and everything that followed it.
type Case struct {
	ID        CaseID  `json:"id"`
	Subject   string  `json:"subject"`
	Status    Status  `json:"status"`
	Requester Address `json:"requester"`
	// Participants are Cc participants added by the requester's mail or [cc:].
	Participants []string `json:"participants,omitempty"`
	Assignee     string   `json:"assignee"` // an address, or ""
	Team         string   `json:"team"`     // a team name, or ""
	Priority     Priority `json:"priority"`
	// Escalation is 0, 1 or 2.
	Escalation int       `json:"escalation"`
	Created    time.Time `json:"created"`
	Updated    time.Time `json:"updated"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	// Messages counts the messages stored on the case.
	Messages int `json:"messages"`
	// PreviousCase is the resolved case this one follows up, if any.
	PreviousCase CaseID `json:"previous_case,omitempty"`
	// LastInbound is when the requester side last started waiting for an
	// answer: their first human mail since the last staff-side reply.
	LastInbound time.Time `json:"last_inbound,omitzero"`
	// LastStaffReply is the time of the last staff-side reply (not a note).
	LastStaffReply time.Time `json:"last_staff_reply,omitzero"`
	// AssignedAt is when the current assignee or team was set.
	AssignedAt time.Time `json:"assigned_at,omitzero"`
	// WaitingSince is when the case last went to waiting.
	WaitingSince time.Time `json:"waiting_since,omitzero"`
	// ThreadID is the Message-ID that opened the case; outbound mail refers to it.
	ThreadID string `json:"thread_id,omitempty"`
	// LastMessageID is the newest Message-ID on the case, for In-Reply-To.
	LastMessageID string `json:"last_message_id,omitempty"`
	// Next is the case's next scheduled follow-up, if any.
	Next *FollowUp `json:"next_followup,omitempty"`
	// Counterparts are the references counterpart ticket systems gave the
	// case, one per counterpart: mail to the counterpart carries it beside
	// the case tag, and mail from it that carries it finds the case.
	Counterparts []CounterpartRef `json:"counterpart_refs,omitempty"`
	// MergedInto is the case this one was folded into; mail that matches
	// this case goes there. Zero for a live case.
	MergedInto CaseID `json:"merged_into,omitempty"`
	// Links are related cases recorded by staff ([link:INT#5]); each side
	// records the other.
	Links []CaseID `json:"links,omitempty"`
	// OpenedBy is the staff member who forwarded the request on the
	// requester's behalf, if any.
	OpenedBy string `json:"opened_by,omitempty"`
	// Archived is the document archive's reference for the case, set by
	// staff with [archived:2026/1234] once it is filed there.
	Archived string `json:"archived,omitempty"`
	// Rule is the routing rule that matched the case's first message
	// (routing.Rule.Key), "" when none did. Reports count new cases by it.
	Rule string `json:"rule,omitempty"`
}

// CounterpartRef is a counterpart ticket system's own reference for a case.
type CounterpartRef struct {
	// Team is the team the counterpart works for, "" for anyone else (a
	// requester's ticket system); a team's reference holds for every
	// address of the team.
	Team string `json:"team,omitempty"`
	// Addr is the address the reference came from, normalised.
	Addr string `json:"addr"`
	// System names the kind of ticket system ("rt", "jira", "servicenow",
	// "topdesk", "otrs", "zammad", "ticket").
	System string `json:"system,omitempty"`
	// Ref is written as it goes in a subject: "[rt.uio.no #4711]",
	// "FS-1234", "INC0012345", "[Ticket#2026120210000012]".
	Ref string `json:"ref"`
}

// TicketRefKey is how a counterpart reference is compared and indexed:
// lower-case, without brackets, inner space collapsed ("[RT.uio.no  #4711]"
// gives "rt.uio.no #4711").
func TicketRefKey(ref string) string {
	r := strings.ToLower(strings.TrimSpace(ref))
	r = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(r, "["), "]"))
	return strings.Join(strings.Fields(r), " ")
}

// HasParticipant reports whether addr is the requester or a Cc participant.
func (c *Case) HasParticipant(addr string) bool {
	if SameAddr(c.Requester.Addr, addr) {
		return true
	}
	for _, p := range c.Participants {
		if SameAddr(p, addr) {
			return true
		}
	}
	return false
}

// FollowUpKind names a follow-up rule (docs/behaviour.md, Follow-up).
type FollowUpKind string

const (
	FollowTriage      FollowUpKind = "triage"       // unassigned: remind staff
	FollowRespond     FollowUpKind = "respond"      // assigned, no reply: remind assignee
	FollowEscalate1   FollowUpKind = "escalate-1"   // team escalation contact and staff lead
	FollowEscalate2   FollowUpKind = "escalate-2"   // the contact point's manager
	FollowWaiting     FollowUpKind = "waiting"      // remind the requester once
	FollowAutoResolve FollowUpKind = "auto-resolve" // resolve with a notice
	FollowSnooze      FollowUpKind = "remind"       // [remind:…] set by staff
)

// FollowUp is one scheduled follow-up of a case.
type FollowUp struct {
	Kind FollowUpKind `json:"kind"`
	Due  time.Time    `json:"due"`
	// Count is how many of this kind were already sent in a row.
	Count int `json:"count,omitempty"`
}

// Cursor is how far intake has read one IMAP mailbox.
type Cursor struct {
	Mailbox     string `json:"mailbox"`
	UIDValidity uint32 `json:"uidvalidity"`
	LastUID     uint32 `json:"last_uid"`
}

// OutState is where an outbound message stands.
type OutState string

const (
	OutQueued OutState = "queued" // waiting for its next attempt
	OutSent   OutState = "sent"
	OutFailed OutState = "failed" // permanent failure; staff were told
)

// Outbound is one message in the durable outbox. Spec says what the
// message is, decided in the transaction that queued it, with its
// Message-ID and Date fixed there, so the bytes rendered from it outside
// the transaction are the same every time (after a restart too). Raw holds
// the complete message as it goes on the wire for mail queued before
// specs existed; a message has one or the other until it is sent, and
// neither after.
type Outbound struct {
	ID        uint64    `json:"id"`
	Case      CaseID    `json:"case,omitempty"`
	Kind      string    `json:"kind"`
	MessageID string    `json:"message_id"`
	From      string    `json:"from"` // envelope sender
	To        []string  `json:"to"`   // envelope recipients
	Subject   string    `json:"subject"`
	Raw       []byte    `json:"-"`
	Spec      *OutSpec  `json:"-"`
	State     OutState  `json:"state"`
	Attempts  int       `json:"attempts"`
	NextTry   time.Time `json:"next_try"`
	LastError string    `json:"last_error,omitempty"`
	Queued    time.Time `json:"queued"`
	Sent      time.Time `json:"sent,omitzero"`
}

// OutSpec is an outbound message before encoding: everything its bytes
// are rendered from. It holds no time or random value that is not written
// in it, so rendering is a pure function of it.
type OutSpec struct {
	From, ReplyTo Address
	To, Cc        []Address
	Subject, Text string
	MessageID     string // canonical, without angle brackets
	InReplyTo     string
	References    []string
	AutoSubmitted string
	// Headers are extra header fields, written in key order.
	Headers     map[string]string
	Date        time.Time
	Attachments []OutAttachment
}

// OutAttachment is one attachment an outbound message carries.
type OutAttachment struct {
	Name, ContentType string
	Data              []byte
}

// LoopHeader is carried by every message the gateway sends; inbound mail
// that has it is classified ClassLoop.
const LoopHeader = "X-Kontaktpunkt-Loop"
