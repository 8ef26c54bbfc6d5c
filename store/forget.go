package store

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/s2"

	kp "kontaktpunkt"
	"kontaktpunkt/search"
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
	// Thorough reads every message with its raw bytes, not only those
	// the indexes point at: it also finds the person named only in a
	// header of mail on a case that does not otherwise involve them.
	Thorough bool
	// Budget is how long one write transaction works before it commits
	// and lets intake in; zero means DefaultPurgeBudget.
	Budget time.Duration
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
	// Read counts the messages read with their raw bytes; Indexed says
	// whether the indexes chose them (else every message was read).
	Read    int  `json:"read"`
	Indexed bool `json:"indexed"`
	// Batches counts the write transactions.
	Batches int `json:"batches"`
	// Scan and Write are how long the read pass and the writes took.
	Scan  time.Duration `json:"scan_ns"`
	Write time.Duration `json:"write_ns"`
}

// forgetter holds what forget looks for and what it puts instead.
type forgetter struct {
	addr    string   // normalised address
	needles []string // lower-case: the address, long display names, a long local part
	pseudo  string

	// For mayName: the needles as bytes, for how many of needles, and
	// whether one has a byte beyond ASCII; buf is reused.
	bneedles [][]byte
	nonASCII bool
	buf      []byte
}

