package store

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/s2"

	kp "kontaktpunkt"
)

// ForgottenNote replaces the text of a message purged by Forget.
const ForgottenNote = "[removed: forgotten]"

// ForgetOptions tune Forget.
type ForgetOptions struct {
	// DryRun only counts.
	DryRun bool
	// Now, Actor and Channel go into the audit record.
	Now            time.Time
	Actor, Channel string
}

// ForgetReport says what Forget changed (or, in a dry run, would change).
type ForgetReport struct {
	Pseudonym string `json:"pseudonym"`
	// Names is how many display names of the address were found and
	// replaced.
	Names int `json:"names"`
	// Messages were rewritten: texts, raw bytes and attachments removed,
	// the address replaced.
	Messages int   `json:"messages"`
	RawBytes int64 `json:"raw_bytes"`
	Cases    int   `json:"cases"`
	Outbound int   `json:"outbound"`
	// Cancelled counts queued mail to the address that was cancelled.
	Cancelled int `json:"cancelled"`
	// Keys counts index and limit entries rekeyed.
	Keys  int `json:"keys"`
	Audit int `json:"audit"`
	// Scan and Write are how long the read pass and the writes took.
	Scan  time.Duration `json:"scan_ns"`
	Write time.Duration `json:"write_ns"`
}

// forgetter holds what forget looks for and what it puts instead.
type forgetter struct {
	addr    string   // normalised address
	needles []string // lower-case: the address, long display names, a long local part
	pseudo  string
}

// matches reports whether s holds a needle, ignoring case.
func (f *forgetter) matches(s string) bool {
	if s == "" {
		return false
	}
	low := strings.ToLower(s)
	for _, n := range f.needles {
		if strings.Contains(low, n) || (len(low) != len(s) && indexFold(s, n) >= 0) {
			return true
		}
	}
	return false
}

// indexFold is strings.Index ignoring ASCII and simple Unicode case for
// needles that lowercase to the same byte length.
func indexFold(s, n string) int {
	if len(n) == 0 || len(n) > len(s) {
		return -1
	}
	for i := 0; i+len(n) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(n)], n) {
			return i
		}
	}
	return -1
}

// replace replaces every needle in s with the pseudonym, ignoring case.
func (f *forgetter) replace(s string) string {
	for _, n := range f.needles {
		for i := indexFold(s, n); i >= 0; i = indexFold(s, n) {
			s = s[:i] + f.pseudo + s[i+len(n):]
		}
	}
	return s
}

// addr returns a with the forgotten address (and its name) replaced.
func (f *forgetter) address(a kp.Address) (kp.Address, bool) {
	if kp.NormAddr(a.Addr) == f.addr {
		return kp.Address{Addr: f.pseudo}, true
	}
	if f.matches(a.Name) || f.matches(a.Addr) {
		return kp.Address{Name: f.replace(a.Name), Addr: f.replace(a.Addr)}, true
	}
	return a, false
}

func (f *forgetter) addrs(as []kp.Address) bool {
	changed := false
	for i := range as {
		var c bool
		as[i], c = f.address(as[i])
		changed = changed || c
	}
	return changed
}

func (f *forgetter) str(p *string) bool {
	if kp.NormAddr(*p) == f.addr && *p != "" {
		*p = f.pseudo
		return true
	}
	if !f.matches(*p) {
		return false
	}
	*p = f.replace(*p)
	return true
}

func (f *forgetter) strs(ss []string) bool {
	changed := false
	for i := range ss {
		changed = f.str(&ss[i]) || changed
	}
	return changed
}

// message rewrites m's addresses and words; it reports whether m names
// the person at all.
func (f *forgetter) message(m *kp.Message) bool {
	c := f.address2(&m.From)
	c = f.addrs(m.To) || c
	c = f.addrs(m.Cc) || c
	c = f.str(&m.Subject) || c
	c = f.str(&m.Quarantine) || c
	c = f.strs(m.Defects) || c
	c = f.str(&m.Source) || c
	c = f.matches(m.Text) || c
	for _, a := range m.Attachments {
		c = c || f.matches(a.Name)
	}
	return c
}

