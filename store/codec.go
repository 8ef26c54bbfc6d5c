package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	kp "kontaktpunkt"
)

// Codec bytes that start every packed value (see schema.go).
const (
	codecPlain  byte = 0
	codecZstd   byte = 1
	codecS2     byte = 2 // S2 block
	codecS2Dict byte = 3 // S2 block with mailDict as history (dict.go)
	// codecZstdDict: a zstd frame with mailDict as its raw dictionary
	// (zstdDictID). compact packs message records so (repack.go).
	codecZstdDict byte = 4
	// codecZstdRecDict: a zstd frame with recordDict as its raw
	// dictionary (zstdRecDictID). compact packs the copies and specs of
	// mail we send so when that is smaller than codecZstdDict.
	codecZstdRecDict byte = 5
)

// zstdRecDictID names recordDict in the zstd frames of codecZstdRecDict.
const zstdRecDictID = 2

// zstdDictID names mailDict in the zstd frames of codecZstdDict.
const zstdDictID = 1

// zstdFrom is the size from which values are compressed with zstd rather
// than S2. On ~3 KB mails zstd's per-call cost (~75 µs on the 2-core test
// machine: entropy tables built per call) would be most of the ingest
// budget; S2 takes ~12 µs, and with the mail dictionary (dict.go) packs
// the corpus's small mails to 0.50 of their size. For large values the
// per-call cost vanishes and zstd's entropy coding shrinks base64
// attachments by a quarter, which S2 cannot.
const zstdFrom = 64 << 10

// recordFormat is the first byte of every record encoding. Fields are
// positional. A field added later is appended at the end and read only
// when d.more() says the record has it, so records written before it
// still decode (its value stays zero) without a migration.
const recordFormat byte = 1

// maxIDKey is the longest Message-ID used verbatim as a key; bolt allows
// 32 KiB keys, but a hostile header should not bloat the index.
const maxIDKey = 512

// maxDecoded caps what one value may decompress to, so a corrupt value
// cannot make the process allocate without bound.
const maxDecoded = 1 << 30

// minCompress is the smallest value worth compressing.
const minCompress = 128

// codec compresses values: S2 below zstdFrom, zstd at its fastest level
// from there.
type codec struct {
	enc *zstd.Encoder
	dec *zstd.Decoder
}

func newCodec() (*codec, error) {
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderConcurrency(2),
		zstd.WithEncoderCRC(true),
		zstd.WithLowerEncoderMem(true),
		zstd.WithWindowSize(1<<20),
		// Entropy-code literals even at the fastest level: base64
		// attachments are mostly literals and shrink by a quarter.
		zstd.WithAllLitEntropyCompression(true),
	)
	if err != nil {
		return nil, fmt.Errorf("zstd encoder: %w", err)
	}
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(2),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxMemory(maxDecoded),
		zstd.WithDecoderDictRaw(zstdDictID, []byte(mailDict)),
		zstd.WithDecoderDictRaw(zstdRecDictID, recordDict()),
	)
	if err != nil {
		enc.Close()
		return nil, fmt.Errorf("zstd decoder: %w", err)
	}
	return &codec{enc: enc, dec: dec}, nil
}

func (c *codec) close() {
	c.enc.Close()
	c.dec.Close()
}

// pack returns the packed form of p: compressed when that saves at least
// 1/16, plain otherwise. p is not retained.
func (c *codec) pack(p []byte, compress bool) []byte {
	compress = compress && len(p) >= minCompress
	if compress && len(p) < zstdFrom {
		out := make([]byte, 1+s2.MaxEncodedLen(len(p)))
		enc := mailS2Dict().Encode(out[1:], p)
		if len(enc) <= len(p)-len(p)/16 {
			out[0] = codecS2Dict
			return out[:1+len(enc)]
		}
		compress = false
	}
	// One allocation, big enough for the plain form too: EncodeAll then
	// never grows it, and the fallback to plain reuses it, so a 25 MB
	// message costs one 25 MB buffer here.
	out := make([]byte, 1, 1+len(p)+len(p)/256+64)
	if compress {
		out[0] = codecZstd
		out = c.enc.EncodeAll(p, out)
		if len(out)-1 <= len(p)-len(p)/16 {
			return out
		}
	}
	out = out[:1+len(p)]
	out[0] = codecPlain
	copy(out[1:], p)
	return out
}

