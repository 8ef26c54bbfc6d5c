package routing

import (
	"net/textproto"
	"strings"

	kp "kontaktpunkt"
)

// ClassifyOptions is what classification takes from the configuration.
// The zero value classifies by the message alone.
type ClassifyOptions struct {
	// SpamSCL: an Exchange spam confidence level
	// (X-MS-Exchange-Organization-SCL) at or above this is a spam verdict.
	// Zero leaves the header unread: only an Exchange organisation that
	// stamps it itself can trust it.
	SpamSCL int
	// Own are the contact point's own addresses. An X-Loop naming one of
	// them (or a plus-address of one) was added on our side, by a sieve or
	// procmail rule delivering to our mailbox, and says nothing about the
	// sender.
	Own []string
}

// Classify is ClassifyWith with the zero options.
func Classify(p *kp.Parsed) kp.Class { return ClassifyWith(p, ClassifyOptions{}) }

// ClassifyWith says what kind of sender wrote a parsed message
// (docs/behaviour.md, Reading a message). It is pure: the same Parsed and options always give the same
// Class. It judges how the message looks; ClassifyFor then lets who wrote
// it overrule a bulk look.
//
// The rules are tried in order, and the first that matches decides:
//
//  1. loop: the message carries our own loop header.
//  2. bounce: a delivery report (multipart/report with delivery-status, or
//     a feedback report), X-Failed-Recipients, a mailer-daemon sender, a
//     postmaster sender with a null or mailer-daemon Return-Path, a bounce
//     subject only mail systems write, or from a machine sender (postmaster,
//     no-reply, null or mailer-daemon Return-Path, Auto-Submitted) a subject
//     a person might also write, a known bounce body or failed recipients.
//     A localised non-delivery subject standing alone or echoing our
//     subject ("Ikke levert: SV: [INT#4] …") is a bounce too.
//  3. spam: a spam filter's verdict (X-Spam-Flag: YES, X-Spam-Status: Yes,
//     X-Spam: yes, or an Exchange SCL at or above SpamSCL). A bounce comes
//     first because filters often flag the delivery reports about our own
//     mail, and those name a message of ours.
//  4. auto-reply: Auto-Submitted other than "no", X-Autoreply,
//     X-Autorespond, Precedence auto_reply, read receipts, Exchange and
//     other out-of-office subjects, including localised ones standing
//     alone or echoing our subject ("Fravær: [INT#4] …").
//  5. bulk: Precedence bulk/junk/list, List-Id, List-Unsubscribe or other
//     RFC 2369 list headers; robot senders (majordomo, listserv,
//     postmaster, no-reply and bounce addresses, list request addresses); an X-Loop naming another system (not us, and not a
//     recipient of the message, which a forwarding rule names); DMARC
//     aggregate and SMTP TLS reports.
//  6. human: everything else, including a person forwarding a bounce or an
//     attached message (the signs above are looked for at the top level
//     only, and subject patterns only at the start of the subject and as
//     whole words, so "Fwd: Undeliverable: …" or "Fraværsregistrering i
//     FS" written by a person stays human).
//
// Two kinds of report get a class of their own choosing:
//   - Feedback reports (ARF, report-type=feedback-report) are bounce: like
//     a DSN, they are a mail system's report about a message we sent, carry
//     that message for threading by the bounce rule, and must never open a
//     case or be answered.
//   - Read receipts (report-type=disposition-notification, RFC 8098) are
//     auto-reply: a client answered automatically on a person's behalf; the
//     message was delivered, so it must not count as a failed delivery.
func ClassifyWith(p *kp.Parsed, o ClassifyOptions) kp.Class {
	if p == nil {
		return kp.ClassHuman
	}
	if has(p, kp.LoopHeader) {
		return kp.ClassLoop
	}
	// The subject, lower-cased once for every subject rule below.
	subject := strings.ToLower(head(strings.TrimSpace(p.Subject), 300))
	if isBounce(p, subject) {
		return kp.ClassBounce
	}
	if isSpam(p, o.SpamSCL) {
		return kp.ClassSpam
	}
	if isAutoReply(p, subject) {
		return kp.ClassAutoReply
	}
	if isBulk(p) || isRobot(p, o.Own, subject) {
		return kp.ClassBulk
	}
	return kp.ClassHuman
}

