package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"time"

	kp "kontaktpunkt"
)

func validOutState(s kp.OutState) bool {
	return s == kp.OutQueued || s == kp.OutSent || s == kp.OutFailed
}

func outStateKey(s kp.OutState, id uint64) []byte {
	return appendU64(appendLstr(make([]byte, 0, 16), string(s)), id)
}

func outStatKey(s kp.OutState) []byte { return []byte("out/" + string(s)) }

// Enqueue stores a new outbound message with its Spec (or Raw bytes),
// both compressed, and assigns
// o.ID. An empty State becomes OutQueued. o.MessageID is entered in the
// Message-ID index with o.Case, so replies to it thread; it fails with
// ErrDuplicate when another outbound message has the same Message-ID.
func (tx *Tx) Enqueue(o *kp.Outbound) error {
	if o.State == "" {
		o.State = kp.OutQueued
	}
	if !validOutState(o.State) {
		return fmt.Errorf("queueing mail: state %q: %w", o.State, ErrInvalid)
	}
	var e idEntry
	if o.MessageID != "" {
		var ok bool
		var err error
		if e, ok, err = tx.lookupID(o.MessageID); err != nil {
			return fmt.Errorf("queueing mail: %w", err)
		}
		if ok && e.outID != 0 {
			return fmt.Errorf("queueing mail %q: %w", o.MessageID, ErrDuplicate)
		}
		if !ok || e.seq == 0 {
			e.cas = o.Case
		}
	}
	out := tx.b(bucketOut)
	id, err := out.NextSequence()
	if err != nil {
		return fmt.Errorf("queueing mail: %w", err)
	}
	key := u64(id)
	// The copy on the case, which the record and the spec may refer to.
	var cp *kp.Message
	if e.seq != 0 {
		if cp, err = tx.messageBySeq(e.seq); err != nil {
			return fmt.Errorf("queueing mail %d: %w", id, err)
		}
	}
	o.ID = id
	if err := tx.putOutCopy(o, o.Spec != nil, e.seq, cp); err != nil {
		o.ID = 0
		return fmt.Errorf("queueing mail %d: %w", id, err)
	}
	if o.Raw != nil {
		if err := tx.b(bucketOutRaw).Put(key, tx.codec.pack(o.Raw, true)); err != nil {
			return fmt.Errorf("queueing mail %d: %w", id, err)
		}
	}
	if o.Spec != nil {
		// The copy on the case holds the text, addresses and date:
		// the spec refers to it rather than holding them twice.
		ref := cp != nil && specMatches(o.Spec, cp)
		// The attachments it passes on, when a message of the case
		// holds them in its raw bytes, are read from there.
		att, err := tx.findAttRef(o.Case, o.Spec.Attachments)
		if err != nil {
			return fmt.Errorf("queueing mail %d: %w", id, err)
		}
		if err := tx.b(bucketOutSpec).Put(key, tx.codec.pack(encodeOutSpec(o.Spec, ref, o, att), true)); err != nil {
			return fmt.Errorf("queueing mail %d: %w", id, err)
		}
		if att.seq != 0 {
			if err := tx.b(bucketAttRef).Put(attRefKey(att.seq, id), nil); err != nil {
				return fmt.Errorf("queueing mail %d: %w", id, err)
			}
		}
	}
	if o.MessageID != "" {
		e.outID = id
		if err := tx.putIDEntry(o.MessageID, e); err != nil {
			return fmt.Errorf("queueing mail %d: %w", id, err)
		}
	}
	if err := tx.indexOutbound(nil, o, id); err != nil {
		return fmt.Errorf("queueing mail %d: %w", id, err)
	}
	o.ID = id
	return nil
}

