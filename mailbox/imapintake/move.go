package imapintake

import (
	"context"
	"errors"
	"fmt"

	"github.com/emersion/go-imap/v2"

	kp "kontaktpunkt"
)

// The batches of a pass: fetched messages are handed to the Sink and
// moved to the Processed or Quarantine folder once it has committed them.

// pendingMove is a MOVE (or its fallback) whose answer is awaited after the
// next batch has been committed.
type pendingMove struct {
	dest string
	uids imap.UIDSet
	wait func() error
}

// deliverAll fetches, commits and moves uids in batches of BatchSize (and,
// with a size limit, of BatchBytes: the sizes are fetched first). Between
// batches it stops if ctx has ended.
func (s *session) deliverAll(ctx context.Context, uids []imap.UID) error {
	if len(uids) == 0 {
		return nil
	}
	if !s.guard.begin() {
		return nil
	}
	defer s.guard.end()
	var sizes map[imap.UID]int64
	if s.p.cfg.MaxMessageBytes > 0 {
		var err error
		if sizes, err = s.fetchSizes(uids); err != nil {
			var ie *imap.Error
			if !errors.As(err, &ie) {
				return err
			}
			// Without sizes every message is fetched whole; one over the
			// limit is still read past as it comes in.
			s.p.log.Warn("size fetch refused; fetching without sizes", "err", err)
		}
	}
	batches := batchUIDs(uids, sizes, batchSize(s.p.cfg, len(uids), sizes != nil), s.p.cfg.BatchBytes, s.p.cfg.MaxMessageBytes)

	var pending []pendingMove
	var acc moveSets // committed, not yet moved
	waitPending := func() error {
		var errs []error
		for _, m := range pending {
			if err := m.wait(); err != nil {
				errs = append(errs, fmt.Errorf("moving uids %s to %s: %w", m.uids, m.dest, err))
			}
		}
		pending = nil
		return errors.Join(errs...)
	}
	next := s.startFetch(batches[0], sizes)
	for i, batch := range batches {
		res := <-next
		if i+1 < len(batches) && ctx.Err() == nil {
			next = s.startFetch(batches[i+1], sizes)
		}
		if res.err != nil {
			var ie *imap.Error
			if !errors.As(res.err, &ie) {
				return fmt.Errorf("fetching uids %d-%d: %w", batch[0], batch[len(batch)-1], res.err)
			}
			// The server refused part of the batch (e.g. a message it cannot
			// read): fetch one by one so the rest still goes through.
			s.p.log.Warn("batch fetch refused; fetching one by one", "err", res.err)
			res.msgs, res.prep = s.fetchSingly(batch, sizes), nil
		}
		s.p.log.Debug("imap batch fetched", "uids", len(batch), "fetched", len(res.msgs))
		sets, err := s.commit(ctx, res.msgs, res.prep)
		if err != nil {
			// Still move what earlier batches committed.
			pending = append(pending, s.issue(acc)...)
			return errors.Join(err, waitPending())
		}
		acc.add(sets)
		last := i+1 == len(batches) || ctx.Err() != nil
		// Moved before the next batch would take a MOVE past its limit.
		if last || acc.len()+len(batches[i+1]) > s.p.cfg.MoveBatchSize {
			moves := s.issue(acc)
			acc = moveSets{}
			if err := waitPending(); err != nil {
				return err
			}
			pending = moves
		}
		if last {
			break
		}
	}
	return waitPending()
}

// batchSize is the number of UIDs per batch of a pass that found n:
// BacklogBatchSize when the sizes are known (BatchBytes then bounds what a
// batch holds) and n is at least twice that, else BatchSize.
func batchSize(cfg IMAPConfig, n int, sized bool) int {
	if sized && cfg.BatchBytes > 0 && n >= 2*cfg.BacklogBatchSize {
		return cfg.BacklogBatchSize
	}
	return cfg.BatchSize
}

