package gateway

import (
	"net/mail"

	kp "kontaktpunkt"
	"kontaktpunkt/mailbox/mailmsg"
	"kontaktpunkt/routing"
)

// forwarded is a new case opened by staff forwarding someone else's mail.
type forwarded struct {
	// requester is the original sender; by is the staff member.
	requester kp.Address
	by        string
}

// forwardedOnBehalf recognises staff (already authenticated as for
// commands) forwarding someone's mail to the contact address as a new
// case: a forward prefix with a forwarded header block in the text, or a
// message attached as message/rfc822. It returns cmds with a [requester:]
// for the original sender, the way staff would write it themselves, so
// the case opens for that person and the staff member gets a receipt. A
// [requester:] staff wrote wins; a forward of our own mail or the staff
// member's own is no forward on someone's behalf.
func (g *Gateway) forwardedOnBehalf(pi *parsedItem, cmds []routing.Command, sender string) ([]routing.Command, *forwarded) {
	for _, c := range cmds {
		if c.Verb == "requester" {
			return cmds, nil
		}
	}
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
		return cmds, nil
	}
	arg := (&mail.Address{Name: orig.Name, Address: kp.NormAddr(orig.Addr)}).String()
	if _, why := g.commandAddress(arg); why != "" {
		return cmds, nil
	}
	cmds = append(cmds, routing.Command{Verb: "requester", Arg: arg, Raw: "(forwarded mail from " + kp.NormAddr(orig.Addr) + ")"})
	return cmds, &forwarded{requester: orig, by: kp.NormAddr(sender)}
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
// behalf, and holds the acknowledgement back when contact.ack_forwarded
// is off.
func (g *Gateway) markForwarded(c *kp.Case, out *outbox, fw *forwarded) {
	if fw == nil {
		return
	}
	c.OpenedBy = fw.by
	out.noAck = !g.Config.AckForwarded()
}