// indexOutbound moves the state and due index entries and the counters of
// outbound message id from its old version (nil when new) to o.
func (tx *Tx) indexOutbound(old, o *kp.Outbound, id uint64) error {
	if old == nil || old.State != o.State {
		sb := tx.b(bucketOutState)
		if old != nil {
			if err := sb.Delete(outStateKey(old.State, id)); err != nil {
				return err
			}
			if err := tx.addStat(outStatKey(old.State), -1); err != nil {
				return err
			}
		}
		if err := sb.Put(outStateKey(o.State, id), nil); err != nil {
			return err
		}
		if err := tx.addStat(outStatKey(o.State), 1); err != nil {
			return err
		}
	}
	var oldDue, newDue []byte
	if old != nil && old.State == kp.OutQueued {
		oldDue = dueKey(old.NextTry, id)
	}
	if o.State == kp.OutQueued {
		newDue = dueKey(o.NextTry, id)
	}
	return replaceKey(tx.b(bucketOutDue), oldDue, newDue)
}

// outbound decodes outbound message id; with raw it also reads Raw.
func (tx *Tx) outbound(id uint64, raw bool) (*kp.Outbound, error) {
	key := u64(id)
	v := tx.b(bucketOut).Get(key)
	if v == nil {
		return nil, fmt.Errorf("outbound %d: %w", id, ErrNotFound)
	}
	p, err := tx.codec.unpack(v)
	if err != nil {
		return nil, fmt.Errorf("outbound %d: %w", id, err)
	}
	o, r, err := decodeOutbound(p, id)
	if err != nil {
		return nil, err
	}
	if err := tx.fillOut(o, r); err != nil {
		return nil, err
	}
	if raw {
		if v := tx.b(bucketOutRaw).Get(key); v != nil {
			if o.Raw, err = tx.codec.unpack(v); err != nil {
				return nil, fmt.Errorf("outbound %d: raw: %w", id, err)
			}
		}
		if v := tx.b(bucketOutSpec).Get(key); v != nil {
			if o.Spec, err = tx.outSpec(v, o); err != nil {
				return nil, err
			}
		}
	}
	return o, nil
}

// outSpec decodes the packed spec v of outbound message o, with the
// fields it takes from the message copy on the case filled in.
func (tx *Tx) outSpec(v []byte, o *kp.Outbound) (*kp.OutSpec, error) {
	id := o.ID
	s, ref, att, err := tx.outSpecStored(v, o)
	if err != nil {
		return nil, err
	}
	if att.seq != 0 {
		if s.Attachments, err = tx.resolveAttachments(att, id); err != nil {
			return nil, err
		}
	}
	if !ref {
		return s, nil
	}
	e, ok, err := tx.lookupID(s.MessageID)
	if err != nil {
		return nil, fmt.Errorf("outbound %d: spec: %w", id, err)
	}
	if !ok || e.seq == 0 {
		return nil, fmt.Errorf("outbound %d: spec refers to message %q, which is not stored: %w", id, s.MessageID, ErrCorrupt)
	}
	m, err := tx.messageBySeq(e.seq)
	if err != nil {
		return nil, fmt.Errorf("outbound %d: spec: %w", id, err)
	}
	fillSpec(s, m)
	return s, nil
}

// outSpecOwn decodes the packed spec v of outbound message o as it is
// stored; ref says it takes fields from the message copy on the case
// (specMatches).
func (tx *Tx) outSpecOwn(v []byte, o *kp.Outbound) (*kp.OutSpec, bool, error) {
	s, ref, _, err := tx.outSpecStored(v, o)
	return s, ref, err
}

// outSpecStored is outSpecOwn that also returns the reference to the
// raw bytes the attachments are read from (attref.go); the spec's
// Attachments are then empty.
func (tx *Tx) outSpecStored(v []byte, o *kp.Outbound) (*kp.OutSpec, bool, attRef, error) {
	p, err := tx.codec.unpack(v)
	if err != nil {
		return nil, false, attRef{}, fmt.Errorf("outbound %d: spec: %w", o.ID, err)
	}
	s, ref, att, err := decodeOutSpec(p, o)
	if err != nil {
		return nil, false, attRef{}, fmt.Errorf("outbound %d: %w", o.ID, err)
	}
	return s, ref, att, nil
}

