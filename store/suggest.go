package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"

	kp "kontaktpunkt"
)

// The suggestion index is an inverted index of the terms of each case's
// request. Writing a case's postings as it opens would touch a page per
// term, scattered over the postings bucket, in every transaction; instead
// a new case's terms are appended to bucketSuggestDoc (one page) and
// folded into the postings a few hundred cases at a time, when pages are
// shared by many cases. Until then, readers see them through
// pendingTerms, built once per transaction from the few unfolded
// records. Cases up to the "suggest/folded" id are in the postings; later
// ones are pending.

// Stats keys of the suggestion index (bucketStats).
var (
	statSuggestDocs    = []byte("suggest/docs")
	statSuggestTerms   = []byte("suggest/terms")
	statSuggestFolded  = []byte("suggest/folded")
	statSuggestPending = []byte("suggest/pending")
)

// foldEvery is how many pending cases are folded into the postings at once.
const foldEvery = 512

func suggestPostKey(term string, id kp.CaseID) []byte {
	return appendU64(appendLstr(make([]byte, 0, 10+len(term)), term), uint64(id))
}

// maxSuggestTerm is the longest term indexed; longer ones are noise
// (hashes, URLs run together) and would bloat keys.
const maxSuggestTerm = 64

// posting is one case's entry for a term.
type posting struct {
	id           kp.CaseID
	freq, length int
}

// pendingTerms are the terms of the cases not yet folded into the
// postings, as an index of their own.
type pendingTerms struct {
	df   map[string]int
	post map[string][]posting
	// folded caches the document frequencies read from bucketSuggestDF
	// in this transaction (the vocabulary is asked about the same words
	// again and again); writing postings clears it.
	folded map[string]int
	// buf and in are reused by CaseBrief: ranking reads a few dozen
	// cases per query.
	buf []byte
	in  *interner
	// briefs are the case briefs CaseBrief read in this transaction:
	// the queries of a batch of similar requests read the same cases
	// again and again. PutCase forgets the case it writes.
	briefs map[kp.CaseID]kp.Case
}

func (p *pendingTerms) add(id kp.CaseID, terms map[string]int) {
	total := docLength(terms)
	for t, n := range terms {
		p.df[t]++
		p.post[t] = append(p.post[t], posting{id, n, total})
	}
}

func (p *pendingTerms) remove(id kp.CaseID, terms map[string]int) {
	for t := range terms {
		list := p.post[t]
		for i, e := range list {
			if e.id == id {
				p.post[t] = append(list[:i:i], list[i+1:]...)
				if p.df[t]--; p.df[t] <= 0 {
					delete(p.df, t)
					delete(p.post, t)
				}
				break
			}
		}
	}
}

// cleanTerms drops what is not indexed: empty and overlong terms and
// counts below one.
func cleanTerms(terms map[string]int) map[string]int {
	out := make(map[string]int, len(terms))
	for t, n := range terms {
		if t != "" && n > 0 && len(t) <= maxSuggestTerm {
			out[t] = n
		}
	}
	return out
}

func docLength(terms map[string]int) int {
	total := 0
	for _, n := range terms {
		total += n
	}
	return total
}

