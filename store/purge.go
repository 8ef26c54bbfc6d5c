package store

import (
	"bytes"
	"encoding/binary"
	"fmt"

	kp "kontaktpunkt"
)

// This file removes stored mail for good: the raw bytes of a message
// (purgeRaw) and whole messages (purgeMessage). Retention (retention.go)
// and forget (forget.go) are built from these helpers and from one
// helper per index (see the index list in forget.go and retention.go);
// a new bucket that holds message text or addresses adds its own helper
// there, or purged data stays in it.

// purgeRaw removes the raw bytes of the message e describes: a big one's
// value is deleted, a raw log range is zeroed and recorded as free, and
// log blocks left wholly free are deleted. It returns e without raw
// bytes; the caller writes it back (or deletes it).
func (tx *Tx) purgeRaw(e idEntry) (idEntry, error) {
	if e.rawLen != 0 {
		if err := tx.keepAttachments(e.seq); err != nil {
			return e, err
		}
	}
	switch {
	case e.rawLen == 0:
	case e.rawLen >= bigRaw:
		if err := tx.b(bucketRawBig).Delete(u64(e.seq)); err != nil {
			return e, err
		}
	default:
		if err := tx.freeRawRange(e.rawOff, e.rawLen); err != nil {
			return e, err
		}
	}
	e.rawLen, e.rawOff = 0, 0
	return e, nil
}

// freeRawRange zeroes n bytes of the raw log at off, merges the range into
// bucketRawFree and deletes the blocks it leaves wholly free (never the
// last block, which appends fill).
func (tx *Tx) freeRawRange(off, n uint64) error {
	if n == 0 {
		return nil
	}
	free := tx.b(bucketRawFree)
	// Merge with the range before and the range after.
	start, end := off, off+n
	cur := free.Cursor()
	k, v := cur.Seek(u64(off))
	if k != nil && binary.BigEndian.Uint64(k) < end {
		return fmt.Errorf("raw log: freeing %d+%d: overlaps a free range at %x: %w", off, n, k, ErrCorrupt)
	}
	if k != nil && binary.BigEndian.Uint64(k) == end {
		l, w := binary.Uvarint(v)
		if w <= 0 {
			return fmt.Errorf("raw log: free range %x: %w", k, ErrCorrupt)
		}
		end += l
		if err := free.Delete(bytes.Clone(k)); err != nil {
			return err
		}
	}
	var pk, pv []byte
	cur = free.Cursor()
	if k, _ := cur.Seek(u64(off)); k == nil {
		pk, pv = cur.Last()
	} else {
		pk, pv = cur.Prev()
	}
	if pk != nil {
		po := binary.BigEndian.Uint64(pk)
		l, w := binary.Uvarint(pv)
		if w <= 0 || po+l > off {
			return fmt.Errorf("raw log: freeing %d+%d: free range %d+%d overlaps: %w", off, n, po, l, ErrCorrupt)
		}
		if po+l == off {
			start = po
			if err := free.Delete(bytes.Clone(pk)); err != nil {
				return err
			}
		}
	}
	if err := free.Put(u64(start), binary.AppendUvarint(nil, end-start)); err != nil {
		return err
	}
	// Zero the bytes, and drop blocks wholly inside [start, end).
	bs := uint64(tx.rawBlock)
	log := tx.b(bucketRaw)
	lastKey, _ := log.Cursor().Last()
	for blk := off / bs; blk*bs < off+n; blk++ {
		key := u64(blk)
		old := log.Get(key)
		if old == nil {
			return fmt.Errorf("raw log: freeing %d+%d: block %d missing: %w", off, n, blk, ErrCorrupt)
		}
		bstart, bend := blk*bs, blk*bs+uint64(len(old))
		if start <= bstart && bend <= end && !bytes.Equal(key, lastKey) && uint64(len(old)) == bs {
			if err := log.Delete(key); err != nil {
				return err
			}
			continue
		}
		nv := bytes.Clone(old)
		lo, hi := max(off, bstart)-bstart, min(off+n, bend)-bstart
		clear(nv[lo:hi])
		if err := log.Put(key, nv); err != nil {
			return err
		}
	}
	// Blocks before and after the freed range that the merge made wholly
	// free are deleted too.
	for _, blk := range []uint64{start / bs, (end - 1) / bs} {
		key := u64(blk)
		old := log.Get(key)
		if old == nil || bytes.Equal(key, lastKey) || uint64(len(old)) != bs {
			continue
		}
		if start <= blk*bs && blk*bs+bs <= end {
			if err := log.Delete(key); err != nil {
				return err
			}
		}
	}
	return nil
}

// freeRawBytes returns the total length of the free ranges of the raw
// log, for Check.
func (tx *Tx) freeRawBytes(c *checker, logEnd uint64) uint64 {
	var total, prevEnd uint64
	first := true
	_ = tx.b(bucketRawFree).ForEach(func(k, v []byte) error {
		l, w := binary.Uvarint(v)
		if len(k) != 8 || w <= 0 || w != len(v) || l == 0 {
			c.add("raw_free: entry %x = %x", k, v)
			return nil
		}
		off := binary.BigEndian.Uint64(k)
		if !first && off <= prevEnd {
			c.add("raw_free: range %d+%d touches or overlaps the one before (ending at %d)", off, l, prevEnd)
		}
		if off+l > logEnd {
			c.add("raw_free: range %d+%d beyond the log end %d", off, l, logEnd)
		}
		first, prevEnd = false, off+l
		total += l
		return nil
	})
	return total
}

