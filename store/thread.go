package store

import (
	"bytes"
	"encoding/binary"
	"fmt"

	kp "kontaktpunkt"
)

// refByKey is the bucketRefBy key of a referenced id on case c.
func refByKey(id string, c kp.CaseID) []byte {
	k := msgIDKey(id)
	return appendU64(appendLstr(make([]byte, 0, len(k)+10), string(k)), uint64(c))
}

// IndexReferences records that a message filed on case c referenced ids
// (its In-Reply-To and References). Empty ids and case 0 are skipped; an
// entry already present is left alone.
func (tx *Tx) IndexReferences(c kp.CaseID, ids []string) error {
	if c == 0 {
		return nil
	}
	b := tx.b(bucketRefBy)
	for i, id := range ids {
		if id == "" || containsBefore(ids, i) {
			continue
		}
		k := refByKey(id, c)
		if b.Get(k) != nil {
			continue
		}
		if err := b.Put(k, nil); err != nil {
			return fmt.Errorf("indexing reference %q: %w", id, err)
		}
	}
	return nil
}

// containsBefore reports whether ids[i] occurs earlier in ids.
func containsBefore(ids []string, i int) bool {
	for _, s := range ids[:i] {
		if s == ids[i] {
			return true
		}
	}
	return false
}

// ReferencedBy returns the cases (up to limit, lowest first) with a stored
// message that referenced id.
func (tx *Tx) ReferencedBy(id string, limit int) ([]kp.CaseID, error) {
	if id == "" {
		return nil, nil
	}
	k := msgIDKey(id)
	return tx.casesWithPrefix(bucketRefBy, appendLstr(make([]byte, 0, len(k)+2), string(k)), limit, false)
}

// subjectKey is the bucketCaseSubject key of subject on case c.
func subjectKey(subject string, c kp.CaseID) []byte {
	return appendU64(appendLstr(make([]byte, 0, len(subject)+10), subject), uint64(c))
}

// maxSubjectKey bounds the subject part of a bucketCaseSubject key; longer
// subjects are indexed by their first maxSubjectKey bytes.
const maxSubjectKey = 256

func clipSubject(s string) string {
	if len(s) > maxSubjectKey {
		return s[:maxSubjectKey]
	}
	return s
}

// IndexSubject records that case c has the normalised subject subject
// (the caller normalises). An empty subject is not indexed.
func (tx *Tx) IndexSubject(subject string, c kp.CaseID) error {
	if subject == "" || c == 0 {
		return nil
	}
	if err := tx.b(bucketCaseSubject).Put(subjectKey(clipSubject(subject), c), nil); err != nil {
		return fmt.Errorf("indexing subject of case %d: %w", c, err)
	}
	return nil
}

// UnindexSubject removes the entry IndexSubject made.
func (tx *Tx) UnindexSubject(subject string, c kp.CaseID) error {
	if subject == "" || c == 0 {
		return nil
	}
	if err := tx.b(bucketCaseSubject).Delete(subjectKey(clipSubject(subject), c)); err != nil {
		return fmt.Errorf("unindexing subject of case %d: %w", c, err)
	}
	return nil
}

// SubjectCases returns up to limit cases indexed under the normalised
// subject, newest (highest id) first.
func (tx *Tx) SubjectCases(subject string, limit int) ([]kp.CaseID, error) {
	if subject == "" {
		return nil, nil
	}
	s := clipSubject(subject)
	return tx.casesWithPrefix(bucketCaseSubject, appendLstr(make([]byte, 0, len(s)+2), s), limit, true)
}

// casesWithPrefix lists the u64 case ids that follow prefix in the keys
// of an index bucket, lowest first or (newest) highest first.
func (tx *Tx) casesWithPrefix(bucket, prefix []byte, limit int, newest bool) ([]kp.CaseID, error) {
	var out []kp.CaseID
	cur := tx.b(bucket).Cursor()
	var k []byte
	step := cur.Next
	if newest {
		k, step = lastWithPrefix(cur, prefix), func() ([]byte, []byte) { return cur.Prev() }
	} else {
		k, _ = cur.Seek(prefix)
	}
	for ; k != nil && bytes.HasPrefix(k, prefix) && (limit <= 0 || len(out) < limit); k, _ = step() {
		if len(k) != len(prefix)+8 {
			// A longer key whose own prefix happens to start the same way
			// cannot occur with lstr keys; a shorter one is damage.
			return nil, fmt.Errorf("index %s: key %x: %w", bucket, k, ErrCorrupt)
		}
		out = append(out, kp.CaseID(binary.BigEndian.Uint64(k[len(prefix):])))
	}
	return out, nil
}

// ContentHash returns the content hash recorded with a stored message's
// id entry; ok is false when the id is unknown or has no hash recorded.
func (tx *Tx) ContentHash(id string) (hash uint64, ok bool, err error) {
	e, found, err := tx.lookupID(id)
	if err != nil || !found || e.hash == 0 {
		return 0, false, err
	}
	return e.hash, true, nil
}
