package store

import (
	"fmt"
	"slices"
	"time"

	kp "kontaktpunkt"
)

// An outbound record of mail still to be sent whose copy is on a case
// (queueMail stores both) takes its Message-ID, recipients and subject
// from that copy instead of holding them again: they are what the copy
// says. The record then ends with the copy's seq and flags (outRef).
// Before the copy changes or goes (UpdateMessage, purgeMessage,
// blankMessage), the record is written whole again (keepOutFields), and
// a record that reaches OutSent is always written whole.
type outRef struct {
	seq   uint64 // the copy's seq; 0: the record holds every field
	flags uint64
}

// Flags of an outbound record.
const (
	// outNextTryQueued: NextTry is Queued (not stored twice).
	outNextTryQueued = 1 << iota
)

// outFromCopy reports whether o's Message-ID, case, recipients and
// subject are those of its copy m.
func outFromCopy(o *kp.Outbound, m *kp.Message) bool {
	if m.ID != o.MessageID || m.Direction != kp.Out || m.Case != o.Case || m.Subject != o.Subject || len(o.To) != len(m.To)+len(m.Cc) {
		return false
	}
	for i, a := range slices.Concat(m.To, m.Cc) {
		if o.To[i] != a.Addr {
			return false
		}
	}
	return true
}

// encodeOut returns the record of o: referring to its copy on the case
// (seq copySeq, m; 0 and nil: none) when o is not sent and the copy has
// its fields.
func encodeOut(o *kp.Outbound, copySeq uint64, m *kp.Message) []byte {
	var r outRef
	c := *o
	if copySeq != 0 && m != nil && o.State != kp.OutSent && o.MessageID != "" && outFromCopy(o, m) {
		r.seq = copySeq
		c.MessageID, c.To, c.Subject = "", nil, ""
	}
	if !o.NextTry.IsZero() && string(encTime(o.NextTry)) == string(encTime(o.Queued)) {
		r.flags |= outNextTryQueued
		c.NextTry = time.Time{}
	}
	if r.seq == 0 && r.flags == 0 {
		return encodeOutbound(o)
	}
	e := enc{b: encodeOutbound(&c)}
	// Added: the copy referred to and the flags.
	e.uvarint(r.seq)
	e.uvarint(r.flags)
	return e.b
}

// copyHead reads the head of message copy seq (no text: the fields an
// outbound record takes from it).
func (tx *Tx) copyHead(seq uint64) (*kp.Message, error) {
	v := tx.b(bucketMsg).Get(u64(seq))
	if v == nil {
		return nil, fmt.Errorf("message %d: %w", seq, ErrNotFound)
	}
	p, err := tx.codec.unpack(v)
	if err != nil {
		return nil, fmt.Errorf("message %d: %w", seq, err)
	}
	return decodeMessageHead(p, seq)
}

// fillOut sets the fields outbound record o takes from its copy.
func (tx *Tx) fillOut(o *kp.Outbound, r outRef) error {
	if r.seq == 0 {
		return nil
	}
	m, err := tx.copyHead(r.seq)
	if err != nil {
		return fmt.Errorf("outbound %d: refers to message %d: %w (%w)", o.ID, r.seq, err, ErrCorrupt)
	}
	if m.ID == "" || m.Direction != kp.Out || m.Case != o.Case {
		return fmt.Errorf("outbound %d: refers to message %d (%q, case %d), not its copy: %w", o.ID, r.seq, m.ID, m.Case, ErrCorrupt)
	}
	o.MessageID, o.Subject = m.ID, m.Subject
	o.To = make([]string, 0, len(m.To)+len(m.Cc))
	for _, a := range slices.Concat(m.To, m.Cc) {
		o.To = append(o.To, a.Addr)
	}
	return nil
}

// putOut writes the record of outbound message o, referring to its copy
// on the case when it can: only while it is sent from a render spec
// (hasSpec), whose presence makes forget read the record whole.
func (tx *Tx) putOut(o *kp.Outbound, hasSpec bool) error {
	return tx.putOutCopy(o, hasSpec, 0, nil)
}

// putOutCopy is putOut given the copy (seq, m) when the caller has read
// it already.
func (tx *Tx) putOutCopy(o *kp.Outbound, hasSpec bool, seq uint64, m *kp.Message) error {
	if !hasSpec {
		seq, m = 0, nil
	}
	if hasSpec && m == nil && o.MessageID != "" && o.State != kp.OutSent {
		e, ok, err := tx.lookupID(o.MessageID)
		if err != nil {
			return err
		}
		if ok && e.seq != 0 {
			seq = e.seq
			if m, err = tx.copyHead(seq); err != nil {
				return err
			}
		}
	}
	return tx.b(bucketOut).Put(u64(o.ID), tx.codec.pack(encodeOut(o, seq, m), false))
}

// keepOutFields writes the outbound record of the message with id entry
// e whole, when it takes fields from that message and next (its new
// version; nil when it goes) no longer has them.
func (tx *Tx) keepOutFields(e idEntry, next *kp.Message) error {
	if e.outID == 0 || e.seq == 0 {
		return nil
	}
	v := tx.b(bucketOut).Get(u64(e.outID))
	if v == nil {
		return nil
	}
	p, err := tx.codec.unpack(v)
	if err != nil {
		return fmt.Errorf("outbound %d: %w", e.outID, err)
	}
	o, r, err := decodeOutbound(p, e.outID)
	if err != nil || r.seq != e.seq {
		return err
	}
	if err := tx.fillOut(o, r); err != nil {
		return err
	}
	if next != nil && outFromCopy(o, next) {
		return nil
	}
	return tx.b(bucketOut).Put(u64(e.outID), tx.codec.pack(encodeOut(o, 0, nil), false))
}