// packRecord packs a message record: S2 without the mail dictionary,
// whose header lines and HTML a record (mostly the text) lacks, and
// whose encoder, unlike plain S2's, has no assembly version: this halves
// the writer's compression time and packs text as small.
func (c *codec) packRecord(p []byte) []byte {
	if len(p) < minCompress || len(p) >= zstdFrom {
		return c.pack(p, true)
	}
	out := make([]byte, 1+s2.MaxEncodedLen(len(p)))
	enc := s2.Encode(out[1:], p)
	if len(enc) > len(p)-len(p)/16 {
		return c.pack(p, false)
	}
	out[0] = codecS2
	return out[:1+len(enc)]
}

// unpack returns the payload of a packed value as a new slice that stays
// valid after the transaction (v may point into the bolt mmap).
func (c *codec) unpack(v []byte) ([]byte, error) {
	if len(v) == 0 {
		return nil, fmt.Errorf("empty value: %w", ErrCorrupt)
	}
	switch v[0] {
	case codecPlain:
		return append([]byte(nil), v[1:]...), nil
	case codecZstd, codecZstdDict, codecZstdRecDict:
		out, err := c.dec.DecodeAll(v[1:], nil)
		if err != nil {
			return nil, fmt.Errorf("decompressing: %w (%w)", err, ErrCorrupt)
		}
		return out, nil
	case codecS2, codecS2Dict:
		n, err := s2.DecodedLen(v[1:])
		if err != nil || n > maxDecoded {
			return nil, fmt.Errorf("decompressing: length %d: %v (%w)", n, err, ErrCorrupt)
		}
		var out []byte
		if v[0] == codecS2 {
			out, err = s2.Decode(make([]byte, n), v[1:])
		} else {
			out, err = mailS2Dict().Decode(make([]byte, n), v[1:])
		}
		if err != nil {
			return nil, fmt.Errorf("decompressing: %w (%w)", err, ErrCorrupt)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("unknown codec %d: %w", v[0], ErrCorrupt)
	}
}

// unpackBuf is unpack for a walk over many values: a compressed payload
// is decompressed into buf (grown when too small, and returned for the
// next value), a plain one is returned in place. The payload is valid
// until the next call and, in place, only during the transaction.
func (c *codec) unpackBuf(v, buf []byte) (p, next []byte, err error) {
	if len(v) == 0 {
		return nil, buf, fmt.Errorf("empty value: %w", ErrCorrupt)
	}
	switch v[0] {
	case codecPlain:
		return v[1:], buf, nil
	case codecZstd, codecZstdDict, codecZstdRecDict:
		out, err := c.dec.DecodeAll(v[1:], buf[:0])
		if err != nil {
			return nil, buf, fmt.Errorf("decompressing: %w (%w)", err, ErrCorrupt)
		}
		return out, out, nil
	case codecS2, codecS2Dict:
		n, err := s2.DecodedLen(v[1:])
		if err != nil || n > maxDecoded {
			return nil, buf, fmt.Errorf("decompressing: length %d: %v (%w)", n, err, ErrCorrupt)
		}
		if cap(buf) < n {
			buf = make([]byte, n, max(n, 2*cap(buf)))
		}
		var out []byte
		if v[0] == codecS2 {
			out, err = s2.Decode(buf[:n], v[1:])
		} else {
			out, err = mailS2Dict().Decode(buf[:n], v[1:])
		}
		if err != nil {
			return nil, buf, fmt.Errorf("decompressing: %w (%w)", err, ErrCorrupt)
		}
		return out, buf, nil
	default:
		return nil, buf, fmt.Errorf("unknown codec %d: %w", v[0], ErrCorrupt)
	}
}

// unpackOwned is unpack for a value the caller owns (not in the mmap):
// a plain payload is returned without copying.
func (c *codec) unpackOwned(v []byte) ([]byte, error) {
	if len(v) > 0 && v[0] == codecPlain {
		return v[1:], nil
	}
	return c.unpack(v)
}

// --- keys

func u64(v uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), v)
}

func appendU64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

// appendT12 appends the sortable 12-byte form of t.
func appendT12(b []byte, t time.Time) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(t.Unix())^(1<<63))
	return binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
}

// readT12 decodes the 12-byte time at the start of b.
func readT12(b []byte) (time.Time, bool) {
	if len(b) < 12 {
		return time.Time{}, false
	}
	sec := int64(binary.BigEndian.Uint64(b) ^ (1 << 63))
	nsec := int64(binary.BigEndian.Uint32(b[8:]))
	if nsec >= 1e9 {
		return time.Time{}, false
	}
	return time.Unix(sec, nsec).UTC(), true
}

// appendLstr appends a length-prefixed string key part.
func appendLstr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// msgIDKey is the bucketMsgID key of a Message-ID.
func msgIDKey(id string) []byte {
	if len(id) <= maxIDKey && (len(id) == 0 || id[0] != '#') {
		return []byte(id)
	}
	sum := sha256.Sum256([]byte(id))
	return []byte("#" + hex.EncodeToString(sum[:]))
}

