package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	kp "kontaktpunkt"
)

// NextCaseID allocates the next case id: 1, 2, 3 … in order of calls that
// were committed. A rolled-back transaction gives its id back.
func (tx *Tx) NextCaseID() (kp.CaseID, error) {
	n, err := tx.b(bucketCase).NextSequence()
	if err != nil {
		return 0, fmt.Errorf("allocating case id: %w", err)
	}
	return kp.CaseID(n), nil
}

// Case returns case id, or ErrNotFound.
func (tx *Tx) Case(id kp.CaseID) (*kp.Case, error) {
	v := tx.b(bucketCase).Get(u64(uint64(id)))
	if v == nil {
		return nil, fmt.Errorf("case %d: %w", id, ErrNotFound)
	}
	p, err := tx.codec.unpack(v)
	if err != nil {
		return nil, fmt.Errorf("case %d: %w", id, err)
	}
	return decodeCase(p, id)
}

func caseStatusKey(s kp.Status, id kp.CaseID) []byte {
	return appendU64(appendLstr(make([]byte, 0, 16+len(s)), string(s)), uint64(id))
}

func caseAssigneeKey(a string, id kp.CaseID) []byte {
	a = kp.NormAddr(a)
	return appendU64(appendLstr(make([]byte, 0, 16+len(a)), a), uint64(id))
}

func dueKey(t time.Time, id uint64) []byte {
	return appendU64(appendT12(make([]byte, 0, 20), t), id)
}

func statKey(s kp.Status) []byte { return []byte("case/" + string(s)) }

// PutCase inserts or updates case c (c.ID must be set, normally from
// NextCaseID). It keeps the status, assignee and follow-up due indexes and
// the per-status counters in step: keys of the previous version are
// removed and the new ones written.
func (tx *Tx) PutCase(c *kp.Case) error {
	if c.ID == 0 {
		return fmt.Errorf("storing case: zero case id: %w", ErrInvalid)
	}
	if !c.Status.Valid() {
		return fmt.Errorf("storing case %d: status %q: %w", c.ID, c.Status, ErrInvalid)
	}
	key := u64(uint64(c.ID))
	cases := tx.b(bucketCase)
	var old *kp.Case
	if v := cases.Get(key); v != nil {
		p, err := tx.codec.unpack(v)
		if err == nil {
			old, err = decodeCase(p, c.ID)
		}
		if err != nil {
			return fmt.Errorf("storing case %d: reading previous version: %w", c.ID, err)
		}
	}
	tx.forgetBrief(c.ID)
	if err := cases.Put(key, tx.codec.pack(encodeCase(c), false)); err != nil {
		return fmt.Errorf("storing case %d: %w", c.ID, err)
	}
	if err := tx.indexCase(old, c); err != nil {
		return fmt.Errorf("storing case %d: %w", c.ID, err)
	}
	return nil
}

// indexCase moves the index entries and counters of a case from its old
// version (nil for a new case) to the new one.
func (tx *Tx) indexCase(old, c *kp.Case) error {
	if old == nil || old.Status != c.Status {
		st := tx.b(bucketCaseStatus)
		if old != nil {
			if err := st.Delete(caseStatusKey(old.Status, c.ID)); err != nil {
				return err
			}
			if err := tx.addStat(statKey(old.Status), -1); err != nil {
				return err
			}
		}
		if err := st.Put(caseStatusKey(c.Status, c.ID), nil); err != nil {
			return err
		}
		if err := tx.addStat(statKey(c.Status), 1); err != nil {
			return err
		}
	}
	oldA, newA := "", kp.NormAddr(c.Assignee)
	if old != nil {
		oldA = kp.NormAddr(old.Assignee)
	}
	if oldA != newA {
		var oldKey, newKey []byte
		if oldA != "" {
			oldKey = caseAssigneeKey(oldA, c.ID)
		}
		if newA != "" {
			newKey = caseAssigneeKey(newA, c.ID)
		}
		if err := replaceKey(tx.b(bucketCaseAssignee), oldKey, newKey); err != nil {
			return err
		}
	}
	if err := tx.indexCounterparts(old, c); err != nil {
		return err
	}
	if caseSearchChanged(old, c) {
		if err := tx.indexSearch(c.ID, caseTokens(c)); err != nil {
			return err
		}
	}
	var oldDue, newDue []byte
	if old != nil && old.Next != nil {
		oldDue = dueKey(old.Next.Due, uint64(c.ID))
	}
	if c.Next != nil {
		newDue = dueKey(c.Next.Due, uint64(c.ID))
	}
	return replaceKey(tx.b(bucketCaseDue), oldDue, newDue)
}

