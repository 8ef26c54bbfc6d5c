package routing

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	kp "kontaktpunkt"
)

// This file holds the signs of machine mail beyond the classic headers:
// spam verdicts, robot senders, foreign loop headers, DMARC and TLS
// reports, and localised out-of-office and non-delivery subjects.

// isSpam reports a spam filter's verdict in the top header fields. Only
// the first value of each field counts: our own filter adds its field on
// top, and a verdict further down was made on the way to someone else.
func isSpam(p *kp.Parsed, scl int) bool {
	// SpamAssassin: "X-Spam-Flag: YES", "X-Spam-Status: Yes, score=7.1
	// required=5.0 …"; rspamd: "X-Spam: Yes".
	if firstWordIs(get(p, "X-Spam-Flag"), "yes") || firstWordIs(get(p, "X-Spam-Status"), "yes") ||
		firstWordIs(get(p, "X-Spam"), "yes") || firstWordIs(get(p, "X-Spam"), "true") {
		return true
	}
	if scl > 0 {
		// -1 marks mail from inside the organisation; 0-9 is the verdict.
		if n, err := strconv.Atoi(get(p, "X-Ms-Exchange-Organization-Scl")); err == nil && n >= scl {
			return true
		}
	}
	return false
}

// firstWordIs reports whether v starts with the word w, ignoring case,
// without copying v.
func firstWordIs(v, w string) bool {
	if len(v) < len(w) || !strings.EqualFold(v[:len(w)], w) {
		return false
	}
	if len(v) == len(w) {
		return true
	}
	r, _ := utf8.DecodeRuneInString(v[len(w):])
	return !isWordRune(r)
}

// isRobot reports mail from programs that are not auto-replies, bounces or
// list mail by the headers: robot senders, an X-Loop naming another
// system, DMARC aggregate reports and SMTP TLS reports. It is bulk.
func isRobot(p *kp.Parsed, own []string, subject string) bool {
	// The Sender field counts only for list robots: a web form or a
	// calendar sends a person's words from a no-reply Sender.
	if robotLocal(localPart(p.From.Addr), true) || robotLocal(localPart(p.Sender.Addr), false) {
		return true
	}
	for _, v := range p.Header["X-Loop"] {
		if v = strings.TrimSpace(v); v != "" && !ownLoop(v, own) && !loopNamesRecipient(p, v) {
			return true
		}
	}
	return isTLSReport(p) || isDMARCReport(p, subject)
}

// robotLocal reports local parts of programs: list servers and bounce
// addresses, and with noReply also the postmaster and addresses nobody
// reads.
func robotLocal(l string, noReply bool) bool {
	if l == "" {
		return false
	}
	if i := strings.IndexByte(l, '+'); i > 0 {
		l = l[:i] // VERP and tagged addresses: "bounces+123"
	}
	switch l {
	case "majordomo", "listserv", "listproc", "lyris", "mailman", "sympa", "ezmlm", "smartlist",
		"mailer-daemon", "mailer_daemon", "mailerdaemon":
		return true
	case "postmaster", "post_master", "post-master":
		return noReply
	}
	// A list's request address is its robot. Its owner address is not:
	// people (moderators) write from it.
	if strings.HasSuffix(l, "-request") {
		return true
	}
	n := strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' {
			return -1
		}
		return r
	}, l)
	if strings.Contains(n, "bounce") {
		return true
	}
	return noReply && (strings.Contains(n, "noreply") || strings.Contains(n, "donotreply") || strings.Contains(n, "dontreply"))
}

// ownLoop reports whether an X-Loop value names one of our own addresses
// or a plus-address of one.
func ownLoop(v string, own []string) bool {
	v = strings.ToLower(v)
	for _, a := range own {
		a = kp.NormAddr(a)
		l, d, ok := strings.Cut(a, "@")
		if !ok || l == "" {
			continue
		}
		if strings.Contains(v, a) {
			return true
		}
		if i := strings.Index(v, l+"+"); i >= 0 && strings.Contains(v[i:], "@"+d) {
			return true
		}
	}
	return false
}

