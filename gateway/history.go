package gateway

import (
	"strconv"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/mailbox/mailmsg"
	"kontaktpunkt/store"
)

// changeRecord is what recordChanges compares: a case's status and
// escalation level before a change.
type changeRecord struct {
	status kp.Status
	level  int
}

func recordOf(c *kp.Case) changeRecord { return changeRecord{c.Status, c.Escalation} }

// recordChanges records on c's timeline, in the caller's transaction, a
// status change and a rise of the escalation level since before, dated
// at. Reports count resolutions, reopenings and escalations from these.
func (g *Gateway) recordChanges(tx *store.Tx, c *kp.Case, before changeRecord, at time.Time) error {
	if c.Status != before.status && c.Status != "" {
		if err := g.historyRecord(tx, c, kp.KindStatus, "status "+string(c.Status), at); err != nil {
			return err
		}
	}
	if c.Escalation > before.level {
		if err := g.historyRecord(tx, c, kp.KindEscalation, "level "+strconv.Itoa(c.Escalation), at); err != nil {
			return err
		}
	}
	return nil
}

func (g *Gateway) historyRecord(tx *store.Tx, c *kp.Case, kind, text string, at time.Time) error {
	m := &kp.Message{
		ID: mailmsg.NewMessageID("event.invalid"), Case: c.ID, Direction: kp.Out, Class: kp.ClassHuman,
		MatchedBy: kp.MatchNone, Kind: kind, From: kp.Address{Name: g.Config.Contact.Name, Addr: g.Config.Contact.Address},
		Subject: text, Text: text, Date: at, Received: at,
	}
	if err := tx.PutMessage(m, nil); err != nil {
		return err
	}
	c.Messages++
	return nil
}
