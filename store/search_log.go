package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	kp "kontaktpunkt"
)

// The search log: a transaction's postings are written as one record
// (a segment) instead of one block write per token, and every
// searchLogMax segments are merged into the posting blocks at once. A
// token found in many transactions is then written once per merge
// instead of once per transaction, and a transaction writes one record
// instead of touching thousands of pages. Searches read the segments too
// (a handful, each searched by bisection); forget and purge merge them
// first, so they only ever see posting blocks.
//
// A segment's key is 0x00 | u64 sequence | 0x00 (ten bytes: no posting
// block key starts with 0x00, and readers of blocks skip it as a key of
// the wrong shape). Its value: uvarint token count n | n little-endian
// u32 offsets of the entries from the end of the table | entries in
// token order, each uvarint length | token | uvarint id count | first
// id | uvarint gaps. The tokens are plain (no epoch).

// searchLogMax is how many segments are kept before they are merged.
const searchLogMax = 64

func segmentKey(seq uint64) []byte {
	k := make([]byte, 0, 10)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint64(k, seq)
	return append(k, 0)
}

func isSegmentKey(k []byte) bool { return len(k) == 10 && k[0] == 0 && k[9] == 0 }

// encodeSegment encodes postings (ids ascending, without repeats).
func encodeSegment(postings map[string][]kp.CaseID) []byte {
	tokens := make([]string, 0, len(postings))
	size := 0
	for t, ids := range postings {
		tokens = append(tokens, t)
		size += len(t) + 4 + 2*len(ids)
	}
	slices.Sort(tokens)
	head := binary.AppendUvarint(nil, uint64(len(tokens)))
	table := len(head)
	v := make([]byte, table+4*len(tokens), table+4*len(tokens)+size)
	copy(v, head)
	base := len(v)
	for i, t := range tokens {
		binary.LittleEndian.PutUint32(v[table+4*i:], uint32(len(v)-base))
		ids := postings[t]
		v = binary.AppendUvarint(v, uint64(len(t)))
		v = append(v, t...)
		v = binary.AppendUvarint(v, uint64(len(ids)))
		v = binary.AppendUvarint(v, uint64(ids[0]))
		for j := 1; j < len(ids); j++ {
			v = binary.AppendUvarint(v, uint64(ids[j]-ids[j-1]))
		}
	}
	return v
}

// segment reads an encoded segment.
type segment struct {
	n     int
	table []byte // n offsets
	body  []byte
}

func readSegment(v []byte) (segment, error) {
	n, w := binary.Uvarint(v)
	if w <= 0 || n > uint64(len(v)) || uint64(len(v)-w) < 4*n {
		return segment{}, fmt.Errorf("search log: %w", ErrCorrupt)
	}
	return segment{n: int(n), table: v[w : w+4*int(n)], body: v[w+4*int(n):]}, nil
}

// entry returns the token of entry i and the rest of the entry.
func (s segment) entry(i int) ([]byte, []byte, error) {
	off := binary.LittleEndian.Uint32(s.table[4*i:])
	if uint64(off) >= uint64(len(s.body)) {
		return nil, nil, fmt.Errorf("search log: entry %d: %w", i, ErrCorrupt)
	}
	e := s.body[off:]
	l, w := binary.Uvarint(e)
	if w <= 0 || uint64(len(e)-w) < l {
		return nil, nil, fmt.Errorf("search log: entry %d: %w", i, ErrCorrupt)
	}
	return e[w : w+int(l)], e[w+int(l):], nil
}

// ids decodes the ids of an entry's rest into into.
func segmentIDs(e []byte, into []kp.CaseID) ([]kp.CaseID, error) {
	n, w := binary.Uvarint(e)
	if w <= 0 || n == 0 || n > uint64(len(e)) {
		return into, fmt.Errorf("search log: %w", ErrCorrupt)
	}
	e = e[w:]
	var cur uint64
	for i := uint64(0); i < n; i++ {
		d, w := binary.Uvarint(e)
		if w <= 0 || (i > 0 && d == 0) {
			return into, fmt.Errorf("search log: %w", ErrCorrupt)
		}
		cur += d
		into = append(into, kp.CaseID(cur))
		e = e[w:]
	}
	return into, nil
}