// idEntry is the value of a bucketMsgID entry.
type idEntry struct {
	seq   uint64    // message seq, 0 when only an outbox entry has the id
	cas   kp.CaseID // the message's case (else the outbound message's)
	outID uint64    // outbound id, 0 when no outbox entry has the id
	// rawLen is the length of the packed raw message, 0 when none is
	// stored; rawOff its offset in the raw log (unused for big ones).
	rawLen, rawOff uint64
	// hash is the content hash of an inbound message (PutMessage's
	// caller chooses it), 0 when none was recorded.
	hash uint64
}

func (e idEntry) encode() []byte {
	b := make([]byte, 0, 6*binary.MaxVarintLen64)
	b = binary.AppendUvarint(b, e.seq)
	b = binary.AppendUvarint(b, uint64(e.cas))
	b = binary.AppendUvarint(b, e.outID)
	b = binary.AppendUvarint(b, e.rawLen)
	b = binary.AppendUvarint(b, e.rawOff)
	if e.hash != 0 {
		b = binary.AppendUvarint(b, e.hash)
	}
	return b
}

func decodeIDEntry(v []byte) (idEntry, error) {
	d := dec{b: v}
	e := idEntry{seq: d.uvarint(), cas: kp.CaseID(d.uvarint()), outID: d.uvarint(), rawLen: d.uvarint(), rawOff: d.uvarint()}
	if d.more() {
		e.hash = d.uvarint()
	}
	if d.err != nil || len(d.b) != 0 {
		return idEntry{}, fmt.Errorf("message id entry %x: %w", v, ErrCorrupt)
	}
	return e, nil
}

// --- record encoding

// enc appends the binary encoding of record fields.
type enc struct{ b []byte }

func (e *enc) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) str(s string)     { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *enc) boolean(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

// Times keep their instant and their zone offset (a zone's name is not
// kept); the zero time stays zero.
const (
	timeZero   = 0
	timeUTC    = 1
	timeOffset = 2
)

func (e *enc) time(t time.Time) {
	if t.IsZero() {
		e.b = append(e.b, timeZero)
		return
	}
	_, off := t.Zone()
	if t.Location() == time.UTC {
		e.b = append(e.b, timeUTC)
	} else {
		e.b = append(e.b, timeOffset)
	}
	e.varint(t.Unix())
	e.uvarint(uint64(t.Nanosecond()))
	if t.Location() != time.UTC {
		e.varint(int64(off))
	}
}

func (e *enc) addr(a kp.Address) { e.str(a.Name); e.str(a.Addr) }

func (e *enc) addrs(as []kp.Address) {
	e.uvarint(uint64(len(as)))
	for _, a := range as {
		e.addr(a)
	}
}

func (e *enc) strs(ss []string) {
	e.uvarint(uint64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}

// dec reads fields written by enc. The first error sticks; reads after it
// return zero values, so decoders check d.err once at the end.
type dec struct {
	b   []byte
	err error
}

// more reports whether bytes are left: a record written before a field
// was added ends before it.
func (d *dec) more() bool { return d.err == nil && len(d.b) > 0 }

func (d *dec) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("truncated or invalid %s: %w", what, ErrCorrupt)
	}
	d.b = nil
}

func (d *dec) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) int() int {
	v := d.varint()
	if v > math.MaxInt32 || v < math.MinInt32 {
		d.fail("int")
		return 0
	}
	return int(v)
}

func (d *dec) str() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("string")
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *dec) boolean() bool {
	if len(d.b) < 1 || d.b[0] > 1 {
		d.fail("bool")
		return false
	}
	v := d.b[0] == 1
	d.b = d.b[1:]
	return v
}

func (d *dec) time() time.Time {
	if len(d.b) < 1 {
		d.fail("time")
		return time.Time{}
	}
	kind := d.b[0]
	d.b = d.b[1:]
	switch kind {
	case timeZero:
		return time.Time{}
	case timeUTC, timeOffset:
		sec := d.varint()
		nsec := d.uvarint()
		if nsec >= 1e9 {
			d.fail("time")
			return time.Time{}
		}
		t := time.Unix(sec, int64(nsec))
		if kind == timeUTC {
			return t.UTC()
		}
		off := d.varint()
		if off < -24*3600 || off > 24*3600 {
			d.fail("time zone offset")
			return time.Time{}
		}
		return t.In(time.FixedZone("", int(off)))
	}
	d.fail("time")
	return time.Time{}
}