// commit hands msgs to the Sink (through prep, the Sink's work begun on
// them, when not nil) and issues the moves for their dispositions.
// When the batch as a whole fails, each message is delivered alone so that
// one message the Sink cannot take does not hold back the others; if none
// can be delivered the error is returned and the session restarts.
func (s *session) commit(ctx context.Context, msgs []Fetched, prep Prepared) (moveSets, error) {
	if len(msgs) == 0 {
		return moveSets{}, nil
	}
	dctx := context.WithoutCancel(ctx) // the batch in hand is finished even on shutdown
	disp, err := s.deliverWith(dctx, msgs, prep)
	if err != nil && len(msgs) > 1 {
		s.p.log.Warn("batch delivery failed; delivering one by one", "count", len(msgs), "err", err)
		var ok []Fetched
		var okDisp []Disposition
		var lastErr error
		for _, m := range msgs {
			d, err := s.deliver(dctx, []Fetched{m})
			if err != nil {
				s.p.log.Error("cannot deliver message; left in place", "uid", m.UID, "err", err)
				lastErr = err
				continue
			}
			ok = append(ok, m)
			okDisp = append(okDisp, d[0])
		}
		if len(ok) == 0 {
			return moveSets{}, lastErr
		}
		msgs, disp, err = ok, okDisp, nil
	}
	if err != nil {
		return moveSets{}, err
	}
	var toProcessed, toQuarantine imap.UIDSet
	for i, m := range msgs {
		switch disp[i] {
		case Processed:
			toProcessed.AddNum(imap.UID(m.UID))
		case Quarantined:
			toQuarantine.AddNum(imap.UID(m.UID))
			s.p.log.Info("message quarantined", "uid", m.UID)
		default:
			s.p.log.Info("message left in place for retry", "uid", m.UID)
		}
	}
	return moveSets{processed: toProcessed, quarantine: toQuarantine}, nil
}

// moveSets are committed UIDs waiting to be moved, by destination.
type moveSets struct {
	processed, quarantine imap.UIDSet
}

func (m *moveSets) add(o moveSets) {
	m.processed = append(m.processed, o.processed...)
	m.quarantine = append(m.quarantine, o.quarantine...)
}

func (m *moveSets) len() int {
	n := 0
	for _, set := range []imap.UIDSet{m.processed, m.quarantine} {
		nums, _ := set.Nums()
		n += len(nums)
	}
	return n
}

// issue sends the moves and returns them for waiting.
func (s *session) issue(m moveSets) []pendingMove {
	var moves []pendingMove
	for _, mv := range []struct {
		set  imap.UIDSet
		dest string
	}{{m.processed, s.p.cfg.Processed}, {m.quarantine, s.p.cfg.Quarantine}} {
		if len(mv.set) == 0 {
			continue
		}
		moves = append(moves, pendingMove{dest: mv.dest, uids: mv.set, wait: s.move(mv.set, mv.dest)})
	}
	return moves
}

func (s *session) deliver(ctx context.Context, msgs []Fetched) ([]Disposition, error) {
	return s.deliverWith(ctx, msgs, nil)
}

// deliverWith delivers msgs through prep when it is not nil, else
// through the Sink.
func (s *session) deliverWith(ctx context.Context, msgs []Fetched, prep Prepared) ([]Disposition, error) {
	last := s.lastUID
	for _, m := range msgs {
		last = max(last, m.UID)
	}
	cur := kp.Cursor{Mailbox: s.p.cfg.Mailbox, UIDValidity: s.uidValidity, LastUID: last}
	var disp []Disposition
	var err error
	if prep != nil {
		disp, err = prep.Deliver(ctx, cur)
	} else {
		disp, err = s.p.sink.Deliver(ctx, cur, msgs)
	}
	if err != nil {
		return nil, fmt.Errorf("delivering uids %d-%d: %w", msgs[0].UID, msgs[len(msgs)-1].UID, err)
	}
	if len(disp) != len(msgs) {
		return nil, fmt.Errorf("delivering uids %d-%d: sink returned %d dispositions for %d messages", msgs[0].UID, msgs[len(msgs)-1].UID, len(disp), len(msgs))
	}
	s.lastUID = last
	return disp, nil
}

// move issues UID MOVE, or its fallback, and returns a function that waits
// for the answer.
func (s *session) move(set imap.UIDSet, dest string) func() error {
	if s.caps.Has(imap.CapMove) {
		cmd := s.c.Move(set, dest)
		return func() error { _, err := cmd.Wait(); return err }
	}
	// Fallback: the copy must have succeeded before anything is flagged
	// \Deleted, so these commands are not pipelined.
	cp := s.c.Copy(set, dest)
	return func() error {
		if _, err := cp.Wait(); err != nil {
			return fmt.Errorf("uid copy: %w", err)
		}
		st := s.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil)
		if err := st.Close(); err != nil {
			return fmt.Errorf("uid store \\Deleted: %w", err)
		}
		if !s.caps.Has(imap.CapUIDPlus) {
			if !s.warnedNoExp {
				s.warnedNoExp = true
				s.p.log.Warn("server has neither MOVE nor UIDPLUS: moved mail is only flagged \\Deleted in the intake folder, never expunged")
			}
			return nil
		}
		if err := s.c.UIDExpunge(set).Close(); err != nil {
			return fmt.Errorf("uid expunge: %w", err)
		}
		return nil
	}
}