// loopNamesRecipient reports whether an X-Loop value names a recipient of
// the message: a forwarding rule of the mailbox the message was sent to
// (an old contact address, a colleague's redirect) stamps its own address
// on a person's mail on the way to us. A ticket system or list names its
// own address, which is the sender's.
func loopNamesRecipient(p *kp.Parsed, v string) bool {
	v = strings.ToLower(v)
	named := func(addr string) bool {
		a := kp.NormAddr(strings.Trim(strings.TrimSpace(addr), "<>"))
		return a != "" && strings.Contains(a, "@") && strings.Contains(v, a)
	}
	for _, list := range [][]kp.Address{p.To, p.Cc} {
		for _, a := range list {
			if named(a.Addr) {
				return true
			}
		}
	}
	for _, k := range []string{"Delivered-To", "X-Original-To"} {
		for _, a := range p.Header[k] {
			if named(a) {
				return true
			}
		}
	}
	return false
}

// isTLSReport reports an SMTP TLS report (RFC 8460): its header fields or
// a multipart/report of type tlsrpt.
func isTLSReport(p *kp.Parsed) bool {
	return has(p, "Tls-Report-Domain") || has(p, "Tls-Report-Submitter") ||
		strings.EqualFold(p.ReportType, "tlsrpt")
}

// isDMARCReport reports a DMARC aggregate report (RFC 7489 section 7.2.1):
// the subject it prescribes, or a zip, gzip or XML file named
// "receiver!policy-domain!begin!end".
func isDMARCReport(p *kp.Parsed, subject string) bool {
	if strings.HasPrefix(subject, "report domain:") && strings.Contains(subject, "submitter:") {
		return true
	}
	for _, a := range p.Attachments {
		if strings.Count(a.Name, "!") < 3 {
			continue
		}
		name, ct := strings.ToLower(a.Name), strings.ToLower(a.ContentType)
		if strings.HasSuffix(name, ".xml.gz") || strings.HasSuffix(name, ".zip") || strings.HasSuffix(name, ".xml") ||
			strings.Contains(ct, "zip") || strings.Contains(ct, "gzip") {
			return true
		}
	}
	return false
}

// phrase is a localised subject mail systems write at the start of their
// out-of-office replies or non-delivery reports.
type phrase struct {
	text string // lower-case
	// colon: "<text>: anything" is machine-written. Without it, a person
	// might write the phrase with a colon too ("Fravær: rapport i FS"),
	// and only "<text>: <a reply prefix or case tag>…" counts.
	colon bool
}

// oofPhrases are localised out-of-office subjects. Any of them alone as
// the subject, or followed by a colon and the subject being answered, is
// an auto-reply; those with colon set also with any text after the colon.
var oofPhrases = []phrase{
	{"out of office", true},
	{"out of the office", true},
	{"out of office reply", true},
	{"automatic reply", true},
	{"automatisk svar", true},
	{"automatiskt svar", true},
	{"automatisk besked", true},
	{"autosvar", true},
	{"fraværende", true},
	{"fravær", false},
	{"fraværsmelding", true},
	{"ikke på kontoret", true},
	{"ikke tilstede", false},
	{"abwesend", true},
	{"abwesenheitsnotiz", true},
	{"abwesenheit", false},
	{"frånvarande", true},
	{"frånvaro", false},
	{"frånvaromeddelande", true},
	{"borte fra kontoret", true},
	{"ferie", false},
	{"auto", false}, // Sieve vacation's default, "Auto: <subject>" (RFC 5230)
	{"poissa", false},
	{"afwezig", false},
}

// ndrPhrases are localised non-delivery subjects, read the same way.
var ndrPhrases = []phrase{
	{"undeliverable", true},
	{"undelivered", false},
	{"kan ikke leveres", true},
	{"kunne ikke leveres", true},
	{"ikke levert", false},
	{"ikke leveret", false},
	{"kan ikke leveres til", false},
	{"leveringsfeil", false},
	{"returnert e-post", false},
	{"meldingen ble ikke levert", true},
	{"olevererbart", true},
	{"ej levererbart", true},
	{"kunde inte levereras", true},
	{"unzustellbar", true},
	{"nicht zustellbar", true},
}

