package gateway

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/mailbox/mailmsg"
	"kontaktpunkt/routing"
	"kontaktpunkt/store"
)

// ErrRepair is returned by MergeCases and MoveMessage for a request that
// cannot be carried out (a case into itself, a case already merged).
var ErrRepair = errors.New("cannot repair")

// applyRepairs carries out the [merge:…] and [link:…] of a staff mail on
// case c (already stored) and sends the staff member a receipt.
func (g *Gateway) applyRepairs(tx *store.Tx, out *outbox, c *kp.Case, from kp.Address, repairs []routing.Command) error {
	if len(repairs) == 0 {
		return nil
	}
	var fx commandEffects
	prefix := g.Config.Contact.TagPrefix
	for _, r := range repairs {
		n, _ := strconv.ParseUint(r.Arg, 10, 64)
		other := kp.CaseID(n)
		var err error
		switch r.Verb {
		case "merge":
			err = g.mergeCases(tx, c.ID, other, from, out.now)
			if err == nil {
				fx.apply(g, "merged", c.ID.Tag(prefix), other.Tag(prefix))
			}
		case "link":
			err = linkCases(tx, c.ID, other)
			if err == nil {
				fx.apply(g, "linked", c.ID.Tag(prefix), other.Tag(prefix))
			}
		}
		switch {
		case errors.Is(err, ErrRepair) || errors.Is(err, store.ErrNotFound):
			fx.refuseText(r.Raw+": "+err.Error(), r.Raw+": "+err.Error())
		case err != nil:
			return err
		}
	}
	if cur, err := tx.Case(c.ID); err == nil {
		out.receipt(cur, from, fx)
	}
	return nil
}

// MergeCases folds case from into case into (`kontaktpunkt case merge`):
// messages, participants, links and follow-up move over; from keeps a
// pointer so that mail matching it goes to into from now on.
func (g *Gateway) MergeCases(from, into kp.CaseID, actor kp.Address) error {
	err := g.Store.Update(func(tx *store.Tx) error {
		return g.mergeCases(tx, from, into, actor, g.now())
	})
	if err == nil {
		g.wake()
	}
	return err
}

// mergeCases is MergeCases inside a transaction.
func (g *Gateway) mergeCases(tx *store.Tx, from, into kp.CaseID, actor kp.Address, now time.Time) error {
	if from == into {
		return fmt.Errorf("%w: a case cannot be merged into itself", ErrRepair)
	}
	cf, err := tx.Case(from)
	if err != nil {
		return err
	}
	ci, err := tx.Case(into)
	if err != nil {
		return err
	}
	prefix := g.Config.Contact.TagPrefix
	if cf.MergedInto != 0 {
		return fmt.Errorf("%w: %s was already merged into %s", ErrRepair, from.Tag(prefix), cf.MergedInto.Tag(prefix))
	}
	if ci.MergedInto != 0 {
		return fmt.Errorf("%w: %s was merged into %s; merge into that one", ErrRepair, into.Tag(prefix), ci.MergedInto.Tag(prefix))
	}
	msgs, err := tx.CaseMessages(from)
	if err != nil {
		return err
	}
	for i := range msgs {
		m := &msgs[i]
		m.Case = into
		if err := tx.UpdateMessage(m); err != nil {
			return fmt.Errorf("moving message %q: %w", m.ID, err)
		}
	}
	prevNext := ci.Next
	ci.Messages += len(msgs)
	if !kp.SameAddr(cf.Requester.Addr, ci.Requester.Addr) && !g.Dir.IsStaff(cf.Requester.Addr) && !g.Dir.IsResponsible(cf.Requester.Addr) {
		ci.Participants = appendAddr(ci.Participants, cf.Requester.Addr)
	}
	for _, p := range cf.Participants {
		if !kp.SameAddr(p, ci.Requester.Addr) {
			ci.Participants = appendAddr(ci.Participants, p)
		}
	}
	for _, l := range cf.Links {
		if l != into && !slices.Contains(ci.Links, l) {
			ci.Links = append(ci.Links, l)
		}
	}
	// The follow-up: the surviving case owes what either owed. A live
	// case folded into a resolved one brings it back to life.
	if ci.Status == kp.StatusResolved && cf.Status != kp.StatusResolved {
		ci.Status, ci.ResolvedAt, ci.WaitingSince = cf.Status, time.Time{}, cf.WaitingSince
	}
	if !cf.LastInbound.IsZero() && (ci.LastInbound.IsZero() || cf.LastInbound.Before(ci.LastInbound)) && cf.LastInbound.After(ci.LastStaffReply) {
		ci.LastInbound = cf.LastInbound
	}
	ci.Updated = now
	text := fmt.Sprintf("%s (%s) was merged into this case by %s: %d messages moved.", from.Tag(prefix), cf.Subject, actor.Addr, len(msgs))
	if err := g.recordRepair(tx, ci, actor, "merged "+from.Tag(prefix)+" into "+into.Tag(prefix), text, now); err != nil {
		return err
	}
	g.schedule(ci, prevNext, time.Time{})
	if err := tx.PutCase(ci); err != nil {
		return err
	}
	if err := tx.IndexSubject(routing.NormalSubject(cf.Subject, prefix), into); err != nil {
		return err
	}
	cf.MergedInto, cf.Messages, cf.Next, cf.Updated = into, 0, nil, now
	if cf.Status != kp.StatusResolved {
		cf.Status, cf.ResolvedAt = kp.StatusResolved, now
	}
	return tx.PutCase(cf)
}

