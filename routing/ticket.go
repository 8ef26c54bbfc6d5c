package routing

import (
	"strings"

	kp "kontaktpunkt"
)

// Ticket systems on the other side of a conversation (a team working in
// its own Request Tracker queue, a supplier's ServiceNow) keep their own
// number for our case. We learn it from their mail, write it beside our tag
// in every mail to them so their system files our mail on the same ticket,
// and match their mail on it when our tag is missing.

// Ticket system names, as DetectTicket reports them.
const (
	TicketRT         = "rt"
	TicketJira       = "jira"
	TicketServiceNow = "servicenow"
	TicketTOPdesk    = "topdesk"
	TicketOTRS       = "otrs" // Znuny, OTRS and ((OTRS)) Community Edition
	TicketZammad     = "zammad"
	TicketOther      = "ticket" // configured as one, of no kind we know
)

var (
	// "[rt.uio.no #4711]": RT's subject tag, rtname and ticket number.
	rtTagRE = lazyRegexp(`\[([A-Za-z0-9][A-Za-z0-9._-]{0,62}) #([0-9]{1,12})\]`)
	// "FS-1234": a Jira issue key.
	jiraKeyRE = lazyRegexp(`\b([A-Z][A-Z0-9_]{1,9}-[1-9][0-9]{0,8})\b`)
	// "INC0012345": a ServiceNow task number (incident, request, change …).
	snowRE = lazyRegexp(`\b((?:INC|RITM|REQ|CHG|PRB|SCTASK|TASK|CS)[0-9]{7,10})\b`)
	// "Ref:MSG0012345": the watermark ServiceNow puts in the body.
	snowMarkRE = lazyRegexp(`Ref:MSG[0-9]{4,}`)
	// "[Ticket#2026120210000012]": Znuny/OTRS and Zammad (hook "Ticket#").
	ticketHookRE = lazyRegexp(`(?i)\[(ticket#[0-9]{4,20})\]`)
	// "I 2312 045", "I2312-045": a TOPdesk incident number.
	topdeskRE = lazyRegexp(`\b([IC] ?[0-9]{4}[ -][0-9]{3,5})\b`)
)

// TicketRef is what a message tells about the ticket system that sent it.
type TicketRef struct {
	// System is one of the Ticket* names.
	System string
	// Ref is the system's own reference for the conversation, written as it
	// goes in a subject ("[rt.uio.no #4711]", "FS-1234", "INC0012345",
	// "[Ticket#2026120210000012]"); "" when the message names none.
	Ref string
}

// DetectTicket reports whether a ticket system sent p, by the header
// fields and subject habits of Request Tracker, Jira, ServiceNow, TOPdesk,
// Znuny/OTRS and Zammad, and the system's reference for the conversation.
func DetectTicket(p *kp.Parsed) (TicketRef, bool) {
	if p == nil {
		return TicketRef{}, false
	}
	subject := head(p.Subject, 500)
	keys := ticketKeysOf(p)
	switch {
	// Header names in canonical form: the lookup then needs no copy.
	case has(p, "Rt-Ticket") || has(p, "X-Rt-Loop-Prevention") || has(p, "Rt-Originator") ||
		(has(p, "Managed-By") && strings.HasPrefix(strings.ToLower(get(p, "Managed-By")), "rt ")):
		return TicketRef{System: TicketRT, Ref: rtRef(p, subject)}, true
	case has(p, "X-Jira-Fingerprint") || strings.HasPrefix(subject, "[JIRA]") && (autoSubmitted(p) || hasFold(p.From.Addr, "jira")):
		return TicketRef{System: TicketJira, Ref: jiraKeyRE().FindString(strings.TrimPrefix(subject, "[JIRA]"))}, true
	case keys.otrs:
		return TicketRef{System: TicketOTRS, Ref: hookRef(subject)}, true
	case keys.zammad:
		return TicketRef{System: TicketZammad, Ref: hookRef(subject)}, true
	case hasDigitRun(subject, 7) && snowRE().MatchString(subject) && (keys.servicenow || snowMarkRE().MatchString(head(p.Text, 20000))):
		return TicketRef{System: TicketServiceNow, Ref: snowRE().FindString(subject)}, true
	case (has(p, "X-Mailer") && hasFold(get(p, "X-Mailer"), "topdesk")) || hasFold(p.MessageID, "topdesk"):
		return TicketRef{System: TicketTOPdesk, Ref: topdeskRE().FindString(subject)}, true
	}
	return TicketRef{}, false
}

