package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	kp "kontaktpunkt"
)

// A message record may hold its text as a reference to the text of an
// earlier message of the same case, when it repeats it: the copy of an
// acknowledgement quotes the request, a staff notification and a relay
// repeat the message they pass on. The text is then
//
//	prefix + lines(source.Text[from:to], line) + suffix
//
// where lines puts line before every line of the range (nothing when line
// is empty). The record's Text field is empty and the reference follows
// its last field group (encodeMessageRef). Invariants, kept by the writers
// and checked by check: the source is stored, on the same case, earlier
// (a lower seq), and holds its text itself. Before the source's text
// changes, it moves to another case or it is purged or blanked, the
// records referring to it are written with their whole text
// (materialize), so a reference always resolves to the text the message
// was stored with, and forgetting a person blanks what resolves to their
// words as well.
type textRef struct {
	seq      uint64
	prefix   string
	from, to int
	line     string
	suffix   string
}

// minTextRef is the fewest source bytes worth a reference.
const minTextRef = 64

// maxTextRef is the longest text stored as a reference: under
// indexCompleteBelow, so the full-text index holds every word of a
// referring message and forget finds it by the index alone.
const maxTextRef = 12 << 10

// textRefLines are the line prefixes a reference is tried with: none
// (the text repeated) and a reply quote.
var textRefLines = []string{"", "> "}

// resolve returns the text r stands for, given the source's text, and
// false when the range lies outside it.
func (r *textRef) resolve(src string) (string, bool) {
	if r.from < 0 || r.from > r.to || r.to > len(src) {
		return "", false
	}
	part := src[r.from:r.to]
	var b strings.Builder
	n := len(r.prefix) + len(part) + len(r.suffix)
	if r.line != "" {
		n += (strings.Count(part, "\n") + 1) * len(r.line)
	}
	b.Grow(n)
	b.WriteString(r.prefix)
	if r.line == "" {
		b.WriteString(part)
	} else {
		b.WriteString(r.line)
		for {
			i := strings.IndexByte(part, '\n')
			if i < 0 {
				b.WriteString(part)
				break
			}
			b.WriteString(part[:i+1])
			b.WriteString(r.line)
			part = part[i+1:]
		}
	}
	b.WriteString(r.suffix)
	return b.String(), true
}

// findTextRef returns the reference that stores text t in the fewest
// bytes as a part of src (the text of message seq), and false when no
// part of at least minTextRef bytes is repeated. The result resolves to t
// exactly (checked).
func findTextRef(t string, seq uint64, src string) (textRef, bool) {
	if len(t) > maxTextRef || len(src) < minTextRef || len(t) < minTextRef {
		return textRef{}, false
	}
	// The part starts at the source's first line that is not blank (a
	// mail's own text often has leading blank lines the templates drop).
	from := 0
	for from < len(src) && (src[from] == '\n' || src[from] == '\r' || src[from] == ' ') {
		from++
	}
	if len(src)-from < minTextRef {
		return textRef{}, false
	}
	anchor := src[from : from+32]
	var best textRef
	bestLen := 0
	for _, line := range textRefLines {
		a := textRef{from: from, to: from + len(anchor), line: line}
		an, _ := a.resolve(src)
		i := strings.Index(t, an)
		if i < 0 {
			continue
		}
		// Walk the source from `from` while t repeats it, with line
		// before every line after the first.
		j := i + len(line) // position in t
		k := from          // position in src
		end := k           // the source position the match is known up to
		tEnd := j
		for k < len(src) && j < len(t) && src[k] == t[j] {
			if src[k] == '\n' {
				if !strings.HasPrefix(t[j+1:], line) {
					break
				}
				k++
				j += 1 + len(line)
			} else {
				k++
				j++
			}
			end, tEnd = k, j
		}
		if n := end - from; n >= minTextRef && n > bestLen {
			best = textRef{seq: seq, prefix: t[:i], from: from, to: end, line: line, suffix: t[tEnd:]}
			bestLen = n
		}
	}
	if bestLen == 0 {
		return textRef{}, false
	}
	if got, ok := best.resolve(src); !ok || got != t {
		return textRef{}, false
	}
	return best, true
}

