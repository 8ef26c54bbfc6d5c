package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	kp "kontaktpunkt"
	"kontaktpunkt/search"
)

const (
	// maxIndexText bounds how much of one message's text is indexed.
	maxIndexText = 256 << 10
	// maxMessageTokens bounds the distinct tokens indexed per message.
	maxMessageTokens = 5000
	// maxPostings bounds how many index entries one search reads: a
	// search whose terms are found in more cases considers only the
	// newest of them (whole windows, see search_query.go) and says so.
	maxPostings = 2_000_000
	// filterScan is how many of the newest cases a query of filters only
	// (no words, no from:) looks at.
	filterScan = 5000
	// snippetScan bounds how many messages of a case are read for its
	// snippet, and snippetBudget how many one search reads in all: a
	// case whose words are spread over its messages gets no snippet
	// rather than a slow search.
	snippetScan   = 8
	snippetBudget = 300
	// snippetWidth is the length of a snippet in bytes.
	snippetWidth = 160
)

// blockMax is the most case ids one posting block holds.
const blockMax = 128

// epochCases is how many consecutive case ids share an epoch of the
// index. The keys of an epoch sit together, so a transaction's postings,
// nearly all of new cases, land in the pages of the newest epoch instead
// of all over the index; and a search reads the epochs newest first.
const epochCases = 4096

// epochLen is the length of an epoch's key prefix: four base-31 digits
// written as the bytes 0x01 to 0x1f, which sort in order, are never 0x00
// and never part of a token, an address or a name (so Forget's
// rewriting of keys leaves them be). Keys of the layout before epochs
// start with a token, at 0x21 or above.
const epochLen = 4

// caseEpoch is the epoch of case id.
func caseEpoch(id kp.CaseID) uint64 { return uint64(id) / epochCases }

// appendEpoch appends the key prefix of epoch e.
func appendEpoch(dst []byte, e uint64) []byte {
	var p [epochLen]byte
	for i := epochLen - 1; i >= 0; i-- {
		p[i] = byte(e%31) + 1
		e /= 31
	}
	return append(dst, p[:]...)
}

// epochOf reads the epoch of a key prefix.
func epochOf(p []byte) uint64 {
	var e uint64
	for _, c := range p[:epochLen] {
		e = e*31 + uint64(c-1)
	}
	return e
}

// epochToken is the key token of token in epoch e.
func epochToken(e uint64, token string) string {
	return string(append(appendEpoch(make([]byte, 0, epochLen+len(token)), e), token...))
}

// lastEpoch returns the newest epoch in the index, and false if it is empty.
func lastEpoch(b *bolt.Bucket) (uint64, bool) {
	cur := b.Cursor()
	k, _ := cur.Seek([]byte{0x20})
	if k == nil {
		k, _ = cur.Last()
	} else {
		k, _ = cur.Prev()
	}
	if len(k) < epochLen || k[0] == 0 || k[0] >= 0x20 {
		return 0, false
	}
	return epochOf(k), true
}

// searchKey is the key of the posting block of token starting at id.
func searchKey(token string, first kp.CaseID) []byte {
	k := make([]byte, 0, len(token)+9)
	k = append(k, token...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, uint64(first))
}

// decodeBlock returns the case ids of a posting block: first, then one
// uvarint gap per further id, ascending.
func decodeBlock(first kp.CaseID, v []byte, into []kp.CaseID) ([]kp.CaseID, error) {
	into = append(into, first)
	cur := uint64(first)
	for len(v) > 0 {
		d, n := binary.Uvarint(v)
		if n <= 0 || d == 0 {
			return into, fmt.Errorf("search index: posting block: %w", ErrCorrupt)
		}
		cur += d
		into = append(into, kp.CaseID(cur))
		v = v[n:]
	}
	return into, nil
}

// encodeBlock is the value of a block of ascending ids (ids[0] is in the key).
func encodeBlock(ids []kp.CaseID) []byte {
	v := make([]byte, 0, 2*len(ids))
	for i := 1; i < len(ids); i++ {
		v = binary.AppendUvarint(v, uint64(ids[i]-ids[i-1]))
	}
	return v
}

