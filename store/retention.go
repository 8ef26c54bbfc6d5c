package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"time"

	kp "kontaktpunkt"
)

// Tombstone is what a case purged by retention keeps beside its case
// record, whose personal fields (subject, requester, participants,
// counterpart references, thread ids) are blanked; number, created,
// resolved, team, assignee, status, escalation and message count stay.
type Tombstone struct {
	Purged time.Time `json:"purged"`
	// FirstAnswer is when the first staff reply was relayed, zero if none.
	FirstAnswer time.Time `json:"first_answer,omitzero"`
	// Inbound and Outbound count the messages the case had by direction.
	Inbound  int `json:"inbound"`
	Outbound int `json:"outbound"`
}

func encodeTombstone(t Tombstone) []byte {
	e := enc{b: []byte{recordFormat}}
	e.time(t.Purged)
	e.time(t.FirstAnswer)
	e.varint(int64(t.Inbound))
	e.varint(int64(t.Outbound))
	return e.b
}

func decodeTombstone(b []byte, id kp.CaseID) (Tombstone, error) {
	d := dec{b: b}
	d.header("tombstone")
	t := Tombstone{Purged: d.time(), FirstAnswer: d.time(), Inbound: d.int(), Outbound: d.int()}
	if d.err != nil {
		return Tombstone{}, fmt.Errorf("tombstone of case %d: %w", id, d.err)
	}
	return t, nil
}

// Tombstone returns the tombstone of case id and true if the case was
// purged.
func (tx *Tx) Tombstone(id kp.CaseID) (Tombstone, bool, error) {
	v := tx.b(bucketTombstone).Get(u64(uint64(id)))
	if v == nil {
		return Tombstone{}, false, nil
	}
	t, err := decodeTombstone(v, id)
	return t, err == nil, err
}

// PurgeCounts says what a purge or forget removed or changed.
type PurgeCounts struct {
	Cases    int   `json:"cases"`
	Messages int   `json:"messages"`
	Outbound int   `json:"outbound"`
	Index    int   `json:"index_entries"`
	RawBytes int64 `json:"raw_bytes"`
}

func (p *PurgeCounts) add(q PurgeCounts) {
	p.Cases += q.Cases
	p.Messages += q.Messages
	p.Outbound += q.Outbound
	p.Index += q.Index
	p.RawBytes += q.RawBytes
}

// PurgeCase removes case id's mail for good and leaves a tombstone: every
// message of the case (record, raw bytes, Message-ID entry), the outbound
// mail recorded with them, and the case's personal fields. Entries of
// the threading indexes are removed by SweepPurged. Purging a purged case
// does nothing.
func (tx *Tx) PurgeCase(id kp.CaseID, now time.Time) (PurgeCounts, error) {
	u := unindexer{}
	n, err := tx.purgeCase(id, now, u)
	if err != nil {
		return n, err
	}
	_, err = tx.unindexMany(u)
	return n, err
}

// unindexer collects, per token, the cases to take out of its postings,
// so that a batch of purged cases rewrites each posting block once.
type unindexer map[string][]kp.CaseID

func (u unindexer) add(id kp.CaseID, tokens []string) {
	for _, t := range tokens {
		u[t] = append(u[t], id)
	}
}