func caseCounterpartKey(key string, id kp.CaseID) []byte {
	return appendU64(appendLstr(make([]byte, 0, 16+len(key)), key), uint64(id))
}

// counterpartKeys returns the index keys of c's counterpart references.
func counterpartKeys(c *kp.Case) map[string]bool {
	if c == nil || len(c.Counterparts) == 0 {
		return nil
	}
	keys := make(map[string]bool, len(c.Counterparts))
	for _, r := range c.Counterparts {
		if k := kp.TicketRefKey(r.Ref); k != "" {
			keys[k] = true
		}
	}
	return keys
}

// indexCounterparts moves the counterpart reference entries of a case from
// its old version to the new one.
func (tx *Tx) indexCounterparts(old, c *kp.Case) error {
	oldKeys, newKeys := counterpartKeys(old), counterpartKeys(c)
	b := tx.b(bucketCaseCounterpart)
	for k := range oldKeys {
		if !newKeys[k] {
			if err := b.Delete(caseCounterpartKey(k, c.ID)); err != nil {
				return err
			}
		}
	}
	for k := range newKeys {
		if !oldKeys[k] {
			if err := b.Put(caseCounterpartKey(k, c.ID), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// CounterpartCases returns the cases that recorded a counterpart
// reference with this key (kp.TicketRefKey), lowest id first.
func (tx *Tx) CounterpartCases(key string) ([]kp.CaseID, error) {
	key = kp.TicketRefKey(key)
	if key == "" {
		return nil, nil
	}
	prefix := appendLstr(nil, key)
	var out []kp.CaseID
	cur := tx.b(bucketCaseCounterpart).Cursor()
	for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
		if rest := k[len(prefix):]; len(rest) == 8 {
			out = append(out, kp.CaseID(binary.BigEndian.Uint64(rest)))
		}
	}
	return out, nil
}

// replaceKey moves an entry of an index bucket (empty values) from oldKey
// to newKey; nil means no entry on that side, equal keys mean no change.
func replaceKey(b *bolt.Bucket, oldKey, newKey []byte) error {
	if bytes.Equal(oldKey, newKey) {
		return nil
	}
	if oldKey != nil {
		if err := b.Delete(oldKey); err != nil {
			return err
		}
	}
	if newKey != nil {
		return b.Put(newKey, nil)
	}
	return nil
}

// CaseFilter selects cases for Cases. Zero fields select everything.
type CaseFilter struct {
	// Status keeps cases with this status.
	Status kp.Status
	// Assignee keeps cases assigned to this address (case-insensitive).
	Assignee string
	// Limit caps the number of cases returned; <= 0 means no cap.
	Limit int
	// Offset skips this many matching cases first (paging).
	Offset int
}

// Cases returns the cases matching f, newest (highest id) first. With a
// Status or Assignee it walks that index instead of every case.
func (tx *Tx) Cases(f CaseFilter) ([]kp.Case, error) {
	var out []kp.Case
	err := tx.EachCase(f, func(c *kp.Case) error {
		out = append(out, *c)
		return nil
	})
	return out, err
}

// releaseEvery is how many cases EachCase reads between releases of the
// store pages it mapped (releasePages): ~300 KiB of case records, whose
// pages, with the kernel's fault-around, map up to ~16 times that:
// `cases` over 220,000 cases peaks at 33 MiB RSS instead of 1 GiB.
const releaseEvery = 1024

// EachCase calls fn for each case matching f, newest (highest id) first,
// one at a time, so a listing of any size needs the memory of one case:
// the store pages it maps are released as it goes.
// An error from fn stops the walk and is returned.
func (tx *Tx) EachCase(f CaseFilter, fn func(*kp.Case) error) error {
	skip, n, seen := f.Offset, 0, 0
	// take applies the filters the walk does not already guarantee and
	// the paging; false stops the walk.
	take := func(c *kp.Case) (bool, error) {
		if seen++; seen%releaseEvery == 0 {
			tx.releasePages()
		}
		if f.Status != "" && c.Status != f.Status {
			return true, nil
		}
		if f.Assignee != "" && !kp.SameAddr(c.Assignee, f.Assignee) {
			return true, nil
		}
		if skip > 0 {
			skip--
			return true, nil
		}
		if err := fn(c); err != nil {
			return false, err
		}
		n++
		return f.Limit <= 0 || n < f.Limit, nil
	}
	var prefix []byte
	var idx []byte
	switch {
	case f.Assignee != "":
		idx, prefix = bucketCaseAssignee, appendLstr(nil, kp.NormAddr(f.Assignee))
	case f.Status != "":
		idx, prefix = bucketCaseStatus, appendLstr(nil, string(f.Status))
	default:
		cur := tx.b(bucketCase).Cursor()
		for k, v := cur.Last(); k != nil; k, v = cur.Prev() {
			if len(k) != 8 {
				return fmt.Errorf("listing cases: key %x: %w", k, ErrCorrupt)
			}
			id := kp.CaseID(binary.BigEndian.Uint64(k))
			p, err := tx.codec.unpack(v)
			if err != nil {
				return fmt.Errorf("listing cases: case %d: %w", id, err)
			}
			c, err := decodeCase(p, id)
			if err != nil {
				return fmt.Errorf("listing cases: %w", err)
			}
			if more, err := take(c); err != nil || !more {
				return err
			}
		}
		return nil
	}
	cur := tx.b(idx).Cursor()
	for k := lastWithPrefix(cur, prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Prev() {
		if len(k) != len(prefix)+8 {
			return fmt.Errorf("listing cases: index key %x: %w", k, ErrCorrupt)
		}
		c, err := tx.Case(kp.CaseID(binary.BigEndian.Uint64(k[len(prefix):])))
		if err != nil {
			return fmt.Errorf("listing cases: %w", err)
		}
		if more, err := take(c); err != nil || !more {
			return err
		}
	}
	return nil
}

// lastWithPrefix positions cur on the last key that starts with prefix
// and returns it, or returns nil when there is none.
func lastWithPrefix(cur *bolt.Cursor, prefix []byte) []byte {
	var k []byte
	if next := prefixEnd(prefix); next == nil {
		k, _ = cur.Last()
	} else if k, _ = cur.Seek(next); k == nil {
		k, _ = cur.Last()
	} else {
		k, _ = cur.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, prefix) {
		return nil
	}
	return k
}

// prefixEnd returns the smallest key greater than every key with prefix,
// or nil when there is none (prefix is all 0xff).
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// CountByStatus returns the number of cases per status, from counters kept
// by PutCase (O(1) at any store size).
func (tx *Tx) CountByStatus() (map[kp.Status]int, error) {
	out := make(map[kp.Status]int, 3)
	for _, s := range []kp.Status{kp.StatusOpen, kp.StatusWaiting, kp.StatusResolved} {
		n, err := tx.stat(statKey(s))
		if err != nil {
			return nil, err
		}
		out[s] = int(n)
	}
	return out, nil
}

// DueFollowUps returns up to limit cases whose next follow-up is due at or
// before now, earliest first. limit <= 0 means all.
func (tx *Tx) DueFollowUps(now time.Time, limit int) ([]kp.CaseID, error) {
	var out []kp.CaseID
	end := appendT12(nil, now)
	cur := tx.b(bucketCaseDue).Cursor()
	for k, _ := cur.First(); k != nil && (limit <= 0 || len(out) < limit); k, _ = cur.Next() {
		if len(k) != 20 {
			return nil, fmt.Errorf("due follow-ups: key %x: %w", k, ErrCorrupt)
		}
		if bytes.Compare(k[:12], end) > 0 {
			break
		}
		out = append(out, kp.CaseID(binary.BigEndian.Uint64(k[12:])))
	}
	return out, nil
}

// NextDue returns the earliest scheduled follow-up time of any case, and
// false when none is scheduled.
func (tx *Tx) NextDue() (time.Time, bool, error) {
	return firstDue(tx.b(bucketCaseDue).Cursor(), "follow-up")
}

func firstDue(cur *bolt.Cursor, what string) (time.Time, bool, error) {
	k, _ := cur.First()
	if k == nil {
		return time.Time{}, false, nil
	}
	t, ok := readT12(k)
	if !ok || len(k) != 20 {
		return time.Time{}, false, fmt.Errorf("next %s: key %x: %w", what, k, ErrCorrupt)
	}
	return t, true, nil
}

// stat returns an internal counter.
func (tx *Tx) stat(name []byte) (int64, error) {
	v := tx.b(bucketStats).Get(name)
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("counter %s: %w", name, ErrCorrupt)
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// addStat adds delta to an internal counter.
func (tx *Tx) addStat(name []byte, delta int64) error {
	n, err := tx.stat(name)
	if err != nil {
		return err
	}
	return tx.b(bucketStats).Put(name, binary.BigEndian.AppendUint64(nil, uint64(n+delta)))
}
