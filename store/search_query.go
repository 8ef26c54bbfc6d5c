package store

import (
	"bytes"
	"encoding/binary"
	"math/bits"

	bolt "go.etcd.io/bbolt"

	kp "kontaktpunkt"
)

// A query is answered newest case first, a window of case ids at a time:
// each term reads only the posting blocks that reach into the window,
// from its newest block down, and the search stops as soon as the page
// is full. Most queries are answered from the newest few thousand cases
// whatever the size of the store.

const (
	// firstWindow is the width in case ids of the first window; each
	// further window is windowGrowth times wider.
	firstWindow  = 4096
	windowGrowth = 4
	// maxTermTokens bounds how many distinct tokens one prefix word
	// reads; a prefix of more is cut there and the search says so.
	maxTermTokens = 20000
)

// tokenCursor reads the posting blocks of one token from the newest down.
type tokenCursor struct {
	prefix []byte      // token | 0x00
	next   []byte      // key of the next (older) block to read; nil when none
	rest   []kp.CaseID // ids read but below the windows so far, ascending
}

// termPostings reads the postings of one query term (a token, every token
// a word is a prefix of, or every token of a key range) window by window.
type termPostings struct {
	tokens []*tokenCursor
	top    kp.CaseID // the highest id of the term; 0 when none
	cut    bool      // maxTermTokens left tokens out
	// read counts the ids decoded so far, for the budget of a search.
	read int
}

// newTermPostings finds the tokens from lo (included) to hi (excluded):
// hi nil is every token lo is a prefix of. Each token is visited by one
// seek: the sorted keys are the term dictionary.
func newTermPostings(b *bolt.Bucket, lo, hi []byte) (*termPostings, error) {
	t := &termPostings{}
	cur := b.Cursor()
	in := func(k []byte) bool {
		if hi == nil {
			return bytes.HasPrefix(k, lo)
		}
		return bytes.Compare(k, hi) < 0
	}
	for k, _ := cur.Seek(lo); k != nil && in(k); {
		i := bytes.IndexByte(k, 0)
		if i < 0 || len(k) != i+9 {
			k, _ = cur.Next() // Check reports malformed keys
			continue
		}
		if len(t.tokens) == maxTermTokens {
			t.cut = true
			break
		}
		tc := &tokenCursor{prefix: bytes.Clone(k[:i+1])}
		// The token's newest block is the last key before token | 0x01.
		after := append(bytes.Clone(k[:i]), 1)
		k, _ = cur.Seek(after)
		var lk, lv []byte
		if k == nil {
			lk, lv = cur.Last()
		} else {
			lk, lv = cur.Prev()
		}
		if lk == nil || !bytes.HasPrefix(lk, tc.prefix) || len(lk) != len(tc.prefix)+8 {
			return nil, ErrCorrupt
		}
		var err error
		if tc.rest, err = decodeBlock(blockFirst(lk), lv, nil); err != nil {
			return nil, err
		}
		t.read += len(tc.rest)
		if pk, _ := cur.Prev(); pk != nil && bytes.HasPrefix(pk, tc.prefix) && len(pk) == len(tc.prefix)+8 {
			tc.next = bytes.Clone(pk)
		}
		t.top = max(t.top, tc.rest[len(tc.rest)-1])
		t.tokens = append(t.tokens, tc)
		k, _ = cur.Seek(after)
	}
	return t, nil
}

func blockFirst(k []byte) kp.CaseID { return kp.CaseID(binary.BigEndian.Uint64(k[len(k)-8:])) }

// fill sets in w the bit of every id of the term from lo up to the
// window's top, reading older blocks as far as needed; tokens whose
// blocks are all read are dropped.
func (t *termPostings) fill(b *bolt.Bucket, w *window) error {
	cur := b.Cursor()
	live := t.tokens[:0]
	for _, tc := range t.tokens {
		for {
			// Take the ids of rest in the window.
			n := len(tc.rest)
			i := n
			for i > 0 && tc.rest[i-1] >= w.lo {
				i--
			}
			for _, id := range tc.rest[i:] {
				w.set(id)
			}
			tc.rest = tc.rest[:i]
			if i > 0 || tc.next == nil {
				break
			}
			// rest is used up: read the next older block.
			k, v := cur.Seek(tc.next)
			if k == nil || !bytes.Equal(k, tc.next) {
				return ErrCorrupt
			}
			var err error
			if tc.rest, err = decodeBlock(blockFirst(k), v, tc.rest[:0]); err != nil {
				return err
			}
			t.read += len(tc.rest)
			tc.next = nil
			if pk, _ := cur.Prev(); pk != nil && bytes.HasPrefix(pk, tc.prefix) && len(pk) == len(tc.prefix)+8 {
				tc.next = bytes.Clone(pk)
			}
		}
		if len(tc.rest) > 0 || tc.next != nil {
			live = append(live, tc)
		}
	}
	clear(t.tokens[len(live):])
	t.tokens = live
	return nil
}

// window is a bitmap of the case ids from lo up to hi (excluded).
type window struct {
	lo, hi kp.CaseID
	bits   []uint64
}

func newWindow(lo, hi kp.CaseID, reuse []uint64) *window {
	n := int(hi-lo+63) / 64
	if cap(reuse) >= n {
		reuse = reuse[:n]
		clear(reuse)
	} else {
		reuse = make([]uint64, n)
	}
	return &window{lo: lo, hi: hi, bits: reuse}
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