// purgeCase is PurgeCase with the case's tokens left in u for unindexMany.
func (tx *Tx) purgeCase(id kp.CaseID, now time.Time, u unindexer) (PurgeCounts, error) {
	var n PurgeCounts
	if _, done, err := tx.Tombstone(id); err != nil || done {
		return n, err
	}
	c, err := tx.Case(id)
	if err != nil {
		return n, err
	}
	msgs, err := tx.CaseMessages(id)
	if err != nil {
		return n, err
	}
	u.add(id, searchTokensOf(c, msgs))
	t := Tombstone{Purged: now}
	for i := range msgs {
		m := &msgs[i]
		if m.Direction == kp.Out {
			t.Outbound++
			if m.Kind == "relay" && (t.FirstAnswer.IsZero() || m.Received.Before(t.FirstAnswer)) {
				t.FirstAnswer = m.Received
			}
		} else {
			t.Inbound++
		}
		e, _, err := tx.lookupID(m.ID)
		if err != nil {
			return n, err
		}
		if e.outID != 0 {
			o, err := tx.outbound(e.outID, false)
			if err != nil {
				return n, err
			}
			if err := tx.deleteOutbound(o); err != nil {
				return n, err
			}
			n.Outbound++
		}
		n.RawBytes += int64(e.rawLen)
		if err := tx.purgeMessage(m); err != nil {
			return n, err
		}
		n.Messages++
	}
	blank := &kp.Case{
		ID: c.ID, Status: c.Status, Assignee: c.Assignee, Team: c.Team, Priority: c.Priority,
		Escalation: c.Escalation, Created: c.Created, Updated: c.Updated, ResolvedAt: c.ResolvedAt,
		Messages: c.Messages, PreviousCase: c.PreviousCase, LastInbound: c.LastInbound,
		LastStaffReply: c.LastStaffReply, AssignedAt: c.AssignedAt, WaitingSince: c.WaitingSince,
		MergedInto: c.MergedInto, Links: c.Links, Archived: c.Archived, Rule: c.Rule,
	}
	if err := tx.DeleteCaseTerms(id); err != nil {
		return n, err
	}
	noSearch := tx.noSearch
	tx.noSearch = true // the blanked case adds no postings (its old ones are gone above)
	err = tx.PutCase(blank)
	tx.noSearch = noSearch
	if err != nil {
		return n, err
	}
	if err := tx.b(bucketTombstone).Put(u64(uint64(id)), encodeTombstone(t)); err != nil {
		return n, err
	}
	n.Cases++
	return n, nil
}

// unindexMany takes the cases of u out of the postings of its tokens, in
// token order, each posting block read and written once however many of
// its cases go; a block left empty is deleted. It returns how many
// blocks it changed.
func (tx *Tx) unindexMany(u unindexer) (int, error) {
	if err := tx.mergeSearchLog(nil); err != nil { // only blocks from here on
		return 0, err
	}
	toks := make([]string, 0, len(u))
	for t := range u {
		toks = append(toks, t)
	}
	slices.Sort(toks)
	b := tx.b(bucketSearch)
	changed := 0
	var block []kp.CaseID
	for _, t := range toks {
		ids := u[t]
		slices.Sort(ids)
		ids = slices.Compact(ids)
		if pending := tx.search[t]; len(pending) > 0 {
			tx.search[t] = slices.DeleteFunc(pending, func(c kp.CaseID) bool { _, ok := slices.BinarySearch(ids, c); return ok })
		}
		cur := b.Cursor()
		for i := 0; i < len(ids); {
			// A token's postings are grouped by epoch of case ids.
			et := epochToken(caseEpoch(ids[i]), t)
			prefix := append([]byte(et), 0)
			key := searchKey(et, ids[i])
			k, v := cur.Seek(key)
			if k == nil || !bytes.Equal(k, key) {
				k, v = cur.Prev()
			}
			if k == nil || !bytes.HasPrefix(k, prefix) || len(k) != len(prefix)+8 {
				i++
				continue
			}
			var err error
			if block, err = decodeBlock(kp.CaseID(binary.BigEndian.Uint64(k[len(prefix):])), v, block[:0]); err != nil {
				return changed, err
			}
			last := block[len(block)-1]
			j := i
			for j < len(ids) && ids[j] <= last {
				j++
			}
			i = max(j, i+1)
			kept := slices.DeleteFunc(block, func(c kp.CaseID) bool { _, ok := slices.BinarySearch(ids, c); return ok })
			if len(kept) == len(block) {
				continue
			}
			if err := b.Delete(bytes.Clone(k)); err != nil {
				return changed, err
			}
			if len(kept) > 0 {
				if err := b.Put(searchKey(et, kept[0]), encodeBlock(kept)); err != nil {
					return changed, err
				}
			}
			changed++
		}
	}
	return changed, nil
}

