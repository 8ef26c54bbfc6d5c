package store

import (
	"bytes"
	"encoding/binary"
	"fmt"

	kp "kontaktpunkt"

	bolt "go.etcd.io/bbolt"
)

// bucketMsgFact: u64 seq -> message fact record (encodeFact): what the
// figures read of a stored message, uncompressed, for the messages
// KeepsFact accepts. Written with the message record in its transaction
// (PutMessage, UpdateMessage, blankMessage) and deleted with it
// (purgeMessage), so a report reads these few bytes per message instead
// of decompressing the message records. Not in schema.go's buckets: a
// store from before it stays readable read-only, and ForEachMessageFact
// then reports the facts missing. Open for writing builds it
// (buildFacts); keyFactsFrom in bucketMeta marks a build in progress.
var bucketMsgFact = []byte("msg_fact")

// keyFactsFrom: u64 seq. While present, the facts of messages up to and
// including seq are still being built; messages after it have theirs.
var keyFactsFrom = []byte("msg_fact_building")

// KeepsFact reports whether the store keeps a fact record of m: every
// message of no case (the report counts unfiled, quarantined and spam
// mail), the inbound replies of a case, and its outbound status and
// escalation records, relays and follow-ups. It must keep at least the
// messages report.Counts accepts (a test in package report checks).
func KeepsFact(m *kp.Message) bool {
	if m.Case == 0 {
		return true
	}
	switch m.Direction {
	case kp.In:
		return m.Kind == "reply"
	case kp.Out:
		switch m.Kind {
		case kp.KindStatus, kp.KindEscalation, "relay", "triage", "respond", "escalate", "waiting", "auto-resolve", "snooze":
			return true
		}
	}
	return false
}

// encodeFact returns the fact record of m: case, direction, class, kind,
// Outsider, Authenticated, Date, Received, Quarantine, the subject of a
// status or escalation record, the sender's address of inbound mail, the
// To and Cc addresses of a relay. No names, no text. Fields added later
// follow, read with d.more().
func encodeFact(m *kp.Message) []byte {
	e := enc{b: make([]byte, 0, 64)}
	e.b = append(e.b, recordFormat)
	e.uvarint(uint64(m.Case))
	e.str(string(m.Direction))
	e.str(string(m.Class))
	e.str(m.Kind)
	e.boolean(m.Outsider)
	e.boolean(m.Authenticated)
	e.time(m.Date)
	e.time(m.Received)
	e.str(m.Quarantine)
	subject, from := "", ""
	var to, cc []kp.Address
	if m.Direction == kp.Out && (m.Kind == kp.KindStatus || m.Kind == kp.KindEscalation) {
		subject = m.Subject
	}
	if m.Direction == kp.In {
		from = m.From.Addr
	}
	if m.Direction == kp.Out && m.Kind == "relay" {
		to, cc = m.To, m.Cc
	}
	e.str(subject)
	e.str(from)
	for _, as := range [][]kp.Address{to, cc} {
		e.uvarint(uint64(len(as)))
		for _, a := range as {
			e.str(a.Addr)
		}
	}
	return e.b
}

// decodeFact decodes a fact record into m (see ForEachMessageFact).
func decodeFact(b []byte, seq uint64, m *kp.Message, in *interner) error {
	d := dec{b: b}
	d.header("message fact")
	*m = kp.Message{Seq: seq}
	m.Case = kp.CaseID(d.uvarint())
	m.Direction = kp.Direction(in.str(&d))
	m.Class = kp.Class(in.str(&d))
	m.Kind = in.str(&d)
	m.Outsider = d.boolean()
	m.Authenticated = d.boolean()
	m.Date = d.time()
	m.Received = d.time()
	m.Quarantine = in.str(&d)
	m.Subject = in.str(&d)
	m.From.Addr = in.str(&d)
	m.To = d.briefAddrsOnly(in)
	m.Cc = d.briefAddrsOnly(in)
	if d.err != nil {
		return fmt.Errorf("message fact %d: %w", seq, d.err)
	}
	return nil
}

// briefAddrsOnly reads a list of bare addresses.
func (d *dec) briefAddrsOnly(in *interner) []kp.Address {
	n := d.count()
	if n == 0 {
		return nil
	}
	as := make([]kp.Address, n)
	for i := 0; i < n && d.err == nil; i++ {
		as[i].Addr = in.str(d)
	}
	return as
}

// factBucket returns bucketMsgFact, nil in a store without it.
func (tx *Tx) factBucket() *bolt.Bucket {
	if b, ok := tx.bkts[string(bucketMsgFact)]; ok {
		return b
	}
	b := tx.tx.Bucket(bucketMsgFact)
	if b == nil {
		return nil
	}
	b.FillPercent = 0.95 // appended by seq; a little room for rewrites
	if tx.bkts == nil {
		tx.bkts = make(map[string]*bolt.Bucket, 8)
	}
	tx.bkts[string(bucketMsgFact)] = b
	return b
}

// putFact writes (or, when m is no longer kept, deletes) the fact record
// of message m stored under seq.
func (tx *Tx) putFact(seq uint64, m *kp.Message) error {
	b := tx.factBucket()
	if b == nil {
		return nil
	}
	if !KeepsFact(m) {
		return b.Delete(u64(seq))
	}
	return b.Put(u64(seq), encodeFact(m))
}

// deleteFact deletes the fact record of message seq.
func (tx *Tx) deleteFact(seq uint64) error {
	b := tx.factBucket()
	if b == nil {
		return nil
	}
	return b.Delete(u64(seq))
}

