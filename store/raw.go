package store

import (
	"encoding/binary"
	"fmt"
)

// putRaw stores the packed raw message of seq and returns its length and
// log offset for the message's idEntry.
func (tx *Tx) putRaw(seq uint64, packed []byte) (length, off uint64, err error) {
	if len(packed) >= bigRaw {
		if err := tx.b(bucketRawBig).Put(u64(seq), packed); err != nil {
			return 0, 0, err
		}
		return uint64(len(packed)), 0, nil
	}
	off, err = tx.appendRawLog(packed)
	return uint64(len(packed)), off, err
}

// appendRawLog appends p to the raw log and returns its offset. It fills
// the last, partial block first; the following blocks are slices of p
// (bolt keeps them until commit; p is not modified afterwards).
func (tx *Tx) appendRawLog(p []byte) (uint64, error) {
	bs := tx.rawBlock
	b := tx.b(bucketRaw)
	var n uint64
	k, last := b.Cursor().Last()
	if k != nil {
		if len(k) != 8 || len(last) > bs {
			return 0, fmt.Errorf("raw log: last block %x (%d bytes): %w", k, len(last), ErrCorrupt)
		}
		n = binary.BigEndian.Uint64(k)
		if len(last) == bs {
			n, last = n+1, nil
		}
	}
	off := n*uint64(bs) + uint64(len(last))
	if len(last) > 0 {
		fill := min(bs-len(last), len(p))
		v := make([]byte, len(last)+fill)
		copy(v, last)
		copy(v[len(last):], p[:fill])
		if err := b.Put(u64(n), v); err != nil {
			return 0, err
		}
		p = p[fill:]
		n++
	}
	for len(p) > 0 {
		chunk := p[:min(bs, len(p))]
		if err := b.Put(u64(n), chunk); err != nil {
			return 0, err
		}
		p = p[len(chunk):]
		n++
	}
	return off, nil
}

// raw returns the unpacked raw message described by e (e.rawLen > 0).
func (tx *Tx) raw(e idEntry) ([]byte, error) {
	packed, owned, err := tx.rawPacked(e)
	if err != nil {
		return nil, err
	}
	if owned {
		return tx.codec.unpackOwned(packed)
	}
	return tx.codec.unpack(packed)
}

// rawPacked returns the packed raw bytes described by e (e.rawLen > 0),
// and whether they are a copy of the caller's (a message in the raw log)
// rather than the store's mapped value (a big one).
func (tx *Tx) rawPacked(e idEntry) (packed []byte, owned bool, err error) {
	if e.rawLen >= bigRaw {
		v := tx.b(bucketRawBig).Get(u64(e.seq))
		if v == nil || uint64(len(v)) != e.rawLen {
			return nil, false, fmt.Errorf("big raw message %d: %w", e.seq, ErrCorrupt)
		}
		return v, false, nil
	}
	packed, err = tx.readRawLog(e.rawOff, e.rawLen)
	return packed, err == nil, err
}

// readRawLog copies length bytes at offset off out of the raw log.
func (tx *Tx) readRawLog(off, length uint64) ([]byte, error) {
	bs := uint64(tx.rawBlock)
	out := make([]byte, 0, length)
	n, skip := off/bs, off%bs
	cur := tx.b(bucketRaw).Cursor()
	for k, v := cur.Seek(u64(n)); k != nil && uint64(len(out)) < length; k, v = cur.Next() {
		if len(k) != 8 || binary.BigEndian.Uint64(k) != n || uint64(len(v)) < skip {
			break
		}
		v = v[skip:]
		take := min(uint64(len(v)), length-uint64(len(out)))
		out = append(out, v[:take]...)
		n, skip = n+1, 0
	}
	if uint64(len(out)) != length {
		return nil, fmt.Errorf("raw log: %d bytes at %d: only %d found: %w", length, off, len(out), ErrCorrupt)
	}
	return out, nil
}
