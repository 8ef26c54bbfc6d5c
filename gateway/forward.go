package gateway

import (
	kp "kontaktpunkt"
	"kontaktpunkt/mailbox/mailmsg"
	"kontaktpunkt/routing"
)

// forwardOf recognises staff forwarding someone's mail to the contact
// address as a new case: a forward prefix with a forwarded header block in
// the text, or a message attached as message/rfc822. It returns the
// original sender, for whom routing.Decide opens the case the way staff
// would with [requester:], or the zero address: a forward of our own mail
// or the staff member's own is no forward on someone's behalf, nor one
// whose sender a [requester:] could not name.
func (g *Gateway) forwardOf(pi *parsedItem, sender string) kp.Address {
	p := pi.parsed
	prefix := g.Config.Contact.TagPrefix
	var orig kp.Address
	ok := false
	forward := routing.HasForwardPrefix(p.Subject, prefix)
	if forward {
		orig, ok = routing.ForwardedFrom(p.Text)
	}
	if !ok && hasAttachedMessage(p) {
		// An attached mail is a forward only when the subject says so or
		// is the attached mail's own: staff sending in, say, a phishing
		// mail as evidence do not open a case for its sender.
		var subject string
		if orig, subject, ok = mailmsg.AttachedSender(pi.Raw); ok && !forward {
			ok = routing.NormalSubject(subject, prefix) != "" && routing.NormalSubject(subject, prefix) == routing.NormalSubject(p.Subject, prefix)
		}
	}
	if !ok || g.isUs(orig.Addr) || kp.SameAddr(orig.Addr, sender) {
		return kp.Address{}
	}
	if _, why := g.commandAddress(routing.RequesterArg(orig)); why != "" {
		return kp.Address{}
	}
	return orig
}

// hasAttachedMessage reports whether parsing saw a message/rfc822 part.
func hasAttachedMessage(p *kp.Parsed) bool {
	for _, a := range p.Attachments {
		if a.ContentType == "message/rfc822" || a.ContentType == "message/global" {
			return true
		}
	}
	return false
}

// markForwarded records on a new case who opened it on the requester's
// behalf (routing.Decision.OpenedBy), and holds the acknowledgement back
// when contact.ack_forwarded is off.
func (g *Gateway) markForwarded(c *kp.Case, out *outbox, openedBy string) {
	if openedBy == "" {
		return
	}
	c.OpenedBy = openedBy
	out.noAck = !g.Config.AckForwarded()
}
