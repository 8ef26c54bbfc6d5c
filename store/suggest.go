package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"

	kp "kontaktpunkt"
)

// Stats keys of the suggestion index (bucketStats).
var (
	statSuggestDocs  = []byte("suggest/docs")
	statSuggestTerms = []byte("suggest/terms")
)

func suggestPostKey(term string, id kp.CaseID) []byte {
	return appendU64(appendLstr(make([]byte, 0, 10+len(term)), term), uint64(id))
}

// maxSuggestTerm is the longest term indexed; longer ones are noise
// (hashes, URLs run together) and would bloat keys.
const maxSuggestTerm = 64

// PutCaseTerms records the terms of case id's request (term -> frequency)
// in the suggestion index, replacing any it had. The case's team and
// assignee are read from the case itself when suggestions are ranked, so
// later assignments need no index update.
func (tx *Tx) PutCaseTerms(id kp.CaseID, terms map[string]int) error {
	if id == 0 {
		return fmt.Errorf("indexing terms: zero case id: %w", ErrInvalid)
	}
	if err := tx.DeleteCaseTerms(id); err != nil {
		return err
	}
	keys := make([]string, 0, len(terms))
	total := 0
	for t, n := range terms {
		if t == "" || n <= 0 || len(t) > maxSuggestTerm {
			continue
		}
		keys = append(keys, t)
		total += n
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Strings(keys)
	doc := binary.AppendUvarint(nil, uint64(len(keys)))
	post, df := tx.b(bucketSuggestPost), tx.b(bucketSuggestDF)
	for _, t := range keys {
		n := terms[t]
		doc = binary.AppendUvarint(appendLstr(doc, t), uint64(n))
		v := binary.AppendUvarint(binary.AppendUvarint(make([]byte, 0, 6), uint64(n)), uint64(total))
		if err := post.Put(suggestPostKey(t, id), v); err != nil {
			return fmt.Errorf("indexing terms of case %d: %w", id, err)
		}
		if err := addUvarint(df, []byte(t), 1); err != nil {
			return fmt.Errorf("indexing terms of case %d: %w", id, err)
		}
	}
	if err := tx.b(bucketSuggestDoc).Put(u64(uint64(id)), doc); err != nil {
		return fmt.Errorf("indexing terms of case %d: %w", id, err)
	}
	if err := tx.addStat(statSuggestDocs, 1); err != nil {
		return err
	}
	return tx.addStat(statSuggestTerms, int64(total))
}

// DeleteCaseTerms removes case id from the suggestion index.
func (tx *Tx) DeleteCaseTerms(id kp.CaseID) error {
	docs := tx.b(bucketSuggestDoc)
	v := docs.Get(u64(uint64(id)))
	if v == nil {
		return nil
	}
	terms, err := decodeSuggestDoc(v)
	if err != nil {
		return fmt.Errorf("terms of case %d: %w", id, err)
	}
	post, df := tx.b(bucketSuggestPost), tx.b(bucketSuggestDF)
	total := 0
	for t, n := range terms {
		total += n
		if err := post.Delete(suggestPostKey(t, id)); err != nil {
			return err
		}
		if err := addUvarint(df, []byte(t), -1); err != nil {
			return err
		}
	}
	if err := docs.Delete(u64(uint64(id))); err != nil {
		return err
	}
	if err := tx.addStat(statSuggestDocs, -1); err != nil {
		return err
	}
	return tx.addStat(statSuggestTerms, -int64(total))
}

// CaseTerms returns the indexed terms of case id, nil when it has none.
func (tx *Tx) CaseTerms(id kp.CaseID) (map[string]int, error) {
	v := tx.b(bucketSuggestDoc).Get(u64(uint64(id)))
	if v == nil {
		return nil, nil
	}
	terms, err := decodeSuggestDoc(v)
	if err != nil {
		return nil, fmt.Errorf("terms of case %d: %w", id, err)
	}
	return terms, nil
}

func decodeSuggestDoc(v []byte) (map[string]int, error) {
	n, k := binary.Uvarint(v)
	if k <= 0 || n > uint64(len(v)) {
		return nil, ErrCorrupt
	}
	v = v[k:]
	out := make(map[string]int, n)
	for range n {
		l, k := binary.Uvarint(v)
		if k <= 0 || uint64(len(v)-k) < l {
			return nil, ErrCorrupt
		}
		t := string(v[k : k+int(l)])
		v = v[k+int(l):]
		f, k2 := binary.Uvarint(v)
		if k2 <= 0 {
			return nil, ErrCorrupt
		}
		v = v[k2:]
		out[t] = int(f)
	}
	if len(v) != 0 {
		return nil, ErrCorrupt
	}
	return out, nil
}

// TermCases returns how many indexed cases have term (0 for a term the
// index does not know).
func (tx *Tx) TermCases(term string) int {
	v := tx.b(bucketSuggestDF).Get([]byte(term))
	n, k := binary.Uvarint(v)
	if k <= 0 {
		return 0
	}
	return int(n)
}

// TermPostings calls fn for each indexed case with term, lowest case id
// first, with the term's frequency in the case and the case's term count,
// until fn returns false.
func (tx *Tx) TermPostings(term string, fn func(id kp.CaseID, freq, length int) bool) error {
	prefix := appendLstr(nil, term)
	cur := tx.b(bucketSuggestPost).Cursor()
	for k, v := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
		if len(k) != len(prefix)+8 {
			return fmt.Errorf("term %q: key %x: %w", term, k, ErrCorrupt)
		}
		f, a := binary.Uvarint(v)
		l, b := binary.Uvarint(v[max(a, 0):])
		if a <= 0 || b <= 0 {
			return fmt.Errorf("term %q: posting %x: %w", term, v, ErrCorrupt)
		}
		if !fn(kp.CaseID(binary.BigEndian.Uint64(k[len(prefix):])), int(f), int(l)) {
			return nil
		}
	}
	return nil
}

// TermStats returns the number of cases in the suggestion index and the
// sum of their term counts.
func (tx *Tx) TermStats() (cases, terms int64, err error) {
	if cases, err = tx.stat(statSuggestDocs); err != nil {
		return 0, 0, err
	}
	terms, err = tx.stat(statSuggestTerms)
	return cases, terms, err
}

// addUvarint adds delta to a uvarint counter value, deleting it at zero.
func addUvarint(b interface {
	Get([]byte) []byte
	Put([]byte, []byte) error
	Delete([]byte) error
}, key []byte, delta int64) error {
	n, _ := binary.Uvarint(b.Get(key))
	v := int64(n) + delta
	if v <= 0 {
		return b.Delete(key)
	}
	return b.Put(key, binary.AppendUvarint(nil, uint64(v)))
}

// LastCaseID returns the highest case id allocated so far (0 for none).
func (tx *Tx) LastCaseID() (kp.CaseID, error) {
	return kp.CaseID(tx.b(bucketCase).Sequence()), nil
}