// localisedSubject reports whether the subject is one of the phrases alone
// ("Fraværende", "Kan ikke leveres."), or a phrase and a colon followed by
// anything when the phrase only machines write that way, else by a reply
// prefix or a case tag ("Fravær: SV: [INT#4] Tilgang"). A phrase must end
// on a word boundary: "Fraværsregistrering i FS" is no "Fravær".
func localisedSubject(subject string, phrases []phrase) bool {
	s := strings.ToLower(subject) // no copy when it already is
	for _, ph := range phrases {
		if !strings.HasPrefix(s, ph.text) {
			continue
		}
		rest := strings.TrimLeft(s[len(ph.text):], " \t")
		if strings.TrimFunc(rest, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSpace(r) }) == "" {
			return true
		}
		if !strings.HasPrefix(rest, ":") {
			continue
		}
		after := strings.TrimSpace(rest[1:])
		if ph.colon || after == "" || replyPrefixLen(after) > 0 || startsWithCaseTag(after) {
			return true
		}
	}
	return false
}

// startsWithCaseTag reports a bracketed case tag of any prefix at the start
// of s: "[INT#4]", "[ABC #12]".
func startsWithCaseTag(s string) bool {
	if !strings.HasPrefix(s, "[") {
		return false
	}
	end := strings.IndexByte(s, ']')
	if end < 0 || end > 40 {
		return false
	}
	word, num, ok := strings.Cut(s[1:end], "#")
	word, num = strings.TrimSpace(word), strings.TrimSpace(num)
	if !ok || word == "" || num == "" || !isASCIILetter(word[0]) {
		return false
	}
	return isDigits(num)
}

// skipLeadingTags returns subject after at most three leading bracket
// groups that are a ticket system's reference ("[rt.uio.no #4711]",
// "[Ticket#2026120210000012]") or one word a mail system adds
// ("[EXTERNAL]", "[EKSTERN]", "[JIRA]"). Our own case tag and commands are
// not skipped.
func skipLeadingTags(subject string) string {
	s := subject
	for range 3 {
		if !strings.HasPrefix(s, "[") {
			break
		}
		end := strings.IndexByte(s, ']')
		if end < 0 || end > 80 {
			break
		}
		group := s[:end+1]
		word := strings.ToLower(group[1:end])
		_, verb := verbArg(word)
		if !rtTagRE().MatchString(group) && !ticketHookRE().MatchString(group) && (word == "" || !isLetters(word) || verb) {
			break
		}
		s = strings.TrimLeft(s[end+1:], " \t")
	}
	return s
}

// hasWordPrefixFold is hasPrefixFold where the prefix must end on a word
// boundary: "Autosvar: x" matches "autosvar", "Autosvaret fra FS" does not.
func hasWordPrefixFold(s string, prefixes []string) bool {
	if len(s) > 96 {
		s = s[:96]
	}
	s = strings.ToLower(s)
	for _, p := range prefixes {
		if !strings.HasPrefix(s, p) {
			continue
		}
		r, _ := utf8.DecodeRuneInString(s[len(p):])
		if len(s) == len(p) || !isWordRune(r) || !isWordRune(lastRune(p)) {
			return true
		}
	}
	return false
}

func lastRune(s string) rune {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r
}

// ClassifyFor judges a message by who wrote it before how it looks. known
// is true when the sender is staff, a team member or escalation contact, a
// team's ticket system, or a participant of the case the message matched.
// Such a sender's mail is a person's answer unless it carries an
// auto-reply, bounce, loop or spam sign: bulk signs alone (Precedence:
// bulk, list headers, a robot-like address, X-Loop) do not make it bulk,
// since ticket systems such as Request Tracker stamp them on every answer.
func ClassifyFor(p *kp.Parsed, class kp.Class, known bool) kp.Class {
	if known && class == kp.ClassBulk {
		return kp.ClassHuman
	}
	return class
}
