package routing

import (
	"time"

	kp "kontaktpunkt"
)

// Index is what threading needs to know about stored mail. The store
// implements it inside the apply transaction.
type Index interface {
	// LookupID returns the case of a stored message (inbound or our own
	// outbound) by canonical Message-ID; ok with case 0 means stored but
	// unfiled.
	LookupID(id string) (kp.CaseID, bool)
	// Case returns a stored case.
	Case(id kp.CaseID) (*kp.Case, bool)
}

// DefaultReopenWithin is how long after resolution a human reply reopens a
// case when ThreadInput.ReopenWithin is zero (DESIGN section 5).
const DefaultReopenWithin = 14 * 24 * time.Hour

// ThreadInput is what ThreadMessage decides on.
type ThreadInput struct {
	Parsed *kp.Parsed
	Class  kp.Class
	// TagPrefix is the case tag prefix ("" means DefaultTagPrefix).
	TagPrefix string
	// TokenCase is the case of a valid reply token among the recipients
	// (FindReplyToken), 0 if none or tokens are disabled.
	TokenCase kp.CaseID
	// ReopenWithin: a human reply to a case resolved at most this long ago
	// reopens it; later it opens a new case. Zero means
	// DefaultReopenWithin; negative means never reopen.
	ReopenWithin time.Duration
	Now          time.Time
	// Sender is the sender's address and SenderTeams the teams it works
	// for (Directory.TeamsOf), for the counterpart-ref rule.
	Sender      string
	SenderTeams []string
}

// Thread is the threading decision for one message.
type Thread struct {
	// MatchedBy is the rule that decided (stored with the message).
	MatchedBy kp.MatchedBy
	// Case is the case the message goes to: 0 for a new case (the caller
	// allocates the number) and for unfiled mail. For a duplicate it is the
	// case the stored copy belongs to.
	Case kp.CaseID
	// Duplicate: the message is already stored; nothing changes.
	Duplicate bool
	// NewCase: open a new case for the message.
	NewCase bool
	// Previous is set with NewCase when the message answered a case resolved
	// longer than ReopenWithin ago; the new case records it.
	Previous kp.CaseID
	// Reopen: a human reply to a resolved case within ReopenWithin.
	Reopen bool
	// Unfiled: machine mail that matched nothing; store it without a case.
	Unfiled bool
}

// ThreadMessage decides which case a message belongs to (DESIGN section 5).
// The rules, in order:
//
//  1. duplicate: Parsed.MessageID is already stored (even unfiled).
//  2. reply-token: TokenCase names an existing case.
//  3. in-reply-to: each id in order, then
//     references: newest (last) first; an id matches when it is stored on
//     an existing case (ids stored unfiled, case 0, do not match).
//  4. subject-tag: the first case tag (FindCaseTag) naming an existing case.
//     A tag overrides an in-reply-to or references match that points
//     elsewhere (a person who retags a subject means it); it does not
//     override a reply token, which is signed and names the thread the
//     person answered. A tag naming no existing case is ignored.
//  5. bounce: only for bounces and auto-replies, the EmbeddedIDs of the
//     returned message, in order.
//  6. counterpart-ref: a ticket reference in the subject that a case
//     recorded for the counterpart (address or team) that sent the message
//     (Case.Counterparts; the Index must be a CounterpartIndex).
//  7. new for human mail; none and Unfiled for machine mail.
//
// Spam (after the duplicate check) is always none and Unfiled.
//
// Znuny-style, a header match alone is enough even when the subject changed.
//
// When the matched case is resolved: machine mail attaches to it without
// reopening; human mail within ReopenWithin of ResolvedAt reopens it; later
// human mail opens a new case with Previous set to the old one and
// MatchedBy "new": matched_by says how the case the message is stored on was
// found, and that case is new; Previous keeps the link. A resolved case
// without ResolvedAt is treated as resolved just now.
func ThreadMessage(in ThreadInput, idx Index) Thread {
	p := in.Parsed
	if p == nil {
		p = &kp.Parsed{}
	}
	machine := in.Class.Machine()

	if p.MessageID != "" {
		if cid, ok := idx.LookupID(p.MessageID); ok {
			return Thread{MatchedBy: kp.MatchDuplicate, Case: cid, Duplicate: true}
		}
	}

	if in.Class == kp.ClassSpam {
		// Spam touches no case, not even one it names.
		return Thread{MatchedBy: kp.MatchNone, Unfiled: true}
	}

	// existing returns the case when id names a stored one.
	existing := func(id kp.CaseID) (match, bool) {
		if id == 0 {
			return match{}, false
		}
		c, ok := idx.Case(id)
		if !ok || c == nil {
			return match{}, false
		}
		return match{id: id, c: c}, true
	}
	byMessageID := func(id string) (match, bool) {
		if id == "" {
			return match{}, false
		}
		cid, ok := idx.LookupID(id)
		if !ok {
			return match{}, false
		}
		return existing(cid)
	}

	var (
		found match
		by    kp.MatchedBy
	)
	if m, ok := existing(in.TokenCase); ok {
		found, by = m, kp.MatchReplyToken
	}
	if found.id == 0 {
		for _, id := range p.InReplyTo {
			if m, ok := byMessageID(id); ok {
				found, by = m, kp.MatchInReplyTo
				break
			}
		}
	}
	if found.id == 0 {
		for i := len(p.References) - 1; i >= 0; i-- {
			if m, ok := byMessageID(p.References[i]); ok {
				found, by = m, kp.MatchReferences
				break
			}
		}
	}
	if by != kp.MatchReplyToken {
		if tid, ok := FindCaseTag(p.Subject, in.TagPrefix); ok && tid != found.id {
			if m, ok := existing(tid); ok {
				found, by = m, kp.MatchSubjectTag
			}
		}
	}
	if found.id == 0 && (in.Class == kp.ClassBounce || in.Class == kp.ClassAutoReply) {
		for _, id := range p.EmbeddedIDs {
			if m, ok := byMessageID(id); ok {
				found, by = m, kp.MatchBounce
				break
			}
		}
	}

	if found.id == 0 {
		if m, ok := counterpartMatch(in, idx); ok {
			found, by = m, kp.MatchCounterpartRef
		}
	}

	if found.id == 0 {
		if machine {
			return Thread{MatchedBy: kp.MatchNone, Unfiled: true}
		}
		return Thread{MatchedBy: kp.MatchNew, NewCase: true}
	}
	t := Thread{MatchedBy: by, Case: found.id}
	if found.c.Status != kp.StatusResolved || machine {
		return t
	}
	within := in.ReopenWithin
	if within == 0 {
		within = DefaultReopenWithin
	}
	resolved := found.c.ResolvedAt
	if resolved.IsZero() {
		resolved = in.Now
	}
	if within > 0 && !in.Now.After(resolved.Add(within)) {
		t.Reopen = true
		return t
	}
	return Thread{MatchedBy: kp.MatchNew, NewCase: true, Previous: found.id}
}

// match is a case threading found, with the number it was found under.
type match struct {
	id kp.CaseID
	c  *kp.Case
}