// uniqueTokens collects distinct tokens up to maxMessageTokens.
type uniqueTokens struct {
	seen map[string]struct{}
	list []string
}

func (u *uniqueTokens) add(toks ...string) {
	if u.seen == nil {
		u.seen = make(map[string]struct{})
	}
	for _, t := range toks {
		if len(u.list) >= maxMessageTokens {
			return
		}
		if t == "" || strings.IndexByte(t, 0) >= 0 {
			continue
		}
		if _, ok := u.seen[t]; !ok {
			u.seen[t] = struct{}{}
			u.list = append(u.list, t)
		}
	}
}

// addText adds the tokens of s.
func (u *uniqueTokens) addText(s string) {
	if u.seen == nil {
		u.seen = make(map[string]struct{})
	}
	search.EachToken(s, func(tok []byte) {
		if _, ok := u.seen[string(tok)]; ok || len(u.list) >= maxMessageTokens {
			return
		}
		t := string(tok)
		u.seen[t] = struct{}{}
		u.list = append(u.list, t)
	})
}

func (u *uniqueTokens) addr(a kp.Address) {
	u.addText(a.Name)
	u.addText(a.Addr)
	u.add(search.AddressTokens(a.Addr)...)
}

// messageTokens are the index tokens of a message: for inbound mail its
// subject, text (new and quoted), sender, recipients and attachment
// names; for our own outbound mail only its recipients, since its text
// is our templates around text already indexed from the inbound copy.
func messageTokens(m *kp.Message) []string { return messageTokensWith(m, nil) }

// TextTokens are the index tokens of a message text, as PutMessage would
// find them. The gateway computes them on all cores while parsing and
// hands them over with GivenTextTokens, so the single writer does not
// tokenise: the text is most of the work.
//
// It returns what uniqueTokens.addText collects, with less work per
// token: the set of seen tokens (tokenSet) is reused between calls, and
// the tokens' bytes share a few allocations instead of one each.
func TextTokens(text string) []string {
	if len(text) > maxIndexText {
		text = text[:maxIndexText]
	}
	set := tokenSets.Get().(*tokenSet)
	set.arenaSize = min(len(text), 16<<10)
	// Texts have about one distinct word in 12 bytes.
	set.list = make([]string, 0, min(len(text)/12+16, maxMessageTokens))
	search.EachToken(text, func(tok []byte) {
		if len(set.list) < maxMessageTokens {
			set.add(tok)
		}
	})
	list := set.list
	set.release()
	return list
}

// GivenTextTokens tells the transaction the tokens of text (TextTokens),
// for the next PutMessage of a message with exactly that text.
func (tx *Tx) GivenTextTokens(text string, tokens []string) {
	tx.textTokens.text, tx.textTokens.tokens = text, tokens
}

// givenTokens returns the tokens GivenTextTokens gave for text, or nil.
func (tx *Tx) givenTokens(text string) []string {
	if tx.textTokens.tokens == nil || tx.textTokens.text != text {
		return nil
	}
	return tx.textTokens.tokens
}

// messageTokensWith is messageTokens with the text's tokens given
// (TextTokens, so distinct), or found here when textTokens is nil.
func messageTokensWith(m *kp.Message, textTokens []string) []string {
	var u uniqueTokens
	for _, a := range m.To {
		u.addr(a)
	}
	for _, a := range m.Cc {
		u.addr(a)
	}
	if m.Direction != kp.In {
		return u.list
	}
	u.add(search.FromTokens(m.From.Addr)...)
	u.addr(m.From)
	u.addText(m.Subject)
	for _, a := range m.Attachments {
		u.addText(a.Name)
	}
	if textTokens != nil {
		// Distinct already: only the few tokens above are looked up.
		for _, t := range textTokens {
			if len(u.list) >= maxMessageTokens {
				break
			}
			if _, ok := u.seen[t]; !ok {
				u.list = append(u.list, t)
			}
		}
		return u.list
	}
	text := m.Text
	if len(text) > maxIndexText {
		text = text[:maxIndexText]
	}
	u.addText(text)
	return u.list
}

