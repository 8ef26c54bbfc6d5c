package routing

import (
	"strings"
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
	// ReferencedBy returns the cases (a bounded number, lowest first) on
	// which a stored message named id in its In-Reply-To or References.
	ReferencedBy(id string) []kp.CaseID
	// SubjectCases returns the cases (a bounded number, newest first)
	// whose subject normalises (NormalSubject) to subject.
	SubjectCases(subject string) []kp.CaseID
}

// DefaultReopenWithin is how long after resolution a human reply reopens a
// case when ThreadInput.ReopenWithin is zero (docs/behaviour.md, Threading).
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
	// OwnText is what the writer wrote themselves (quoted text and
	// signature removed); the body-tag rule looks for a case tag there.
	OwnText string
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
	// AddParticipant: the sender joined a conversation by its references
	// (referenced-by, shared-parent); record them as a participant.
	AddParticipant bool
}

// maxMergeHops bounds how far a chain of merged cases is followed.
const maxMergeHops = 8

// ThreadMessage decides which case a message belongs to (docs/behaviour.md, Threading).
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
//  7. referenced-by: a stored message named this message's id in its
//     In-Reply-To or References (the parent arrived after its reply); the
//     lowest such case. shared-parent: an id this message names in
//     In-Reply-To or References (nearest first) was also named by a stored
//     message on exactly one case that shares a person with this one: the
//     sender takes part in the case, or the case's requester is among the
//     recipients. Both set AddParticipant.
//  8. subject: human mail whose subject has a reply or forward prefix
//     (HasReplyPrefix), when exactly one live case (open, waiting, or
//     resolved within ReopenWithin) has the same NormalSubject and the
//     sender is its requester or a Cc participant.
//  9. body-tag: human mail whose OwnText names exactly one existing case
//     by its tag (FindCaseTag's forms, e.g. "Deres ref.: INT#12").
//  10. new for human mail; none and Unfiled for machine mail.
//
// A case merged into another (MergedInto) answers for the surviving case
// under every rule.
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
		in.Parsed = p
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

	// existing returns the case when id names a stored one, following
	// merges to the surviving case.
	existing := func(id kp.CaseID) (match, bool) {
		for range maxMergeHops {
			if id == 0 {
				return match{}, false
			}
			c, ok := idx.Case(id)
			if !ok || c == nil {
				return match{}, false
			}
			if c.MergedInto == 0 || c.MergedInto == id {
				return match{id: id, c: c}, true
			}
			id = c.MergedInto
		}
		return match{}, false
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
		if tid, ok := FindCaseTag(withoutCaseRefs(p.Subject), in.TagPrefix); ok && tid != found.id {
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

	// counterpart-ref goes here, before the rules that guess from
	// references, subject and body.
	if found.id == 0 {
		if m, ok := referencedBy(p, idx, existing); ok {
			found, by = m, kp.MatchReferencedBy
		} else if m, ok := sharedParent(p, idx, existing); ok {
			found, by = m, kp.MatchSharedParent
		}
	}
	if found.id == 0 && !machine {
		if m, ok := bySubject(in, idx, existing); ok {
			found, by = m, kp.MatchSubject
		}
	}
	if found.id == 0 && !machine {
		if m, ok := byBodyTag(in, existing); ok {
			found, by = m, kp.MatchBodyTag
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
	t.AddParticipant = by == kp.MatchReferencedBy || by == kp.MatchSharedParent
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

// live reports whether a case can take a guessed match (subject rule): not
// resolved, or resolved within the reopen window.
func live(c *kp.Case, in ThreadInput) bool {
	if c.Status != kp.StatusResolved {
		return true
	}
	within := in.ReopenWithin
	if within == 0 {
		within = DefaultReopenWithin
	}
	if within < 0 {
		return false
	}
	return c.ResolvedAt.IsZero() || !in.Now.After(c.ResolvedAt.Add(within))
}

// referencedBy finds the case of a stored message that named p's own id:
// the parent arrived after its reply.
func referencedBy(p *kp.Parsed, idx Index, existing func(kp.CaseID) (match, bool)) (match, bool) {
	if p.MessageID == "" || p.SyntheticID {
		return match{}, false
	}
	for _, cid := range idx.ReferencedBy(p.MessageID) {
		if m, ok := existing(cid); ok {
			return m, true
		}
	}
	return match{}, false
}

// sharedParent finds the one case where a stored message named an id that
// p names too, and which shares a person with p.
func sharedParent(p *kp.Parsed, idx Index, existing func(kp.CaseID) (match, bool)) (match, bool) {
	ids := make([]string, 0, len(p.InReplyTo)+len(p.References))
	ids = append(ids, p.InReplyTo...)
	for i := len(p.References) - 1; i >= 0; i-- {
		ids = append(ids, p.References[i])
	}
	sender := senderAddr(p)
	for i, id := range ids {
		if id == "" || id == p.MessageID || slicesContains(ids[:i], id) {
			continue
		}
		var found match
		n := 0
		for _, cid := range idx.ReferencedBy(id) {
			m, ok := existing(cid)
			if !ok || m.id == found.id || !sharesPerson(m.c, sender, p) {
				continue
			}
			found = m
			n++
		}
		switch {
		case n == 1:
			return found, true
		case n > 1:
			return match{}, false // two conversations answer this parent: keep them apart
		}
	}
	return match{}, false
}

// sharesPerson reports whether the sender takes part in c or c's requester
// is among p's recipients.
func sharesPerson(c *kp.Case, sender string, p *kp.Parsed) bool {
	if sender != "" && c.HasParticipant(sender) {
		return true
	}
	for _, a := range p.To {
		if kp.SameAddr(a.Addr, c.Requester.Addr) {
			return true
		}
	}
	for _, a := range p.Cc {
		if kp.SameAddr(a.Addr, c.Requester.Addr) {
			return true
		}
	}
	return false
}

// bySubject finds the one live case with p's normalised subject that the
// sender takes part in, for a subject with a reply prefix.
func bySubject(in ThreadInput, idx Index, existing func(kp.CaseID) (match, bool)) (match, bool) {
	p := in.Parsed
	if !HasReplyPrefix(p.Subject, in.TagPrefix) {
		return match{}, false
	}
	norm := NormalSubject(p.Subject, in.TagPrefix)
	sender := senderAddr(p)
	if norm == "" || sender == "" {
		return match{}, false
	}
	var found match
	n := 0
	for _, cid := range idx.SubjectCases(norm) {
		m, ok := existing(cid)
		if !ok || m.id == found.id || !live(m.c, in) || !m.c.HasParticipant(sender) {
			continue
		}
		found = m
		n++
	}
	if n != 1 {
		return match{}, false
	}
	return found, true
}

// byBodyTag finds the case named by the tags in the writer's own text;
// tags naming two different cases name none.
func byBodyTag(in ThreadInput, existing func(kp.CaseID) (match, bool)) (match, bool) {
	if in.OwnText == "" {
		return match{}, false
	}
	var found match
	for _, sp := range findCaseTags(in.OwnText, in.TagPrefix, true) {
		m, ok := existing(sp.id)
		if !ok {
			continue
		}
		if found.id != 0 && found.id != m.id {
			return match{}, false
		}
		found = m
	}
	return found, found.id != 0
}

// withoutCaseRefs removes the [merge:…] and [link:…] tags from a subject:
// the case they name is the one to fold into or relate to, not the one
// the mail belongs to.
func withoutCaseRefs(subject string) string {
	lower := strings.ToLower(subject)
	if !strings.Contains(lower, "[merge") && !strings.Contains(lower, "[link") {
		return subject
	}
	var b strings.Builder
	for i := 0; i < len(subject); {
		if subject[i] == '[' {
			rest := strings.ToLower(subject[i+1:])
			if strings.HasPrefix(strings.TrimSpace(rest), "merge") || strings.HasPrefix(strings.TrimSpace(rest), "link") {
				if end := strings.IndexByte(subject[i:], ']'); end > 0 {
					b.WriteByte(' ')
					i += end + 1
					continue
				}
			}
		}
		b.WriteByte(subject[i])
		i++
	}
	return b.String()
}

// senderAddr is who wrote p: From, else Sender.
func senderAddr(p *kp.Parsed) string {
	if p.From.Addr != "" {
		return p.From.Addr
	}
	return p.Sender.Addr
}

func slicesContains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// match is a case threading found, with the number it was found under.
type match struct {
	id kp.CaseID
	c  *kp.Case
}