// get returns the first value of a header field, trimmed.
func get(p *kp.Parsed, key string) string {
	if v := p.Header[textproto.CanonicalMIMEHeaderKey(key)]; len(v) > 0 {
		return strings.TrimSpace(v[0])
	}
	return ""
}

func has(p *kp.Parsed, key string) bool {
	return len(p.Header[textproto.CanonicalMIMEHeaderKey(key)]) > 0
}

// token returns the lower-case first token of a header value
// ("auto-replied; owner-email=…" gives "auto-replied").
func token(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexAny(v, " ;(\t"); i >= 0 {
		v = v[:i]
	}
	return strings.ToLower(strings.Trim(v, `"'`))
}

func localPart(addr string) string {
	addr = strings.ToLower(strings.TrimSpace(addr))
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[:i]
	}
	return addr
}

// nullReturnPath reports whether the message has a Return-Path header
// naming the null sender "<>" (RFC 5321 section 4.5.5: notifications).
func nullReturnPath(p *kp.Parsed) bool {
	if !has(p, "Return-Path") {
		return false
	}
	v := strings.TrimSpace(strings.Trim(strings.TrimSpace(get(p, "Return-Path")), "<>"))
	return v == "" || v == "@"
}

func daemonLocal(l string) bool {
	switch l {
	case "mailer-daemon", "mailerdaemon", "mail-daemon", "maildaemon", "mailer_daemon", "mailerd":
		return true
	}
	return false
}

func postmasterLocal(l string) bool {
	switch l {
	case "postmaster", "post_master", "post-master":
		return true
	}
	return false
}

// noReplyLocal reports local parts of addresses nobody reads.
func noReplyLocal(l string) bool {
	switch strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' {
			return -1
		}
		return r
	}, l) {
	case "noreply", "donotreply", "dontreply", "bounce", "bounces", "mailerdaemon":
		return true
	}
	return false
}

// daemonReturnPath reports a Return-Path of a mailer-daemon.
func daemonReturnPath(p *kp.Parsed) bool {
	v := strings.Trim(get(p, "Return-Path"), "<> ")
	return daemonLocal(localPart(v))
}

// Bounce subjects, matched case-insensitively at the start of the subject.
// These are written by mail systems only.
var bounceSubjects = []string{
	"undelivered mail returned to sender", // Postfix
	"delivery status notification",        // Gmail, Exchange, Sendmail
	"mail delivery failed",                // Exim
	"undeliverable:",                      // Exchange, Office 365
	"undeliverable mail",
	"undeliverable message",
	"undelivered mail",
	"undelivered message",
	"returned mail:", // Sendmail
	"failure notice", // qmail
	"delivery notification: delivery has failed",
	"mail system error - returned mail",
	"warning: could not send message for past",
	"email bounce notification",
	"complaint about message from", // Hotmail's JMRP feedback report
	"kan ikke leveres:",            // Norwegian and Danish Exchange
	"ej levererbart:",              // Swedish Exchange
	"kunde inte levereras:",
	"unzustellbar:",          // German Exchange
	"non remis :",            // French Exchange
	"non remis:",             //
	"onbestelbaar:",          // Dutch Exchange
	"no se puede entregar:",  // Spanish Exchange
	"impossibile recapitare", // Italian Exchange
	"ei voida toimittaa:",    // Finnish Exchange
	"メールエラー通知",               // Japanese carriers ("mail error notice")
}

// Bounce subjects a person might also write about an integration ("Delivery
// failed from FS to Canvas"); they count only from a machine sender.
var weakBounceSubjects = []string{
	"undeliverable",
	"undelivered",
	"returned mail",
	"delivery failure",
	"delivery failed",
	"delivery has failed",
	"delivery problem",
	"delivery status",
	"failure delivery",
	"mail delivery",
	"message delivery",
	"message not delivered",
	"message could not be delivered",
	"mail could not be delivered",
	"could not send message",
	"warning: could not send",
	"nondeliverable",
	"non-deliverable",
	"non delivery",
	"non-delivery",
	"nondelivery",
	"permanent delivery failure",
	"mail system error",
	"mail failure",
	"ikke levert",
	"kunne ikke leveres",
	"不達", // Japanese ("undelivered")
}