// caseTokens are the index tokens a case holds itself: its subject, its
// requester and participants, and counterpart ticket references.
func caseTokens(c *kp.Case) []string {
	var u uniqueTokens
	u.add(search.Tokens(c.Subject)...)
	u.addr(c.Requester)
	u.add(search.FromTokens(c.Requester.Addr)...)
	for _, p := range c.Participants {
		u.addr(kp.Address{Addr: p})
	}
	for _, r := range c.Counterparts {
		u.add(search.Tokens(r.Ref)...)
	}
	// For the team: and after:/before: filters, which would otherwise
	// load every case the words found.
	if c.Team != "" {
		u.add("team:" + strings.ToLower(c.Team))
	}
	if !c.Created.IsZero() {
		u.add(openedToken(c.Created))
	}
	return u.list
}

// openedToken names the day (UTC) a case was opened on.
func openedToken(t time.Time) string { return "opened:" + t.UTC().Format("2006-01-02") }

// caseSearchChanged reports whether a case's own tokens may differ
// from its last stored version's.
func caseSearchChanged(old, c *kp.Case) bool {
	return old == nil || old.Subject != c.Subject || old.Requester != c.Requester || old.Team != c.Team || !old.Created.Equal(c.Created) ||
		!slices.Equal(old.Participants, c.Participants) || !slices.Equal(old.Counterparts, c.Counterparts)
}

// indexSearch adds case id to the postings of tokens, written when the
// transaction's Update function returns. Postings are never removed: a
// message moved away leaves its old case findable by it, which errs on
// the side of finding.
func (tx *Tx) indexSearch(id kp.CaseID, tokens []string) error {
	if id == 0 || len(tokens) == 0 || tx.noSearch {
		return nil
	}
	if tx.search == nil {
		tx.search = make(map[string][]kp.CaseID, 1<<13)
	}
	for _, t := range tokens {
		ids := tx.search[t]
		if len(ids) > 0 && ids[len(ids)-1] == id {
			continue
		}
		tx.search[t] = append(ids, id)
	}
	return nil
}

// flushSearch writes the postings indexSearch collected to the search
// log (search_log.go).
func (tx *Tx) flushSearch() error {
	if len(tx.search) == 0 {
		return nil
	}
	for t, ids := range tx.search {
		slices.Sort(ids)
		tx.search[t] = slices.Compact(ids)
	}
	err := tx.writeSearchLog(tx.search)
	tx.search = nil
	return err
}

// writeSearchPostings writes postings into the posting blocks: one write per
// token and epoch (two or more only past a block's blockMax ids), in key
// order.
func (tx *Tx) writeSearchPostings(postings map[string][]kp.CaseID) error {
	type entry struct {
		key string // epoch | token
		ids []kp.CaseID
	}
	entries := make([]entry, 0, len(postings))
	for t, ids := range postings {
		slices.Sort(ids)
		ids = slices.Compact(ids)
		for len(ids) > 0 {
			e := caseEpoch(ids[0])
			n := len(ids)
			if caseEpoch(ids[n-1]) != e {
				n, _ = slices.BinarySearch(ids, kp.CaseID((e+1)*epochCases))
			}
			entries = append(entries, entry{epochToken(e, t), ids[:n]})
			ids = ids[n:]
		}
	}
	// In key order: neighbouring writes share pages.
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	b := tx.b(bucketSearch)
	var block []kp.CaseID
	for _, en := range entries {
		ids := en.ids
		for len(ids) > 0 {
			var err error
			if block, ids, err = addPostings(b, en.key, ids, block[:0]); err != nil {
				return err
			}
		}
	}
	return nil
}

