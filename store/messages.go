package store

import (
	"bytes"
	"encoding/binary"
	"fmt"

	kp "kontaktpunkt"
)

// lookupID returns the Message-ID entry of id, if any. The entries read
// and written in a transaction are kept (tx.ids): applying a message
// asks about its own id and those it refers to more than once.
func (tx *Tx) lookupID(id string) (idEntry, bool, error) {
	if c, ok := tx.ids[id]; ok {
		return c.e, c.ok, nil
	}
	v := tx.b(bucketMsgID).Get(msgIDKey(id))
	if v == nil {
		tx.keepID(id, idEntry{}, false)
		return idEntry{}, false, nil
	}
	e, err := decodeIDEntry(v)
	if err != nil {
		return idEntry{}, false, fmt.Errorf("message id %q: %w", id, err)
	}
	tx.keepID(id, e, true)
	return e, true, nil
}

// maxKeptIDs bounds tx.ids, so a transaction that walks every message
// does not keep them all.
const maxKeptIDs = 4096

// keptID is an entry of tx.ids: the Message-ID entry, or none (ok false).
type keptID struct {
	e  idEntry
	ok bool
}

func (tx *Tx) keepID(id string, e idEntry, ok bool) {
	if tx.ids == nil || len(tx.ids) >= maxKeptIDs {
		tx.ids = make(map[string]keptID)
	}
	tx.ids[id] = keptID{e, ok}
}

// putIDEntry writes the Message-ID entry of id. Every write of
// bucketMsgID goes through it or deleteIDEntry, which keep tx.ids true.
func (tx *Tx) putIDEntry(id string, e idEntry) error {
	if err := tx.b(bucketMsgID).Put(msgIDKey(id), e.encode()); err != nil {
		delete(tx.ids, id)
		return err
	}
	tx.keepID(id, e, true)
	return nil
}

// deleteIDEntry removes the Message-ID entry of id.
func (tx *Tx) deleteIDEntry(id string) error {
	if err := tx.b(bucketMsgID).Delete(msgIDKey(id)); err != nil {
		delete(tx.ids, id)
		return err
	}
	tx.keepID(id, idEntry{}, false)
	return nil
}

// LookupID reports whether id is stored, as an inbound or outbound
// message or as the Message-ID of queued outbound mail, and the case it
// belongs to (0 for unfiled and quarantined messages).
func (tx *Tx) LookupID(id string) (kp.CaseID, bool, error) {
	if id == "" {
		return 0, false, nil
	}
	e, ok, err := tx.lookupID(id)
	return e.cas, ok, err
}

// PutMessage stores a new message and sets m.Seq. raw is kept byte for
// byte; it is nil for copies of our own outbound mail (the outbox holds
// those bytes). It fails with ErrDuplicate when a message with m.ID is
// already stored; an id known only from the outbox is not a duplicate, so
// the copy of a queued message can be stored.
func (tx *Tx) PutMessage(m *kp.Message, raw []byte) error {
	if m.ID == "" {
		return fmt.Errorf("storing message: empty message id: %w", ErrInvalid)
	}
	e, ok, err := tx.lookupID(m.ID)
	if err != nil {
		return err
	}
	if ok && e.seq != 0 {
		return fmt.Errorf("storing message %q: %w", m.ID, ErrDuplicate)
	}
	msgs := tx.b(bucketMsg)
	seq, err := msgs.NextSequence()
	if err != nil {
		return fmt.Errorf("storing message %q: %w", m.ID, err)
	}
	key := u64(seq)
	rec := tx.encodeNewMessage(m, seq, tx.recent)
	if err := msgs.Put(key, tx.codec.packRecord(rec)); err != nil {
		return fmt.Errorf("storing message %q: %w", m.ID, err)
	}
	if raw != nil {
		packed := tx.givenPacked(raw)
		if packed == nil {
			packed = tx.codec.pack(raw, true)
		}
		if e.rawLen, e.rawOff, err = tx.putRaw(seq, packed); err != nil {
			return fmt.Errorf("storing raw message %q (%d bytes): %w", m.ID, len(raw), err)
		}
	}
	// The message's own case wins over the case of an outbox entry with
	// the same id: the entry then describes the stored message.
	e.seq, e.cas = seq, m.Case
	if m.ContentHash != 0 {
		e.hash = m.ContentHash
	}
	if err := tx.putIDEntry(m.ID, e); err != nil {
		return fmt.Errorf("indexing message %q: %w", m.ID, err)
	}
	if err := tx.b(bucketCaseMsg).Put(caseMsgKey(m.Case, seq), nil); err != nil {
		return fmt.Errorf("indexing message %q: %w", m.ID, err)
	}
	if m.Case != 0 {
		if err := tx.indexSearch(m.Case, messageTokensWith(m, tx.givenTokens(m.Text))); err != nil {
			return fmt.Errorf("indexing message %q: %w", m.ID, err)
		}
	}
	if err := tx.putFact(seq, m); err != nil {
		return fmt.Errorf("storing message %q: %w", m.ID, err)
	}
	m.Seq = seq
	if m.Direction == kp.In {
		tx.noteRecent(m)
	}
	return nil
}

