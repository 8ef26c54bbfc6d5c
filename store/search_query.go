package store

import (
	"bytes"
	"encoding/binary"
	"math/bits"

	bolt "go.etcd.io/bbolt"

	kp "kontaktpunkt"
)

// A query is answered newest case first, an epoch of case ids at a time
// (see epochCases): each term reads only its blocks of the epoch into a
// bitmap, the terms' bitmaps are ANDed, and the search stops as soon as
// the page is full. Most queries are answered from the newest epoch or
// two whatever the size of the store.

func blockFirst(k []byte) kp.CaseID { return kp.CaseID(binary.BigEndian.Uint64(k[len(k)-8:])) }

// fillTerm sets in w the cases of every token from lo (included) up to hi
// (excluded) or, when hi is nil, of every token lo is a prefix of. It
// returns how many ids it read, and whether it found any token at all.
func fillTerm(cur *bolt.Cursor, lo, hi []byte, w *window) (int, bool, error) {
	read, found := 0, false
	var ids []kp.CaseID
	for k, v := cur.Seek(lo); k != nil; k, v = cur.Next() {
		if hi == nil && !bytes.HasPrefix(k, lo) || hi != nil && bytes.Compare(k, hi) >= 0 {
			break
		}
		i := bytes.IndexByte(k, 0)
		if i < 0 || len(k) != i+9 {
			continue // Check reports malformed keys
		}
		found = true
		var err error
		if ids, err = decodeBlock(blockFirst(k), v, ids[:0]); err != nil {
			return read, found, err
		}
		read += len(ids)
		for _, id := range ids {
			w.set(id)
		}
	}
	return read, found, nil
}

// window is a bitmap of the case ids from lo up to hi (excluded).
type window struct {
	lo, hi kp.CaseID
	bits   []uint64
}

func newWindow(lo, hi kp.CaseID) *window {
	return &window{lo: lo, hi: hi, bits: make([]uint64, (hi-lo+63)/64)}
}

// reset empties w and moves it to the ids from lo, of the same width.
func (w *window) reset(lo kp.CaseID) {
	w.hi, w.lo = lo+(w.hi-w.lo), lo
	clear(w.bits)
}

func (w *window) set(id kp.CaseID) {
	if id >= w.lo && id < w.hi {
		i := id - w.lo
		w.bits[i/64] |= 1 << (i % 64)
	}
}

// and keeps in w only the ids also in o (a window of the same range).
func (w *window) and(o *window) {
	for i := range w.bits {
		w.bits[i] &= o.bits[i]
	}
}

// eachDown calls fn with the ids of w from the highest down until fn
// returns false, and reports whether it went through all.
func (w *window) eachDown(fn func(kp.CaseID) bool) bool {
	for i := len(w.bits) - 1; i >= 0; i-- {
		x := w.bits[i]
		for x != 0 {
			j := 63 - bits.LeadingZeros64(x)
			x &^= 1 << j
			if !fn(w.lo + kp.CaseID(i*64+j)) {
				return false
			}
		}
	}
	return true
}