// pendingIndex returns the unfolded terms, reading them once per
// transaction.
func (tx *Tx) pendingIndex() (*pendingTerms, error) {
	if tx.pending != nil {
		return tx.pending, nil
	}
	folded, err := tx.stat(statSuggestFolded)
	if err != nil {
		return nil, err
	}
	p := &pendingTerms{df: map[string]int{}, post: map[string][]posting{}}
	cur := tx.b(bucketSuggestDoc).Cursor()
	for k, v := cur.Seek(u64(uint64(folded) + 1)); k != nil; k, v = cur.Next() {
		if len(k) != 8 {
			return nil, fmt.Errorf("suggestion terms: key %x: %w", k, ErrCorrupt)
		}
		terms, err := decodeSuggestDoc(v)
		if err != nil {
			return nil, fmt.Errorf("terms of case %d: %w", binary.BigEndian.Uint64(k), err)
		}
		p.add(kp.CaseID(binary.BigEndian.Uint64(k)), terms)
	}
	tx.pending = p
	return p, nil
}

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
	terms = cleanTerms(terms)
	if len(terms) == 0 {
		return nil
	}
	keys := make([]string, 0, len(terms))
	for t := range terms {
		keys = append(keys, t)
	}
	sort.Strings(keys)
	folded, err := tx.stat(statSuggestFolded)
	if err != nil {
		return err
	}
	var p *pendingTerms
	if uint64(id) > uint64(folded) {
		// Read the pending records before this one joins them.
		if p, err = tx.pendingIndex(); err != nil {
			return err
		}
	}
	doc := binary.AppendUvarint(nil, uint64(len(keys)))
	for _, t := range keys {
		doc = binary.AppendUvarint(appendLstr(doc, t), uint64(terms[t]))
	}
	if err := tx.b(bucketSuggestDoc).Put(u64(uint64(id)), doc); err != nil {
		return fmt.Errorf("indexing terms of case %d: %w", id, err)
	}
	if err := tx.addStat(statSuggestDocs, 1); err != nil {
		return err
	}
	if err := tx.addStat(statSuggestTerms, int64(docLength(terms))); err != nil {
		return err
	}
	if p == nil {
		// An old case indexed late: straight into the postings.
		return tx.writePostings(id, terms)
	}
	p.add(id, terms)
	if err := tx.addStat(statSuggestPending, 1); err != nil {
		return err
	}
	if n, err := tx.stat(statSuggestPending); err != nil || n < foldEvery {
		return err
	}
	return tx.foldPending()
}

// foldPending writes the pending cases' postings and marks them folded.
func (tx *Tx) foldPending() error {
	folded, err := tx.stat(statSuggestFolded)
	if err != nil {
		return err
	}
	last := uint64(folded)
	cur := tx.b(bucketSuggestDoc).Cursor()
	// Collect first: writing other buckets while a cursor walks this one
	// is safe, but the walk must end before the stats change.
	type doc struct {
		id    kp.CaseID
		terms map[string]int
	}
	var docs []doc
	for k, v := cur.Seek(u64(uint64(folded) + 1)); k != nil; k, v = cur.Next() {
		terms, err := decodeSuggestDoc(v)
		if err != nil || len(k) != 8 {
			return fmt.Errorf("folding suggestion terms: key %x: %w", k, ErrCorrupt)
		}
		last = binary.BigEndian.Uint64(k)
		docs = append(docs, doc{kp.CaseID(last), terms})
	}
	blocks := make(map[string][]posting)
	for _, d := range docs {
		total := docLength(d.terms)
		for t, n := range d.terms {
			blocks[t] = append(blocks[t], posting{d.id, n, total})
		}
	}
	if err := tx.putBlocks(blocks); err != nil {
		return err
	}
	if err := tx.b(bucketStats).Put(statSuggestFolded, binary.BigEndian.AppendUint64(nil, last)); err != nil {
		return err
	}
	if err := tx.b(bucketStats).Delete(statSuggestPending); err != nil {
		return err
	}
	tx.pending = &pendingTerms{df: map[string]int{}, post: map[string][]posting{}}
	return nil
}

// clearFoldedDF forgets the cached document frequencies before they
// change.
func (tx *Tx) clearFoldedDF() {
	if tx.pending != nil {
		tx.pending.folded = nil
	}
}

// putBlocks writes one postings block per term (its postings in id
// order) and adds their counts to the document frequencies. Terms are
// written in key order, so neighbouring keys share pages.
func (tx *Tx) putBlocks(blocks map[string][]posting) error {
	terms := make([]string, 0, len(blocks))
	for t := range blocks {
		terms = append(terms, t)
	}
	sort.Strings(terms)
	tx.clearFoldedDF()
	post, df := tx.b(bucketSuggestPost), tx.b(bucketSuggestDF)
	for _, t := range terms {
		list := blocks[t]
		if err := post.Put(suggestPostKey(t, list[0].id), encodeSuggestBlock(list)); err != nil {
			return fmt.Errorf("indexing term %q: %w", t, err)
		}
		if err := addUvarint(df, []byte(t), int64(len(list))); err != nil {
			return fmt.Errorf("indexing term %q: %w", t, err)
		}
	}
	return nil
}

