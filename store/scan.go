package store

import (
	"encoding/binary"
	"fmt"

	kp "kontaktpunkt"
)

// ForEachMessage calls fn with every stored message in storage order,
// walking the message records in key order (one sequential pass, no
// index lookups): for work over the whole store, such as reports. With
// head, only the message's head is decoded: every field but Text,
// Attachments, Defects, Source, Size and CollidedID, which cost most to
// decode and which a report does not need. m is fn's to keep. An error
// from fn stops the walk and is returned.
func (tx *Tx) ForEachMessage(head bool, fn func(m *kp.Message) error) error {
	cur := tx.b(bucketMsg).Cursor()
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		if len(k) != 8 {
			return fmt.Errorf("messages: key %x: %w", k, ErrCorrupt)
		}
		seq := binary.BigEndian.Uint64(k)
		// The decoders copy what they keep, so the record's bytes may
		// be used in place.
		p, err := tx.codec.unpackOwned(v)
		if err != nil {
			return fmt.Errorf("message %d: %w", seq, err)
		}
		var m *kp.Message
		if head {
			m, err = decodeMessageHead(p, seq)
		} else {
			m, err = tx.decodeMessageTx(p, seq)
		}
		if err != nil {
			return err
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// decodeMessageHead is decodeMessage without Text, Attachments and what
// follows Quarantine; it must follow the same layout (encodeMessage).
func decodeMessageHead(b []byte, seq uint64) (*kp.Message, error) {
	d := dec{b: b}
	m := d.messageHead(seq)
	d.skipStr() // Text
	for i, n := 0, d.count(); i < n && d.err == nil; i++ {
		d.skipStr()
		d.skipStr()
		d.varint()
	}
	m.Outsider = d.boolean()
	m.Authenticated = d.boolean()
	m.Quarantine = d.str()
	if d.err != nil {
		return nil, fmt.Errorf("message %d: %w", seq, d.err)
	}
	return m, nil
}

// ForEachMessageBrief calls fn with the brief of every stored message in
// storage order, in one sequential pass like ForEachMessage: what figures
// over the whole store need and no more. A brief has Seq, Case,
// Direction, Class, MatchedBy, Kind, the addresses (not the names) of
// From, To and Cc, Subject, Date, Received, Outsider, Authenticated and
// Quarantine; the rest stays zero and is not decoded. m is reused for
// the next message: a copy of *m is fn's to keep (the strings and slices
// in it are not reused). Short strings that recur (kinds, classes, the
// subjects of status records, staff addresses) are shared between
// messages rather than allocated for each.
func (tx *Tx) ForEachMessageBrief(fn func(m *kp.Message) error) error {
	var (
		m   kp.Message
		buf []byte
		in  = newInterner()
	)
	cur := tx.b(bucketMsg).Cursor()
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		if len(k) != 8 {
			return fmt.Errorf("messages: key %x: %w", k, ErrCorrupt)
		}
		seq := binary.BigEndian.Uint64(k)
		var (
			p   []byte
			err error
		)
		if p, buf, err = tx.codec.unpackBuf(v, buf); err != nil {
			return fmt.Errorf("message %d: %w", seq, err)
		}
		if err := decodeMessageBrief(p, seq, &m, in); err != nil {
			return err
		}
		if err := fn(&m); err != nil {
			return err
		}
	}
	return nil
}

// decodeMessageBrief decodes the brief of a message record into m (see
// ForEachMessageBrief); it must follow the layout of encodeMessage.
func decodeMessageBrief(b []byte, seq uint64, m *kp.Message, in *interner) error {
	d := dec{b: b}
	d.header("message")
	*m = kp.Message{Seq: seq}
	d.skipStr() // ID
	m.Case = kp.CaseID(d.uvarint())
	m.Direction = kp.Direction(in.str(&d))
	m.Class = kp.Class(in.str(&d))
	m.MatchedBy = kp.MatchedBy(in.str(&d))
	m.Kind = in.str(&d)
	d.skipStr()
	m.From.Addr = in.str(&d)
	m.To = d.briefAddrs(in)
	m.Cc = d.briefAddrs(in)
	m.Subject = in.str(&d)
	m.Date = d.time()
	m.Received = d.time()
	d.skipStr() // Text
	for i, n := 0, d.count(); i < n && d.err == nil; i++ {
		d.skipStr()
		d.skipStr()
		d.varint()
	}
	m.Outsider = d.boolean()
	m.Authenticated = d.boolean()
	m.Quarantine = in.str(&d)
	if d.err != nil {
		return fmt.Errorf("message %d: %w", seq, d.err)
	}
	return nil
}

// briefAddrs reads an address list keeping only the addresses.
func (d *dec) briefAddrs(in *interner) []kp.Address {
	n := d.count()
	if n == 0 {
		return nil
	}
	as := make([]kp.Address, n)
	for i := 0; i < n && d.err == nil; i++ {
		d.skipStr()
		as[i].Addr = in.str(d)
	}
	return as
}

// interner shares the short strings a walk over many records meets again
// and again (kinds, classes, statuses, teams, the subjects of status
// records, staff addresses), so each is allocated once rather than per
// record. It is a direct-mapped cache: a string's slot is picked from its
// length and a few of its bytes, and a different string in the slot is
// replaced, so strings met once cost one comparison and no map.
type interner struct{ slot [internSlots]string }

const (
	internSlots = 1024
	internLen   = 48 // longer strings are not shared
)

func newInterner() *interner { return new(interner) }

// str reads a string as d.str does, shared when it can be.
func (in *interner) str(d *dec) string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("string")
		return ""
	}
	b := d.b[:n]
	d.b = d.b[n:]
	if n == 0 {
		return ""
	}
	if n > internLen {
		return string(b)
	}
	h := uint(n)*0x9e37 ^ uint(b[0])*0x85eb ^ uint(b[n-1])*0xc2b2 ^ uint(b[n/2])*0x27d4 ^ uint(b[n/3])<<5
	i := (h ^ h>>10) % internSlots
	if s := in.slot[i]; s == string(b) {
		return s
	}
	s := string(b)
	in.slot[i] = s
	return s
}