// ExpiredCases returns up to limit ids, above after and in order, of
// resolved cases resolved before cutoff that are not purged yet.
func (tx *Tx) ExpiredCases(cutoff time.Time, after kp.CaseID, limit int) ([]kp.CaseID, error) {
	prefix := appendLstr(nil, string(kp.StatusResolved))
	var out []kp.CaseID
	cur := tx.b(bucketCaseStatus).Cursor()
	for k, _ := cur.Seek(appendU64(bytes.Clone(prefix), uint64(after)+1)); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
		if len(k) != len(prefix)+8 {
			return nil, fmt.Errorf("case_status key %x: %w", k, ErrCorrupt)
		}
		id := kp.CaseID(binary.BigEndian.Uint64(k[len(prefix):]))
		if tx.b(bucketTombstone).Get(u64(uint64(id))) != nil {
			continue
		}
		c, err := tx.Case(id)
		if err != nil {
			return nil, err
		}
		if c.ResolvedAt.IsZero() || !c.ResolvedAt.Before(cutoff) {
			continue
		}
		out = append(out, id)
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return out, nil
}

// caseKeyedIndexes are the index buckets whose keys end in a u64 case
// id and that may hold a purged case's words or addresses (referenced
// Message-IDs, subjects). SweepPurged removes a purged case's keys from
// each. A new index keyed by case that holds text from mail belongs in
// this list (or needs its own step in PurgeCase).
var caseKeyedIndexes = [][]byte{bucketRefBy, bucketCaseSubject}

// SweepPosition is where SweepPurged goes on; the zero value starts at
// the beginning.
type SweepPosition struct {
	bucket int
	key    []byte
	Done   bool
}

// SweepPurged removes index entries and outbound mail that name a purged
// case: the keys of caseKeyedIndexes, then outbound records of the case
// that no stored message copied. (PurgeCase itself takes the case out of
// the full-text and suggestion indexes.) It visits at most max keys from
// pos and returns where to go on.
func (tx *Tx) SweepPurged(pos SweepPosition, max int) (SweepPosition, PurgeCounts, error) {
	var n PurgeCounts
	visited := 0
	tomb := tx.b(bucketTombstone)
	for pos.bucket < len(caseKeyedIndexes)+1 && visited < max {
		if pos.bucket == len(caseKeyedIndexes) {
			// The outbox, by id.
			cur := tx.b(bucketOut).Cursor()
			var k []byte
			if pos.key == nil {
				k, _ = cur.First()
			} else {
				k, _ = cur.Seek(pos.key)
			}
			var doomed []*kp.Outbound
			for ; k != nil && visited < max; k, _ = cur.Next() {
				visited++
				pos.key = append(bytes.Clone(k), 0) // the next key after k
				o, err := tx.outbound(binary.BigEndian.Uint64(k), false)
				if err != nil {
					return pos, n, err
				}
				if o.Case != 0 && tomb.Get(u64(uint64(o.Case))) != nil {
					doomed = append(doomed, o)
				}
			}
			for _, o := range doomed {
				if err := tx.deleteOutbound(o); err != nil {
					return pos, n, err
				}
				n.Outbound++
			}
			if k == nil {
				pos.bucket, pos.key = pos.bucket+1, nil
			}
			continue
		}
		b := tx.b(caseKeyedIndexes[pos.bucket])
		cur := b.Cursor()
		var k []byte
		if pos.key == nil {
			k, _ = cur.First()
		} else {
			k, _ = cur.Seek(pos.key)
		}
		var doomed [][]byte
		for ; k != nil && visited < max; k, _ = cur.Next() {
			visited++
			pos.key = append(bytes.Clone(k), 0)
			if len(k) >= 8 && tomb.Get(k[len(k)-8:]) != nil {
				doomed = append(doomed, bytes.Clone(k))
			}
		}
		for _, d := range doomed {
			if err := b.Delete(d); err != nil {
				return pos, n, err
			}
			n.Index++
		}
		if k == nil {
			pos.bucket, pos.key = pos.bucket+1, nil
		}
	}
	pos.Done = pos.bucket > len(caseKeyedIndexes)
	return pos, n, nil
}