func (d *dec) addr() kp.Address { return kp.Address{Name: d.str(), Addr: d.str()} }

// count reads a list length, bounded by the bytes left so a corrupt length
// cannot force a huge allocation (every element takes at least one byte).
func (d *dec) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("list length")
		return 0
	}
	return int(n)
}

func (d *dec) addrs() []kp.Address {
	n := d.count()
	if n == 0 {
		return nil
	}
	as := make([]kp.Address, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		as = append(as, d.addr())
	}
	return as
}

func (d *dec) strs() []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	ss := make([]string, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		ss = append(ss, d.str())
	}
	return ss
}

func (d *dec) header(what string) {
	if len(d.b) < 1 || d.b[0] != recordFormat {
		d.fail(what + " record format")
		return
	}
	d.b = d.b[1:]
}

// encodeMessage returns the record of m (without Seq, which is the key).
func encodeMessage(m *kp.Message) []byte {
	e := enc{b: make([]byte, 0, 256+len(m.Text))}
	e.b = append(e.b, recordFormat)
	e.str(m.ID)
	e.uvarint(uint64(m.Case))
	e.str(string(m.Direction))
	e.str(string(m.Class))
	e.str(string(m.MatchedBy))
	e.str(m.Kind)
	e.addr(m.From)
	e.addrs(m.To)
	e.addrs(m.Cc)
	e.str(m.Subject)
	e.time(m.Date)
	e.time(m.Received)
	e.str(m.Text)
	e.uvarint(uint64(len(m.Attachments)))
	for _, a := range m.Attachments {
		e.str(a.Name)
		e.str(a.ContentType)
		e.varint(a.Size)
	}
	e.boolean(m.Outsider)
	e.boolean(m.Authenticated)
	e.str(m.Quarantine)
	e.strs(m.Defects)
	e.str(m.Source)
	e.varint(m.Size)
	// Fields added after the first release follow; records written
	// before them simply end here.
	e.str(m.CollidedID)
	return e.b
}

// messageHead reads a message record's fields up to Received, the part
// every reader of a message needs (decodeMessage, decodeMessageHead).
func (d *dec) messageHead(seq uint64) *kp.Message {
	d.header("message")
	m := &kp.Message{Seq: seq}
	m.ID = d.str()
	m.Case = kp.CaseID(d.uvarint())
	m.Direction = kp.Direction(d.str())
	m.Class = kp.Class(d.str())
	m.MatchedBy = kp.MatchedBy(d.str())
	m.Kind = d.str()
	m.From = d.addr()
	m.To = d.addrs()
	m.Cc = d.addrs()
	m.Subject = d.str()
	m.Date = d.time()
	m.Received = d.time()
	return m
}

// decodeMessage decodes a message record that holds its text itself; a
// record whose text refers to another message's (textref.go) is read
// through the transaction, tx.decodeMessageTx.
func decodeMessage(b []byte, seq uint64) (*kp.Message, error) {
	m, r, err := decodeMessageRef(b, seq)
	if err != nil {
		return nil, err
	}
	if r != nil {
		return nil, fmt.Errorf("message %d: its text refers to message %d: %w", seq, r.seq, ErrInvalid)
	}
	return m, nil
}

// messageTail reads the fields of a message record after Received.
func (d *dec) messageTail(m *kp.Message) {
	m.Text = d.str()
	if n := d.count(); n > 0 {
		m.Attachments = make([]kp.Attachment, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			m.Attachments = append(m.Attachments, kp.Attachment{Name: d.str(), ContentType: d.str(), Size: d.varint()})
		}
	}
	m.Outsider = d.boolean()
	m.Authenticated = d.boolean()
	m.Quarantine = d.str()
	m.Defects = d.strs()
	m.Source = d.str()
	m.Size = d.varint()
	if d.more() {
		m.CollidedID = d.str()
	}
}