func (f *forgetter) address2(a *kp.Address) bool {
	var c bool
	*a, c = f.address(*a)
	return c
}

// kase rewrites c; it reports whether c named the person.
func (f *forgetter) kase(c *kp.Case) bool {
	ch := f.address2(&c.Requester)
	ch = f.strs(c.Participants) || ch
	ch = f.str(&c.Assignee) || ch
	ch = f.str(&c.Subject) || ch
	ch = f.str(&c.OpenedBy) || ch
	for i := range c.Counterparts {
		ch = f.str(&c.Counterparts[i].Addr) || ch
		ch = f.str(&c.Counterparts[i].Ref) || ch
	}
	return ch
}

func (f *forgetter) outbound(o *kp.Outbound) bool {
	ch := f.str(&o.From)
	ch = f.strs(o.To) || ch
	ch = f.str(&o.Subject) || ch
	ch = f.str(&o.LastError) || ch
	return ch
}

// keyIndexes are the buckets whose keys may hold an address, a name or a
// subject, with how their keys are laid out; Forget rewrites matching
// keys with the pseudonym in place of the person. A new index whose keys
// hold such words belongs in this list. case_assignee and
// case_counterpart are rewritten by PutCase with the case.
var keyIndexes = []struct {
	name []byte
	lstr bool // an lstr then a fixed tail (else the whole key is the text)
	nul  bool // the text ends at a 0x00 byte, a fixed tail follows
}{
	{name: bucketSuppress},
	{name: bucketSentLog, lstr: true},
	{name: bucketCaseSubject, lstr: true},
	{name: bucketRefBy, lstr: true},
	{name: bucketCounters},
	{name: bucketSearch, nul: true}, // token | 0x00 | u64 first case
}

// pseudonym returns the pseudonym of a normalised address under salt.
func pseudonym(salt []byte, addr string) string {
	h := hmac.New(sha256.New, salt)
	h.Write([]byte(addr))
	return "forgotten-" + hex.EncodeToString(h.Sum(nil))[:8] + "@invalid"
}