// addPostings adds ascending ids to the blocks of token: the ids that
// go into the block starting at or before ids[0] (up to the next block's
// start), or a new block. It returns the ids still to add.
func addPostings(b *bolt.Bucket, token string, ids, block []kp.CaseID) ([]kp.CaseID, []kp.CaseID, error) {
	prefix := append([]byte(token), 0)
	cur := b.Cursor()
	seek := searchKey(token, ids[0])
	k, v := cur.Seek(seek)
	var next kp.CaseID // the start of the following block, 0 if none
	if k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8 {
		start := kp.CaseID(binary.BigEndian.Uint64(k[len(prefix):]))
		if start == ids[0] {
			// ids[0] starts this block.
			var err error
			if block, err = decodeBlock(start, v, block); err != nil {
				return block, nil, err
			}
			k, _ = cur.Next()
			if k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8 {
				next = kp.CaseID(binary.BigEndian.Uint64(k[len(prefix):]))
			}
			return mergeBlock(b, token, block, ids, next)
		}
		next = start
		k, v = cur.Prev()
	} else if k == nil {
		k, v = cur.Last()
	} else {
		k, v = cur.Prev()
	}
	if k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8 {
		var err error
		if block, err = decodeBlock(kp.CaseID(binary.BigEndian.Uint64(k[len(prefix):])), v, block); err != nil {
			return block, nil, err
		}
	}
	return mergeBlock(b, token, block, ids, next)
}

// mergeBlock merges the ids below next into block (which may be empty: a
// new block) and writes it, split in blocks of at most blockMax.
func mergeBlock(b *bolt.Bucket, token string, block, ids []kp.CaseID, next kp.CaseID) ([]kp.CaseID, []kp.CaseID, error) {
	n := len(ids)
	if next != 0 {
		n, _ = slices.BinarySearch(ids, next)
	}
	take, rest := ids[:n], ids[n:]
	if len(take) == 0 {
		// Only when ids[0] == next, which Seek would have found.
		return block, rest, fmt.Errorf("search index: %q: %w", token, ErrCorrupt)
	}
	oldFirst := kp.CaseID(0)
	if len(block) > 0 {
		oldFirst = block[0]
	}
	changed := false
	for _, id := range take {
		i, found := slices.BinarySearch(block, id)
		if !found {
			block = slices.Insert(block, i, id)
			changed = true
		}
	}
	if !changed {
		return block, rest, nil
	}
	if oldFirst != 0 && block[0] != oldFirst {
		// Cannot happen (ids start at or after the block), kept safe.
		if err := b.Delete(searchKey(token, oldFirst)); err != nil {
			return block, rest, err
		}
	}
	for len(block) > 0 {
		// Full blocks from the start: appends, the usual case, then
		// leave every block but the last full.
		n := min(len(block), blockMax)
		if err := b.Put(searchKey(token, block[0]), encodeBlock(block[:n])); err != nil {
			return block, rest, fmt.Errorf("search index: %w", err)
		}
		block = block[n:]
	}
	return block, rest, nil
}

// SearchHit is one case found, with text around a matching word (""
// when only the subject, a name or a filter matched).
type SearchHit struct {
	Case    kp.Case
	Snippet string
}

// SearchResult is what Search found.
type SearchResult struct {
	Hits []SearchHit
	// More is set when more cases matched than were asked for.
	More bool
	// Partial says why not every case could be considered, or "".
	Partial string
}

// postings returns the cases, ascending, with a token that word is a
// prefix of (or, exact, the token word) in any epoch, and whether
// maxPostings cut the scan.
func (tx *Tx) postings(word string, exact bool) ([]kp.CaseID, bool, error) {
	b := tx.b(bucketSearch)
	top, _ := lastEpoch(b)
	var out []kp.CaseID
	blocks := 0
	cur := b.Cursor()
	for e := uint64(0); e <= top; e++ {
		prefix := append(appendEpoch(nil, e), word...)
		if exact {
			prefix = append(prefix, 0)
		}
		for k, v := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
			if len(k) < epochLen+9 {
				continue
			}
			var err error
			if out, err = decodeBlock(blockFirst(k), v, out); err != nil {
				return nil, false, err
			}
			blocks++
			if len(out) > maxPostings {
				return sortedUnique(out, blocks), true, nil
			}
		}
	}
	segs, err := searchLog(b)
	if err != nil {
		return nil, false, err
	}
	hi := ""
	if exact {
		hi = word + "\x00"
	}
	for _, sg := range segs {
		if _, err := sg.each(word, hi, nil, func(_ []byte, ids []kp.CaseID) { out = append(out, ids...) }); err != nil {
			return nil, false, err
		}
		blocks += 2
	}
	return sortedUnique(out, blocks), false, nil
}