// Phrases that open the text of well-known non-standard bounces (Postfix,
// qmail, Exim, Sendmail, Exchange, Domino, Yahoo, Gmail and more).
var bounceBodies = []string{
	"this is the mail system at host",
	"this is the mail delivery agent at",
	"i'm sorry to have to inform you that your message could not",
	"this message was created automatically by mail delivery software",
	"hi. this is the qmail-send program",
	"this is the qmail-send program",
	"the original message was received at",
	"the following addresses had permanent fatal errors",
	"the following addresses had delivery problems",
	"delivery to the following recipient failed permanently",
	"delivery to the following recipients failed",
	"delivery to the following recipient(s) failed",
	"delivery has failed to these recipients or groups",
	"your message did not reach some or all of the intended recipients",
	"your message could not be delivered",
	"your message cannot be delivered",
	"your message was not delivered",
	"unable to deliver message to the following",
	"unable to deliver your message",
	"sorry, we were unable to deliver your message",
	"could not be delivered to one or more recipients",
	"message could not be delivered",
	"was not delivered to",
	"could not be delivered to",
	"the following message to <",
	"was undeliverable",
	"undeliverable message",
	"delivery failure",
	"permanent error",
	"your mail could not be delivered",
	"failed to deliver",
	"message delivery failed",
	"this is an automatically generated delivery status notification",
	"a message that you sent could not be delivered",
	"a message you sent could not be delivered",
	"the message you sent to",
	"mail delivery failed",
	"undelivered mail returned",
	"this is a permanent error",
	"smtp error from remote mail server",
	"the mail server could not deliver",
	"returned mail: see transcript",
	"delivery status notification",
	"user unknown",
	"no such user",
	"mailbox unavailable",
	"mailbox not found",
	"recipient address rejected",
}

// Out-of-office subjects written only by machines, matched at the start.
var autoSubjects = []string{
	"automatic reply",
	"automatisk svar",
	"automatiskt svar",
	"autosvar",
	"auto-svar",
	"autoreply",
	"auto-reply",
	"auto reply",
	"auto response",
	"auto-response",
	"autoresponse",
	"automatic response",
	"automatische antwort",
	"automatisch antwoord",
	"réponse automatique",
	"reponse automatique",
	"respuesta automática",
	"respuesta automatica",
	"risposta automatica",
	"automaattinen vastaus",
	"vacation reply",
	"away from my mail",
	"not read:", // Outlook "not read" notification
	"return receipt",
}

// Out-of-office subjects a person might also write ("Out of office next
// week"); they count only with a sign that a machine sent the message.
var oofSubjects = []string{
	"out of office",
	"out of the office",
	"ooo:",
	"fraværende",
	"fravær:",
	"ikke på kontoret",
	"abwesend",
	"abwesenheit",
	"frånvarande",
	"frånvaro",
}

