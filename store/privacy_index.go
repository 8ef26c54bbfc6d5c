package store

import (
	"bytes"
	"encoding/binary"

	kp "kontaktpunkt"
)

// Per-index steps of retention and forget for the indexes whose entries
// are derived from mail text (the full-text search index, the
// suggestion index). See caseKeyedIndexes and keyIndexes for the plain
// ones.

// dropSearchCases removes the cases drop says to drop from every posting
// block of the full-text index (forget uses it: a rewritten case's old
// tokens are not all known any more): a block is rewritten without them, or
// deleted when none is left. It visits at most max keys from after (nil:
// the start) and returns the key to go on from, nil when done, and how
// many blocks it changed.
func (tx *Tx) dropSearchCases(drop func(kp.CaseID) bool, after []byte, max int) ([]byte, int, error) {
	if after == nil {
		if err := tx.mergeSearchLog(nil); err != nil { // only blocks from here on
			return nil, 0, err
		}
	}
	b := tx.b(bucketSearch)
	cur := b.Cursor()
	var k, v []byte
	if after == nil {
		k, v = cur.First()
	} else {
		k, v = cur.Seek(after)
	}
	type put struct{ key, val []byte }
	var dels [][]byte
	var puts []put
	visited := 0
	var next []byte
	for ; k != nil; k, v = cur.Next() {
		if visited >= max {
			next = bytes.Clone(k)
			break
		}
		visited++
		i := bytes.IndexByte(k, 0)
		if i < 0 || len(k) != i+9 {
			continue // Check reports malformed keys
		}
		ids, err := decodeBlock(kp.CaseID(binary.BigEndian.Uint64(k[i+1:])), v, nil)
		if err != nil {
			return nil, 0, err
		}
		kept := ids[:0:0]
		for _, id := range ids {
			if !drop(id) {
				kept = append(kept, id)
			}
		}
		if len(kept) == len(ids) {
			continue
		}
		dels = append(dels, bytes.Clone(k))
		if len(kept) > 0 {
			puts = append(puts, put{searchKey(string(k[:i]), kept[0]), encodeBlock(kept)})
		}
	}
	for _, d := range dels {
		if err := b.Delete(d); err != nil {
			return nil, 0, err
		}
	}
	for _, p := range puts {
		if err := b.Put(p.key, p.val); err != nil {
			return nil, 0, err
		}
	}
	return next, len(dels), nil
}

// forgetIndexes removes the cases a forget rewrote from the indexes
// derived from their text and indexes them again from the rewritten
// records: the full-text index from the case and its messages; the
// suggestion index loses them (its terms come from the text model of
// package suggest, which the store does not run).
func (tx *Tx) forgetIndexes(cases map[kp.CaseID]bool) (int, error) {
	if len(cases) == 0 {
		return 0, nil
	}
	n := 0
	var after []byte
	for {
		var c int
		var err error
		after, c, err = tx.dropSearchCases(func(id kp.CaseID) bool { return cases[id] }, after, 1<<30)
		if err != nil {
			return n, err
		}
		n += c
		if after == nil {
			break
		}
	}
	for id := range cases {
		c, err := tx.Case(id)
		if err != nil {
			return n, err
		}
		if err := tx.indexSearch(id, caseTokens(c)); err != nil {
			return n, err
		}
		msgs, err := tx.CaseMessages(id)
		if err != nil {
			return n, err
		}
		for i := range msgs {
			if err := tx.indexSearch(id, messageTokens(&msgs[i])); err != nil {
				return n, err
			}
		}
		if err := tx.DeleteCaseTerms(id); err != nil {
			return n, err
		}
	}
	return n, nil
}