// sortedUnique sorts ids read from blocks and drops repeats; the blocks
// of one token are already in order.
func sortedUnique(ids []kp.CaseID, blocks int) []kp.CaseID {
	if blocks > 1 || !slices.IsSorted(ids) {
		slices.Sort(ids)
	}
	return slices.Compact(ids)
}

// Search finds the cases matching q, newest first, at most limit of them.
// Dates of q are days in loc.
func (tx *Tx) Search(q search.Query, loc *time.Location, limit int) (SearchResult, error) {
	var res SearchResult
	if q.Empty() {
		return res, nil
	}
	if k, _ := tx.b(bucketSearch).Cursor().Seek([]byte{0x20}); k != nil {
		// Blocks of the layout before epochs: a read-only open cannot
		// upgrade them, and searching past them would find nothing.
		return res, fmt.Errorf("the search index is in an older layout: open the store once for writing (serve or ingest) to upgrade it: %w", ErrSchema)
	}
	if loc == nil {
		loc = time.Local
	}
	var after, before time.Time
	if !q.After.IsZero() {
		after = time.Date(q.After.Year(), q.After.Month(), q.After.Day(), 0, 0, 0, 0, loc)
	}
	if !q.Before.IsZero() {
		before = time.Date(q.Before.Year(), q.Before.Month(), q.Before.Day(), 0, 0, 0, 0, loc)
	}
	// Each term is a range of tokens: from lo, up to hi or, when hi is
	// "", every token lo is a prefix of.
	type termSpec struct{ lo, hi string }
	var specs []termSpec
	term := func(lo, hi string) { specs = append(specs, termSpec{lo, hi}) }
	for _, f := range q.From {
		term(f+"\x00", "")
	}
	if q.Team != "" {
		term("team:"+strings.ToLower(q.Team)+"\x00", "")
	}
	if !after.IsZero() || !before.IsZero() {
		// The UTC days around the range; the exact bounds are checked
		// on the cases.
		lo, hi := "opened:", "opened;"
		if !after.IsZero() {
			lo = openedToken(after.AddDate(0, 0, -1))
		}
		if !before.IsZero() {
			hi = openedToken(before.AddDate(0, 0, 1)) + "\x01"
		}
		term(lo, hi)
	}
	for _, w := range q.Words {
		// A word of one character matches only itself: as a prefix it
		// would read a large part of the index.
		if len([]rune(w)) < 2 {
			w += "\x00"
		}
		term(w, "")
	}
	if len(specs) == 0 {
		// Filters only: walk the newest cases (of the status or
		// assignee index) a page at a time, up to filterScan.
		for off := 0; off < filterScan; off += 500 {
			cs, err := tx.Cases(CaseFilter{Status: kp.Status(q.Status), Assignee: q.Assignee, Limit: 500, Offset: off})
			if err != nil {
				return res, err
			}
			for i := range cs {
				c := &cs[i]
				if !matchFilters(c, q, after, before) {
					continue
				}
				if limit > 0 && len(res.Hits) == limit {
					res.More = true
					return res, nil
				}
				res.Hits = append(res.Hits, SearchHit{Case: *c})
			}
			if len(cs) < 500 {
				return res, nil
			}
		}
		res.Partial = fmt.Sprintf("only the newest %d cases were looked at; add words to search all", filterScan)
		return res, nil
	}
	b := tx.b(bucketSearch)
	// The newest epoch: of the posting blocks, or of the cases, whose
	// newest may still be only in the log.
	top, _ := lastEpoch(b)
	top = max(top, caseEpoch(kp.CaseID(tx.b(bucketCase).Sequence())))
	// The cases of each term in the search log, read once.
	segs, err := searchLog(b)
	if err != nil {
		return res, err
	}
	logged := make([][]kp.CaseID, len(specs))
	var ids []kp.CaseID
	for i, sp := range specs {
		slo, shi := sp.lo, sp.hi
		if t, ok := strings.CutSuffix(slo, "\x00"); ok && shi == "" {
			slo, shi = t, slo // exactly the token
		}
		for _, sg := range segs {
			if ids, err = sg.each(slo, shi, ids, func(_ []byte, ids []kp.CaseID) {
				logged[i] = append(logged[i], ids...)
			}); err != nil {
				return res, err
			}
		}
		slices.Sort(logged[i])
		logged[i] = slices.Compact(logged[i])
	}
	budget := snippetBudget
	acc, w := newWindow(0, epochCases), newWindow(0, epochCases)
	cur := b.Cursor()
	read := 0
	for e := int64(top); e >= 0 && err == nil; e-- {
		// The epoch's cases of the first term, narrowed by each other
		// term's; an epoch where one term finds nothing is done.
		lo := kp.CaseID(e) * epochCases
		found := true
		for i, sp := range specs {
			ep := appendEpoch(nil, uint64(e))
			var hi []byte
			if sp.hi != "" {
				hi = append(bytes.Clone(ep), sp.hi...)
			}
			into := acc
			if i > 0 {
				into = w
			}
			into.reset(lo)
			n, any, err := fillTerm(cur, append(ep, sp.lo...), hi, into)
			if err != nil {
				return res, fmt.Errorf("search index: %w", err)
			}
			read += n
			l := logged[i]
			from, _ := slices.BinarySearch(l, into.lo)
			to, _ := slices.BinarySearch(l, into.hi)
			for _, id := range l[from:to] {
				into.set(id)
			}
			if !any && from == to {
				found = false
				break
			}
			if i > 0 {
				acc.and(w)
			}
		}
		if !found {
			continue
		}
		done := !acc.eachDown(func(id kp.CaseID) bool {
			var c *kp.Case
			if c, err = tx.Case(id); err != nil {
				if errors.Is(err, ErrNotFound) {
					err = nil
					return true
				}
				return false
			}
			if !matchFilters(c, q, after, before) {
				return true
			}
			if limit > 0 && len(res.Hits) == limit {
				res.More = true
				return false
			}
			hit := SearchHit{Case: *c}
			if hit.Snippet, err = tx.snippet(id, q.Words, &budget); err != nil {
				return false
			}
			res.Hits = append(res.Hits, hit)
			return true
		})
		if done || err != nil {
			break
		}
		if read > maxPostings && e > 0 {
			res.Partial = fmt.Sprintf("the search matched too many cases; only those from case %d on were considered", lo)
			break
		}
	}
	return res, err
}