// ForEachMessageFact calls fn with the fact of every message KeepsFact
// accepts, in storage order, reading the small fact records rather than
// the message records. A fact has Seq, Case, Direction, Class, Kind,
// Outsider, Authenticated, Date, Received and Quarantine; Subject for
// status and escalation records; the address of From for inbound mail;
// the addresses of To and Cc for relays. The rest stays zero. m is reused
// as in ForEachMessageBrief. It returns false, without calling fn, when
// the store has no complete facts (a store from before them opened
// read-only): the caller then reads ForEachMessageBrief.
func (tx *Tx) ForEachMessageFact(fn func(m *kp.Message) error) (bool, error) {
	b := tx.factBucket()
	if b == nil || tx.b(bucketMeta).Get(keyFactsFrom) != nil {
		return false, nil
	}
	var (
		m  kp.Message
		in = newInterner()
	)
	cur := b.Cursor()
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		if len(k) != 8 {
			return true, fmt.Errorf("message facts: key %x: %w", k, ErrCorrupt)
		}
		if err := decodeFact(v, binary.BigEndian.Uint64(k), &m, in); err != nil {
			return true, err
		}
		if err := fn(&m); err != nil {
			return true, err
		}
	}
	return true, nil
}

// factBatch is how many message records one transaction of buildFacts
// reads (a variable for tests).
var factBatch = 20000

// buildFacts gives a store from before message facts its bucketMsgFact:
// it creates the bucket (from then on every stored message writes its
// fact), marks the build with the last seq stored so far, and writes the
// facts of the older messages in transactions of factBatch records,
// keeping its place in the mark, so an interrupted build resumes on the
// next Open. Open for writing runs it; on a built store it is one lookup.
func (s *Store) buildFacts() error {
	var done bool
	if err := s.View(func(tx *Tx) error {
		done = tx.factBucket() != nil && tx.b(bucketMeta).Get(keyFactsFrom) == nil
		return nil
	}); err != nil || done {
		return err
	}
	if err := s.Update(func(tx *Tx) error {
		if tx.factBucket() != nil {
			return nil
		}
		if _, err := tx.tx.CreateBucket(bucketMsgFact); err != nil {
			return err
		}
		delete(tx.bkts, string(bucketMsgFact))
		last := tx.b(bucketMsg).Sequence()
		if last == 0 {
			return nil // nothing stored yet: complete as it is
		}
		// The mark holds the next seq to read, after the last one to build.
		return tx.b(bucketMeta).Put(keyFactsFrom, appendU64(u64(1), last))
	}); err != nil {
		return fmt.Errorf("building message facts: %w", err)
	}
	for {
		more := false
		err := s.Update(func(tx *Tx) error {
			meta := tx.b(bucketMeta)
			v := meta.Get(keyFactsFrom)
			if v == nil {
				return nil
			}
			if len(v) != 16 {
				return fmt.Errorf("message facts mark %x: %w", v, ErrCorrupt)
			}
			next, last := binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])
			facts := tx.factBucket()
			cur := tx.b(bucketMsg).Cursor()
			var buf []byte
			n := 0
			k, v := cur.Seek(u64(next))
			for ; k != nil && n < factBatch; k, v = cur.Next() {
				if len(k) != 8 {
					return fmt.Errorf("messages: key %x: %w", k, ErrCorrupt)
				}
				seq := binary.BigEndian.Uint64(k)
				if seq > last {
					break
				}
				p, nb, err := tx.codec.unpackBuf(v, buf)
				if err != nil {
					return fmt.Errorf("message %d: %w", seq, err)
				}
				buf = nb
				m, err := decodeMessageHead(p, seq)
				if err != nil {
					return err
				}
				if KeepsFact(m) {
					if err := facts.Put(u64(seq), encodeFact(m)); err != nil {
						return err
					}
				}
				n++
			}
			if k == nil || binary.BigEndian.Uint64(k) > last {
				return meta.Delete(keyFactsFrom)
			}
			more = true
			return meta.Put(keyFactsFrom, appendU64(u64(binary.BigEndian.Uint64(k)), last))
		})
		if err != nil {
			return fmt.Errorf("building message facts: %w", err)
		}
		if !more {
			return nil
		}
	}
}

// factCheck verifies, for Check, that every message KeepsFact accepts has
// its fact record as encodeFact writes it and that no other fact is kept.
// Facts still being built (or a store without them) are not checked.
type factCheck struct {
	c    *checker
	b    *bolt.Bucket
	kept int
}

func (tx *Tx) factChecker(c *checker) *factCheck {
	b := tx.factBucket()
	if b == nil || tx.b(bucketMeta).Get(keyFactsFrom) != nil {
		return &factCheck{}
	}
	return &factCheck{c: c, b: b}
}

func (f *factCheck) message(m *kp.Message) {
	if f.b == nil || !KeepsFact(m) {
		return
	}
	f.kept++
	if v := f.b.Get(u64(m.Seq)); !bytes.Equal(v, encodeFact(m)) {
		f.c.add("msg_fact %d: %x, the message says %x", m.Seq, v, encodeFact(m))
	}
}

func (f *factCheck) done() {
	if f.b == nil {
		return
	}
	if n := f.b.Stats().KeyN; n != f.kept {
		f.c.add("msg_fact: %d facts for %d messages that keep one", n, f.kept)
	}
}