// encodeMessageRef is encodeMessage with the text stored as r.
func encodeMessageRef(m *kp.Message, r *textRef) []byte {
	c := *m
	c.Text = ""
	b := encodeMessage(&c)
	e := enc{b: b}
	// Added: the text reference.
	e.uvarint(r.seq)
	e.str(r.prefix)
	e.uvarint(uint64(r.from))
	e.uvarint(uint64(r.to))
	e.str(r.line)
	e.str(r.suffix)
	return e.b
}

// decodeTextRef reads the text reference that may follow the last field
// of a message record (d after CollidedID): nil when there is none.
func (d *dec) textRef() *textRef {
	if !d.more() {
		return nil
	}
	r := &textRef{seq: d.uvarint(), prefix: d.str()}
	from, to := d.uvarint(), d.uvarint()
	if from > maxDecoded || to > maxDecoded {
		d.fail("text reference")
		return nil
	}
	r.from, r.to = int(from), int(to)
	r.line = d.str()
	r.suffix = d.str()
	return r
}

// recentText is a message whose text a record written next may refer to.
type recentText struct {
	seq  uint64
	cas  kp.CaseID
	text string
}

// maxRecentTexts bounds tx.recent.
const maxRecentTexts = 8

// noteRecent remembers message m (stored under seq, its text its own) as
// a source for the copies of outbound mail written next in the
// transaction: the mail a message causes repeats its text and passes on
// its attachments.
func (tx *Tx) noteRecent(m *kp.Message) {
	if m.Case == 0 {
		return
	}
	for i, r := range tx.recent {
		if r.seq == m.Seq {
			tx.recent = append(tx.recent[:i], tx.recent[i+1:]...)
			break
		}
	}
	if len(tx.recent) >= maxRecentTexts {
		tx.recent = tx.recent[1:]
	}
	tx.recent = append(tx.recent, recentText{seq: m.Seq, cas: m.Case, text: m.Text})
}

// forgetRecent drops message seq from the sources (its text changes).
func (tx *Tx) forgetRecent(seq uint64) {
	for i, r := range tx.recent {
		if r.seq == seq {
			tx.recent = append(tx.recent[:i], tx.recent[i+1:]...)
			return
		}
	}
}

// encodeNewMessage returns the record of m, a new message or a new
// version of one, to be stored under seq: with its text as a reference
// to one of the sources (a message of its case stored before it, with its
// own text) when that is shorter.
func (tx *Tx) encodeNewMessage(m *kp.Message, seq uint64, sources []recentText) []byte {
	if m.Direction == kp.Out && m.Case != 0 {
		var best *textRef
		for _, s := range sources {
			if s.cas != m.Case || s.seq >= seq {
				continue
			}
			if r, ok := findTextRef(m.Text, s.seq, s.text); ok && (best == nil || r.to-r.from > best.to-best.from) {
				best = &r
			}
		}
		// tx.recent holds the texts as stored: every write of a message
		// record drops its entry (forgetRecent), and findTextRef checked
		// that the reference resolves to m.Text.
		if best != nil {
			return encodeMessageRef(m, best)
		}
	}
	return encodeMessage(m)
}

// decodeMessageRef decodes a message record and its text reference (nil
// when it holds its text itself).
func decodeMessageRef(b []byte, seq uint64) (*kp.Message, *textRef, error) {
	d := dec{b: b}
	m := d.messageHead(seq)
	d.messageTail(m)
	r := d.textRef()
	if d.err != nil {
		return nil, nil, fmt.Errorf("message %d: %w", seq, d.err)
	}
	return m, r, nil
}

// sourceText returns the text of message seq, which record of message
// ref (on case c) refers to, checking the reference's invariants.
func (tx *Tx) sourceText(r *textRef, of uint64, c kp.CaseID) (string, error) {
	if r.seq >= of {
		return "", fmt.Errorf("message %d: text refers to message %d, not an earlier one: %w", of, r.seq, ErrCorrupt)
	}
	v := tx.b(bucketMsg).Get(u64(r.seq))
	if v == nil {
		return "", fmt.Errorf("message %d: text refers to message %d, which is not stored: %w", of, r.seq, ErrCorrupt)
	}
	p, err := tx.codec.unpack(v)
	if err != nil {
		return "", fmt.Errorf("message %d: source %d: %w", of, r.seq, err)
	}
	src, sr, err := decodeMessageRef(p, r.seq)
	if err != nil {
		return "", err
	}
	if sr != nil || src.Case != c {
		return "", fmt.Errorf("message %d: text refers to message %d, of case %d or itself a reference: %w", of, r.seq, src.Case, ErrCorrupt)
	}
	return src.Text, nil
}