// matchFilters reports whether c passes the filters of q.
func matchFilters(c *kp.Case, q search.Query, after, before time.Time) bool {
	return (q.Status == "" || string(c.Status) == q.Status) &&
		(q.Team == "" || strings.EqualFold(c.Team, q.Team)) &&
		(q.Assignee == "" || kp.SameAddr(c.Assignee, q.Assignee)) &&
		(after.IsZero() || !c.Created.Before(after)) &&
		(before.IsZero() || c.Created.Before(before))
}

// snippet returns text around the first matching word in the case's
// first snippetScan inbound messages.
func (tx *Tx) snippet(id kp.CaseID, words []string, budget *int) (string, error) {
	if len(words) == 0 {
		return "", nil
	}
	cur := tx.b(bucketCaseMsg).Cursor()
	prefix := u64(uint64(id))
	n := 0
	for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && n < snippetScan && *budget > 0; k, _ = cur.Next() {
		if len(k) != 16 {
			return "", fmt.Errorf("snippet: message index key %x: %w", k, ErrCorrupt)
		}
		m, err := tx.messageBySeq(binary.BigEndian.Uint64(k[8:]))
		if err != nil {
			return "", err
		}
		*budget--
		if m.Direction != kp.In {
			continue
		}
		n++
		if s, ok := search.Snippet(m.Text, words, snippetWidth); ok {
			return s, nil
		}
	}
	return "", nil
}