// recordRepair stores a line on the case's timeline saying what was
// repaired and by whom, as an operator's command is stored.
func (g *Gateway) recordRepair(tx *store.Tx, c *kp.Case, actor kp.Address, subject, text string, now time.Time) error {
	m := &kp.Message{
		ID: mailmsg.NewMessageID("operator.invalid"), Case: c.ID, Direction: kp.In, Class: kp.ClassHuman,
		MatchedBy: kp.MatchNone, Kind: "command", From: actor, Subject: subject,
		Date: now, Received: now, Text: text, Authenticated: true, Source: "operator",
	}
	if err := tx.PutMessage(m, nil); err != nil {
		return err
	}
	c.Messages++
	return nil
}

// linkCases records a relation between two cases on both.
func linkCases(tx *store.Tx, a, b kp.CaseID) error {
	if a == b {
		return fmt.Errorf("%w: a case cannot be linked with itself", ErrRepair)
	}
	ca, err := tx.Case(a)
	if err != nil {
		return err
	}
	cb, err := tx.Case(b)
	if err != nil {
		return err
	}
	if !slices.Contains(ca.Links, b) {
		ca.Links = append(ca.Links, b)
		if err := tx.PutCase(ca); err != nil {
			return err
		}
	}
	if !slices.Contains(cb.Links, a) {
		cb.Links = append(cb.Links, a)
		return tx.PutCase(cb)
	}
	return nil
}

// MoveMessage moves one misfiled inbound message to case to (`kontaktpunkt
// case move MSGID N`), following a merged case to its survivor. It
// returns the case the message left.
func (g *Gateway) MoveMessage(id string, to kp.CaseID, actor kp.Address) (kp.CaseID, error) {
	id = strings.Trim(strings.TrimSpace(id), "<>")
	var from kp.CaseID
	err := g.Store.Update(func(tx *store.Tx) error {
		m, err := tx.Message(id)
		if err != nil {
			return err
		}
		ct, err := tx.Case(to)
		if err != nil {
			return err
		}
		for hops := 0; ct.MergedInto != 0 && hops < 8; hops++ {
			if ct, err = tx.Case(ct.MergedInto); err != nil {
				return err
			}
		}
		from = m.Case
		if from == ct.ID {
			return fmt.Errorf("%w: message %q is already on %s", ErrRepair, id, ct.ID.Tag(g.Config.Contact.TagPrefix))
		}
		now := g.now()
		m.Case = ct.ID
		if err := tx.UpdateMessage(m); err != nil {
			return err
		}
		if from != 0 {
			if cf, err := tx.Case(from); err == nil {
				cf.Messages--
				cf.Updated = now
				if err := tx.PutCase(cf); err != nil {
					return err
				}
			}
		}
		ct.Messages++
		ct.Updated = now
		prefix := g.Config.Contact.TagPrefix
		text := fmt.Sprintf("Message <%s> was moved here from %s by %s.", id, from.Tag(prefix), actor.Addr)
		if err := g.recordRepair(tx, ct, actor, "moved a message here", text, now); err != nil {
			return err
		}
		return tx.PutCase(ct)
	})
	return from, err
}