// writePostings adds one case's postings, each a block of its own.
func (tx *Tx) writePostings(id kp.CaseID, terms map[string]int) error {
	total := docLength(terms)
	blocks := make(map[string][]posting, len(terms))
	for t, n := range terms {
		blocks[t] = []posting{{id, n, total}}
	}
	return tx.putBlocks(blocks)
}

// removePostings takes case id out of the blocks of its terms.
func (tx *Tx) removePostings(id kp.CaseID, terms map[string]int) error {
	tx.clearFoldedDF()
	post, df := tx.b(bucketSuggestPost), tx.b(bucketSuggestDF)
	for t := range terms {
		prefix := appendLstr(nil, t)
		cur := post.Cursor()
		k, v := cur.Seek(suggestPostKey(t, id))
		if k == nil || !bytes.Equal(k, suggestPostKey(t, id)) {
			k, v = cur.Prev()
		}
		if k == nil || !bytes.HasPrefix(k, prefix) || len(k) != len(prefix)+8 {
			continue // not there: nothing to take out
		}
		first := kp.CaseID(binary.BigEndian.Uint64(k[len(prefix):]))
		list, err := decodeSuggestBlock(first, v)
		if err != nil {
			return fmt.Errorf("term %q: %w", t, err)
		}
		i := slices.IndexFunc(list, func(p posting) bool { return p.id == id })
		if i < 0 {
			continue
		}
		list = slices.Delete(list, i, i+1)
		key := bytes.Clone(k)
		if err := post.Delete(key); err != nil {
			return err
		}
		if len(list) > 0 {
			if err := post.Put(suggestPostKey(t, list[0].id), encodeSuggestBlock(list)); err != nil {
				return err
			}
		}
		if err := addUvarint(df, []byte(t), -1); err != nil {
			return err
		}
	}
	return nil
}

// encodeSuggestBlock packs postings in id order: per posting the uvarint id
// difference from the one before (from the block's first id, in its key,
// for the first), uvarint frequency, uvarint case term count.
func encodeSuggestBlock(list []posting) []byte {
	out := make([]byte, 0, 4*len(list))
	prev := list[0].id
	for _, p := range list {
		out = binary.AppendUvarint(out, uint64(p.id-prev))
		out = binary.AppendUvarint(out, uint64(p.freq))
		out = binary.AppendUvarint(out, uint64(p.length))
		prev = p.id
	}
	return out
}

// eachInBlock calls fn for each posting of a block until it returns
// false, and reports whether fn saw them all. Most numbers in a block are below 128, one byte each: those are read
// without a call.
func eachInBlock(first kp.CaseID, v []byte, fn func(id kp.CaseID, freq, length int) bool) (bool, error) {
	id := first
	for len(v) > 0 {
		var x [3]uint64
		for i := range x {
			if len(v) > 0 && v[0] < 0x80 {
				x[i], v = uint64(v[0]), v[1:]
				continue
			}
			n, k := binary.Uvarint(v)
			if k <= 0 {
				return false, ErrCorrupt
			}
			x[i], v = n, v[k:]
		}
		id += kp.CaseID(x[0])
		if !fn(id, int(x[1]), int(x[2])) {
			return false, nil
		}
	}
	return true, nil
}