// ReindexSearch adds every case and every message filed on one to the
// full-text index, in transactions of about batch messages, for a store
// written before the index existed. Running it again changes nothing.
// It returns the number of messages read.
func (s *Store) ReindexSearch(batch int) (int, error) {
	if batch <= 0 {
		batch = 2000
	}
	total := 0
	for next := uint64(1); next != 0; {
		err := s.Update(func(tx *Tx) error {
			n := 0
			// indexSearch only collects until the function returns, so
			// the cursors stay valid.
			cur := tx.b(bucketCase).Cursor()
			for k, _ := cur.Seek(u64(next)); k != nil; k, _ = cur.Next() {
				if len(k) != 8 {
					return fmt.Errorf("reindex: case key %x: %w", k, ErrCorrupt)
				}
				id := binary.BigEndian.Uint64(k)
				if n >= batch {
					next = id
					return nil
				}
				c, err := tx.Case(kp.CaseID(id))
				if err != nil {
					return err
				}
				if err := tx.indexSearch(c.ID, caseTokens(c)); err != nil {
					return err
				}
				mc := tx.b(bucketCaseMsg).Cursor()
				prefix := u64(id)
				for mk, _ := mc.Seek(prefix); mk != nil && bytes.HasPrefix(mk, prefix); mk, _ = mc.Next() {
					if len(mk) != 16 {
						return fmt.Errorf("reindex: message index key %x: %w", mk, ErrCorrupt)
					}
					m, err := tx.messageBySeq(binary.BigEndian.Uint64(mk[8:]))
					if err != nil {
						return err
					}
					if err := tx.indexSearch(c.ID, messageTokens(m)); err != nil {
						return err
					}
					n++
					total++
				}
			}
			next = 0
			return nil
		})
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// searchTokensOf are every token case c and its messages put in the index.
func searchTokensOf(c *kp.Case, msgs []kp.Message) []string {
	var u uniqueTokens
	u.add(caseTokens(c)...)
	for i := range msgs {
		u.add(messageTokens(&msgs[i])...)
	}
	return u.list
}

// upgradeSearch moves the posting blocks of the layout before epochs
// (token | 0x00 | first case, without an epoch) into their epochs, in
// transactions of upgradeBlocks blocks, so that a store written before
// keeps finding what it found. Open runs it; on a current store it is one
// seek.
func (s *Store) upgradeSearch() error {
	old := func(tx *Tx) bool {
		k, _ := tx.b(bucketSearch).Cursor().Seek([]byte{0x20})
		return k != nil
	}
	for {
		more := false
		if err := s.View(func(tx *Tx) error { more = old(tx); return nil }); err != nil || !more {
			return err
		}
		err := s.Update(func(tx *Tx) error {
			b := tx.b(bucketSearch)
			cur := b.Cursor()
			var dels [][]byte
			postings := make(map[string][]kp.CaseID)
			for k, v := cur.Seek([]byte{0x20}); k != nil && len(dels) < upgradeBlocks; k, v = cur.Next() {
				dels = append(dels, bytes.Clone(k))
				i := bytes.IndexByte(k, 0)
				if i <= 0 || len(k) != i+9 {
					continue // malformed: dropped
				}
				ids, err := decodeBlock(blockFirst(k), v, nil)
				if err != nil {
					return fmt.Errorf("upgrading the search index: %w", err)
				}
				t := string(k[:i])
				postings[t] = append(postings[t], ids...)
			}
			// Into the blocks of their epochs directly, not through
			// the log: these are many.
			if err := tx.writeSearchPostings(postings); err != nil {
				return err
			}
			for _, k := range dels {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
}

// upgradeBlocks is how many blocks one transaction of upgradeSearch moves.
const upgradeBlocks = 50000