// PackedRaw is the raw bytes of a message packed for storage before the
// transaction that stores them (Store.PackRaw), so that compressing
// them is not work of the single writer.
type PackedRaw struct {
	raw, packed []byte
}

// PackRaw packs raw as PutMessage stores it. It is safe for concurrent
// use; raw must not change until it is stored.
func (s *Store) PackRaw(raw []byte) PackedRaw {
	return PackedRaw{raw: raw, packed: s.codec.pack(raw, true)}
}

// GivenPackedRaw hands the transaction raw bytes packed by PackRaw, used
// by the next PutMessage of exactly those bytes (the same slice).
func (tx *Tx) GivenPackedRaw(p PackedRaw) {
	tx.packedRaw = p
}

// givenPacked returns the packed form GivenPackedRaw gave for raw, or nil.
func (tx *Tx) givenPacked(raw []byte) []byte {
	p := tx.packedRaw
	if p.packed == nil || len(p.raw) != len(raw) || len(raw) == 0 || &p.raw[0] != &raw[0] {
		return nil
	}
	tx.packedRaw = PackedRaw{}
	return p.packed
}

func caseMsgKey(c kp.CaseID, seq uint64) []byte {
	return appendU64(appendU64(make([]byte, 0, 16), uint64(c)), seq)
}

// UpdateMessage rewrites the record of a stored message (found by m.ID;
// m.Seq, if set, must match). When m.Case changed, the message moves to
// the new case's list and LookupID reports the new case. The raw bytes
// are not touched.
func (tx *Tx) UpdateMessage(m *kp.Message) error {
	e, ok, err := tx.lookupID(m.ID)
	if err != nil {
		return err
	}
	if !ok || e.seq == 0 {
		return fmt.Errorf("updating message %q: %w", m.ID, ErrNotFound)
	}
	if m.Seq != 0 && m.Seq != e.seq {
		return fmt.Errorf("updating message %q: seq %d, stored as %d: %w", m.ID, m.Seq, e.seq, ErrInvalid)
	}
	m.Seq = e.seq
	if err := tx.keepSpecFields(e, m); err != nil {
		return fmt.Errorf("updating message %q: %w", m.ID, err)
	}
	if err := tx.keepOutFields(e, m); err != nil {
		return fmt.Errorf("updating message %q: %w", m.ID, err)
	}
	rec, err := tx.updatedRecord(e, m)
	if err != nil {
		return fmt.Errorf("updating message %q: %w", m.ID, err)
	}
	if err := tx.b(bucketMsg).Put(u64(e.seq), tx.codec.packRecord(rec)); err != nil {
		return fmt.Errorf("updating message %q: %w", m.ID, err)
	}
	if err := tx.putFact(e.seq, m); err != nil {
		return fmt.Errorf("updating message %q: %w", m.ID, err)
	}
	if e.cas == m.Case {
		return nil
	}
	cm := tx.b(bucketCaseMsg)
	if err := cm.Delete(caseMsgKey(e.cas, e.seq)); err != nil {
		return fmt.Errorf("updating message %q: %w", m.ID, err)
	}
	if err := cm.Put(caseMsgKey(m.Case, e.seq), nil); err != nil {
		return fmt.Errorf("updating message %q: %w", m.ID, err)
	}
	e.cas = m.Case
	if err := tx.putIDEntry(m.ID, e); err != nil {
		return fmt.Errorf("updating message %q: %w", m.ID, err)
	}
	if err := tx.indexSearch(m.Case, messageTokens(m)); err != nil {
		return fmt.Errorf("updating message %q: %w", m.ID, err)
	}
	return nil
}