// ForEachCaseBrief calls fn with the brief of every case, oldest first,
// in one pass like ForEachCase: ID, Subject, Status, the requester's address,
// Assignee, Team, Priority, Escalation, Created, Updated, ResolvedAt,
// Messages, MergedInto and Rule. The rest stays zero and is not decoded. c is
// reused for the next case: a copy of *c is fn's to keep.
func (tx *Tx) ForEachCaseBrief(fn func(c *kp.Case) error) error {
	var (
		c   kp.Case
		buf []byte
		in  = newInterner()
	)
	cur := tx.b(bucketCase).Cursor()
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		if len(k) != 8 {
			return fmt.Errorf("cases: key %x: %w", k, ErrCorrupt)
		}
		id := kp.CaseID(binary.BigEndian.Uint64(k))
		var (
			p   []byte
			err error
		)
		if p, buf, err = tx.codec.unpackBuf(v, buf); err != nil {
			return fmt.Errorf("case %d: %w", id, err)
		}
		if err := decodeCaseBrief(p, id, &c, in); err != nil {
			return err
		}
		if err := fn(&c); err != nil {
			return err
		}
	}
	return nil
}

// decodeCaseBrief decodes the brief of a case record into c (see
// ForEachCaseBrief); it must follow the layout of encodeCase.
func decodeCaseBrief(b []byte, id kp.CaseID, c *kp.Case, in *interner) error {
	d := dec{b: b}
	d.header("case")
	*c = kp.Case{ID: id}
	c.Subject = d.str()
	c.Status = kp.Status(in.str(&d))
	d.skipStr()
	c.Requester.Addr = d.str()
	for i, n := 0, d.count(); i < n && d.err == nil; i++ {
		d.skipStr() // Participants
	}
	c.Assignee = in.str(&d)
	c.Team = in.str(&d)
	c.Priority = kp.Priority(in.str(&d))
	c.Escalation = d.int()
	c.Created = d.time()
	c.Updated = d.time()
	c.ResolvedAt = d.time()
	c.Messages = d.int()
	d.uvarint() // PreviousCase
	for range 4 {
		d.time() // LastInbound, LastStaffReply, AssignedAt, WaitingSince
	}
	d.skipStr() // ThreadID
	d.skipStr() // LastMessageID
	if d.boolean() {
		d.skipStr() // Next: kind, due, count
		d.time()
		d.varint()
	}
	if d.more() {
		for i, n := 0, d.count(); i < n && d.err == nil; i++ {
			d.skipStr() // Counterparts: team, addr, system, ref
			d.skipStr()
			d.skipStr()
			d.skipStr()
		}
	}
	if d.more() {
		c.MergedInto = kp.CaseID(d.uvarint())
		for i, n := 0, d.count(); i < n && d.err == nil; i++ {
			d.uvarint() // Links
		}
		d.skipStr() // OpenedBy
	}
	if d.more() {
		d.skipStr() // Archived
	}
	if d.more() {
		c.Rule = in.str(&d)
	}
	if d.err != nil {
		return fmt.Errorf("case %d: %w", id, d.err)
	}
	return nil
}

// skipStr passes over a string without copying it.
func (d *dec) skipStr() {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("string")
		return
	}
	d.b = d.b[n:]
}

// ForEachCase calls fn with every case, oldest (lowest id) first. c is
// fn's to keep. An error from fn stops the walk and is returned.
func (tx *Tx) ForEachCase(fn func(c *kp.Case) error) error {
	cur := tx.b(bucketCase).Cursor()
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		if len(k) != 8 {
			return fmt.Errorf("cases: key %x: %w", k, ErrCorrupt)
		}
		id := kp.CaseID(binary.BigEndian.Uint64(k))
		p, err := tx.codec.unpackOwned(v)
		if err != nil {
			return fmt.Errorf("case %d: %w", id, err)
		}
		c, err := decodeCase(p, id)
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}