func decodeSuggestBlock(first kp.CaseID, v []byte) ([]posting, error) {
	var out []posting
	_, err := eachInBlock(first, v, func(id kp.CaseID, freq, length int) bool {
		out = append(out, posting{id, freq, length})
		return true
	})
	return out, err
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
	folded, err := tx.stat(statSuggestFolded)
	if err != nil {
		return err
	}
	if uint64(id) <= uint64(folded) {
		if err := tx.removePostings(id, terms); err != nil {
			return err
		}
	} else {
		p, err := tx.pendingIndex()
		if err != nil {
			return err
		}
		p.remove(id, terms)
		if err := tx.addStat(statSuggestPending, -1); err != nil {
			return err
		}
	}
	if err := docs.Delete(u64(uint64(id))); err != nil {
		return err
	}
	if err := tx.addStat(statSuggestDocs, -1); err != nil {
		return err
	}
	return tx.addStat(statSuggestTerms, -int64(docLength(terms)))
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
// index does not know, or when the index cannot be read).
func (tx *Tx) TermCases(term string) int {
	p, err := tx.pendingIndex()
	if err != nil {
		return 0
	}
	n, ok := p.folded[term]
	if !ok {
		v, k := binary.Uvarint(tx.b(bucketSuggestDF).Get([]byte(term)))
		if k > 0 {
			n = int(v)
		}
		if p.folded == nil {
			p.folded = make(map[string]int)
		}
		p.folded[term] = n
	}
	return n + p.df[term]
}

// TermPostings calls fn for each indexed case with term, with the term's
// frequency in the case and the case's term count, until fn returns
// false. Cases come in id order, except that a case indexed late (after
// later cases were folded) may come out of it.
func (tx *Tx) TermPostings(term string, fn func(id kp.CaseID, freq, length int) bool) error {
	prefix := appendLstr(nil, term)
	cur := tx.b(bucketSuggestPost).Cursor()
	more := true
	for k, v := cur.Seek(prefix); more && k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
		if len(k) != len(prefix)+8 {
			return fmt.Errorf("term %q: key %x: %w", term, k, ErrCorrupt)
		}
		var err error
		more, err = eachInBlock(kp.CaseID(binary.BigEndian.Uint64(k[len(prefix):])), v, fn)
		if err != nil {
			return fmt.Errorf("term %q: block %x: %w", term, k, err)
		}
	}
	if !more {
		return nil
	}
	p, err := tx.pendingIndex()
	if err != nil {
		return err
	}
	list := p.post[term]
	byID := func(a, b posting) int { return cmp.Compare(a.id, b.id) }
	if !slices.IsSortedFunc(list, byID) {
		slices.SortFunc(list, byID)
	}
	for _, e := range list {
		if !fn(e.id, e.freq, e.length) {
			return nil
		}
	}
	return nil
}

// CaseBrief reads the brief of case id into c, as ForEachCaseBrief does:
// subject, status, team, assignee, merged-into and the like, without
// the rest of the record. It is what ranking by example reads of each
// similar case; decompression and decoding reuse buffers kept for the
// transaction.
func (tx *Tx) CaseBrief(id kp.CaseID, c *kp.Case) error {
	p, err := tx.pendingIndex()
	if err != nil {
		return err
	}
	if b, ok := p.briefs[id]; ok {
		*c = b
		return nil
	}
	v := tx.b(bucketCase).Get(u64(uint64(id)))
	if v == nil {
		return fmt.Errorf("case %d: %w", id, ErrNotFound)
	}
	if p.in == nil {
		p.in = newInterner()
	}
	var rec []byte
	if rec, p.buf, err = tx.codec.unpackBuf(v, p.buf); err != nil {
		return fmt.Errorf("case %d: %w", id, err)
	}
	if err := decodeCaseBrief(rec, id, c, p.in); err != nil {
		return err
	}
	if p.briefs == nil {
		p.briefs = make(map[kp.CaseID]kp.Case)
	}
	p.briefs[id] = *c
	return nil
}

// forgetBrief drops case id's brief read in this transaction.
func (tx *Tx) forgetBrief(id kp.CaseID) {
	if tx.pending != nil {
		delete(tx.pending.briefs, id)
	}
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

// LastCaseID returns the highest case id allocated so far (0 for none).
func (tx *Tx) LastCaseID() (kp.CaseID, error) {
	return kp.CaseID(tx.b(bucketCase).Sequence()), nil
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
