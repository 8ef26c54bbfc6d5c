package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"

	kp "kontaktpunkt"
)

// A queued spec that passes on the attachments of a stored message (a
// relay, a notification, an assignment) may hold them as a reference to
// that message's raw bytes instead of a second copy: the attachments are
// read from the raw bytes again, by the reader registered with
// SetAttachmentReader, when the spec is read. The reference is made only
// when that reader gives exactly the spec's attachments at Enqueue, and it
// records their number and bytes, which are checked when it is resolved.
// Before the raw bytes go (purgeRaw), the attachments are written into
// the specs that refer to them (keepAttachments); bucketAttRef lists
// those specs by message.
type attRef struct {
	seq   uint64 // the message whose raw bytes hold them; 0: none
	n     int    // how many
	bytes int64  // their bytes in all
}

var (
	attReaderMu sync.RWMutex
	attReader   func(raw []byte) []kp.OutAttachment
)

// SetAttachmentReader registers how the attachments a queued mail passes
// on are read from a stored message's raw bytes (the gateway's MIME
// reading, the same it passes them on with). Without one, specs hold
// their attachments themselves, and a spec that refers to raw bytes
// cannot be read.
func SetAttachmentReader(f func(raw []byte) []kp.OutAttachment) {
	attReaderMu.Lock()
	attReader = f
	attReaderMu.Unlock()
}

func attachmentReader() func(raw []byte) []kp.OutAttachment {
	attReaderMu.RLock()
	defer attReaderMu.RUnlock()
	return attReader
}

func attRefKey(seq, outID uint64) []byte { return appendU64(u64(seq), outID) }

// sameAttachments reports whether a and b are the same attachments.
func sameAttachments(a, b []kp.OutAttachment) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].ContentType != b[i].ContentType || !bytes.Equal(a[i].Data, b[i].Data) {
			return false
		}
	}
	return true
}

func attBytes(as []kp.OutAttachment) int64 {
	var n int64
	for _, a := range as {
		n += int64(len(a.Data))
	}
	return n
}

// rawBySeq returns the raw bytes of message seq (nil when none are stored).
func (tx *Tx) rawBySeq(seq uint64) ([]byte, error) {
	m, err := tx.copyHead(seq)
	if err != nil {
		return nil, err
	}
	e, ok, err := tx.lookupID(m.ID)
	if err != nil {
		return nil, err
	}
	if !ok || e.seq != seq || e.rawLen == 0 {
		return nil, nil
	}
	return tx.raw(e)
}

// findAttRef returns a reference to the raw bytes of a message of case c
// written or read in this transaction whose attachments are as (none
// when no such message is found or no reader is registered).
func (tx *Tx) findAttRef(c kp.CaseID, as []kp.OutAttachment) (attRef, error) {
	read := attachmentReader()
	if read == nil || len(as) == 0 || c == 0 {
		return attRef{}, nil
	}
	for i := len(tx.recent) - 1; i >= 0; i-- {
		r := tx.recent[i]
		if r.cas != c {
			continue
		}
		raw, err := tx.rawBySeq(r.seq)
		if err != nil {
			return attRef{}, err
		}
		if raw != nil && sameAttachments(read(raw), as) {
			return attRef{seq: r.seq, n: len(as), bytes: attBytes(as)}, nil
		}
	}
	return attRef{}, nil
}

// resolveAttachments reads the attachments r refers to.
func (tx *Tx) resolveAttachments(r attRef, outID uint64) ([]kp.OutAttachment, error) {
	read := attachmentReader()
	if read == nil {
		return nil, fmt.Errorf("outbound %d: spec refers to the attachments of message %d and no attachment reader is registered", outID, r.seq)
	}
	raw, err := tx.rawBySeq(r.seq)
	if err != nil {
		return nil, fmt.Errorf("outbound %d: attachments of message %d: %w", outID, r.seq, err)
	}
	if raw == nil {
		return nil, fmt.Errorf("outbound %d: attachments of message %d, whose raw bytes are gone: %w", outID, r.seq, ErrCorrupt)
	}
	as := read(raw)
	if len(as) != r.n || attBytes(as) != r.bytes {
		return nil, fmt.Errorf("outbound %d: message %d has %d attachments of %d bytes, the spec %d of %d: %w", outID, r.seq, len(as), attBytes(as), r.n, r.bytes, ErrCorrupt)
	}
	return as, nil
}

// keepAttachments writes the attachments the specs that refer to the
// raw bytes of message seq take from them into those specs, before the
// raw bytes go.
func (tx *Tx) keepAttachments(seq uint64) error {
	refs := tx.b(bucketAttRef)
	prefix := u64(seq)
	var ids []uint64
	cur := refs.Cursor()
	for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
		if len(k) != 16 {
			return fmt.Errorf("att_ref: key %x: %w", k, ErrCorrupt)
		}
		ids = append(ids, binary.BigEndian.Uint64(k[8:]))
	}
	for _, id := range ids {
		if err := refs.Delete(attRefKey(seq, id)); err != nil {
			return err
		}
		v := tx.b(bucketOutSpec).Get(u64(id))
		if v == nil {
			continue
		}
		o, err := tx.outbound(id, false)
		if err != nil {
			return err
		}
		s, ref, att, err := tx.outSpecStored(v, o)
		if err != nil {
			return err
		}
		if att.seq != seq {
			continue
		}
		if s.Attachments, err = tx.resolveAttachments(att, id); err != nil {
			return err
		}
		if err := tx.b(bucketOutSpec).Put(u64(id), tx.codec.pack(encodeOutSpec(s, ref, o, attRef{}), true)); err != nil {
			return err
		}
	}
	return nil
}

// dropAttRef removes the entry of the spec of outbound id from
// bucketAttRef, if it refers to raw bytes (v, the packed spec; nil: none).
func (tx *Tx) dropAttRef(id uint64, v []byte) error {
	if v == nil {
		return nil
	}
	p, err := tx.codec.unpack(v)
	if err != nil {
		return fmt.Errorf("outbound %d: spec: %w", id, err)
	}
	att, err := specAttRef(p)
	if err != nil || att.seq == 0 {
		return err
	}
	return tx.b(bucketAttRef).Delete(attRefKey(att.seq, id))
}