// specMatches reports whether the spec's sender, recipients, subject,
// text and date are those of message m, so the spec can refer to m for
// them.
func specMatches(s *kp.OutSpec, m *kp.Message) bool {
	return m.ID == s.MessageID && m.Direction == kp.Out && s.From == m.From &&
		slices.Equal(s.To, m.To) && slices.Equal(s.Cc, m.Cc) &&
		s.Subject == m.Subject && s.Text == m.Text && bytes.Equal(encTime(s.Date), encTime(m.Date))
}

// encTime is t as records store it: equal forms decode to equal times.
func encTime(t time.Time) []byte {
	e := enc{}
	e.time(t)
	return e.b
}

// fillSpec sets the fields a referring spec takes from message m.
func fillSpec(s *kp.OutSpec, m *kp.Message) {
	s.From, s.To, s.Cc, s.Subject, s.Text, s.Date = m.From, m.To, m.Cc, m.Subject, m.Text, m.Date
}

// keepSpecFields writes the fields the queued spec of the message with
// id entry e takes from that message into the spec itself, unless next
// (the message's new record; nil when it is purged) still has them. So a
// queued mail renders the same after retention purges its copy on the
// case or the copy is changed.
func (tx *Tx) keepSpecFields(e idEntry, next *kp.Message) error {
	if e.outID == 0 || e.seq == 0 {
		return nil
	}
	key := u64(e.outID)
	v := tx.b(bucketOutSpec).Get(key)
	if v == nil {
		return nil
	}
	o, err := tx.outbound(e.outID, false)
	if err != nil {
		return err
	}
	s, ref, att, err := tx.outSpecStored(v, o)
	if err != nil || !ref {
		return err
	}
	m, err := tx.messageBySeq(e.seq)
	if err != nil {
		return err
	}
	fillSpec(s, m)
	if next != nil && specMatches(s, next) {
		return nil
	}
	return tx.b(bucketOutSpec).Put(key, tx.codec.pack(encodeOutSpec(s, false, o, att), true))
}

// encodeOutSpec returns the record of s, the spec of outbound message o
// (nil: none). New fields go at the end, read with d.more(). With ref,
// the fields fillSpec sets are left empty and taken from the message copy
// on the case when decoded. The Message-ID and the standard header fields
// (specHeaders), when they are o's, are left out likewise.
func encodeOutSpec(s *kp.OutSpec, ref bool, o *kp.Outbound, att attRef) []byte {
	n := 512 + len(s.Text)
	for _, a := range s.Attachments {
		n += len(a.Data) + 64
	}
	e := enc{b: make([]byte, 0, n)}
	e.b = append(e.b, recordFormat)
	var flags uint64
	c := *s
	if ref {
		flags |= specRefMessage
		c.From, c.To, c.Cc, c.Subject, c.Text, c.Date = kp.Address{}, nil, nil, "", "", time.Time{}
	}
	if o != nil && s.MessageID != "" && s.MessageID == o.MessageID {
		flags |= specOwnMessageID
		c.MessageID = ""
	}
	if std := specHeaders(o); std != nil && hasHeaders(s.Headers, std) {
		flags |= specStdHeaders
		c.Headers = make(map[string]string, len(s.Headers))
		for k, v := range s.Headers {
			if _, ok := std[k]; !ok {
				c.Headers[k] = v
			}
		}
	}
	if att.seq != 0 {
		flags |= specRefAttachments
		c.Attachments = nil
	}
	s = &c
	e.addr(s.From)
	e.addr(s.ReplyTo)
	e.addrs(s.To)
	e.addrs(s.Cc)
	e.str(s.Subject)
	e.str(s.Text)
	e.str(s.MessageID)
	e.str(s.InReplyTo)
	e.strs(s.References)
	e.str(s.AutoSubmitted)
	keys := make([]string, 0, len(s.Headers))
	for k := range s.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	e.uvarint(uint64(len(keys)))
	for _, k := range keys {
		e.str(k)
		e.str(s.Headers[k])
	}
	e.time(s.Date)
	e.uvarint(uint64(len(s.Attachments)))
	for _, a := range s.Attachments {
		e.str(a.Name)
		e.str(a.ContentType)
		e.str(string(a.Data))
	}
	// Added: flags (specRefMessage etc.).
	e.uvarint(flags)
	if att.seq != 0 {
		// Added: the attachments' reference.
		e.uvarint(att.seq)
		e.uvarint(uint64(att.n))
		e.uvarint(uint64(att.bytes))
	}
	return e.b
}