// resolveText sets m.Text from its reference r (nil: nothing to do).
func (tx *Tx) resolveText(m *kp.Message, r *textRef) error {
	if r == nil {
		return nil
	}
	src, err := tx.sourceText(r, m.Seq, m.Case)
	if err != nil {
		return err
	}
	t, ok := r.resolve(src)
	if !ok {
		return fmt.Errorf("message %d: text refers to bytes %d-%d of message %d, which has %d: %w", m.Seq, r.from, r.to, r.seq, len(src), ErrCorrupt)
	}
	m.Text = t
	return nil
}

// decodeMessageTx decodes a message record with its text resolved.
func (tx *Tx) decodeMessageTx(p []byte, seq uint64) (*kp.Message, error) {
	m, r, err := decodeMessageRef(p, seq)
	if err != nil {
		return nil, err
	}
	if err := tx.resolveText(m, r); err != nil {
		return nil, err
	}
	return m, nil
}

// materialize writes the records that refer to the text of message seq
// (on case c) with their whole text, before that text changes or goes.
func (tx *Tx) materialize(seq uint64, c kp.CaseID) error {
	if c == 0 {
		return nil
	}
	tx.forgetRecent(seq)
	prefix := u64(uint64(c))
	msgs := tx.b(bucketMsg)
	type rewrite struct {
		seq uint64
		m   *kp.Message
	}
	var todo []rewrite
	cur := tx.b(bucketCaseMsg).Cursor()
	for k, _ := cur.Seek(appendU64(u64(uint64(c)), seq+1)); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
		if len(k) != 16 {
			return fmt.Errorf("case %d: message index key %x: %w", c, k, ErrCorrupt)
		}
		s := binary.BigEndian.Uint64(k[8:])
		v := msgs.Get(u64(s))
		if v == nil {
			continue
		}
		p, err := tx.codec.unpack(v)
		if err != nil {
			return fmt.Errorf("message %d: %w", s, err)
		}
		m, r, err := decodeMessageRef(p, s)
		if err != nil {
			return err
		}
		if r == nil || r.seq != seq {
			continue
		}
		if err := tx.resolveText(m, r); err != nil {
			return err
		}
		todo = append(todo, rewrite{s, m})
	}
	for _, w := range todo {
		if err := msgs.Put(u64(w.seq), tx.codec.packRecord(encodeMessage(w.m))); err != nil {
			return fmt.Errorf("message %d: %w", w.seq, err)
		}
	}
	return nil
}

// updatedRecord returns the record of stored message e (its Message-ID
// entry) in its new version m. When its text or case changes, the
// records referring to its text are written with their whole text first.
// It keeps referring to the text it referred to when it still repeats it
// on the same case.
func (tx *Tx) updatedRecord(e idEntry, m *kp.Message) ([]byte, error) {
	tx.forgetRecent(e.seq)
	v := tx.b(bucketMsg).Get(u64(e.seq))
	if v == nil {
		return nil, fmt.Errorf("message %d: %w", e.seq, ErrNotFound)
	}
	p, err := tx.codec.unpack(v)
	if err != nil {
		return nil, fmt.Errorf("message %d: %w", e.seq, err)
	}
	old, r, err := decodeMessageRef(p, e.seq)
	if err != nil {
		return nil, err
	}
	if err := tx.resolveText(old, r); err != nil {
		return nil, err
	}
	if old.Text != m.Text || old.Case != m.Case {
		if err := tx.materialize(e.seq, old.Case); err != nil {
			return nil, err
		}
	}
	var sources []recentText
	if r != nil && m.Case == old.Case {
		if src, err := tx.sourceText(r, e.seq, m.Case); err == nil {
			sources = []recentText{{seq: r.seq, cas: m.Case, text: src}}
		}
	}
	return tx.encodeNewMessage(m, e.seq, sources), nil
}
