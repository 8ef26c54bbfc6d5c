package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"time"

	kp "kontaktpunkt"
)

// Cursor returns how far intake has read mailbox, and false when it has
// not read it yet.
func (tx *Tx) Cursor(mailbox string) (kp.Cursor, bool, error) {
	v := tx.b(bucketCursor).Get([]byte(mailbox))
	if v == nil {
		return kp.Cursor{}, false, nil
	}
	if len(v) != 8 {
		return kp.Cursor{}, false, fmt.Errorf("cursor %q: %w", mailbox, ErrCorrupt)
	}
	return kp.Cursor{
		Mailbox:     mailbox,
		UIDValidity: binary.BigEndian.Uint32(v),
		LastUID:     binary.BigEndian.Uint32(v[4:]),
	}, true, nil
}

// PutCursor records how far intake has read c.Mailbox; write it in the
// same Update as the messages it covers.
func (tx *Tx) PutCursor(c kp.Cursor) error {
	if c.Mailbox == "" {
		return fmt.Errorf("storing cursor: empty mailbox name: %w", ErrInvalid)
	}
	v := binary.BigEndian.AppendUint32(make([]byte, 0, 8), c.UIDValidity)
	v = binary.BigEndian.AppendUint32(v, c.LastUID)
	if err := tx.b(bucketCursor).Put([]byte(c.Mailbox), v); err != nil {
		return fmt.Errorf("storing cursor %q: %w", c.Mailbox, err)
	}
	return nil
}

// Suppress stops automatic mail to addr until the given time (a later
// call replaces the time, also with an earlier one).
func (tx *Tx) Suppress(addr string, until time.Time) error {
	a := kp.NormAddr(addr)
	if a == "" {
		return fmt.Errorf("suppressing: empty address: %w", ErrInvalid)
	}
	if err := tx.b(bucketSuppress).Put([]byte(a), appendT12(nil, until)); err != nil {
		return fmt.Errorf("suppressing %q: %w", a, err)
	}
	return nil
}

// Suppressed reports whether automatic mail to addr is suppressed at now.
func (tx *Tx) Suppressed(addr string, now time.Time) (bool, error) {
	a := kp.NormAddr(addr)
	v := tx.b(bucketSuppress).Get([]byte(a))
	if v == nil {
		return false, nil
	}
	until, ok := readT12(v)
	if !ok || len(v) != 12 {
		return false, fmt.Errorf("suppression of %q: %w", a, ErrCorrupt)
	}
	return until.After(now), nil
}

// The send log is kept by the hour of each entry (bucketSentHour): the
// entries of one hour sit together, so a commit of many messages adds
// its entries to a few pages at the end of the log instead of one page
// per address scattered over it. Entries written before it (the older
// bucketSentLog, keyed by address first) are still counted and pruned
// until they age out; nothing writes them any more.

// sentHour returns the bucketSentHour key prefix of the hour holding t.
func sentHour(t time.Time) []byte {
	return u64(uint64(floorHour(t)) ^ 1<<63)
}

// floorHour is the number of whole hours from the Unix epoch to t,
// rounded down.
func floorHour(t time.Time) int64 {
	sec := t.Unix()
	h := sec / 3600
	if sec%3600 < 0 {
		h--
	}
	return h
}

// RecordSent logs one automatic mail sent to addr at the given time, for
// the per-recipient rate limits.
func (tx *Tx) RecordSent(addr string, at time.Time) error {
	a := kp.NormAddr(addr)
	if a == "" {
		return fmt.Errorf("logging sent mail: empty address: %w", ErrInvalid)
	}
	b := tx.b(bucketSentHour)
	seq, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("logging sent mail to %q: %w", a, err)
	}
	key := appendU64(appendT12(appendLstr(sentHour(at), a), at), seq)
	if err := b.Put(key, nil); err != nil {
		return fmt.Errorf("logging sent mail to %q: %w", a, err)
	}
	return nil
}

// CountSent returns how many mails RecordSent logged for addr at or after
// since.
func (tx *Tx) CountSent(addr string, since time.Time) (int, error) {
	return tx.countSent(kp.NormAddr(addr), since, nil)
}

// CountSentIn returns how many entries RecordSent logged for key in the
// closed interval [from, to]. Besides recipients, the gateway logs other
// events per key ("new-case:ADDR", "relay:CASE") for its hourly limits.
func (tx *Tx) CountSentIn(key string, from, to time.Time) (int, error) {
	return tx.countSent(kp.NormAddr(key), from, &to)
}

// countSent counts the entries of key at or after from and, if to is
// not nil, at or before *to, in both layouts of the send log.
func (tx *Tx) countSent(key string, from time.Time, to *time.Time) (int, error) {
	n := 0
	// The older layout: lstr key | t12 | u64 seq.
	prefix := appendLstr(nil, key)
	var end []byte
	if to != nil {
		end = appendT12(bytes.Clone(prefix), to.Add(time.Nanosecond))
	}
	cur := tx.b(bucketSentLog).Cursor()
	for k, _ := cur.Seek(appendT12(bytes.Clone(prefix), from)); k != nil && bytes.HasPrefix(k, prefix) && (end == nil || bytes.Compare(k, end) < 0); k, _ = cur.Next() {
		n++
	}
	// By the hour: u64 hour | lstr key | t12 | u64 seq. Each hour that
	// holds entries from the hour of from on (up to the hour of to) is
	// sought once for the key; an entry of a later hour than from's is
	// later than from, so seeking key | from finds its first entry.
	b := tx.late(bucketSentHour)
	if b == nil {
		return n, nil
	}
	cur = b.Cursor()
	var last []byte
	if to != nil {
		last = sentHour(*to)
	}
	for k, _ := cur.Seek(sentHour(from)); k != nil; {
		if len(k) < 8 {
			return n, fmt.Errorf("send log: key %x: %w", k, ErrCorrupt)
		}
		hour := bytes.Clone(k[:8])
		if last != nil && bytes.Compare(hour, last) > 0 {
			break
		}
		p := appendLstr(bytes.Clone(hour), key)
		var e []byte
		if to != nil {
			e = appendT12(bytes.Clone(p), to.Add(time.Nanosecond))
		}
		for k, _ = cur.Seek(appendT12(bytes.Clone(p), from)); k != nil && bytes.HasPrefix(k, p) && (e == nil || bytes.Compare(k, e) < 0); k, _ = cur.Next() {
			n++
		}
		next := prefixEnd(hour)
		if next == nil {
			break
		}
		k, _ = cur.Seek(next)
	}
	return n, nil
}