// Forget replaces an address, and the display names it was used with, by
// a pseudonym everywhere in the store: cases, messages, the outbox, the
// indexes and limits, the audit trail. Every message that names the
// person (as sender or recipient, or in its text, subject or raw bytes)
// loses its raw bytes, text and attachments; queued mail to the address
// is cancelled. The action is recorded in the audit trail under the
// pseudonym. Afterwards no live record holds the address; compact the
// file (CompactTo) so that freed pages do not keep old bytes.
//
// It reads the store in one pass and writes in batches; mail that
// arrives meanwhile from the person is not covered: run it again.
func (s *Store) Forget(addr string, o ForgetOptions) (ForgetReport, error) {
	var rep ForgetReport
	a := kp.NormAddr(addr)
	if a == "" || !strings.Contains(a, "@") {
		return rep, fmt.Errorf("forget: %q is not an address: %w", addr, ErrInvalid)
	}
	var salt []byte
	if err := s.View(func(tx *Tx) error {
		salt = bytes.Clone(tx.b(bucketMeta).Get(keyForgetSalt))
		return nil
	}); err != nil {
		return rep, err
	}
	if salt == nil && !o.DryRun {
		salt = make([]byte, 16)
		rand.Read(salt)
		if err := s.Update(func(tx *Tx) error {
			if v := tx.b(bucketMeta).Get(keyForgetSalt); v != nil {
				salt = bytes.Clone(v)
				return nil
			}
			return tx.b(bucketMeta).Put(keyForgetSalt, salt)
		}); err != nil {
			return rep, err
		}
	}
	f := &forgetter{addr: a, needles: []string{a}}
	if salt != nil {
		f.pseudo = pseudonym(salt, a)
	} else {
		f.pseudo = "forgotten-????????@invalid"
	}
	rep.Pseudonym = f.pseudo
	if local := a[:strings.LastIndexByte(a, '@')]; len(local) >= 5 {
		f.needles = append(f.needles, local)
	}

	t0 := time.Now()
	// Pass 1: the names the address went by.
	names := map[string]bool{}
	// Raw bytes are searched after lower-casing ASCII letters only: a
	// name with other letters is looked for as written, too.
	rawNames := map[string]bool{}
	var namesMu sync.Mutex
	addName := func(ad kp.Address) {
		if kp.NormAddr(ad.Addr) == a {
			if n := strings.ToLower(strings.TrimSpace(ad.Name)); len(n) >= 4 && kp.NormAddr(n) != a {
				namesMu.Lock()
				names[n] = true
				rawNames[string(lowerASCII([]byte(strings.TrimSpace(ad.Name))))] = true
				namesMu.Unlock()
			}
		}
	}
	var hits []uint64 // message seqs
	var cases []kp.CaseID
	var outs []uint64
	err := s.View(func(tx *Tx) error {
		if err := tx.b(bucketCase).ForEach(func(k, v []byte) error {
			c, err := tx.Case(kp.CaseID(binary.BigEndian.Uint64(k)))
			if err == nil {
				addName(c.Requester)
			}
			return err
		}); err != nil {
			return err
		}
		// What names the person: one read of every message with its raw
		// bytes, looking for the address and the names. A name found only
		// then (a renamed address in a rewritten record) means one more
		// read, for it alone, of the messages that were no hit.
		// The names first, from the records alone: cheaper than a second
		// read of the raw bytes.
		if err := tx.scanMessages(func(m *kp.Message, _ []byte) bool {
			addName(m.From)
			for _, x := range m.To {
				addName(x)
			}
			for _, x := range m.Cc {
				addName(x)
			}
			return false
		}, false); err != nil {
			return err
		}
		hitSet := map[uint64]bool{}
		known := map[string]bool{}
		var mu sync.Mutex
		for pass := 0; pass < 4; pass++ {
			var fresh []string
			for n := range names {
				if !known[n] {
					fresh = append(fresh, n)
					known[n] = true
				}
			}
			for n := range rawNames {
				if !known["raw:"+n] {
					known["raw:"+n] = true
					if !names[n] {
						fresh = append(fresh, n)
					}
				}
			}
			if pass > 0 && len(fresh) == 0 {
				break
			}
			f.needles = append(f.needles, fresh...)
			needles := f.needles
			if pass > 0 {
				needles = fresh
			}
			if err := tx.scanMessages(func(m *kp.Message, raw []byte) bool {
				if pass > 0 && hitSet[m.Seq] {
					return false
				}
				addName(m.From)
				for _, x := range m.To {
					addName(x)
				}
				for _, x := range m.Cc {
					addName(x)
				}
				hit := f.message(m)
				if !hit && raw != nil {
					low := lowerASCII(raw)
					for _, n := range needles {
						if bytes.Contains(low, []byte(n)) {
							hit = true
							break
						}
					}
				}
				if hit {
					mu.Lock()
					hits = append(hits, m.Seq)
					mu.Unlock()
				}
				return hit
			}, true); err != nil {
				return err
			}
			for _, h := range hits {
				hitSet[h] = true
			}
		}
		rep.Names = len(names)
		if err := tx.b(bucketCase).ForEach(func(k, v []byte) error {
			c, err := tx.Case(kp.CaseID(binary.BigEndian.Uint64(k)))
			if err == nil && f.kase(c) {
				cases = append(cases, c.ID)
			}
			return err
		}); err != nil {
			return err
		}
		return tx.b(bucketOut).ForEach(func(k, v []byte) error {
			ob, err := tx.outbound(binary.BigEndian.Uint64(k), false)
			if err == nil && f.outbound(ob) {
				outs = append(outs, ob.ID)
			}
			return err
		})
	})
	if err != nil {
		return rep, fmt.Errorf("forget: %w", err)
	}
	rep.Messages, rep.Cases, rep.Outbound = len(hits), len(cases), len(outs)
	rep.Scan = time.Since(t0)
	if o.DryRun {
		return rep, nil
	}

	// Writes, in batches.
	const batch = 512
	for i := 0; i < len(hits); i += batch {
		part := hits[i:min(i+batch, len(hits))]
		if err := s.Update(func(tx *Tx) error {
			for _, seq := range part {
				m, err := tx.messageBySeq(seq)
				if err != nil {
					return err
				}
				f.message(m)
				m.Subject = f.replace(m.Subject)
				if e, ok, err := tx.lookupID(m.ID); err == nil && ok {
					rep.RawBytes += int64(e.rawLen)
				}
				if err := tx.blankMessage(m, ForgottenNote); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return rep, fmt.Errorf("forget: %w", err)
		}
	}
	err = s.Update(func(tx *Tx) error {
		touched := map[kp.CaseID]bool{}
		for _, id := range cases {
			touched[id] = true
		}
		for _, seq := range hits {
			m, err := tx.messageBySeq(seq)
			if err != nil {
				return err
			}
			if m.Case != 0 {
				touched[m.Case] = true
			}
		}
		for _, id := range cases {
			c, err := tx.Case(id)
			if err != nil {
				return err
			}
			f.kase(c)
			if err := tx.PutCase(c); err != nil {
				return err
			}
		}
		for _, id := range outs {
			old, err := tx.outbound(id, false)
			if err != nil {
				return err
			}
			ob := *old
			ob.To = append([]string(nil), old.To...)
			f.outbound(&ob)
			if ob.State == kp.OutQueued {
				ob.State, ob.LastError = kp.OutFailed, "cancelled: the recipient was forgotten"
				rep.Cancelled++
			}
			if err := tx.b(bucketOut).Put(u64(id), tx.codec.pack(encodeOutbound(&ob), false)); err != nil {
				return err
			}
			if err := tx.indexOutbound(old, &ob, id); err != nil {
				return err
			}
			if err := tx.b(bucketOutRaw).Delete(u64(id)); err != nil {
				return err
			}
		}
		n, err := tx.forgetKeys(f)
		if err != nil {
			return err
		}
		rep.Keys = n
		if n, err = tx.forgetIndexes(touched); err != nil {
			return err
		}
		rep.Keys += n
		if rep.Audit, err = tx.rewriteAudit(func(e *AuditEntry) bool {
			c := f.str(&e.Actor)
			return f.str(&e.Detail) || c
		}); err != nil {
			return err
		}
		return tx.AddAudit(&AuditEntry{
			At: o.Now, Actor: f.replace(o.Actor), Channel: o.Channel, Action: "forget",
			Detail: fmt.Sprintf("%s: %d messages, %d cases, %d outbound (%d cancelled), %d index keys", f.pseudo, rep.Messages, rep.Cases, rep.Outbound, rep.Cancelled, rep.Keys),
		})
	})
	if err != nil {
		return rep, fmt.Errorf("forget: %w", err)
	}
	rep.Write = time.Since(t0) - rep.Scan
	return rep, nil
}

// forgetKeys rewrites the keys of keyIndexes that name the person.
func (tx *Tx) forgetKeys(f *forgetter) (int, error) {
	if err := tx.flushCounters(); err != nil {
		return 0, err
	}
	n := 0
	for _, ix := range keyIndexes {
		b := tx.b(ix.name)
		type kv struct{ k, nk, v []byte }
		var moves []kv
		err := b.ForEach(func(k, v []byte) error {
			text, tail := k, []byte(nil)
			if i := bytes.IndexByte(k, 0); ix.nul && i >= 0 {
				text, tail = k[:i], k[i:]
			}
			if ix.lstr {
				l, w := binary.Uvarint(k)
				if w <= 0 || uint64(len(k)-w) < l {
					return nil
				}
				text, tail = k[w:w+int(l)], k[w+int(l):]
			}
			s := string(text)
			if !f.str(&s) {
				return nil
			}
			nk := []byte(s)
			if ix.nul {
				nk = append(nk, tail...)
			}
			if ix.lstr {
				nk = append(appendLstr(nil, s), tail...)
			}
			moves = append(moves, kv{bytes.Clone(k), nk, bytes.Clone(v)})
			return nil
		})
		if err != nil {
			return n, err
		}
		for _, m := range moves {
			if err := b.Delete(m.k); err != nil {
				return n, err
			}
			if err := b.Put(m.nk, m.v); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// scanMessages calls fn for every message record, on two goroutines;
// with raw it also hands over the unpacked raw bytes (nil when none are
// stored). fn must be safe for concurrent use.
func (tx *Tx) scanMessages(fn func(m *kp.Message, raw []byte) bool, raw bool) error {
	type job struct {
		seq        uint64
		rec        []byte
		packed     []byte
		packedOwns bool
	}
	jobs := make(chan job, 256)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ferr error
	)
	workers := min(runtime.GOMAXPROCS(0), 4)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte // reused for raw bytes up to 1 MiB
			for j := range jobs {
				p, err := tx.codec.unpack(j.rec)
				var m *kp.Message
				if err == nil {
					m, err = decodeMessage(p, j.seq)
				}
				var r []byte
				if err == nil && j.packed != nil {
					if r, err = tx.codec.unpackReuse(j.packed, buf, j.packedOwns); err == nil && cap(r) > cap(buf) && cap(r) <= 1<<20 {
						buf = r[:0]
					}
				}
				if err != nil {
					mu.Lock()
					ferr = err
					mu.Unlock()
					continue
				}
				fn(m, r)
			}
		}()
	}
	var err error
	if !raw {
		_ = tx.b(bucketMsg).ForEach(func(k, v []byte) error {
			jobs <- job{seq: binary.BigEndian.Uint64(k), rec: v}
			return nil
		})
	} else {
		// The Message-ID index says where each message's raw bytes are.
		msgs := tx.b(bucketMsg)
		_ = tx.b(bucketMsgID).ForEach(func(k, v []byte) error {
			e, e1 := decodeIDEntry(v)
			if e1 != nil {
				err = e1
				return e1
			}
			if e.seq == 0 {
				return nil
			}
			j := job{seq: e.seq, rec: msgs.Get(u64(e.seq))}
			if j.rec == nil {
				err = fmt.Errorf("message %d of id %q: %w", e.seq, k, ErrCorrupt)
				return err
			}
			switch {
			case e.rawLen == 0:
			case e.rawLen >= bigRaw:
				j.packed = tx.b(bucketRawBig).Get(u64(e.seq))
			default:
				if j.packed, err = tx.readRawLog(e.rawOff, e.rawLen); err != nil {
					return err
				}
				j.packedOwns = true
			}
			jobs <- j
			return nil
		})
	}
	close(jobs)
	wg.Wait()
	if err != nil {
		return err
	}
	return ferr
}

// lowerASCII lower-cases the ASCII letters of b in place and returns it
// (raw bytes a scan owns; non-ASCII bytes stay, so UTF-8 names are
// matched as written in lower case).
func lowerASCII(b []byte) []byte {
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return b
}

// unpackReuse is unpack into buf when it is large enough (the result is
// valid until buf is reused). With owned, v is the caller's, and a plain
// payload is returned in place.
func (c *codec) unpackReuse(v, buf []byte, owned bool) ([]byte, error) {
	if len(v) == 0 {
		return nil, fmt.Errorf("empty value: %w", ErrCorrupt)
	}
	switch v[0] {
	case codecPlain:
		if owned {
			return v[1:], nil
		}
		return append(buf[:0], v[1:]...), nil
	case codecZstd:
		out, err := c.dec.DecodeAll(v[1:], buf[:0])
		if err != nil {
			return nil, fmt.Errorf("decompressing: %w (%w)", err, ErrCorrupt)
		}
		return out, nil
	case codecS2, codecS2Dict:
		n, err := s2.DecodedLen(v[1:])
		if err != nil || n > maxDecoded {
			return nil, fmt.Errorf("decompressing: length %d: %v (%w)", n, err, ErrCorrupt)
		}
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		if v[0] == codecS2 {
			buf, err = s2.Decode(buf[:n], v[1:])
		} else {
			buf, err = mailS2Dict.Decode(buf[:n], v[1:])
		}
		if err != nil {
			return nil, fmt.Errorf("decompressing: %w (%w)", err, ErrCorrupt)
		}
		return buf, nil
	}
	return c.unpack(v)
}
