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
			m, err = decodeMessage(p, seq)
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