// hasPrefixFold reports whether s starts with one of the lower-case
// prefixes, ignoring case.
func hasPrefixFold(s string, prefixes []string) bool {
	if len(s) > 96 {
		s = s[:96]
	}
	s = strings.ToLower(s)
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func containsFold(s string, subs []string) bool {
	s = strings.ToLower(s)
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// isBounce reports a bounce; subject is p's subject, trimmed and
// lower-cased.
func isBounce(p *kp.Parsed, subject string) bool {
	ct := strings.ToLower(p.ContentType)
	rt := strings.ToLower(p.ReportType)
	if ct == "multipart/report" && rt != "disposition-notification" && rt != "tlsrpt" {
		// delivery-status, global-delivery-status, feedback-report and
		// report types we do not know: all reports about sent mail.
		return true
	}
	if ct == "message/delivery-status" || ct == "message/feedback-report" {
		return true
	}
	if has(p, "X-Failed-Recipients") {
		return true
	}
	from := localPart(p.From.Addr)
	sender := localPart(p.Sender.Addr)
	if daemonLocal(from) || daemonLocal(sender) {
		return true
	}
	name := strings.ToLower(p.From.Name)
	if strings.Contains(name, "mail delivery") || strings.Contains(name, "mailer-daemon") || strings.Contains(name, "mailer daemon") {
		return true
	}
	if hasPrefixFold(subject, bounceSubjects) || localisedSubject(subject, ndrPhrases) {
		return true
	}
	postmaster := postmasterLocal(from) || postmasterLocal(sender)
	if postmaster && (nullReturnPath(p) || daemonReturnPath(p)) {
		return true
	}
	machineSender := postmaster || nullReturnPath(p) || daemonReturnPath(p) || p.From.Addr == "" ||
		noReplyLocal(from) || autoSubmitted(p)
	if !machineSender {
		return false
	}
	if hasPrefixFold(subject, weakBounceSubjects) {
		return true
	}
	// From a machine: a known bounce text at the start of the body, or
	// failed recipients found by the parser (a delivery-status part).
	text := strings.ToLower(head(p.Text, 1500))
	if containsFold(text, bounceBodies) || len(p.BounceRecipients) > 0 {
		return true
	}
	// Amazon SES delivery, bounce and complaint notifications over SNS are
	// JSON; like a DSN they report on mail we sent.
	if strings.Contains(text, `"notificationtype"`) {
		return true
	}
	return false
}

// head returns about the first n bytes of s.
func head(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func autoSubmitted(p *kp.Parsed) bool {
	v := token(get(p, "Auto-Submitted"))
	return v != "" && v != "no"
}

// isAutoReply reports an auto-reply; subject is p's subject, trimmed and
// lower-cased.
func isAutoReply(p *kp.Parsed, subject string) bool {
	if autoSubmitted(p) {
		return true
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Autogenerated", "X-Auto-Reply"} {
		if has(p, k) && token(get(p, k)) != "no" {
			return true
		}
	}
	if token(get(p, "Precedence")) == "auto_reply" {
		return true
	}
	ct := strings.ToLower(p.ContentType)
	if ct == "multipart/report" && strings.EqualFold(p.ReportType, "disposition-notification") ||
		ct == "message/disposition-notification" {
		return true
	}
	// Ticket systems put their tag in front ("[rt.uio.no #4711]
	// AutoReply: …"), mail systems a warning ("[EXTERNAL] Automatic
	// reply: …").
	subject = skipLeadingTags(subject)
	if hasWordPrefixFold(subject, autoSubjects) || localisedSubject(subject, oofPhrases) {
		return true
	}
	if hasWordPrefixFold(subject, oofSubjects) {
		// Exchange's out-of-office and rule replies carry
		// X-Auto-Response-Suppress (to stop loops) together with an
		// Exchange generator header; other systems answer a message, so
		// the reply refers to it. A person announcing an absence writes a
		// new message without either.
		if has(p, "X-Auto-Response-Suppress") || has(p, "X-Ms-Exchange-Generated-Message-Source") ||
			has(p, "X-Ms-Exchange-Inbox-Rules-Loop") || len(p.InReplyTo) > 0 || nullReturnPath(p) {
			return true
		}
	}
	// Exchange's own generated mail: a generator header and loop
	// suppression together. X-Auto-Response-Suppress alone is common on
	// mail people send from Outlook and says nothing.
	if has(p, "X-Ms-Exchange-Generated-Message-Source") && has(p, "X-Auto-Response-Suppress") {
		return true
	}
	// A null Return-Path alone is not enough: archived mail carries
	// "Return-Path: <>" on people's messages (mimekit content-length.mbox).
	return false
}

func isBulk(p *kp.Parsed) bool {
	switch token(get(p, "Precedence")) {
	case "bulk", "junk", "list":
		return true
	}
	// RFC 2369 and 2919 list headers; list software's own notices carry
	// only some of them (fml: List-Subscribe).
	for _, k := range []string{"List-Id", "List-Unsubscribe", "List-Subscribe", "List-Post", "List-Help", "List-Owner"} {
		if has(p, k) {
			return true
		}
	}
	return false
}