// encodeCase returns the record of c (without ID, which is the key).
func encodeCase(c *kp.Case) []byte {
	e := enc{b: make([]byte, 0, 256)}
	e.b = append(e.b, recordFormat)
	e.str(c.Subject)
	e.str(string(c.Status))
	e.addr(c.Requester)
	e.strs(c.Participants)
	e.str(c.Assignee)
	e.str(c.Team)
	e.str(string(c.Priority))
	e.varint(int64(c.Escalation))
	e.time(c.Created)
	e.time(c.Updated)
	e.time(c.ResolvedAt)
	e.varint(int64(c.Messages))
	e.uvarint(uint64(c.PreviousCase))
	e.time(c.LastInbound)
	e.time(c.LastStaffReply)
	e.time(c.AssignedAt)
	e.time(c.WaitingSince)
	e.str(c.ThreadID)
	e.str(c.LastMessageID)
	e.boolean(c.Next != nil)
	if c.Next != nil {
		e.str(string(c.Next.Kind))
		e.time(c.Next.Due)
		e.varint(int64(c.Next.Count))
	}
	// Fields added after the first release follow, in groups; records
	// written before a group simply end there.
	e.uvarint(uint64(len(c.Counterparts)))
	for _, r := range c.Counterparts {
		e.str(r.Team)
		e.str(r.Addr)
		e.str(r.System)
		e.str(r.Ref)
	}
	e.uvarint(uint64(c.MergedInto))
	e.uvarint(uint64(len(c.Links)))
	for _, l := range c.Links {
		e.uvarint(uint64(l))
	}
	e.str(c.OpenedBy)
	e.str(c.Archived)
	e.str(c.Rule)
	return e.b
}

func decodeCase(b []byte, id kp.CaseID) (*kp.Case, error) {
	d := dec{b: b}
	d.header("case")
	c := &kp.Case{ID: id}
	c.Subject = d.str()
	c.Status = kp.Status(d.str())
	c.Requester = d.addr()
	c.Participants = d.strs()
	c.Assignee = d.str()
	c.Team = d.str()
	c.Priority = kp.Priority(d.str())
	c.Escalation = d.int()
	c.Created = d.time()
	c.Updated = d.time()
	c.ResolvedAt = d.time()
	c.Messages = d.int()
	c.PreviousCase = kp.CaseID(d.uvarint())
	c.LastInbound = d.time()
	c.LastStaffReply = d.time()
	c.AssignedAt = d.time()
	c.WaitingSince = d.time()
	c.ThreadID = d.str()
	c.LastMessageID = d.str()
	if d.boolean() {
		c.Next = &kp.FollowUp{Kind: kp.FollowUpKind(d.str()), Due: d.time(), Count: d.int()}
	}
	if d.more() {
		if n := d.count(); n > 0 {
			c.Counterparts = make([]kp.CounterpartRef, 0, n)
			for i := 0; i < n && d.err == nil; i++ {
				c.Counterparts = append(c.Counterparts, kp.CounterpartRef{Team: d.str(), Addr: d.str(), System: d.str(), Ref: d.str()})
			}
		}
	}
	if d.more() {
		c.MergedInto = kp.CaseID(d.uvarint())
		if n := d.count(); n > 0 {
			c.Links = make([]kp.CaseID, 0, n)
			for i := 0; i < n && d.err == nil; i++ {
				c.Links = append(c.Links, kp.CaseID(d.uvarint()))
			}
		}
		c.OpenedBy = d.str()
	}
	if d.more() {
		c.Archived = d.str()
	}
	if d.more() {
		c.Rule = d.str()
	}
	if d.err != nil {
		return nil, fmt.Errorf("case %d: %w", id, d.err)
	}
	return c, nil
}

// encodeOutbound returns the record of o without ID (the key) and Raw
// (bucketOutRaw).
func encodeOutbound(o *kp.Outbound) []byte {
	e := enc{b: make([]byte, 0, 256)}
	e.b = append(e.b, recordFormat)
	e.uvarint(uint64(o.Case))
	e.str(o.Kind)
	e.str(o.MessageID)
	e.str(o.From)
	e.strs(o.To)
	e.str(o.Subject)
	e.str(string(o.State))
	e.varint(int64(o.Attempts))
	e.time(o.NextTry)
	e.str(o.LastError)
	e.time(o.Queued)
	e.time(o.Sent)
	return e.b
}

// decodeOutbound decodes an outbound record, and the seq of the message
// copy it takes fields from (0: none; outref.go).
func decodeOutbound(b []byte, id uint64) (*kp.Outbound, outRef, error) {
	d := dec{b: b}
	d.header("outbound")
	o := &kp.Outbound{ID: id}
	o.Case = kp.CaseID(d.uvarint())
	o.Kind = d.str()
	o.MessageID = d.str()
	o.From = d.str()
	o.To = d.strs()
	o.Subject = d.str()
	o.State = kp.OutState(d.str())
	o.Attempts = d.int()
	o.NextTry = d.time()
	o.LastError = d.str()
	o.Queued = d.time()
	o.Sent = d.time()
	var r outRef
	if d.more() {
		r.seq = d.uvarint()
		r.flags = d.uvarint()
	}
	if d.err != nil {
		return nil, r, fmt.Errorf("outbound %d: %w", id, d.err)
	}
	if r.flags&outNextTryQueued != 0 {
		o.NextTry = o.Queued
	}
	return o, r, nil
}