// Flags of a spec record: what it takes from elsewhere.
const (
	// specRefMessage: sender, recipients, subject, text and date are
	// those of the message copy on the case.
	specRefMessage = 1 << iota
	// specOwnMessageID: the Message-ID is the outbound record's.
	specOwnMessageID
	// specStdHeaders: the header fields specHeaders gives for the
	// outbound record are among its headers.
	specStdHeaders
	// specRefAttachments: the attachments are read from the raw bytes
	// of a stored message (attref.go); its seq, their number and bytes
	// follow the flags.
	specRefAttachments
)

// specHeaders returns the header fields every mail of a case carries,
// with the values they have for outbound message o; nil without o or
// case.
func specHeaders(o *kp.Outbound) map[string]string {
	if o == nil || o.Case == 0 {
		return nil
	}
	return map[string]string{
		kp.LoopHeader:              o.From,
		"X-Kontaktpunkt-Case":      strconv.FormatUint(uint64(o.Case), 10),
		"X-Kontaktpunkt-Kind":      o.Kind,
		"X-Auto-Response-Suppress": "All",
	}
}

// hasHeaders reports whether h has every field of std with its value.
func hasHeaders(h, std map[string]string) bool {
	for k, v := range std {
		if x, ok := h[k]; !ok || x != v {
			return false
		}
	}
	return true
}

// decodeSpecFields decodes a spec record as it is stored: without what
// its flags say it takes from elsewhere.
func decodeSpecFields(b []byte) (*kp.OutSpec, uint64, attRef, error) {
	d := dec{b: b}
	d.header("outbound spec")
	s := &kp.OutSpec{}
	s.From = d.addr()
	s.ReplyTo = d.addr()
	s.To = d.addrs()
	s.Cc = d.addrs()
	s.Subject = d.str()
	s.Text = d.str()
	s.MessageID = d.str()
	s.InReplyTo = d.str()
	s.References = d.strs()
	s.AutoSubmitted = d.str()
	if n := d.count(); n > 0 {
		s.Headers = make(map[string]string, n)
		for range n {
			k := d.str()
			s.Headers[k] = d.str()
		}
	}
	s.Date = d.time()
	for n := d.count(); n > 0 && d.err == nil; n-- {
		s.Attachments = append(s.Attachments, kp.OutAttachment{Name: d.str(), ContentType: d.str(), Data: []byte(d.str())})
	}
	var flags uint64
	if d.more() {
		flags = d.uvarint()
	}
	var att attRef
	if flags&specRefAttachments != 0 {
		att.seq = d.uvarint()
		n, total := d.uvarint(), d.uvarint()
		if att.seq == 0 || n == 0 || n > maxDecoded || total > maxDecoded {
			d.fail("attachment reference")
		}
		att.n, att.bytes = int(n), int64(total)
	}
	if d.err != nil {
		return nil, 0, attRef{}, fmt.Errorf("spec: %w", d.err)
	}
	return s, flags, att, nil
}

// specAttRef returns the attachment reference of a spec record.
func specAttRef(b []byte) (attRef, error) {
	_, _, att, err := decodeSpecFields(b)
	return att, err
}