// each calls fn with the token and ids of every entry from token lo up to
// hi (excluded) or, when hi is "", of every token lo is a prefix of.
// The token given to fn is only valid during the call.
func (s segment) each(lo, hi string, ids []kp.CaseID, fn func(token []byte, ids []kp.CaseID)) ([]kp.CaseID, error) {
	i, j := 0, s.n
	for i < j {
		h := int(uint(i+j) >> 1)
		t, _, err := s.entry(h)
		if err != nil {
			return ids, err
		}
		if string(t) < lo {
			i = h + 1
		} else {
			j = h
		}
	}
	for ; i < s.n; i++ {
		t, rest, err := s.entry(i)
		if err != nil {
			return ids, err
		}
		if hi == "" && !strings.HasPrefix(string(t), lo) || hi != "" && string(t) >= hi {
			break
		}
		if ids, err = segmentIDs(rest, ids[:0]); err != nil {
			return ids, err
		}
		fn(t, ids)
	}
	return ids, nil
}

// writeSearchLog writes the postings of the transaction as a segment,
// and merges the log when it is full.
func (tx *Tx) writeSearchLog(postings map[string][]kp.CaseID) error {
	b := tx.b(bucketSearch)
	cur := b.Cursor()
	n := 0
	var last uint64
	for k, _ := cur.Seek([]byte{0}); k != nil && k[0] == 0; k, _ = cur.Next() {
		if isSegmentKey(k) {
			n++
			last = binary.BigEndian.Uint64(k[1:9])
		}
	}
	if n+1 >= searchLogMax {
		return tx.mergeSearchLog(postings)
	}
	if err := b.Put(segmentKey(last+1), encodeSegment(postings)); err != nil {
		return fmt.Errorf("search log: %w", err)
	}
	return nil
}

// mergeSearchLog writes every segment of the log, and postings, into the
// posting blocks and empties the log.
func (tx *Tx) mergeSearchLog(postings map[string][]kp.CaseID) error {
	b := tx.b(bucketSearch)
	var keys [][]byte
	cur := b.Cursor()
	for k, v := cur.Seek([]byte{0}); k != nil && k[0] == 0; k, v = cur.Next() {
		if !isSegmentKey(k) {
			continue
		}
		if postings == nil {
			postings = make(map[string][]kp.CaseID, 1<<12)
		}
		keys = append(keys, bytes.Clone(k))
		s, err := readSegment(v)
		if err != nil {
			return err
		}
		if _, err := s.each("", "", nil, func(t []byte, ids []kp.CaseID) {
			if l, ok := postings[string(t)]; ok {
				postings[string(t)] = append(l, ids...)
			} else {
				postings[string(t)] = slices.Clone(ids)
			}
		}); err != nil {
			return err
		}
	}
	if len(keys) == 0 && len(postings) == 0 {
		return nil // an empty log (purge, forget): nothing to write
	}
	// The blocks first: a cursor of bolt can loop on a bucket whose
	// keys were all deleted in the transaction.
	if err := tx.writeSearchPostings(postings); err != nil {
		return err
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// searchLog returns the segments of the log.
func searchLog(b *bolt.Bucket) ([]segment, error) {
	var segs []segment
	cur := b.Cursor()
	for k, v := cur.Seek([]byte{0}); k != nil && k[0] == 0; k, v = cur.Next() {
		if !isSegmentKey(k) {
			continue
		}
		s, err := readSegment(v)
		if err != nil {
			return nil, err
		}
		segs = append(segs, s)
	}
	return segs, nil
}