// ExpiredUnfiled returns up to limit messages of no case, after seq
// after in storage order, received before unfiledBefore (mail that is not
// quarantined) or quarantineBefore (quarantined mail). A zero time keeps
// that kind. It also returns the last seq it looked at.
func (tx *Tx) ExpiredUnfiled(unfiledBefore, quarantineBefore time.Time, after uint64, limit int) ([]kp.Message, uint64, error) {
	var out []kp.Message
	cur := tx.b(bucketCaseMsg).Cursor()
	last := after
	for k, _ := cur.Seek(caseMsgKey(0, after+1)); len(k) == 16 && binary.BigEndian.Uint64(k) == 0; k, _ = cur.Next() {
		seq := binary.BigEndian.Uint64(k[8:])
		last = seq
		m, err := tx.messageBySeq(seq)
		if err != nil {
			return nil, last, err
		}
		cutoff := unfiledBefore
		if m.Quarantine != "" {
			cutoff = quarantineBefore
		}
		if !cutoff.IsZero() && m.Received.Before(cutoff) {
			out = append(out, *m)
			if limit > 0 && len(out) >= limit {
				break
			}
		}
	}
	return out, last, nil
}

// PurgeMessage removes an unfiled or quarantined message for good.
func (tx *Tx) PurgeMessage(m *kp.Message) (PurgeCounts, error) {
	var n PurgeCounts
	e, ok, err := tx.lookupID(m.ID)
	if err != nil || !ok {
		return n, err
	}
	n.RawBytes = int64(e.rawLen)
	if err := tx.purgeMessage(m); err != nil {
		return n, err
	}
	n.Messages = 1
	return n, nil
}

// RetentionPolicy says what Purge removes. A zero time keeps that kind
// of mail.
type RetentionPolicy struct {
	// ResolvedBefore: resolved cases resolved before it are purged to a
	// tombstone.
	ResolvedBefore time.Time
	// UnfiledBefore and QuarantineBefore: messages of no case (not
	// quarantined, quarantined) received before them are deleted.
	UnfiledBefore, QuarantineBefore time.Time
	// Now is the purge time recorded in tombstones.
	Now time.Time
	// DryRun only counts.
	DryRun bool
	// Budget is how long one write transaction works before it commits
	// and lets intake in; zero means DefaultPurgeBudget.
	Budget time.Duration
	// OnBatch, if set, is told about each write transaction.
	OnBatch func(PurgeBatch)
}

// PurgeBatch describes one write transaction of a purge.
type PurgeBatch struct {
	// Phase is "cases", "indexes" or "unfiled".
	Phase string
	// Held is how long it held the write lock, Commit how much of that
	// was the commit, and CPU the CPU time it used meanwhile (zero where
	// the system does not tell): on a loaded machine Held also counts
	// waiting for a core.
	Held, Commit, CPU time.Duration
}

// purgeBatchCases, purgeBatchMessages and purgeBatchBytes (raw mail)
// bound what one purge transaction takes, whatever the time: the commit
// writes every page the batch dirtied, and a case dirties a posting
// block per word of its mail and the raw log pages of its messages. A
// case is never split, so one case larger than a budget is a batch of
// its own.
const (
	purgeBatchCases    = 64
	purgeBatchMessages = 512
	purgeBatchBytes    = 8 << 20
)

// DefaultPurgeBudget is the work time of one purge transaction. Its
// commit adds to it (it writes the freelist, which grows with the pages a
// purge frees), so the work part is kept short.
const DefaultPurgeBudget = 15 * time.Millisecond

// PurgeReport says what Purge did (or, in a dry run, would do).
type PurgeReport struct {
	PurgeCounts
	// Unfiled counts the deleted messages of no case (also in Messages).
	Unfiled int `json:"unfiled"`
	// Batches is the number of write transactions; MaxBatch the longest
	// time one of them held the write lock, commit included, and
	// MaxBatchCPU the most CPU time one of them used.
	Batches     int           `json:"batches"`
	MaxBatch    time.Duration `json:"max_batch_ns"`
	MaxBatchCPU time.Duration `json:"max_batch_cpu_ns"`
}

