package gateway

import (
	"fmt"
	"strings"

	kp "kontaktpunkt"
	"kontaktpunkt/mailbox/mailmsg"
	"kontaktpunkt/store"
)

// OpenFromMessage opens a new case from a stored message that belongs to
// no case (unfiled, quarantined or spam), as if it had just arrived as a
// new request: the routing rules assign it, the sender gets the
// acknowledgement and staff the notification. It returns the new case.
func (g *Gateway) OpenFromMessage(id string, actor kp.Address) (kp.CaseID, error) {
	id = strings.Trim(strings.TrimSpace(id), "<>")
	var cid kp.CaseID
	err := g.Store.Update(func(tx *store.Tx) error {
		m, err := tx.Message(id)
		if err != nil {
			return err
		}
		if m.Case != 0 {
			return fmt.Errorf("%w: message %q is already on %s", ErrRepair, id, m.Case.Tag(g.Config.Contact.TagPrefix))
		}
		if m.Direction != kp.In {
			return fmt.Errorf("%w: message %q is not inbound mail", ErrRepair, id)
		}
		p := g.storedParsed(tx, m)
		if p.From.Addr == "" {
			return fmt.Errorf("%w: message %q has no sender address to open a case for; file it into a case instead", ErrRepair, id)
		}
		now := g.now()
		if cid, err = tx.NextCaseID(); err != nil {
			return err
		}
		c, _ := g.newCase(cid, p, m.Subject, now)
		c.ThreadID = m.ID
		m.Case, m.Kind, m.MatchedBy = cid, "request", kp.MatchNone
		if err := tx.UpdateMessage(m); err != nil {
			return err
		}
		c.Messages++
		out := &outbox{g: g, tx: tx, now: now, quiet: g.Quiet}
		if err := g.openCase(out, c, m, p, nil, nil, false, nil, nil); err != nil {
			return err
		}
		text := fmt.Sprintf("Opened from message <%s> by %s.", id, actor.Addr)
		if m.Quarantine != "" {
			text = fmt.Sprintf("Opened from quarantined message <%s> (%s) by %s.", id, m.Quarantine, actor.Addr)
		}
		if err := g.recordRepair(tx, c, actor, "opened a case from a message", text, now); err != nil {
			return err
		}
		g.schedule(c, nil, out.remind)
		if out.err != nil {
			return out.err
		}
		if err := tx.PutCase(c); err != nil {
			return err
		}
		return g.indexThread(tx, c, p, true)
	})
	if err == nil {
		g.wake()
	}
	return cid, err
}

// storedParsed re-reads a stored message's raw bytes for what opening a
// case needs (recipients, references, headers for the routing rules),
// falling back to the stored record when the raw bytes are gone or do
// not parse.
func (g *Gateway) storedParsed(tx *store.Tx, m *kp.Message) *kp.Parsed {
	if raw, err := tx.Raw(m.ID); err == nil && len(raw) > 0 {
		if p, err := mailmsg.Parse(raw); err == nil && p != nil {
			p.MessageID = m.ID
			return p
		}
	}
	return &kp.Parsed{MessageID: m.ID, Subject: m.Subject, From: m.From, To: m.To, Cc: m.Cc,
		Date: m.Date, Text: m.Text, Attachments: m.Attachments}
}

// LinkCases records two cases as related (`[link:N]`) with a line on
// each case's timeline saying who did it.
func (g *Gateway) LinkCases(a, b kp.CaseID, actor kp.Address) error {
	err := g.Store.Update(func(tx *store.Tx) error {
		if err := linkCases(tx, a, b); err != nil {
			return err
		}
		prefix := g.Config.Contact.TagPrefix
		now := g.now()
		for _, p := range [][2]kp.CaseID{{a, b}, {b, a}} {
			c, err := tx.Case(p[0])
			if err != nil {
				return err
			}
			text := fmt.Sprintf("%s linked with %s by %s.", p[0].Tag(prefix), p[1].Tag(prefix), actor.Addr)
			if err := g.recordRepair(tx, c, actor, "linked with "+p[1].Tag(prefix), text, now); err != nil {
				return err
			}
			c.Updated = now
			if err := tx.PutCase(c); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}