// PruneSent deletes send-log entries older than before and returns how
// many it deleted; rate limits look back a day, so older entries only
// take space.
func (tx *Tx) PruneSent(before time.Time) (int, error) {
	n, err := tx.pruneSentLegacy(before)
	if err != nil {
		return n, err
	}
	limit := appendT12(nil, before)
	stop := sentHour(before)
	cur := tx.b(bucketSentHour).Cursor()
	for k, _ := cur.First(); k != nil; {
		if len(k) < 8 {
			return n, fmt.Errorf("pruning send log: key %x: %w", k, ErrCorrupt)
		}
		if bytes.Compare(k[:8], stop) > 0 {
			break // later hours hold only entries at or after before
		}
		l, w := binary.Uvarint(k[8:])
		if w <= 0 || uint64(len(k)) != 8+uint64(w)+l+20 {
			return n, fmt.Errorf("pruning send log: key %x: %w", k, ErrCorrupt)
		}
		at := 8 + uint64(w) + l
		if bytes.Compare(k[at:at+12], limit) >= 0 {
			k, _ = cur.Next()
			continue
		}
		deleted := bytes.Clone(k)
		if err := cur.Delete(); err != nil {
			return n, fmt.Errorf("pruning send log: %w", err)
		}
		n++
		// Next after Delete may skip a key; Seek lands on the one that
		// followed the deleted key.
		k, _ = cur.Seek(deleted)
	}
	return n, nil
}

// pruneSentLegacy deletes the entries of bucketSentLog older than
// before and returns how many it deleted.
func (tx *Tx) pruneSentLegacy(before time.Time) (int, error) {
	limit := appendT12(nil, before)
	b := tx.b(bucketSentLog)
	cur := b.Cursor()
	n := 0
	for k, _ := cur.First(); k != nil; {
		l, w := binary.Uvarint(k)
		if w <= 0 || uint64(len(k)) != uint64(w)+l+20 {
			return n, fmt.Errorf("pruning send log: key %x: %w", k, ErrCorrupt)
		}
		if bytes.Compare(k[uint64(w)+l:uint64(w)+l+12], limit) < 0 {
			deleted := bytes.Clone(k)
			if err := cur.Delete(); err != nil {
				return n, fmt.Errorf("pruning send log: %w", err)
			}
			n++
			// Next after Delete may skip a key; Seek lands on the one
			// that followed the deleted key.
			k, _ = cur.Seek(deleted)
			continue
		}
		// Skip the rest of this address: its entries are newer.
		next := prefixEnd(k[:uint64(w)+l])
		if next == nil {
			break
		}
		k, _ = cur.Seek(next)
	}
	return n, nil
}

// AddCounter adds delta to the named counter (for metrics: messages by
// class and matched_by, follow-ups sent …) and creates it at zero first.
// The sums are written when the transaction's function returns
// (flushCounters): one write per counter and transaction, not two per
// message.
func (tx *Tx) AddCounter(name string, delta int64) error {
	if name == "" {
		return fmt.Errorf("counter: empty name: %w", ErrInvalid)
	}
	if tx.counters == nil {
		tx.counters = make(map[string]int64)
	}
	tx.counters[name] += delta
	return nil
}

// flushCounters adds the sums AddCounter collected to the counters, in
// key order.
func (tx *Tx) flushCounters() error {
	if len(tx.counters) == 0 {
		return nil
	}
	names := make([]string, 0, len(tx.counters))
	for name := range tx.counters {
		names = append(names, name)
	}
	sort.Strings(names)
	b := tx.b(bucketCounters)
	for _, name := range names {
		var n int64
		if v := b.Get([]byte(name)); v != nil {
			if len(v) != 8 {
				return fmt.Errorf("counter %q: %w", name, ErrCorrupt)
			}
			n = int64(binary.BigEndian.Uint64(v))
		}
		if err := b.Put([]byte(name), binary.BigEndian.AppendUint64(nil, uint64(n+tx.counters[name]))); err != nil {
			return fmt.Errorf("counter %q: %w", name, err)
		}
	}
	tx.counters = nil
	return nil
}

// Counters returns every counter whose name starts with prefix.
func (tx *Tx) Counters(prefix string) (map[string]int64, error) {
	if err := tx.flushCounters(); err != nil {
		return nil, err
	}
	out := make(map[string]int64)
	cur := tx.b(bucketCounters).Cursor()
	for k, v := cur.Seek([]byte(prefix)); k != nil && strings.HasPrefix(string(k), prefix); k, v = cur.Next() {
		if len(v) != 8 {
			return nil, fmt.Errorf("counter %q: %w", k, ErrCorrupt)
		}
		out[string(k)] = int64(binary.BigEndian.Uint64(v))
	}
	return out, nil
}