// ticketKeys says which ticket systems' own header field families a
// message carries, from one pass over its field names.
type ticketKeys struct{ otrs, zammad, servicenow bool }

func ticketKeysOf(p *kp.Parsed) (k ticketKeys) {
	for name := range p.Header {
		if len(name) < 3 || name[0] != 'X' || name[1] != '-' {
			continue
		}
		switch {
		case strings.HasPrefix(name, "X-Otrs-") || strings.HasPrefix(name, "X-Znuny-"):
			k.otrs = true
		case strings.HasPrefix(name, "X-Zammad-"):
			k.zammad = true
		case strings.HasPrefix(name, "X-Servicenow-"):
			k.servicenow = true
		}
	}
	return k
}

// hasDigitRun reports whether s holds n digits in a row.
func hasDigitRun(s string, n int) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			if run++; run >= n {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

// hasFold reports whether s contains the lower-case ASCII word sub,
// ignoring case, without copying s.
func hasFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// TicketHeaders reports header fields only a ticket system writes (RT,
// Jira, Znuny/OTRS, Zammad, ServiceNow, TOPdesk). Unlike DetectTicket it
// ignores subject and body, which a person answering such mail quotes.
func TicketHeaders(p *kp.Parsed) bool {
	if p == nil {
		return false
	}
	return has(p, "Rt-Ticket") || has(p, "X-Rt-Loop-Prevention") || has(p, "Rt-Originator") ||
		has(p, "X-Jira-Fingerprint") || hasPrefixKey(p, "X-Otrs-") || hasPrefixKey(p, "X-Znuny-") ||
		hasPrefixKey(p, "X-Zammad-") || hasPrefixKey(p, "X-Servicenow-") ||
		strings.Contains(strings.ToLower(get(p, "X-Mailer")), "topdesk")
}

// SubjectTicketRef finds a ticket reference in the subject of mail from a
// configured ticket system that DetectTicket did not recognise: an RT-style
// "[name #123]", a "[Ticket#…]", a ServiceNow number or a Jira key, in that
// order. Our own case tag (tagPrefix) is never taken for one.
func SubjectTicketRef(subject, tagPrefix string) string {
	if tagPrefix == "" {
		tagPrefix = DefaultTagPrefix
	}
	subject = head(subject, 500)
	for _, m := range rtTagRE().FindAllStringSubmatch(subject, -1) {
		if !strings.EqualFold(m[1], tagPrefix) {
			return m[0]
		}
	}
	if r := hookRef(subject); r != "" {
		return r
	}
	if r := snowRE().FindString(subject); r != "" {
		return r
	}
	for _, k := range jiraKeyRE().FindAllString(subject, -1) {
		if !strings.HasPrefix(strings.ToUpper(k), strings.ToUpper(tagPrefix)+"-") {
			return k
		}
	}
	return ""
}

// rtRef is RT's subject tag: from the RT-Ticket field ("rt.uio.no #4711"),
// else the first subject tag whose name is the one in
// X-RT-Loop-Prevention, else the first RT-style subject tag.
func rtRef(p *kp.Parsed, subject string) string {
	if v := strings.TrimSpace(get(p, "Rt-Ticket")); v != "" {
		if name, num, ok := strings.Cut(v, "#"); ok {
			name, num = strings.TrimSpace(name), strings.TrimSpace(num)
			if name != "" && num != "" && isDigits(num) {
				return "[" + name + " #" + num + "]"
			}
		}
	}
	tags := rtTagRE().FindAllStringSubmatch(subject, -1)
	if loop := strings.TrimSpace(get(p, "X-Rt-Loop-Prevention")); loop != "" {
		for _, m := range tags {
			if strings.EqualFold(m[1], loop) {
				return m[0]
			}
		}
	}
	if len(tags) > 0 {
		return tags[0][0]
	}
	return ""
}

func hookRef(subject string) string {
	if m := ticketHookRE().FindStringSubmatch(subject); m != nil {
		return m[0]
	}
	return ""
}

// hasPrefixKey reports a header field whose canonical name starts with
// prefix ("X-Otrs-").
func hasPrefixKey(p *kp.Parsed, prefix string) bool {
	for k := range p.Header {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// TicketRefKey is kp.TicketRefKey.
func TicketRefKey(ref string) string { return kp.TicketRefKey(ref) }

// TicketRefKeys returns the index keys of every ticket reference that
// could stand in subject, in the forms SubjectTicketRef and DetectTicket
// know, without duplicates. Most are no reference of ours; the index lookup
// decides.
func TicketRefKeys(subject string) []string {
	subject = head(subject, 500)
	var keys []string
	add := func(r string) {
		k := TicketRefKey(r)
		for _, have := range keys {
			if have == k {
				return
			}
		}
		if k != "" && len(keys) < 16 {
			keys = append(keys, k)
		}
	}
	for _, m := range rtTagRE().FindAllString(subject, -1) {
		add(m)
	}
	for _, m := range ticketHookRE().FindAllString(subject, -1) {
		add(m)
	}
	for _, m := range snowRE().FindAllString(subject, -1) {
		add(m)
	}
	for _, m := range jiraKeyRE().FindAllString(subject, -1) {
		add(m)
	}
	for _, m := range topdeskRE().FindAllString(subject, -1) {
		add(m)
	}
	return keys
}

// WithCounterpartRefs puts refs into a subject right after its leading
// case tag ("[INT#42] subject" gives "[INT#42] [rt.uio.no #4711]
// subject"), leaving out any the subject already holds.
func WithCounterpartRefs(subject, tag string, refs []string) string {
	var add []string
	lower := strings.ToLower(subject)
	for _, r := range refs {
		if r != "" && !strings.Contains(lower, strings.ToLower(r)) {
			add = append(add, r)
		}
	}
	if len(add) == 0 {
		return subject
	}
	rest, ok := strings.CutPrefix(subject, tag)
	if !ok {
		return strings.Join(add, " ") + " " + subject
	}
	return tag + " " + strings.Join(add, " ") + " " + strings.TrimLeft(rest, " ")
}

// AddCounterpartRef records ref from a counterpart on c, keyed by team
// when the counterpart works for one, else by address. A counterpart has
// one current reference: a new one replaces the old. It reports whether c
// changed.
func AddCounterpartRef(c *kp.Case, ref kp.CounterpartRef) bool {
	if ref.Ref == "" || (ref.Team == "" && ref.Addr == "") {
		return false
	}
	ref.Addr = kp.NormAddr(ref.Addr)
	for i, have := range c.Counterparts {
		if !sameCounterpart(have, ref) {
			continue
		}
		if TicketRefKey(have.Ref) == TicketRefKey(ref.Ref) {
			return false
		}
		c.Counterparts[i] = ref
		return true
	}
	c.Counterparts = append(c.Counterparts, ref)
	return true
}

func sameCounterpart(a, b kp.CounterpartRef) bool {
	if a.Team != "" || b.Team != "" {
		return strings.EqualFold(a.Team, b.Team)
	}
	return kp.SameAddr(a.Addr, b.Addr)
}

// CounterpartIndex is implemented by an Index that can find the cases on
// which a counterpart reference was recorded (by TicketRefKey).
type CounterpartIndex interface {
	CounterpartCases(key string) []kp.CaseID
}

// counterpartMatch is the counterpart-ref rule: a ticket reference in the
// subject that a case recorded for the counterpart that sent the message.
// The sender is that counterpart when it is the address that gave the
// reference, or when the reference was given for a team and the sender is
// in SenderTeams.
func counterpartMatch(in ThreadInput, idx Index) (match, bool) {
	ci, ok := idx.(CounterpartIndex)
	p := in.Parsed
	if !ok || p == nil || (in.Sender == "" && len(in.SenderTeams) == 0) {
		return match{}, false
	}
	for _, key := range TicketRefKeys(p.Subject) {
		for _, id := range ci.CounterpartCases(key) {
			c, ok := idx.Case(id)
			if !ok || c == nil {
				continue
			}
			for _, r := range c.Counterparts {
				if TicketRefKey(r.Ref) != key {
					continue
				}
				if kp.SameAddr(r.Addr, in.Sender) && r.Team == "" || r.Team != "" && containsFoldStr(in.SenderTeams, r.Team) {
					return match{id: id, c: c}, true
				}
			}
		}
	}
	return match{}, false
}

func containsFoldStr(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
