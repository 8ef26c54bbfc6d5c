package store

import (
	"encoding/binary"
	"fmt"

	kp "kontaktpunkt"
)

// maxCheckErrors caps the problems one Check reports.
const maxCheckErrors = 20

// checker collects problems found by checkIndexes.
type checker struct {
	errs []error
}

func (c *checker) add(format string, args ...any) {
	if len(c.errs) < maxCheckErrors {
		c.errs = append(c.errs, fmt.Errorf(format, args...))
	}
}

// checkIndexes verifies that records and indexes agree. For each index it
// checks that every record has its entry and that the index has exactly as
// many entries as records that need one, so there are no stale entries.
// Memory use is constant; time is linear in the store size.
func (tx *Tx) checkIndexes() []error {
	var c checker
	has := func(bucket, key []byte) bool { return tx.b(bucket).Get(key) != nil }
	count := func(bucket []byte) int { return tx.b(bucket).Stats().KeyN }

	// Messages.
	nMsg := 0
	var maxSeq uint64
	facts := tx.factChecker(&c)
	_ = tx.b(bucketMsg).ForEach(func(k, v []byte) error {
		nMsg++
		if len(k) != 8 {
			c.add("msg: key %x", k)
			return nil
		}
		seq := binary.BigEndian.Uint64(k)
		maxSeq = max(maxSeq, seq)
		p, err := tx.codec.unpack(v)
		if err != nil {
			c.add("msg %d: %w", seq, err)
			return nil
		}
		m, err := tx.decodeMessageTx(p, seq)
		if err != nil {
			c.add("%w", err)
			return nil
		}
		e, ok, err := tx.lookupID(m.ID)
		switch {
		case err != nil:
			c.add("msg %d: %w", seq, err)
		case !ok || e.seq != seq || e.cas != m.Case:
			c.add("msg %d (%q, case %d): id index says %+v (found %v)", seq, m.ID, m.Case, e, ok)
		}
		if !has(bucketCaseMsg, caseMsgKey(m.Case, seq)) {
			c.add("msg %d (%q): missing from case %d's list", seq, m.ID, m.Case)
		}
		facts.message(m)
		return nil
	})
	facts.done()
	if seq := tx.b(bucketMsg).Sequence(); seq < maxSeq {
		c.add("msg: sequence %d below highest seq %d", seq, maxSeq)
	}
	if n := count(bucketCaseMsg); n != nMsg {
		c.add("case_msg: %d entries for %d messages", n, nMsg)
	}

	// The raw log: blocks 0, 1, 2 … all full but the last.
	var logEnd uint64
	bs := uint64(tx.rawBlock)
	// Purged ranges may leave gaps of whole blocks, each inside one free
	// range (bucketRawFree).
	_ = tx.b(bucketRaw).ForEach(func(k, v []byte) error {
		if len(k) == 8 && binary.BigEndian.Uint64(k)*bs > logEnd && logEnd%bs == 0 {
			if at := binary.BigEndian.Uint64(k) * bs; !tx.rawFreeCovers(logEnd, at) {
				c.add("raw log: blocks missing from offset %d to %d outside a purged range", logEnd, at)
			}
			logEnd = binary.BigEndian.Uint64(k) * bs
		}
		if len(k) != 8 || binary.BigEndian.Uint64(k)*bs != logEnd || uint64(len(v)) > bs {
			c.add("raw log: block %x (%d bytes) at offset %d", k, len(v), logEnd)
		}
		if logEnd%bs != 0 {
			c.add("raw log: block %x follows a partial block", k)
		}
		logEnd += uint64(len(v))
		return nil
	})
	logFree := tx.freeRawBytes(&c, logEnd)

	// Message-ID index: entries with a seq were matched one to one above
	// when their number equals the number of messages.
	nIDMsg, nIDOut, nBig := 0, 0, 0
	var logUsed uint64
	_ = tx.b(bucketMsgID).ForEach(func(k, v []byte) error {
		e, err := decodeIDEntry(v)
		if err != nil {
			c.add("msgid %q: %w", k, err)
			return nil
		}
		if e.seq == 0 && e.outID == 0 {
			c.add("msgid %q: entry points nowhere", k)
		}
		if e.seq != 0 {
			nIDMsg++
		}
		switch {
		case e.rawLen == 0:
		case e.seq == 0:
			c.add("msgid %q: raw bytes without a message", k)
		case e.rawLen >= bigRaw:
			nBig++
			if v := tx.b(bucketRawBig).Get(u64(e.seq)); uint64(len(v)) != e.rawLen {
				c.add("msgid %q: big raw message %d has %d bytes, want %d", k, e.seq, len(v), e.rawLen)
			}
		default:
			logUsed += e.rawLen
			if e.rawOff+e.rawLen > logEnd {
				c.add("msgid %q: raw bytes %d+%d beyond the log end %d", k, e.rawOff, e.rawLen, logEnd)
			}
		}
		if e.outID != 0 {
			nIDOut++
			o, err := tx.outbound(e.outID, false)
			switch {
			case err != nil:
				c.add("msgid %q: %w", k, err)
			case string(msgIDKey(o.MessageID)) != string(k):
				c.add("msgid %q: outbound %d has message id %q", k, e.outID, o.MessageID)
			case e.seq == 0 && e.cas != o.Case:
				c.add("msgid %q: case %d, outbound %d has case %d", k, e.cas, e.outID, o.Case)
			}
		}
		return nil
	})
	if n := count(bucketRawBig); n != nBig {
		c.add("raw_big: %d entries for %d big messages", n, nBig)
	}
	if logUsed+logFree != logEnd {
		c.add("raw log: %d bytes, messages use %d and %d are purged", logEnd, logUsed, logFree)
	}
	if nIDMsg != nMsg {
		c.add("msgid: %d entries with a message for %d messages", nIDMsg, nMsg)
	}

	// Cases.
	nCase, nAssigned, nDue, nCounterpart := 0, 0, 0, 0
	perStatus := map[kp.Status]int64{}
	var maxCase uint64
	_ = tx.b(bucketCase).ForEach(func(k, v []byte) error {
		nCase++
		if len(k) != 8 {
			c.add("case: key %x", k)
			return nil
		}
		id := kp.CaseID(binary.BigEndian.Uint64(k))
		maxCase = max(maxCase, uint64(id))
		p, err := tx.codec.unpack(v)
		if err != nil {
			c.add("case %d: %w", id, err)
			return nil
		}
		cs, err := decodeCase(p, id)
		if err != nil {
			c.add("%w", err)
			return nil
		}
		perStatus[cs.Status]++
		if !has(bucketCaseStatus, caseStatusKey(cs.Status, id)) {
			c.add("case %d: missing from status index %q", id, cs.Status)
		}
		if cs.Assignee != "" && kp.NormAddr(cs.Assignee) != "" {
			nAssigned++
			if !has(bucketCaseAssignee, caseAssigneeKey(cs.Assignee, id)) {
				c.add("case %d: missing from assignee index %q", id, cs.Assignee)
			}
		}
		for k := range counterpartKeys(cs) {
			nCounterpart++
			if !has(bucketCaseCounterpart, caseCounterpartKey(k, id)) {
				c.add("case %d: counterpart reference %q missing from its index", id, k)
			}
		}
		if cs.Next != nil {
			nDue++
			if !has(bucketCaseDue, dueKey(cs.Next.Due, uint64(id))) {
				c.add("case %d: follow-up due %v missing from due index", id, cs.Next.Due)
			}
		}
		return nil
	})
	if seq := tx.b(bucketCase).Sequence(); seq < maxCase {
		c.add("case: sequence %d below highest id %d", seq, maxCase)
	}
	if n := count(bucketCaseStatus); n != nCase {
		c.add("case_status: %d entries for %d cases", n, nCase)
	}
	if n := count(bucketCaseAssignee); n != nAssigned {
		c.add("case_assignee: %d entries for %d assigned cases", n, nAssigned)
	}
	if n := count(bucketCaseCounterpart); n != nCounterpart {
		c.add("case_counterpart: %d entries for %d counterpart references", n, nCounterpart)
	}
	if n := count(bucketCaseDue); n != nDue {
		c.add("case_due: %d entries for %d scheduled cases", n, nDue)
	}
	for _, s := range []kp.Status{kp.StatusOpen, kp.StatusWaiting, kp.StatusResolved} {
		if n, err := tx.stat(statKey(s)); err != nil || n != perStatus[s] {
			c.add("stats: %d cases %s, counter says %d (%v)", perStatus[s], s, n, err)
		}
	}

	// Outbox.
	nOut, nOutID, nQueued, nOutRaw, nOutSpec, nAttRef := 0, 0, 0, 0, 0, 0
	perState := map[kp.OutState]int64{}
	_ = tx.b(bucketOut).ForEach(func(k, v []byte) error {
		nOut++
		if len(k) != 8 {
			c.add("out: key %x", k)
			return nil
		}
		id := binary.BigEndian.Uint64(k)
		o, err := tx.outbound(id, false)
		if err != nil {
			c.add("%w", err)
			return nil
		}
		perState[o.State]++
		if !has(bucketOutState, outStateKey(o.State, id)) {
			c.add("outbound %d: missing from state index %q", id, o.State)
		}
		if o.State == kp.OutQueued {
			nQueued++
			if !has(bucketOutDue, dueKey(o.NextTry, id)) {
				c.add("outbound %d: next try %v missing from due index", id, o.NextTry)
			}
		}
		if has(bucketOutRaw, k) {
			nOutRaw++
			if o.State == kp.OutSent {
				c.add("outbound %d: sent but raw bytes kept", id)
			}
		}
		if v := tx.b(bucketOutSpec).Get(k); v != nil {
			nOutSpec++
			if o.State == kp.OutSent {
				c.add("outbound %d: sent but spec kept", id)
			}
			if has(bucketOutRaw, k) {
				c.add("outbound %d: both a spec and raw bytes", id)
			}
			if _, err := tx.outSpec(v, o); err != nil {
				c.add("%w", err)
			}
			if _, _, att, err := tx.outSpecStored(v, o); err == nil && att.seq != 0 {
				nAttRef++
				if !has(bucketAttRef, attRefKey(att.seq, id)) {
					c.add("outbound %d: reads its attachments from message %d, missing from att_ref", id, att.seq)
				}
			}
		}
		if o.MessageID != "" {
			nOutID++
			if e, ok, err := tx.lookupID(o.MessageID); err != nil || !ok || e.outID != id {
				c.add("outbound %d (%q): id index says %+v (found %v, %v)", id, o.MessageID, e, ok, err)
			}
		}
		return nil
	})
	if nIDOut != nOutID {
		c.add("msgid: %d entries with an outbound id for %d outbound messages with an id", nIDOut, nOutID)
	}
	if n := count(bucketOutState); n != nOut {
		c.add("out_state: %d entries for %d messages", n, nOut)
	}
	if n := count(bucketOutDue); n != nQueued {
		c.add("out_due: %d entries for %d queued messages", n, nQueued)
	}
	if n := count(bucketOutRaw); n != nOutRaw {
		c.add("out_raw: %d entries, %d with a record", n, nOutRaw)
	}
	if n := count(bucketOutSpec); n != nOutSpec {
		c.add("out_spec: %d entries, %d with a record", n, nOutSpec)
	}
	if n := count(bucketAttRef); n != nAttRef {
		c.add("att_ref: %d entries for %d specs that read their attachments from a message", n, nAttRef)
	}
	for _, s := range []kp.OutState{kp.OutQueued, kp.OutSent, kp.OutFailed} {
		if n, err := tx.stat(outStatKey(s)); err != nil || n != perState[s] {
			c.add("stats: %d outbound %s, counter says %d (%v)", perState[s], s, n, err)
		}
	}
	tx.checkThreadIndexes(&c)
	return c.errs
}

// checkThreadIndexes checks the threading indexes (bucketRefBy,
// bucketCaseSubject): every key is an lstr and a case id of a stored case.
// They are hints, so no record needs an entry.
func (tx *Tx) checkThreadIndexes(c *checker) {
	for _, name := range [][]byte{bucketRefBy, bucketCaseSubject} {
		_ = tx.b(name).ForEach(func(k, _ []byte) error {
			n, w := binary.Uvarint(k)
			if w <= 0 || uint64(len(k)) != uint64(w)+n+8 {
				c.add("%s: key %x is not a string and a case id", name, k)
				return nil
			}
			id := binary.BigEndian.Uint64(k[len(k)-8:])
			if tx.b(bucketCase).Get(u64(id)) == nil {
				c.add("%s: key %x names case %d, which is not stored", name, k, id)
			}
			return nil
		})
	}
}
