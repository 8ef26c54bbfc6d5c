package gateway

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/mailbox/mailmsg"
	"kontaktpunkt/routing"
	"kontaktpunkt/store"
)

// outbox queues the mail one transaction causes. It remembers the first
// error so callers can queue several mails and check once.
type outbox struct {
	g      *Gateway
	tx     *store.Tx
	now    time.Time
	quiet  bool
	queued int
	err    error
	remind time.Time // set by [remind:…] in the message being applied
	caseID kp.CaseID // for log lines
	// attach are the attachments of the message being applied, passed on
	// by the mail that relays it; omitted names those too large to.
	attach  []mailmsg.Attached
	omitted []string
	// events are lines to record on the case once the mail is queued
	// (recipients left out, limits reached).
	events []string
	// noAck holds back the acknowledgement of a case staff opened by
	// forwarding (contact.ack_forwarded: false).
	noAck bool
	// own is the own text of the message being applied, when found
	// with its parse.
	own ownText
}

// noReply matches local parts that never read mail.
var noReply = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(no-?reply|do-?not-?reply|donotreply|noreply[-+.].*|mailer-daemon|postmaster|bounces?([-+.].*)?|notifications?)$`)
})

// IsNoReply reports whether automatic mail to addr would go unread.
func IsNoReply(addr string) bool {
	local, _, _ := strings.Cut(kp.NormAddr(addr), "@")
	return noReply().MatchString(local)
}

// caseData is the data every template sees.
type caseData struct {
	Tag, Subject, ContactName string
	Case                      *kp.Case
	Requester                 kp.Address
	Team, Assignee            string
	Author                    string
	Text, Quote               string
	Created, Since            string
	Level                     int
	ResolveOn                 string
	ReopenDays                int
	Applied, Refused          []string
	Failed, Reason            string
	Bounces                   []kp.BounceDetail // why each failed recipient failed
	Suppressed                bool
	SuppressDays              int
	Limit                     int
	Message, MessageFrom      string
	Cases                     []digestLine
	Suggest                   *suggestLine // new-case notification only
}

type digestLine struct {
	Tag, Subject string
	Status       kp.Status
	Overdue      bool
	Kind         string // the follow-up folded into a digest
}

// caseData is the template data of mail this outbox may send about msg;
// an archive import sends none, so it skips the work.
func (o *outbox) caseData(c *kp.Case, msg *kp.Message) *caseData {
	if o.quiet {
		return &caseData{Case: c}
	}
	text := msg.Text
	if routing.FoldsQuotes(msg) {
		text = o.ownText(msg.Text)
	}
	return o.g.caseDataText(c, msg, text)
}

// ownText is the templates' quote trimmer's own text of text, as found
// with the parse when it was.
func (o *outbox) ownText(text string) string {
	if own, ok := o.own.of(text); ok {
		return own
	}
	return o.g.Templates.Trimmer().Split(text).Own
}

func (g *Gateway) caseData(c *kp.Case, msg *kp.Message) *caseData {
	var text string
	if msg != nil {
		text = g.mailText(msg)
	}
	return g.caseDataText(c, msg, text)
}

// caseDataText is caseData with the text mail about msg carries
// (mailText), when msg is not nil.
func (g *Gateway) caseDataText(c *kp.Case, msg *kp.Message, text string) *caseData {
	d := &caseData{
		Tag: c.ID.Tag(g.Config.Contact.TagPrefix), Subject: c.Subject, ContactName: g.contactName(),
		Case: c, Requester: kp.Address{Name: kp.CleanName(c.Requester.Name), Addr: c.Requester.Addr}, Team: c.Team, Assignee: c.Assignee,
		Created:    g.fmtTime(c.Created),
		ReopenDays: int(time.Duration(g.Config.Contact.ReopenWithin) / (24 * time.Hour)),
	}
	if msg != nil {
		d.Author = msg.From.String() // String cleans the display name
		d.Text = text
		d.Quote = quote(d.Text)
	}
	return d
}

func (g *Gateway) contactName() string {
	if g.Config.Contact.Name != "" {
		return g.Config.Contact.Name
	}
	return g.Config.Contact.Address
}

func (g *Gateway) fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	loc := time.Local
	if g.Clock != nil && g.Clock.Loc != nil {
		loc = g.Clock.Loc
	}
	return t.In(loc).Format("2006-01-02 15:04")
}

// quote indents text for inclusion in a mail, shortened to a readable length.
func quote(text string) string {
	const maxLines = 60
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > maxLines {
		lines = append(lines[:maxLines], "[…]")
	}
	for i, l := range lines {
		lines[i] = "> " + l
	}
	return strings.Join(lines, "\n")
}

// automatic reports whether mail of this kind is withheld from suppressed
// addresses. Relays and notes carry a person's words and are not automatic.
func automatic(kind string) bool {
	return kind != "relay" && kind != "note"
}

// relayLimitFactor multiplies the per-recipient limits for relays and
// notes: a person's words pass, but two machines answering each other
// without Auto-Submitted are stopped.
const relayLimitFactor = 5

// send renders and queues one mail on case c. Recipients that must not get
// it (ourselves, no-reply addresses, suppressed or over their limit) are
// dropped; with none left nothing is queued.
func (o *outbox) send(c *kp.Case, kind string, to, cc []kp.Address, autoSubmitted string, data *caseData) {
	if o.err != nil || o.quiet {
		return
	}
	o.caseID = c.ID
	to, cc = o.filter(kind, to), o.filter(kind, cc)
	to, cc = o.capRecipients(kind, to, cc)
	if len(to) == 0 && len(cc) > 0 {
		to, cc = cc, nil
	}
	if len(to) > 0 && kind == "relay" && !o.relayAllowed(c) {
		to, cc = nil, nil
	}
	o.flushEvents(c)
	if len(to) == 0 {
		_ = o.tx.AddCounter("outbound_withheld:"+kind, 1)
		return
	}
	body, err := o.g.Templates.Render(kind, data)
	if err != nil {
		o.err = err
		return
	}
	var att []mailmsg.Attached
	if carriesAttachments(kind) {
		att = o.attach
		body += omittedNote(o.omitted, o.g.Templates.Lang())
	}
	o.err = o.g.queueMail(o.tx, c, kind, to, cc, autoSubmitted, body, att, o.now)
	if o.err == nil {
		o.queued++
	}
}

// maxRelayAttachments caps the attachment bytes one relayed mail carries;
// larger ones stay in the store and the mail names them.
const maxRelayAttachments = 20 << 20

// The store may keep the attachments a queued mail passes on as a
// reference to the raw bytes of the message they came from: it reads
// them again as the mail was given them.
func init() { store.SetAttachmentReader(relayAttachments) }

// relayAttachments returns the attachments a mail passes on from the
// message raw.
func relayAttachments(raw []byte) []kp.OutAttachment {
	list, _ := mailmsg.Attachments(raw, maxRelayAttachments)
	out := make([]kp.OutAttachment, 0, len(list))
	for _, a := range list {
		out = append(out, kp.OutAttachment{Name: a.Name, ContentType: a.ContentType, Data: a.Data})
	}
	return out
}

// carriesAttachments says which mail passes on the attachments of the
// message that caused it: the words of participants and staff, not an
// outsider's (untrusted, and not a participant's to share).
func carriesAttachments(kind string) bool {
	return kind == "relay" || kind == "notify" || kind == "note" || kind == "assign"
}

// omittedNote names attachments too large to pass on.
func omittedNote(names []string, lang string) string {
	if len(names) == 0 {
		return ""
	}
	if lang == "en" {
		return "\nAttachments too large to pass on by mail (kept on the case): " + strings.Join(names, ", ") + "\n"
	}
	return "\nVedlegg for store til å sendes videre på e-post (lagret på saken): " + strings.Join(names, ", ") + "\n"
}

// filter removes duplicates and addresses automatic mail must not reach.
func (o *outbox) filter(kind string, list []kp.Address) []kp.Address {
	var out []kp.Address
	seen := map[string]bool{}
	limits := o.g.Config.Limits
	for _, a := range list {
		n := kp.NormAddr(a.Addr)
		if n == "" || seen[n] || o.g.isUs(n) || IsNoReply(n) {
			continue
		}
		seen[n] = true
		if err := mailmsg.CheckAddress(n); err != nil {
			// Another person's mail may name an address no mail can be
			// sent to; it must not stop the mail to everyone else.
			o.events = append(o.events, fmt.Sprintf("%s: %s left out: %v", kind, n, err))
			continue
		}
		internal := o.g.Dir.IsStaff(n) || o.g.Dir.IsResponsible(n) || kp.SameAddr(n, o.g.Dir.Manager)
		if automatic(kind) && !internal {
			if s, err := o.tx.Suppressed(n, o.now); err != nil {
				o.err = err
				return nil
			} else if s {
				continue
			}
		}
		// The contact point's own people always get their assignments and
		// notices; everyone else is limited per hour and day.
		if !internal && (limits.PerHour > 0 || limits.PerDay > 0) {
			factor := 1
			if !automatic(kind) {
				factor = relayLimitFactor
			}
			hour, err := o.tx.CountSent(n, o.now.Add(-time.Hour))
			if err != nil {
				o.err = err
				return nil
			}
			day, err := o.tx.CountSent(n, o.now.Add(-24*time.Hour))
			if err != nil {
				o.err = err
				return nil
			}
			if (limits.PerHour > 0 && hour >= limits.PerHour*factor) || (limits.PerDay > 0 && day >= limits.PerDay*factor) {
				_ = o.tx.AddCounter("outbound_rate_limited", 1)
				o.g.Log.Warn("mail withheld: recipient over its limit", "case", uint64(o.caseID), "kind", kind)
				continue
			}
			if err := o.tx.RecordSent(n, o.now); err != nil {
				o.err = err
				return nil
			}
		}
		out = append(out, kp.Address{Name: a.Name, Addr: n})
	}
	return out
}

// queueMail composes a mail and puts it in the outbox and on the case's
// timeline, in the caller's transaction.
func (g *Gateway) queueMail(tx *store.Tx, c *kp.Case, kind string, to, cc []kp.Address, autoSubmitted, body string, att []mailmsg.Attached, now time.Time) error {
	contact := kp.Address{Name: g.Config.Contact.Name, Addr: g.Config.Contact.Address}
	replyTo := contact
	if g.TokenSecret != nil {
		replyTo.Addr = routing.TokenAddress(contact.Addr, routing.ReplyToken(g.TokenSecret, c.ID))
	}
	_, domain, _ := strings.Cut(contact.Addr, "@")
	id := mailmsg.NewMessageID(domain)
	subject := c.ID.Tag(g.Config.Contact.TagPrefix) + " " + c.Subject
	if kind == "note" || kind == "outsider" {
		// Internal mail says so in its subject, and a reply to it keeps
		// the tag, so the reply stays internal too.
		subject = c.ID.Tag(g.Config.Contact.TagPrefix) + " [note] " + c.Subject
	}
	subject = routing.WithCounterpartRefs(subject, c.ID.Tag(g.Config.Contact.TagPrefix), g.counterpartRefsFor(c, to, cc))
	var refs []string
	if c.ThreadID != "" {
		refs = append(refs, c.ThreadID)
	}
	if c.LastMessageID != "" && c.LastMessageID != c.ThreadID {
		refs = append(refs, c.LastMessageID)
	}
	headers := map[string]string{
		kp.LoopHeader:         kp.NormAddr(contact.Addr),
		"X-Kontaktpunkt-Case": strconv.FormatUint(uint64(c.ID), 10),
		// Lets recipients filter (an Outlook rule for reminders, say).
		"X-Kontaktpunkt-Kind": kind,
	}
	// Every mail we send asks Exchange not to answer it automatically;
	// relays too, so two ticket systems cannot talk to each other forever.
	headers["X-Auto-Response-Suppress"] = "All"
	from := g.headerFrom(contact, replyTo, to, cc)
	// The mail is decided here and rendered outside the transaction
	// (render, when it is sent): the spec fixes everything its bytes
	// depend on.
	spec := &kp.OutSpec{
		From: from, To: to, Cc: cc, ReplyTo: replyTo, Subject: subject, Text: body,
		MessageID: id, InReplyTo: c.LastMessageID, References: refs,
		AutoSubmitted: autoSubmitted, Headers: headers, Date: now,
	}
	var listed []kp.Attachment
	size := int64(len(body))
	for _, a := range att {
		listed = append(listed, kp.Attachment{Name: a.Name, ContentType: a.ContentType, Size: int64(len(a.Data))})
		spec.Attachments = append(spec.Attachments, kp.OutAttachment{Name: a.Name, ContentType: a.ContentType, Data: a.Data})
		size += int64(len(a.Data))
	}
	var rcpts []string
	for _, a := range append(append([]kp.Address{}, to...), cc...) {
		rcpts = append(rcpts, a.Addr)
	}
	ob := &kp.Outbound{
		Case: c.ID, Kind: kind, MessageID: id, From: kp.NormAddr(contact.Addr), To: rcpts,
		Subject: subject, Spec: spec, State: kp.OutQueued, NextTry: now, Queued: now,
	}
	// Size is that of the text and attachments: the encoded bytes do not
	// exist yet. The copy on the case is stored first: the queued spec
	// then refers to it for the text and addresses instead of holding
	// them twice.
	m := &kp.Message{
		ID: id, Case: c.ID, Direction: kp.Out, Class: kp.ClassHuman, Kind: kind, From: from,
		To: to, Cc: cc, Subject: subject, Date: now, Received: now, Text: body, Size: size,
		Attachments: listed,
	}
	if err := tx.PutMessage(m, nil); err != nil {
		return fmt.Errorf("recording %s mail for case %d: %w", kind, c.ID, err)
	}
	if err := tx.Enqueue(ob); err != nil {
		return fmt.Errorf("queueing %s mail for case %d: %w", kind, c.ID, err)
	}
	c.Messages++
	return tx.AddCounter("outbound_queued:"+kind, 1)
}

// receipt tells a staff sender what their subject commands did.
func (o *outbox) receipt(c *kp.Case, to kp.Address, fx commandEffects) {
	d := o.g.caseData(c, nil)
	d.Applied, d.Refused = fx.receiptApplied, fx.receiptRefused
	o.send(c, "receipt", []kp.Address{to}, nil, "auto-replied", d)
}

// unauthenticatedReceipt tells the real owner of a staff or team address
// that mail in their name was not authenticated and so did nothing: its
// tags were refused and, when notRelayed, its text was not passed on. At
// most one such receipt an hour goes to one address, so forged mail cannot
// use it to flood them.
func (o *outbox) unauthenticatedReceipt(c *kp.Case, to kp.Address, tags []string, notRelayed bool) {
	key := "unauth-receipt:" + kp.NormAddr(to.Addr)
	n, err := o.tx.CountSentIn(key, o.now.Add(-time.Hour), o.now)
	if err != nil || n > 0 {
		o.err = err
		return
	}
	if o.err = o.tx.RecordSent(key, o.now); o.err != nil {
		return
	}
	var fx commandEffects
	for _, t := range tags {
		fx.refuse(o.g, "unauthenticated", t)
	}
	if notRelayed {
		fx.refuse(o.g, "unauthenticated-held")
	}
	if len(fx.refused) == 0 {
		return
	}
	o.receipt(c, to, fx)
}

// escalate mails the escalation of c at level to those who handle it: level
// 1 the team's escalation contact and the staff lead, level 2 the manager.
func (o *outbox) escalate(c *kp.Case, level int) {
	d := o.g.caseData(c, nil)
	d.Level = level
	since := c.AssignedAt
	if c.LastInbound.After(since) {
		since = c.LastInbound
	}
	d.Since = o.g.fmtTime(since)
	o.send(c, "escalate", o.g.escalationAddrs(c, level), nil, "auto-generated", d)
}

// bounce records a delivery failure reported by a bounce on case c:
// permanently failed recipients are suppressed and staff are told.
func (o *outbox) bounce(c *kp.Case, p *kp.Parsed) error {
	if !p.BouncePermanent || len(p.BounceRecipients) == 0 || o.quiet {
		// An archive import must not suppress addresses for old bounces.
		return nil
	}
	var failed []string
	var bounces []kp.BounceDetail
	for _, r := range p.BounceRecipients {
		if o.g.Dir.IsStaff(r) || o.g.isUs(r) {
			// A bounce of mail to staff would make the notice bounce
			// again; record it and leave it to the operator.
			continue
		}
		until := o.now.Add(time.Duration(o.g.Config.Limits.SuppressFor))
		if err := o.tx.Suppress(r, until); err != nil {
			return err
		}
		failed = append(failed, kp.NormAddr(r))
		if i := slices.IndexFunc(p.BounceDetails, func(d kp.BounceDetail) bool { return kp.SameAddr(d.Recipient, r) }); i >= 0 {
			bounces = append(bounces, p.BounceDetails[i])
		}
	}
	if len(failed) == 0 {
		return nil
	}
	d := o.g.caseData(c, nil)
	d.Failed = strings.Join(failed, ", ")
	d.Bounces = bounces
	d.Reason = "bounce"
	if s := p.Subject; s != "" {
		d.Reason = s
	}
	d.Suppressed = true
	d.SuppressDays = int(time.Duration(o.g.Config.Limits.SuppressFor) / (24 * time.Hour))
	o.send(c, "delivery-failure", o.g.staffAddrs(""), nil, "auto-generated", d)
	return o.err
}

// staffAddrs lists the contact point's staff, except the one who wrote.
func (g *Gateway) staffAddrs(except string) []kp.Address {
	var out []kp.Address
	for _, p := range g.Dir.Staff {
		if !kp.SameAddr(p.Addr, except) {
			out = append(out, kp.Address{Name: p.Name, Addr: p.Addr})
		}
	}
	return out
}

// assigneeAddrs lists who handles c: the assignee, else the team's members.
func (g *Gateway) assigneeAddrs(c *kp.Case, except string) []kp.Address {
	var out []kp.Address
	if c.Assignee != "" {
		if !kp.SameAddr(c.Assignee, except) {
			out = append(out, kp.Address{Name: g.Dir.Name(c.Assignee), Addr: c.Assignee})
		}
		return out
	}
	if t, ok := g.Dir.Team(c.Team); ok {
		for _, m := range t.Members {
			if !kp.SameAddr(m, except) {
				out = append(out, kp.Address{Name: g.Dir.Name(m), Addr: m})
			}
		}
	}
	return out
}

// requesterAddrs lists the requester (To) and the Cc participants.
func (g *Gateway) requesterAddrs(c *kp.Case, except string) (to, cc []kp.Address) {
	if !kp.SameAddr(c.Requester.Addr, except) {
		to = append(to, c.Requester)
	}
	for _, p := range c.Participants {
		if !kp.SameAddr(p, except) {
			cc = append(cc, kp.Address{Addr: p})
		}
	}
	return to, cc
}

// escalationAddrs lists who hears of an escalation at level.
func (g *Gateway) escalationAddrs(c *kp.Case, level int) []kp.Address {
	var out []kp.Address
	add := func(addr string) {
		if addr != "" {
			out = append(out, kp.Address{Name: g.Dir.Name(addr), Addr: addr})
		}
	}
	if level >= 2 {
		add(g.Dir.Manager)
		if g.Dir.Manager == "" {
			add(g.Dir.Lead)
		}
		return out
	}
	if t, ok := g.Dir.Team(c.Team); ok {
		add(t.Escalation)
	}
	add(g.Dir.Lead)
	if len(out) == 0 {
		out = g.staffAddrs("")
	}
	return out
}

// queueLoose queues an automatic mail that belongs to no case (the daily
// digest). It is in the outbox and the Message-ID index, not on a timeline.
func (g *Gateway) queueLoose(tx *store.Tx, kind string, to []kp.Address, subject, body string, now time.Time) error {
	contact := kp.Address{Name: g.Config.Contact.Name, Addr: g.Config.Contact.Address}
	_, domain, _ := strings.Cut(contact.Addr, "@")
	id := mailmsg.NewMessageID(domain)
	spec := &kp.OutSpec{
		From: contact, To: to, ReplyTo: contact, Subject: subject, Text: body, MessageID: id,
		AutoSubmitted: "auto-generated", Date: now,
		Headers: map[string]string{kp.LoopHeader: kp.NormAddr(contact.Addr), "X-Auto-Response-Suppress": "All"},
	}
	var rcpts []string
	for _, a := range to {
		rcpts = append(rcpts, a.Addr)
	}
	ob := &kp.Outbound{Kind: kind, MessageID: id, From: kp.NormAddr(contact.Addr), To: rcpts, Subject: subject,
		Spec: spec, State: kp.OutQueued, NextTry: now, Queued: now}
	if err := tx.Enqueue(ob); err != nil {
		return fmt.Errorf("queueing %s mail: %w", kind, err)
	}
	return tx.AddCounter("outbound_queued:"+kind, 1)
}

// assign mails the assignee (or team) of c the original request, so the
// assignment stands on its own whoever assigned it.
func (o *outbox) assign(c *kp.Case, except string) { o.assignWith(c, except, "", "") }

// assignWith is assign with a message from the one who assigned (author)
// to the assignee at the top of the mail.
func (o *outbox) assignWith(c *kp.Case, except, author, message string) {
	d := o.g.caseData(c, nil)
	d.Message, d.MessageFrom = message, author
	saved, savedOmitted := o.attach, o.omitted
	if c.ThreadID != "" {
		if m, err := o.tx.Message(c.ThreadID); err == nil {
			d.Author, d.Text, d.Quote = m.From.String(), m.Text, quote(m.Text)
			o.attach, o.omitted = nil, nil
			if len(m.Attachments) > 0 {
				if raw, err := o.tx.Raw(m.ID); err == nil {
					o.attach, o.omitted = mailmsg.Attachments(raw, maxRelayAttachments)
				}
			}
		}
	}
	o.send(c, "assign", o.g.assigneeAddrs(c, except), nil, "auto-generated", d)
	o.attach, o.omitted = saved, savedOmitted
}

// render returns the bytes of outbound message o as they go on the wire:
// its Raw bytes when it was queued with them, else its Spec composed. The
// same spec gives the same bytes, however often and whenever it is
// rendered. An error wraps mailmsg.ErrCompose: the spec can never become a
// message.
func render(o *kp.Outbound) ([]byte, error) {
	if o.Spec == nil {
		if o.Raw == nil {
			return nil, fmt.Errorf("outbound %d: nothing to send: %w", o.ID, mailmsg.ErrCompose)
		}
		return o.Raw, nil
	}
	s := o.Spec
	m := mailmsg.OutMail{
		From: s.From, To: s.To, Cc: s.Cc, ReplyTo: s.ReplyTo, Subject: s.Subject, Text: s.Text,
		MessageID: s.MessageID, InReplyTo: s.InReplyTo, References: s.References,
		AutoSubmitted: s.AutoSubmitted, Headers: s.Headers, Date: s.Date,
	}
	for _, a := range s.Attachments {
		m.Attachments = append(m.Attachments, mailmsg.Attached{Name: a.Name, ContentType: a.ContentType, Data: a.Data})
	}
	raw, err := mailmsg.Compose(m)
	if err != nil {
		return nil, fmt.Errorf("composing %s mail %d: %w", o.Kind, o.ID, err)
	}
	return raw, nil
}
