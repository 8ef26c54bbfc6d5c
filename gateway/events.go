package gateway

import (
	kp "kontaktpunkt"
	"kontaktpunkt/mailbox/mailmsg"
	"kontaktpunkt/routing"
	"kontaktpunkt/store"
	"time"
)

// KindEvent is the kind of a line the gateway records on a case's
// timeline: something it did or left undone that staff should see
// (a recipient left out, a limit reached). Events are never mailed.
const KindEvent = "event"

// KindNotAuthenticated is the kind of an inbound message from a staff or
// team address that was not authenticated, on a case where the sender is
// no participant: stored for staff, never relayed.
const KindNotAuthenticated = routing.KindNotAuthenticated

// caseEvent records text as an event on case c, in the caller's
// transaction.
func (g *Gateway) caseEvent(tx *store.Tx, c *kp.Case, text string, now time.Time) error {
	m := &kp.Message{
		ID: mailmsg.NewMessageID("event.invalid"), Case: c.ID, Direction: kp.Out, Class: kp.ClassHuman,
		MatchedBy: kp.MatchNone, Kind: KindEvent, From: kp.Address{Name: g.Config.Contact.Name, Addr: g.Config.Contact.Address},
		Subject: text, Text: text, Date: now, Received: now,
	}
	if err := tx.PutMessage(m, nil); err != nil {
		return err
	}
	c.Messages++
	return nil
}

// flushEvents records the events gathered while preparing mail on c.
func (o *outbox) flushEvents(c *kp.Case) {
	for _, e := range o.events {
		if o.err != nil {
			return
		}
		o.err = o.g.caseEvent(o.tx, c, e, o.now)
	}
	o.events = o.events[:0]
}