func decodeOutSpec(b []byte, o *kp.Outbound) (*kp.OutSpec, bool, attRef, error) {
	s, flags, att, err := decodeSpecFields(b)
	if err != nil {
		return nil, false, att, err
	}
	if flags&(specOwnMessageID|specStdHeaders) != 0 && o == nil {
		return nil, false, att, fmt.Errorf("spec: refers to its outbound record: %w", ErrCorrupt)
	}
	if flags&specOwnMessageID != 0 {
		s.MessageID = o.MessageID
	}
	if flags&specStdHeaders != 0 {
		std := specHeaders(o)
		if std == nil {
			return nil, false, att, fmt.Errorf("spec: standard headers of an outbound record without case: %w", ErrCorrupt)
		}
		if s.Headers == nil {
			s.Headers = make(map[string]string, len(std))
		}
		for k, v := range std {
			s.Headers[k] = v
		}
	}
	return s, flags&specRefMessage != 0, att, nil
}

// Outbound returns outbound message id with its Spec or Raw bytes (both
// nil once it was sent), or ErrNotFound.
func (tx *Tx) Outbound(id uint64) (*kp.Outbound, error) {
	return tx.outbound(id, true)
}

// PutOutbound records a change of state, attempts, NextTry, LastError or
// Sent of an enqueued message. Leaving OutQueued removes it from the due
// index; reaching OutSent deletes its Spec or Raw bytes (the message copy
// on the case keeps the record), and a sent message cannot go back to
// another state. Spec and Raw are never rewritten; o.Spec and o.Raw are
// ignored.
func (tx *Tx) PutOutbound(o *kp.Outbound) error {
	if !validOutState(o.State) {
		return fmt.Errorf("updating outbound %d: state %q: %w", o.ID, o.State, ErrInvalid)
	}
	old, err := tx.outbound(o.ID, false)
	if err != nil {
		return fmt.Errorf("updating outbound: %w", err)
	}
	if old.State == kp.OutSent && o.State != kp.OutSent {
		return fmt.Errorf("updating outbound %d: it was sent and its raw bytes dropped; queue a new message: %w", o.ID, ErrInvalid)
	}
	if old.MessageID != o.MessageID {
		return fmt.Errorf("updating outbound %d: message id changed from %q to %q: %w", o.ID, old.MessageID, o.MessageID, ErrInvalid)
	}
	key := u64(o.ID)
	if v := tx.b(bucketOutSpec).Get(key); v != nil && o.State != kp.OutSent &&
		(old.Case != o.Case || old.Kind != o.Kind || old.From != o.From) {
		// The spec may take header fields from the record: it keeps the
		// values it was queued with.
		s, ref, att, err := tx.outSpecStored(v, old)
		if err != nil {
			return fmt.Errorf("updating outbound %d: %w", o.ID, err)
		}
		if err := tx.b(bucketOutSpec).Put(key, tx.codec.pack(encodeOutSpec(s, ref, o, att), true)); err != nil {
			return fmt.Errorf("updating outbound %d: %w", o.ID, err)
		}
	}
	if err := tx.putOut(o, tx.b(bucketOutSpec).Get(key) != nil); err != nil {
		return fmt.Errorf("updating outbound %d: %w", o.ID, err)
	}
	if o.State == kp.OutSent {
		if err := tx.dropOutBytes(key); err != nil {
			return fmt.Errorf("updating outbound %d: %w", o.ID, err)
		}
	}
	if err := tx.indexOutbound(old, o, o.ID); err != nil {
		return fmt.Errorf("updating outbound %d: %w", o.ID, err)
	}
	return nil
}

// DueOutbound returns up to limit queued messages whose NextTry is at or
// before now, earliest first, with Spec or Raw. limit <= 0 means all.
func (tx *Tx) DueOutbound(now time.Time, limit int) ([]kp.Outbound, error) {
	var out []kp.Outbound
	end := appendT12(nil, now)
	cur := tx.b(bucketOutDue).Cursor()
	for k, _ := cur.First(); k != nil && (limit <= 0 || len(out) < limit); k, _ = cur.Next() {
		if len(k) != 20 {
			return nil, fmt.Errorf("due outbound: key %x: %w", k, ErrCorrupt)
		}
		if bytes.Compare(k[:12], end) > 0 {
			break
		}
		o, err := tx.outbound(binary.BigEndian.Uint64(k[12:]), true)
		if err != nil {
			return nil, fmt.Errorf("due outbound: %w", err)
		}
		out = append(out, *o)
	}
	return out, nil
}