// mayName reports whether b, a stored key or a plain record, may name
// the person: whether b with its ASCII letters lower-cased holds a
// needle. A needle with other letters lets any b with a byte beyond
// ASCII through too, since matches folds their case and this does not.
// false is certain; true needs the full test. Not safe for concurrent use.
func (f *forgetter) mayName(b []byte) bool {
	if len(f.bneedles) != len(f.needles) {
		f.bneedles, f.nonASCII = f.bneedles[:0], false
		for _, n := range f.needles {
			f.bneedles = append(f.bneedles, []byte(n))
			for i := 0; i < len(n); i++ {
				f.nonASCII = f.nonASCII || n[i] >= utf8.RuneSelf
			}
		}
	}
	f.buf = lowerASCII(append(f.buf[:0], b...))
	for _, n := range f.bneedles {
		if bytes.Contains(f.buf, n) {
			return true
		}
	}
	if f.nonASCII {
		for _, c := range b {
			if c >= utf8.RuneSelf {
				return true
			}
		}
	}
	return false
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

// spec reports whether a render spec names the person in its
// addresses, subject, text or attachment names.
func (f *forgetter) spec(s *kp.OutSpec) bool {
	addrs := append([]kp.Address{s.From, s.ReplyTo}, s.To...)
	for _, a := range append(addrs, s.Cc...) {
		if f.matches(a.Name) || f.matches(a.Addr) {
			return true
		}
	}
	for _, a := range s.Attachments {
		if f.matches(a.Name) {
			return true
		}
	}
	return f.matches(s.Subject) || f.matches(s.Text)
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
	// head is the length of a fixed part before the lstr, kept as it is
	head int
}{
	{name: bucketSuppress},
	{name: bucketSentLog, lstr: true},
	{name: bucketSentHour, lstr: true, head: 8}, // u64 hour | lstr | tail
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
// The messages to read are found through the indexes (forgetCandidates):
// the cases the full-text index has the address, its words or a name on,
// the cases assigned to the address, the mail of no case, and every
// message too long for the index to hold all its words. Only those are
// read with their raw bytes. With ForgetOptions.Thorough, or when the
// store keeps no full-text index, every message is read instead. Writes
// go in transactions of about ForgetOptions.Budget each, case by case in
// key order, so intake goes on meanwhile; mail that arrives meanwhile
// from the person is not covered: run it again.
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

	if !o.DryRun {
		// The full-text index's log of recent transactions holds tokens
		// in its values: merged into the posting blocks first, every
		// token naming the person is a key the plan below can rewrite.
		if err := s.Update(func(tx *Tx) error { return tx.mergeSearchLog(nil) }); err != nil {
			return rep, fmt.Errorf("forget: %w", err)
		}
	}
	t0 := time.Now()
	var plan *forgetPlan
	err := s.View(func(tx *Tx) error {
		var err error
		plan, err = tx.planForget(f, o.Thorough || s.noSearch)
		return err
	})
	if err != nil {
		return rep, fmt.Errorf("forget: %w", err)
	}
	rep.Names, rep.Read, rep.Indexed = plan.names, plan.read, plan.indexed
	rep.Messages, rep.Cases, rep.Outbound = len(plan.hits), len(plan.cases), len(plan.outs)
	rep.Scan = time.Since(t0)
	if o.DryRun {
		return rep, nil
	}
	if err := s.forgetWrites(f, plan, o, &rep); err != nil {
		return rep, fmt.Errorf("forget: %w", err)
	}
	rep.Write = time.Since(t0) - rep.Scan
	return rep, nil
}

// forgetPlan is what the read pass of Forget found to change.
type forgetPlan struct {
	hits    map[uint64]kp.CaseID // message seq -> its case
	cases   []kp.CaseID          // cases whose record names the person, ascending
	outs    []uint64             // outbound records that name the person, ascending
	keys    []keyMove            // index and limit keys to rekey, in bucket and key order
	names   int
	read    int // messages read with their raw bytes
	indexed bool
}

// keyMove is one key of keyIndexes to rename.
type keyMove struct {
	bucket  []byte
	old, nk []byte
}

// nameSet collects the display names an address went by, safe for
// concurrent use.
type nameSet struct {
	addr string
	mu   sync.Mutex
	// names are lower-case; raw are lower-cased in ASCII letters only, as
	// raw bytes are searched (a name with other letters is also looked
	// for as written).
	names, raw map[string]bool
	known      map[string]bool
}

func newNameSet(addr string) *nameSet {
	return &nameSet{addr: addr, names: map[string]bool{}, raw: map[string]bool{}, known: map[string]bool{}}
}

func (ns *nameSet) add(ad kp.Address) {
	if ad.Name == "" || kp.NormAddr(ad.Addr) != ns.addr {
		return
	}
	if n := strings.ToLower(strings.TrimSpace(ad.Name)); len(n) >= 4 && kp.NormAddr(n) != ns.addr {
		ns.mu.Lock()
		ns.names[n] = true
		ns.raw[string(lowerASCII([]byte(strings.TrimSpace(ad.Name))))] = true
		ns.mu.Unlock()
	}
}

func (ns *nameSet) message(m *kp.Message) {
	ns.add(m.From)
	for _, x := range m.To {
		ns.add(x)
	}
	for _, x := range m.Cc {
		ns.add(x)
	}
}

// fresh returns the needles not returned before: new names, and their raw
// forms where those differ.
func (ns *nameSet) fresh() []string {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	var out []string
	for n := range ns.names {
		if !ns.known[n] {
			ns.known[n] = true
			out = append(out, n)
		}
	}
	for n := range ns.raw {
		if !ns.known["raw:"+n] {
			ns.known["raw:"+n] = true
			if !ns.names[n] {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return out
}

// hitTest reports whether m, or its raw bytes (which it may lower-case in
// place), name the person: f.message with every needle, the raw bytes
// with needles.
func (f *forgetter) hitTest(m *kp.Message, raw []byte, needles []string) bool {
	if f.message(m) {
		return true
	}
	if raw == nil {
		return false
	}
	low := lowerASCII(raw)
	for _, n := range needles {
		if bytes.Contains(low, []byte(n)) {
			return true
		}
	}
	return false
}

// planForget is the read pass of Forget: it finds the names, the
// messages, cases and outbound records that name the person, and the
// index keys to rekey. thorough reads every message; otherwise the
// indexes say which (forgetCandidates), unless the store has no
// full-text index to ask.
func (tx *Tx) planForget(f *forgetter, thorough bool) (*forgetPlan, error) {
	plan := &forgetPlan{hits: map[uint64]kp.CaseID{}}
	ns := newNameSet(f.addr)
	if k, _ := tx.b(bucketSearch).Cursor().First(); k == nil {
		if k, _ := tx.b(bucketMsg).Cursor().First(); k != nil {
			thorough = true // mail stored before the index existed, not reindexed
		}
	}
	var err error
	if thorough {
		err = tx.forgetScanAll(f, ns, plan)
	} else {
		err = tx.forgetScanIndexed(f, ns, plan)
	}
	if err != nil {
		return nil, err
	}
	plan.names = len(ns.names)
	// Cases and the outbox are read whole: their records are small and
	// hold no raw mail.
	// hold no raw mail, and are kept plain, so mayName passes over
	// most of them without decoding.
	if err := tx.b(bucketCase).ForEach(func(k, v []byte) error {
		if len(v) > 0 && v[0] == codecPlain && !f.mayName(v) {
			return nil
		}
		c, err := tx.Case(kp.CaseID(binary.BigEndian.Uint64(k)))
		if err == nil && f.kase(c) {
			plan.cases = append(plan.cases, c.ID)
		}
		return err
	}); err != nil {
		return nil, err
	}
	specs := tx.b(bucketOutSpec)
	if err := tx.b(bucketOut).ForEach(func(k, v []byte) error {
		if len(v) > 0 && v[0] == codecPlain && !f.mayName(v) && specs.Get(k) == nil {
			return nil
		}
		ob, err := tx.outbound(binary.BigEndian.Uint64(k), false)
		if err != nil {
			return err
		}
		names := f.outbound(ob)
		if sv := specs.Get(k); !names && sv != nil {
			// A spec that keeps its own copy of the text and addresses
			// (one that refers to the copy on the case reads it blanked).
			sp, ref, err := tx.outSpecOwn(sv, ob)
			if err != nil {
				return err
			}
			names = !ref && f.spec(sp)
		}
		if names {
			plan.outs = append(plan.outs, ob.ID)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	plan.keys, err = tx.forgetKeyMoves(f)
	return plan, err
}

// forgetScanAll reads every message: first the records alone for the
// names, then every record with its raw bytes; a name found only then
// (a renamed address in a rewritten record) means one more read, for it
// alone, of the messages that were no hit.
func (tx *Tx) forgetScanAll(f *forgetter, ns *nameSet, plan *forgetPlan) error {
	if err := tx.scanMessages(func(m *kp.Message, _ []byte) bool {
		ns.message(m)
		return false
	}, false); err != nil {
		return err
	}
	var mu sync.Mutex
	for pass := 0; pass < 4; pass++ {
		fresh := ns.fresh()
		if pass > 0 && len(fresh) == 0 {
			break
		}
		f.needles = append(f.needles, fresh...)
		needles := f.needles
		if pass > 0 {
			needles = fresh
		}
		if err := tx.scanMessages(func(m *kp.Message, raw []byte) bool {
			mu.Lock()
			_, done := plan.hits[m.Seq]
			plan.read++
			mu.Unlock()
			if done {
				return false
			}
			ns.message(m)
			hit := f.hitTest(m, raw, needles)
			if hit {
				mu.Lock()
				plan.hits[m.Seq] = m.Case
				mu.Unlock()
			}
			return hit
		}, true); err != nil {
			return err
		}
	}
	return nil
}

// indexCompleteBelow is the record size under which the full-text index
// holds every word of a message: a longer text may be cut at
// maxIndexText, and maxMessageTokens distinct words need more than
// 18 KiB of text (36 one-character words, 1,296 of two, the rest of
// three or more, each with a separator).
const indexCompleteBelow = 16 << 10

// forgetScanIndexed reads only the messages the indexes point at: those
// of the cases the full-text index has the address (or every word of it,
// of its local part, of a name it went by) on, or that are assigned to
// it; the mail of no case (not indexed); and every message whose record
// is too long for the index to hold all its words. A name found in
// those messages brings the cases the index has it on, until no new
// name turns up.
func (tx *Tx) forgetScanIndexed(f *forgetter, ns *nameSet, plan *forgetPlan) error {
	queued := map[kp.CaseID]bool{}
	var todo []kp.CaseID
	queue := func(ids []kp.CaseID) {
		for _, id := range ids {
			if !queued[id] {
				queued[id] = true
				todo = append(todo, id)
			}
		}
	}
	// ok is false when a word is on too many cases for the index to list
	// them: then every message is read after all.
	ok := true
	words := func(s string) {
		ids, complete, err := tx.casesWithWords(s)
		if err != nil || !complete {
			ok = false
		}
		queue(ids)
	}
	ids, cut, err := tx.postings(f.addr, true)
	if err != nil {
		return err
	}
	ok = ok && !cut
	queue(ids)
	words(f.addr)
	for _, n := range f.needles[1:] {
		words(n)
	}
	queue(tx.assignedTo(f.addr))
	if !ok {
		return tx.forgetScanAll(f, ns, plan)
	}
	plan.indexed = true
	// The mail of no case, and long records.
	var seqs []uint64
	cur := tx.b(bucketCaseMsg).Cursor()
	for k, _ := cur.First(); len(k) == 16 && binary.BigEndian.Uint64(k) == 0; k, _ = cur.Next() {
		seqs = append(seqs, binary.BigEndian.Uint64(k[8:]))
	}
	if err := tx.b(bucketMsg).ForEach(func(k, v []byte) error {
		if recordLen(v) >= indexCompleteBelow {
			seqs = append(seqs, binary.BigEndian.Uint64(k))
		}
		return nil
	}); err != nil {
		return err
	}
	read := map[uint64]bool{}
	var missed []uint64 // read, no hit
	var mu sync.Mutex
	check := func(list []uint64, needles []string) error {
		return tx.scanSeqs(list, func(m *kp.Message, raw []byte) {
			ns.message(m)
			hit := f.hitTest(m, raw, needles)
			mu.Lock()
			plan.read++
			if hit {
				plan.hits[m.Seq] = m.Case
			} else {
				missed = append(missed, m.Seq)
			}
			mu.Unlock()
		})
	}
	for pass := 0; ; pass++ {
		names := ns.fresh()
		f.needles = append(f.needles, names...)
		for _, n := range names {
			words(n)
		}
		if !ok {
			clear(plan.hits)
			plan.read, plan.indexed = 0, false
			return tx.forgetScanAll(f, ns, plan)
		}
		// The messages of the cases queued so far.
		slices.Sort(todo)
		for _, id := range todo {
			c, err := tx.Case(id)
			if err == nil {
				ns.add(c.Requester)
			} else if !errors.Is(err, ErrNotFound) {
				return err
			}
			prefix := u64(uint64(id))
			cur := tx.b(bucketCaseMsg).Cursor()
			for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
				if len(k) == 16 {
					seqs = append(seqs, binary.BigEndian.Uint64(k[8:]))
				}
			}
		}
		todo = todo[:0]
		var fresh []uint64
		for _, seq := range seqs {
			if !read[seq] {
				read[seq] = true
				fresh = append(fresh, seq)
			}
		}
		seqs = seqs[:0]
		slices.Sort(fresh)
		// Messages read before with the new names only, new ones with all.
		if pass > 0 && len(names) > 0 {
			again := missed
			missed = nil
			slices.Sort(again)
			if err := check(again, names); err != nil {
				return err
			}
		}
		if err := check(fresh, f.needles); err != nil {
			return err
		}
		if len(todo) == 0 && !ns.pending() {
			return nil
		}
	}
}

// casesWithWords returns the cases the full-text index has every word
// of s on (the last as a prefix, since a needle may end inside a word),
// and false when no word's list is complete. A word on more cases than
// the index lists is left out: the answer is then a wider net.
func (tx *Tx) casesWithWords(s string) ([]kp.CaseID, bool, error) {
	toks := search.Tokens(s)
	if len(toks) == 0 {
		return nil, true, nil
	}
	var lists [][]kp.CaseID
	for i, t := range toks {
		ids, cut, err := tx.postings(t, i < len(toks)-1)
		if err != nil {
			return nil, false, err
		}
		if !cut {
			lists = append(lists, ids)
		}
	}
	if len(lists) == 0 {
		return nil, false, nil
	}
	return intersect(lists), true, nil
}

// intersect returns the ids in every one of lists (each ascending),
// starting from the shortest.
func intersect(lists [][]kp.CaseID) []kp.CaseID {
	slices.SortFunc(lists, func(a, b []kp.CaseID) int { return len(a) - len(b) })
	out := slices.Clone(lists[0])
	for _, l := range lists[1:] {
		n, j := 0, 0
		for _, id := range out {
			for j < len(l) && l[j] < id {
				j++
			}
			if j < len(l) && l[j] == id {
				out[n] = id
				n++
			}
		}
		out = out[:n]
	}
	return out
}

// assignedTo returns the cases assigned to a normalised address.
func (tx *Tx) assignedTo(addr string) []kp.CaseID {
	prefix := appendLstr(nil, addr)
	var out []kp.CaseID
	cur := tx.b(bucketCaseAssignee).Cursor()
	for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
		if len(k) == len(prefix)+8 {
			out = append(out, kp.CaseID(binary.BigEndian.Uint64(k[len(prefix):])))
		}
	}
	return out
}

// recordLen returns the unpacked length of a packed value without
// unpacking it (zstd is only used from zstdFrom bytes on).
func recordLen(v []byte) int {
	if len(v) == 0 {
		return 0
	}
	switch v[0] {
	case codecPlain:
		return len(v) - 1
	case codecS2, codecS2Dict:
		if n, err := s2.DecodedLen(v[1:]); err == nil {
			return n
		}
	}
	return max(len(v), zstdFrom)
}

// pending reports whether names were found that fresh has not returned.
func (ns *nameSet) pending() bool {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	for n := range ns.names {
		if !ns.known[n] {
			return true
		}
	}
	for n := range ns.raw {
		if !ns.known["raw:"+n] {
			return true
		}
	}
	return false
}

// scanSeqs calls fn for the messages seqs (ascending), with their raw
// bytes unpacked (nil when none are stored), the raw bytes on up to four
// goroutines. fn must be safe for concurrent use.
func (tx *Tx) scanSeqs(seqs []uint64, fn func(m *kp.Message, raw []byte)) error {
	type job struct {
		m          *kp.Message
		packed     []byte
		packedOwns bool
	}
	jobs := make(chan job, 64)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ferr error
	)
	for range min(runtime.GOMAXPROCS(0), 4) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for j := range jobs {
				var r []byte
				if j.packed != nil {
					var err error
					if r, err = tx.codec.unpackReuse(j.packed, buf, j.packedOwns); err != nil {
						mu.Lock()
						ferr = fmt.Errorf("raw bytes of message %d: %w", j.m.Seq, err)
						mu.Unlock()
						continue
					}
					if cap(r) > cap(buf) && cap(r) <= 1<<20 {
						buf = r[:0]
					}
				}
				fn(j.m, r)
			}
		}()
	}
	err := func() error {
		for _, seq := range seqs {
			m, err := tx.messageBySeq(seq)
			if err != nil {
				return err
			}
			j := job{m: m}
			e, ok, err := tx.lookupID(m.ID)
			if err != nil {
				return err
			}
			if ok && e.seq == seq && e.rawLen > 0 {
				if j.packed, j.packedOwns, err = tx.rawPacked(e); err != nil {
					return err
				}
			}
			jobs <- j
		}
		return nil
	}()
	close(jobs)
	wg.Wait()
	if err != nil {
		return err
	}
	return ferr
}

// forgetBatchCases bounds the cases one forget transaction rewrites (see
// purgeBatchCases).
const forgetBatchCases = 64

// forgetWrites carries out a plan: the index and limit keys first, then
// case by case in id order (the mail of no case first) the messages,
// with the case's full-text postings taken from the old records and
// given again from the new ones, then the outbox, then the audit trail.
// Each transaction works for about o.Budget.
func (s *Store) forgetWrites(f *forgetter, plan *forgetPlan, o ForgetOptions, rep *ForgetReport) error {
	budget := o.Budget
	if budget <= 0 {
		budget = DefaultPurgeBudget
	}
	// steps runs n steps in transactions of about budget each.
	steps := func(n int, step func(tx *Tx, i int) error) error {
		for i := 0; i < n; {
			if err := s.Update(func(tx *Tx) error {
				deadline := time.Now().Add(budget)
				for first := true; i < n && (first || time.Now().Before(deadline)); first = false {
					if err := step(tx, i); err != nil {
						return err
					}
					i++
				}
				return nil
			}); err != nil {
				return err
			}
			rep.Batches++
		}
		return nil
	}
	if err := steps(len(plan.keys), func(tx *Tx, i int) error {
		mv := plan.keys[i]
		b := tx.b(mv.bucket)
		v := b.Get(mv.old)
		if v == nil {
			return nil // gone meanwhile
		}
		v = bytes.Clone(v)
		if err := b.Delete(mv.old); err != nil {
			return err
		}
		rep.Keys++
		return b.Put(mv.nk, v)
	}); err != nil {
		return err
	}

	// The cases to rewrite: those whose record or messages name the person.
	type work struct {
		id     kp.CaseID
		seqs   []uint64
		record bool
	}
	byCase := map[kp.CaseID]*work{}
	get := func(id kp.CaseID) *work {
		w := byCase[id]
		if w == nil {
			w = &work{id: id}
			byCase[id] = w
		}
		return w
	}
	for seq, id := range plan.hits {
		w := get(id)
		w.seqs = append(w.seqs, seq)
	}
	for _, id := range plan.cases {
		get(id).record = true
	}
	var todo []*work
	for _, w := range byCase {
		slices.Sort(w.seqs)
		if w.id == 0 {
			// Mail of no case: one step per message.
			for _, seq := range w.seqs {
				todo = append(todo, &work{seqs: []uint64{seq}})
			}
			continue
		}
		todo = append(todo, w)
	}
	slices.SortStableFunc(todo, func(a, b *work) int { return cmp.Compare(a.id, b.id) })
	blank := func(tx *Tx, seq uint64) error {
		m, err := tx.messageBySeq(seq)
		if err != nil {
			return err
		}
		f.message(m)
		if e, ok, err := tx.lookupID(m.ID); err == nil && ok {
			rep.RawBytes += int64(e.rawLen)
		}
		return tx.blankMessage(m, ForgottenNote)
	}
	// A transaction takes cases while two thirds of the budget last, and
	// at most forgetBatchCases: their old words leave the full-text index
	// together (each posting block rewritten once), then their records
	// are rewritten and indexed again.
	for i := 0; i < len(todo); {
		var next int
		if err := s.Update(func(tx *Tx) error {
			stop := time.Now().Add(budget * 2 / 3)
			u := unindexer{}
			type loaded struct {
				w *work
				c *kp.Case
			}
			var batch []loaded
			for next = i; next < len(todo) && (next == i || next-i < forgetBatchCases && time.Now().Before(stop)); next++ {
				w := todo[next]
				if w.id == 0 {
					batch = append(batch, loaded{w: w})
					continue
				}
				c, err := tx.Case(w.id)
				if errors.Is(err, ErrNotFound) {
					// Mail filed on a case number with no case record.
					batch = append(batch, loaded{w: w})
					continue
				}
				if err != nil {
					return err
				}
				msgs, err := tx.CaseMessages(w.id)
				if err != nil {
					return err
				}
				// The old words leave the full-text index with the old
				// records (retention does the same); the new records give
				// theirs.
				u.add(w.id, searchTokensOf(c, msgs))
				batch = append(batch, loaded{w: w, c: c})
			}
			if _, err := tx.unindexMany(u); err != nil {
				return err
			}
			for _, l := range batch {
				for _, seq := range l.w.seqs {
					if err := blank(tx, seq); err != nil {
						return err
					}
				}
				if l.c == nil {
					continue
				}
				f.kase(l.c)
				if err := tx.PutCase(l.c); err != nil {
					return err
				}
				msgs, err := tx.CaseMessages(l.w.id)
				if err != nil {
					return err
				}
				if err := tx.indexSearch(l.w.id, searchTokensOf(l.c, msgs)); err != nil {
					return err
				}
				if err := tx.DeleteCaseTerms(l.w.id); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
		rep.Batches++
		i = next
	}
	if err := steps(len(plan.outs), func(tx *Tx, i int) error {
		id := plan.outs[i]
		old, err := tx.outbound(id, false)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
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
		return tx.dropOutBytes(u64(id))
	}); err != nil {
		return err
	}
	return s.Update(func(tx *Tx) error {
		var err error
		if rep.Audit, err = tx.rewriteAudit(func(e *AuditEntry) bool {
			c := f.str(&e.Actor)
			return f.str(&e.Detail) || c
		}); err != nil {
			return err
		}
		rep.Batches++
		return tx.AddAudit(&AuditEntry{
			At: o.Now, Actor: f.replace(o.Actor), Channel: o.Channel, Action: "forget",
			Detail: fmt.Sprintf("%s: %d messages, %d cases, %d outbound (%d cancelled), %d index keys", f.pseudo, rep.Messages, rep.Cases, rep.Outbound, rep.Cancelled, rep.Keys),
		})
	})
}

// forgetKeyMoves finds the keys of keyIndexes that name the person, in
// bucket and key order. Tokens of the full-text index are lower case
// already: a plain byte search passes over most of them, as mayName
// does over the other keys.
func (tx *Tx) forgetKeyMoves(f *forgetter) ([]keyMove, error) {
	var moves []keyMove
	lower := make([][]byte, len(f.needles))
	for i, n := range f.needles {
		lower[i] = []byte(strings.ToLower(n))
	}
	for _, ix := range keyIndexes {
		isSearch := bytes.Equal(ix.name, bucketSearch)
		if isLate(ix.name) && tx.late(ix.name) == nil {
			continue // a store opened read-only from before the bucket
		}
		err := tx.b(ix.name).ForEach(func(k, v []byte) error {
			text, tail := k, []byte(nil)
			if i := bytes.IndexByte(k, 0); ix.nul && i >= 0 {
				text, tail = k[:i], k[i:]
			}
			if isSearch {
				found := false
				for _, n := range lower {
					if bytes.Contains(text, n) {
						found = true
						break
					}
				}
				if !found {
					return nil
				}
			} else if !f.mayName(k) {
				return nil
			}
			if ix.lstr {
				if len(k) < ix.head {
					return nil
				}
				l, w := binary.Uvarint(k[ix.head:])
				if w <= 0 || uint64(len(k)-ix.head-w) < l {
					return nil
				}
				text, tail = k[ix.head+w:ix.head+w+int(l)], k[ix.head+w+int(l):]
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
				nk = append(appendLstr(bytes.Clone(k[:ix.head]), s), tail...)
			}
			moves = append(moves, keyMove{bucket: ix.name, old: bytes.Clone(k), nk: nk})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return moves, nil
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
	type deferred struct {
		m   *kp.Message
		ref *textRef
		raw []byte
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		ferr  error
		later []deferred
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
				var ref *textRef
				if err == nil {
					m, ref, err = decodeMessageRef(p, j.seq)
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
				if ref != nil {
					// Its text is resolved on this goroutine, which
					// alone reads the transaction, once the walk ends.
					mu.Lock()
					later = append(later, deferred{m, ref, bytes.Clone(r)})
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
			if e.rawLen > 0 {
				if j.packed, j.packedOwns, err = tx.rawPacked(e); err != nil {
					return err
				}
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
	if ferr != nil {
		return ferr
	}
	for _, d := range later {
		if err := tx.resolveText(d.m, d.ref); err != nil {
			return err
		}
		fn(d.m, d.raw)
	}
	return nil
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
	case codecZstd, codecZstdDict, codecZstdRecDict:
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
			buf, err = mailS2Dict().Decode(buf[:n], v[1:])
		}
		if err != nil {
			return nil, fmt.Errorf("decompressing: %w (%w)", err, ErrCorrupt)
		}
		return buf, nil
	}
	return c.unpack(v)
}