// messageBySeq decodes the record stored under seq.
func (tx *Tx) messageBySeq(seq uint64) (*kp.Message, error) {
	v := tx.b(bucketMsg).Get(u64(seq))
	if v == nil {
		return nil, fmt.Errorf("message %d: %w", seq, ErrNotFound)
	}
	p, err := tx.codec.unpack(v)
	if err != nil {
		return nil, fmt.Errorf("message %d: %w", seq, err)
	}
	m, r, err := decodeMessageRef(p, seq)
	if err != nil {
		return nil, err
	}
	if r != nil {
		return m, tx.resolveText(m, r)
	}
	tx.noteRecent(m)
	return m, nil
}

// Message returns the stored message with Message-ID id, or ErrNotFound.
func (tx *Tx) Message(id string) (*kp.Message, error) {
	e, ok, err := tx.lookupID(id)
	if err != nil {
		return nil, err
	}
	if !ok || e.seq == 0 {
		return nil, fmt.Errorf("message %q: %w", id, ErrNotFound)
	}
	return tx.messageBySeq(e.seq)
}

// Raw returns the exact bytes of the message with Message-ID id, or
// ErrNotFound when the message is unknown or was stored without them.
func (tx *Tx) Raw(id string) ([]byte, error) {
	e, ok, err := tx.lookupID(id)
	if err != nil {
		return nil, err
	}
	if !ok || e.seq == 0 {
		return nil, fmt.Errorf("raw message %q: %w", id, ErrNotFound)
	}
	if e.rawLen == 0 {
		return nil, fmt.Errorf("raw message %q: %w", id, ErrNotFound)
	}
	raw, err := tx.raw(e)
	if err != nil {
		return nil, fmt.Errorf("raw message %q: %w", id, err)
	}
	return raw, nil
}

// CaseMessages returns the messages of case c in storage order.
func (tx *Tx) CaseMessages(c kp.CaseID) ([]kp.Message, error) {
	prefix := u64(uint64(c))
	var out []kp.Message
	cur := tx.b(bucketCaseMsg).Cursor()
	for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
		if len(k) != 16 {
			return nil, fmt.Errorf("case %d: message index key %x: %w", c, k, ErrCorrupt)
		}
		m, err := tx.messageBySeq(binary.BigEndian.Uint64(k[8:]))
		if err != nil {
			return nil, fmt.Errorf("case %d: %w", c, err)
		}
		out = append(out, *m)
	}
	return out, nil
}

// Unfiled returns up to limit messages that belong to no case (unmatched
// machine mail, quarantined mail), newest first. limit <= 0 means all.
func (tx *Tx) Unfiled(limit int) ([]kp.Message, error) {
	var out []kp.Message
	cur := tx.b(bucketCaseMsg).Cursor()
	// Case 0 keys sort first: start at the first key of case 1 and walk back.
	k, _ := cur.Seek(u64(1))
	if k == nil {
		k, _ = cur.Last()
	} else {
		k, _ = cur.Prev()
	}
	for ; k != nil && (limit <= 0 || len(out) < limit); k, _ = cur.Prev() {
		if len(k) != 16 {
			return nil, fmt.Errorf("unfiled: message index key %x: %w", k, ErrCorrupt)
		}
		if binary.BigEndian.Uint64(k) != 0 {
			break
		}
		m, err := tx.messageBySeq(binary.BigEndian.Uint64(k[8:]))
		if err != nil {
			return nil, fmt.Errorf("unfiled: %w", err)
		}
		out = append(out, *m)
	}
	return out, nil
}