// ListOutbound returns up to limit outbound messages in state (all states
// when state is ""), newest first, without Spec or Raw. limit <= 0 means all.
func (tx *Tx) ListOutbound(state kp.OutState, limit int) ([]kp.Outbound, error) {
	var out []kp.Outbound
	if state == "" {
		cur := tx.b(bucketOut).Cursor()
		for k, _ := cur.Last(); k != nil && (limit <= 0 || len(out) < limit); k, _ = cur.Prev() {
			if len(k) != 8 {
				return nil, fmt.Errorf("listing outbound: key %x: %w", k, ErrCorrupt)
			}
			o, err := tx.outbound(binary.BigEndian.Uint64(k), false)
			if err != nil {
				return nil, fmt.Errorf("listing outbound: %w", err)
			}
			out = append(out, *o)
		}
		return out, nil
	}
	prefix := appendLstr(nil, string(state))
	cur := tx.b(bucketOutState).Cursor()
	for k := lastWithPrefix(cur, prefix); k != nil && bytes.HasPrefix(k, prefix) && (limit <= 0 || len(out) < limit); k, _ = cur.Prev() {
		if len(k) != len(prefix)+8 {
			return nil, fmt.Errorf("listing outbound: index key %x: %w", k, ErrCorrupt)
		}
		o, err := tx.outbound(binary.BigEndian.Uint64(k[len(prefix):]), false)
		if err != nil {
			return nil, fmt.Errorf("listing outbound: %w", err)
		}
		out = append(out, *o)
	}
	return out, nil
}

// OutboxStats summarises the outbox.
type OutboxStats struct {
	// Queued, Failed and Sent count outbound messages per state.
	Queued, Failed, Sent int
	// Oldest is when the oldest message still queued was queued (its
	// Queued time); zero when nothing is queued. now - Oldest is the
	// outbox age /healthz reports: it keeps growing while a message is
	// stuck, however often its NextTry moves.
	Oldest time.Time
}

// OutboxStats returns the counts per state (kept by Enqueue and
// PutOutbound) and the oldest queued message's time, in O(1).
func (tx *Tx) OutboxStats() (OutboxStats, error) {
	var st OutboxStats
	for _, x := range []struct {
		s kp.OutState
		n *int
	}{{kp.OutQueued, &st.Queued}, {kp.OutFailed, &st.Failed}, {kp.OutSent, &st.Sent}} {
		n, err := tx.stat(outStatKey(x.s))
		if err != nil {
			return st, fmt.Errorf("outbox stats: %w", err)
		}
		*x.n = int(n)
	}
	// Ids grow with time, so the first queued id is the oldest one.
	prefix := appendLstr(nil, string(kp.OutQueued))
	cur := tx.b(bucketOutState).Cursor()
	if k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) {
		if len(k) != len(prefix)+8 {
			return st, fmt.Errorf("outbox stats: index key %x: %w", k, ErrCorrupt)
		}
		o, err := tx.outbound(binary.BigEndian.Uint64(k[len(prefix):]), false)
		if err != nil {
			return st, fmt.Errorf("outbox stats: %w", err)
		}
		st.Oldest = o.Queued
	}
	return st, nil
}

// NextOutboundDue returns the earliest NextTry of any queued message, and
// false when nothing is queued.
func (tx *Tx) NextOutboundDue() (time.Time, bool, error) {
	return firstDue(tx.b(bucketOutDue).Cursor(), "outbound")
}

// dropOutBytes deletes what outbound message key is sent from: its spec
// or its raw bytes.
func (tx *Tx) dropOutBytes(key []byte) error {
	if err := tx.dropAttRef(binary.BigEndian.Uint64(key), tx.b(bucketOutSpec).Get(key)); err != nil {
		return err
	}
	for _, b := range [][]byte{bucketOutRaw, bucketOutSpec} {
		if err := tx.b(b).Delete(key); err != nil {
			return err
		}
	}
	return nil
}