// Purge applies a retention policy in batches of write transactions that
// each hold the write lock for about p.Budget, so intake goes on between
// them. A crash between batches leaves a consistent store; running Purge
// again finishes the work.
func (s *Store) Purge(p RetentionPolicy) (PurgeReport, error) {
	var rep PurgeReport
	budget := p.Budget
	if budget <= 0 {
		budget = DefaultPurgeBudget
	}
	if p.DryRun {
		err := s.View(func(tx *Tx) error {
			if !p.ResolvedBefore.IsZero() {
				ids, err := tx.ExpiredCases(p.ResolvedBefore, 0, 0)
				if err != nil {
					return err
				}
				rep.Cases = len(ids)
				for _, id := range ids {
					c, err := tx.Case(id)
					if err != nil {
						return err
					}
					rep.Messages += c.Messages
				}
			}
			if !p.UnfiledBefore.IsZero() || !p.QuarantineBefore.IsZero() {
				ms, _, err := tx.ExpiredUnfiled(p.UnfiledBefore, p.QuarantineBefore, 0, 0)
				if err != nil {
					return err
				}
				rep.Unfiled = len(ms)
				rep.Messages += len(ms)
			}
			return nil
		})
		return rep, err
	}
	batch := func(phase string, fn func(tx *Tx, deadline time.Time) (bool, error)) error {
		// The goroutine keeps its thread for the batch so that the
		// thread's CPU time is the batch's.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for {
			var done bool
			var t0, t1 time.Time
			var cpu0 time.Duration
			err := s.Update(func(tx *Tx) error {
				t0, cpu0 = time.Now(), threadCPU()
				var err error
				done, err = fn(tx, t0.Add(budget))
				t1 = time.Now()
				return err
			})
			if err != nil {
				return err
			}
			held, cpu := time.Since(t0), threadCPU()-cpu0
			rep.Batches++
			rep.MaxBatch = max(rep.MaxBatch, held)
			rep.MaxBatchCPU = max(rep.MaxBatchCPU, cpu)
			if p.OnBatch != nil {
				p.OnBatch(PurgeBatch{Phase: phase, Held: held, Commit: held - t1.Sub(t0), CPU: cpu})
			}
			if done {
				return nil
			}
		}
	}
	if !p.ResolvedBefore.IsZero() {
		var after kp.CaseID
		err := batch("cases", func(tx *Tx, deadline time.Time) (bool, error) {
			var n PurgeCounts
			defer func() { rep.add(n) }()
			// The cases' postings go in one pass at the end, so the
			// cases are taken while two thirds of the budget last.
			stop := deadline.Add(-budget / 3)
			u := unindexer{}
			done := false
			for cases := 0; !done && cases < purgeBatchCases && time.Now().Before(stop); {
				ids, err := tx.ExpiredCases(p.ResolvedBefore, after, 8)
				if err != nil {
					return false, err
				}
				done = len(ids) == 0
				for _, id := range ids {
					c, err := tx.purgeCase(id, p.Now, u)
					if err != nil {
						return false, err
					}
					n.add(c)
					after = id
					if cases++; cases >= purgeBatchCases || n.Messages >= purgeBatchMessages || n.RawBytes >= purgeBatchBytes || !time.Now().Before(stop) {
						cases = purgeBatchCases // the batch is full
						break
					}
				}
			}
			_, err := tx.unindexMany(u)
			return done, err
		})
		if err != nil {
			return rep, err
		}
		var pos SweepPosition
		err = batch("indexes", func(tx *Tx, deadline time.Time) (bool, error) {
			for !pos.Done && time.Now().Before(deadline) {
				var n PurgeCounts
				var err error
				if pos, n, err = tx.SweepPurged(pos, 256); err != nil {
					return false, err
				}
				rep.add(n)
			}
			return pos.Done, nil
		})
		if err != nil {
			return rep, err
		}
	}
	if !p.UnfiledBefore.IsZero() || !p.QuarantineBefore.IsZero() {
		var after uint64
		err := batch("unfiled", func(tx *Tx, deadline time.Time) (bool, error) {
			for time.Now().Before(deadline) {
				ms, last, err := tx.ExpiredUnfiled(p.UnfiledBefore, p.QuarantineBefore, after, 32)
				if err != nil {
					return false, err
				}
				for i := range ms {
					n, err := tx.PurgeMessage(&ms[i])
					if err != nil {
						return false, err
					}
					rep.add(n)
					rep.Unfiled++
				}
				if last == after {
					return true, nil
				}
				after = last
			}
			return false, nil
		})
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}