// rawFreeCovers reports whether [from, to) lies inside one free range.
func (tx *Tx) rawFreeCovers(from, to uint64) bool {
	cur := tx.b(bucketRawFree).Cursor()
	k, v := cur.Seek(u64(from))
	if k == nil || binary.BigEndian.Uint64(k) > from {
		k, v = cur.Prev()
	}
	if k == nil {
		return false
	}
	off := binary.BigEndian.Uint64(k)
	l, w := binary.Uvarint(v)
	return w > 0 && off <= from && to <= off+l
}

// purgeMessage deletes message seq for good: its record, raw bytes,
// Message-ID entry (kept, without the message, when an outbox entry still
// has the id) and its place in its case's list.
func (tx *Tx) purgeMessage(m *kp.Message) error {
	e, ok, err := tx.lookupID(m.ID)
	if err != nil {
		return err
	}
	if !ok || e.seq != m.Seq {
		return fmt.Errorf("purging message %d (%q): id index says %+v: %w", m.Seq, m.ID, e, ErrCorrupt)
	}
	if err := tx.keepSpecFields(e, nil); err != nil {
		return fmt.Errorf("purging message %d: %w", m.Seq, err)
	}
	if err := tx.keepOutFields(e, nil); err != nil {
		return fmt.Errorf("purging message %d: %w", m.Seq, err)
	}
	if err := tx.materialize(m.Seq, e.cas); err != nil {
		return fmt.Errorf("purging message %d: %w", m.Seq, err)
	}
	if e, err = tx.purgeRaw(e); err != nil {
		return fmt.Errorf("purging message %d: %w", m.Seq, err)
	}
	if err := tx.b(bucketMsg).Delete(u64(m.Seq)); err != nil {
		return err
	}
	if err := tx.deleteFact(m.Seq); err != nil {
		return err
	}
	if err := tx.b(bucketCaseMsg).Delete(caseMsgKey(m.Case, m.Seq)); err != nil {
		return err
	}
	if e.outID != 0 {
		e.seq, e.hash = 0, 0
		if o, err := tx.outbound(e.outID, false); err == nil {
			e.cas = o.Case
		}
		return tx.putIDEntry(m.ID, e)
	}
	return tx.deleteIDEntry(m.ID)
}

// blankMessage removes the raw bytes, text and attachments of a message
// and keeps its record (addresses, dates, class) with note as its text.
func (tx *Tx) blankMessage(m *kp.Message, note string) error {
	e, ok, err := tx.lookupID(m.ID)
	if err != nil {
		return err
	}
	if !ok || e.seq != m.Seq {
		return fmt.Errorf("blanking message %d (%q): id index says %+v: %w", m.Seq, m.ID, e, ErrCorrupt)
	}
	if err := tx.materialize(m.Seq, e.cas); err != nil {
		return fmt.Errorf("blanking message %d: %w", m.Seq, err)
	}
	if err := tx.keepOutFields(e, m); err != nil {
		return fmt.Errorf("blanking message %d: %w", m.Seq, err)
	}
	if e, err = tx.purgeRaw(e); err != nil {
		return fmt.Errorf("blanking message %d: %w", m.Seq, err)
	}
	if err := tx.putIDEntry(m.ID, e); err != nil {
		return err
	}
	m.Text, m.Attachments, m.Size = note, nil, 0
	if err := tx.putFact(m.Seq, m); err != nil { // forget rewrote its addresses
		return err
	}
	return tx.b(bucketMsg).Put(u64(m.Seq), tx.codec.pack(encodeMessage(m), true))
}

// deleteOutbound deletes outbound message id for good with its spec or raw bytes,
// index entries and counter, and its Message-ID entry when no stored
// message has the id.
func (tx *Tx) deleteOutbound(o *kp.Outbound) error {
	key := u64(o.ID)
	if err := tx.dropAttRef(o.ID, tx.b(bucketOutSpec).Get(key)); err != nil {
		return err
	}
	for _, b := range [][]byte{bucketOut, bucketOutRaw, bucketOutSpec} {
		if err := tx.b(b).Delete(key); err != nil {
			return err
		}
	}
	if err := tx.b(bucketOutState).Delete(outStateKey(o.State, o.ID)); err != nil {
		return err
	}
	if err := tx.addStat(outStatKey(o.State), -1); err != nil {
		return err
	}
	if o.State == kp.OutQueued {
		if err := tx.b(bucketOutDue).Delete(dueKey(o.NextTry, o.ID)); err != nil {
			return err
		}
	}
	if o.MessageID == "" {
		return nil
	}
	e, ok, err := tx.lookupID(o.MessageID)
	if err != nil || !ok || e.outID != o.ID {
		return err
	}
	if e.seq == 0 {
		return tx.deleteIDEntry(o.MessageID)
	}
	e.outID = 0
	return tx.putIDEntry(o.MessageID, e)
}
