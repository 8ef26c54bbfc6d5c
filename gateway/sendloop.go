package gateway

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/mailbox/mailmsg"
	"kontaktpunkt/mailbox/smtpclient"
	"kontaktpunkt/store"
)

// Sender delivers one raw message. smtpclient.Sender implements it; the
// error's temporariness (smtpclient.IsTemporary) decides whether to retry.
type Sender interface {
	Send(ctx context.Context, from string, to []string, raw []byte) error
}

// Retry policy of the outbox: capped exponential backoff with jitter; a
// message still failing temporarily after maxRetryAge fails permanently.
const (
	retryBase   = 30 * time.Second
	retryCap    = 30 * time.Minute
	maxRetryAge = 5 * 24 * time.Hour
	sendBatch   = 200
	// maxUnrecorded bounds what a crash can make us send twice: a send
	// starts only while fewer than maxUnrecorded sends (the new one
	// included) have outcomes that are not committed yet. Outcomes are
	// committed in groups of at most this many (one fsync each) while the
	// next messages are sent, so the relay connection does not wait for
	// the disk.
	maxUnrecorded = 4
)

// backoff is the wait before attempt n+1 (n >= 1), with ±20 % jitter.
func backoff(n int) time.Duration {
	d := retryBase
	for i := 1; i < n && d < retryCap; i++ {
		d *= 2
	}
	d = min(d, retryCap)
	return d - d/5 + time.Duration(rand.Int64N(int64(d/5)*2+1))
}

// sendResult is the outcome of one attempt, applied in one transaction
// after the network work is done.
type sendResult struct {
	id    uint64
	msgID string
	err   error
	owed  bool // its token is given back once it is committed
	// at is when the send finished. replayed: a send found in the
	// journal at start; idHash is the hash of its Message-ID. It is
	// recorded only when the outbound message is still queued and has
	// that Message-ID.
	replayed bool
	idHash   uint64
	at       time.Time
}

// SendDue sends every outbound message due now and records the outcomes,
// over as many relay connections at once as it is given senders (each
// Sender is used by one goroutine only). It returns how many were sent
// successfully. At most maxUnrecorded messages are ever sent without
// their outcome on disk, over all connections together, so a crash sends
// at most that many twice after the restart, and loses none.
func (g *Gateway) SendDue(ctx context.Context, senders ...Sender) (int, error) {
	if len(senders) == 0 {
		return 0, errors.New("outbox: no sender")
	}
	// Sends journaled before a stop are recorded before anything is read
	// as due.
	j, err := g.sendJournal()
	if err != nil {
		return 0, fmt.Errorf("outbox: %w", err)
	}
	sent := 0
	for {
		var due []kp.Outbound
		now := g.now()
		if err := g.Store.View(func(tx *store.Tx) error {
			var err error
			due, err = tx.DueOutbound(now, sendBatch)
			return err
		}); err != nil {
			return sent, fmt.Errorf("reading outbox: %w", err)
		}
		if len(due) == 0 {
			return sent, nil
		}
		// Every outcome of this batch is committed before the next read,
		// which would otherwise see unrecorded messages as still due.
		n, err := g.sendRecorded(ctx, senders, j, due)
		sent += n
		if err != nil {
			return sent, err
		}
		if ctx.Err() != nil || len(due) < sendBatch {
			return sent, nil
		}
	}
}

// sendRecorded sends due over the senders while other goroutines record
// the outcomes. A token is taken before each send and given back once its
// outcome is durable; with maxUnrecorded tokens, shared by all
// connections, no more than that many sends are ever unrecorded. A
// successful send is durable once it is in the send journal (one small
// write and fdatasync, for the sends that finished meanwhile together);
// the journal's sends are then folded into the store in large groups, off
// the path of the tokens. A failure is durable once it is committed to the
// store. It returns when every outcome of the sends made is in the store,
// or recording failed (then no further message is sent).
func (g *Gateway) sendRecorded(ctx context.Context, senders []Sender, j *store.SendJournal, due []kp.Outbound) (int, error) {
	tokens := make(chan struct{}, maxUnrecorded)
	results := make(chan sendResult, maxUnrecorded)
	folds := make(chan []sendResult, len(due)) // never blocks: at least one outcome per group
	failed := make(chan struct{})              // closed when recording failed
	var failOnce sync.Once
	fail := func() { failOnce.Do(func() { close(failed) }) }
	journaled, folded := make(chan error, 1), make(chan error, 1)
	go func() { journaled <- g.journalSends(j, results, folds, tokens, fail) }()
	go func() { folded <- g.foldSends(folds, tokens, fail) }()

	// The bytes are rendered on another goroutine, a few messages ahead
	// of the connections, so the relay does not wait for the encoding.
	stop := make(chan struct{})
	ready := renderAhead(due, stop)
	sent := g.dispatch(ctx, senders, ready, tokens, failed, results)
	close(stop)
	close(results)
	jerr, ferr := <-journaled, <-folded
	if jerr == nil && ferr == nil && j != nil {
		// Every journaled send is in the store now.
		ferr = j.Reset()
	}
	return sent, errors.Join(jerr, ferr)
}

// dispatchWindow is how many rendered messages the dispatcher looks at
// for one that may go out now, when the first is held back because an
// earlier message to one of its recipients is still being sent.
const dispatchWindow = 8 * renderBatch

// finished is a send a connection has done.
type finished struct {
	conn int
	r    *rendered
	ok   bool
}

// dispatch hands the rendered messages from ready to one goroutine per
// sender, each owning its connection, and sends every outcome to results.
// A message starts only with a token (see sendRecorded) and only when no
// earlier message sharing one of its recipients is still being sent or
// waiting (pickSendable), so no mail overtakes an earlier one to the same
// recipient. It stops taking new messages once ctx ends or recording
// failed, returns when the sends under way are done, and reports how many
// succeeded.
func (g *Gateway) dispatch(ctx context.Context, senders []Sender, ready <-chan []rendered, tokens chan<- struct{}, failed <-chan struct{}, results chan<- sendResult) int {
	done := make(chan finished, len(senders)) // never blocks: one send per connection
	jobs := make([]chan *rendered, len(senders))
	var wg sync.WaitGroup
	for i, s := range senders {
		jobs[i] = make(chan *rendered, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range jobs[i] {
				// A send in hand is finished even when we are told to
				// stop: a relay that already has the message may be
				// about to say OK, and giving up then would send it twice
				// after a restart. The Sender's own timeout bounds the
				// wait.
				err := s.Send(context.WithoutCancel(ctx), r.o.From, r.o.To, r.raw)
				results <- sendResult{id: r.o.ID, msgID: r.o.MessageID, err: err, at: g.now()} // never blocks: the tokens bound what is pending
				done <- finished{conn: i, r: r, ok: err == nil}
			}
		}()
	}
	// idle connections, the first last: a small batch uses one connection.
	idle := make([]int, 0, len(senders))
	for i := len(senders) - 1; i >= 0; i-- {
		idle = append(idle, i)
	}
	busy := map[string]int{} // recipients of the sends under way
	waiting := map[string]bool{}
	var window []*rendered
	inFlight, sent := 0, 0
	stopping := false
	for {
		pick := -1
		if !stopping {
			pick = pickSendable(window, busy, waiting)
		}
		var take chan<- struct{} // a token, when a message may go now
		if pick >= 0 && (window[pick].err != nil || len(idle) > 0) {
			take = tokens
		}
		var in <-chan []rendered // more messages, while there is room
		if !stopping && len(window) < dispatchWindow {
			in = ready
		}
		if take == nil && in == nil && inFlight == 0 {
			break
		}
		select {
		case batch, ok := <-in:
			if !ok {
				ready = nil
				continue
			}
			for k := range batch {
				window = append(window, &batch[k])
			}
		case f := <-done:
			idle = append(idle, f.conn)
			forRcpts(f.r.o.To, func(a string) {
				if busy[a]--; busy[a] == 0 {
					delete(busy, a)
				}
			})
			inFlight--
			if f.ok {
				sent++
			}
		case take <- struct{}{}:
			select {
			case <-failed:
				stopping = true
				continue
			default:
			}
			if ctx.Err() != nil {
				stopping = true
				continue
			}
			r := window[pick]
			window = slices.Delete(window, pick, pick+1)
			if r.err != nil {
				// Not rendered: recorded like a refusal, nothing sent.
				results <- sendResult{id: r.o.ID, msgID: r.o.MessageID, err: r.err, at: g.now()}
				continue
			}
			forRcpts(r.o.To, func(a string) { busy[a]++ })
			c := idle[len(idle)-1]
			idle = idle[:len(idle)-1]
			inFlight++
			jobs[c] <- r // never blocks: the connection is idle
		case <-failed:
			stopping = true
		case <-ctx.Done():
			stopping = true
		}
	}
	for _, c := range jobs {
		close(c)
	}
	wg.Wait()
	return sent
}

// pickSendable returns the index of the first message in window that may
// be sent now, or -1: one none of whose recipients is in busy (being
// sent) or among the recipients of an earlier message in window (waiting
// its turn). A message that was not rendered is sent nowhere and may
// always go. waiting is scratch space for the recipients passed over.
func pickSendable(window []*rendered, busy map[string]int, waiting map[string]bool) int {
	clear(waiting)
	for i, r := range window {
		if r.err != nil {
			return i
		}
		free := true
		forRcpts(r.o.To, func(a string) { free = free && busy[a] == 0 && !waiting[a] })
		if free {
			return i
		}
		forRcpts(r.o.To, func(a string) { waiting[a] = true })
	}
	return -1
}

// forRcpts calls f with each envelope recipient of a message in the form
// that compares them: addresses differing only in case are one.
func forRcpts(to []string, f func(string)) {
	for _, a := range to {
		f(strings.ToLower(a))
	}
}

// journalSends takes the outcomes from results as they come: successes
// are written to the journal together and their tokens given back; every
// outcome then goes on to folds, failures (and, without a journal,
// successes too) owing their token until they are committed. Up to
// journalWriters groups are written at once, each its own synchronous
// write: a slow disk then takes the outcomes of several connections in
// one wait. After an error nothing more is journaled, and the tokens of
// what follows stay taken, so the sender stops.
func (g *Gateway) journalSends(j *store.SendJournal, results <-chan sendResult, folds chan<- []sendResult, tokens <-chan struct{}, fail func()) error {
	var (
		mu  sync.Mutex
		err error
		wg  sync.WaitGroup
	)
	writers := make(chan struct{}, journalWriters)
	for {
		writers <- struct{}{}
		group := gather(results, make([]sendResult, 0, maxUnrecorded), journalGroup)
		if len(group) == 0 {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-writers; wg.Done() }()
			mu.Lock()
			ok := j != nil && err == nil
			mu.Unlock()
			if ok {
				now := g.now()
				recs := make([]store.JournaledSend, 0, len(group))
				for _, r := range group {
					if r.err == nil {
						recs = append(recs, store.JournaledSend{ID: r.id, IDHash: store.MessageIDHash(r.msgID), Sent: now})
					}
				}
				if werr := j.Append(recs); werr != nil {
					mu.Lock()
					if err == nil {
						err = fmt.Errorf("recording sends: %w", werr)
					}
					mu.Unlock()
					ok = false
					fail()
				}
			}
			// The group goes on as one, so that foldSends wakes once per
			// group rather than once per send.
			for i := range group {
				group[i].owed = !ok || group[i].err != nil
				if !group[i].owed {
					<-tokens
				}
			}
			folds <- group
		}()
	}
	wg.Wait()
	close(folds)
	return err
}

// journalWriters is how many journal writes may be under way at once.
const journalWriters = 2

// foldLimit is about the most outcomes committed to the store at once
// (a group from journalSends is not split).
const foldLimit = 256

// foldSends commits the groups of outcomes from folds to the store,
// about foldLimit at once, and gives back the tokens they owe. Journaled sends
// owe nothing and wait for more (one commit per batch of due mail); an
// outcome that owes its token is committed with what has come as soon as
// nothing more is waiting. After an error nothing more is committed; owed
// tokens stay taken, so the sender stops.
func (g *Gateway) foldSends(folds <-chan []sendResult, tokens <-chan struct{}, fail func()) error {
	var err error
	group := make([]sendResult, 0, foldLimit+maxUnrecorded)
	for {
		group = group[:0]
		owed := false
		rs, ok := <-folds
		for ok {
			group = append(group, rs...)
			for _, r := range rs {
				owed = owed || r.owed
			}
			if len(group) >= foldLimit {
				break
			}
			if owed {
				select {
				case rs, ok = <-folds:
					continue
				default:
				}
				break
			}
			rs, ok = <-folds
		}
		if len(group) == 0 {
			return err
		}
		if err != nil {
			continue
		}
		if err = g.recordSendsSafely(group); err != nil {
			fail()
			continue
		}
		for _, r := range group {
			if r.owed {
				<-tokens
			}
		}
	}
}

// sendJournal is the outbox's journal beside the store file, opened on
// first use. Sends a crash left in it are folded into the store first. It
// is nil for a store without a file name; outcomes are then committed one
// group at a time before their tokens are given back.
func (g *Gateway) sendJournal() (*store.SendJournal, error) {
	g.journal.mu.Lock()
	defer g.journal.mu.Unlock()
	if g.journal.j == nil {
		if g.Store.Path() == "" {
			return nil, nil
		}
		j, err := store.OpenSendJournal(g.Store.Path()+".sent", false)
		if err != nil {
			return nil, err
		}
		g.journal.j = j
	}
	j := g.journal.j
	pending, err := j.Pending()
	if err != nil || len(pending) == 0 {
		return j, err
	}
	results := make([]sendResult, len(pending))
	for i, p := range pending {
		results[i] = sendResult{id: p.ID, idHash: p.IDHash, replayed: true, at: p.Sent}
	}
	if err := g.recordSends(results); err != nil {
		return nil, err
	}
	g.Log.Info("outbox: sends journaled before a stop recorded", "count", len(pending))
	return j, j.Reset()
}

// sendJournal holds a Gateway's send journal.
type sendJournal struct {
	mu sync.Mutex
	j  *store.SendJournal
}

// rendered is one due message with its bytes, or why it has none.
type rendered struct {
	o   *kp.Outbound
	raw []byte
	err error
}

// renderBatch is how many rendered messages are handed over at once, so
// that the two goroutines wake each other once per batch rather than once
// per message. Rendered and not yet sent are at most the dispatcher's
// window (dispatchWindow) and the batch waiting to be taken.
const renderBatch = 4

// renderAhead renders due in order on a goroutine of its own, at most
// 2*renderBatch messages ahead of what the reader took, until due is done or stop
// is closed, and hands them over in batches in order. A message that cannot
// be rendered comes with the error, so its failure is recorded like a
// refusal.
func renderAhead(due []kp.Outbound, stop <-chan struct{}) <-chan []rendered {
	out := make(chan []rendered)
	go func() {
		defer close(out)
		for i := 0; i < len(due); i += renderBatch {
			batch := make([]rendered, 0, renderBatch)
			for k := i; k < min(i+renderBatch, len(due)); k++ {
				r := rendered{o: &due[k]}
				r.raw, r.err = renderSafely(&due[k])
				batch = append(batch, r)
			}
			select {
			case out <- batch:
			case <-stop:
				return
			}
		}
	}()
	return out
}

// renderSafely is render with a panic turned into an error, on the render
// goroutine.
func renderSafely(o *kp.Outbound) (raw []byte, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("rendering outbound %d: panic: %v: %w", o.ID, v, mailmsg.ErrCompose)
		}
	}()
	return render(o)
}

// journalGroup is the fewest outcomes written to the journal together
// while more are coming: each write is a synchronous disk write, and one
// for every other send instead of every send halves their cost, while
// the other half of the maxUnrecorded tokens keeps the relay connection
// busy during the write.
const journalGroup = maxUnrecorded / 2

// gather appends to group the outcomes waiting in results: at least
// atLeast (fewer only once results is closed) and at most maxUnrecorded.
// It returns an empty group only once results is closed and drained.
//
// Waiting for atLeast cannot stall the sender: the sender waits only when
// all maxUnrecorded tokens are taken, and atLeast < maxUnrecorded, so
// some of them belong to outcomes on their way here, being journaled, or
// owed by failures that foldSends commits without waiting.
func gather(results <-chan sendResult, group []sendResult, atLeast int) []sendResult {
	r, ok := <-results
	for ok {
		group = append(group, r)
		if len(group) == maxUnrecorded {
			break
		}
		if len(group) < atLeast {
			r, ok = <-results
			continue
		}
		select {
		case r, ok = <-results:
		default:
			return group
		}
	}
	return group
}

// recordSendsSafely is recordSends on a goroutine of its own: a panic
// becomes an error, so that it stops sending instead of the process.
func (g *Gateway) recordSendsSafely(results []sendResult) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("recording send results: panic: %v", v)
		}
	}()
	return g.recordSends(results)
}

// recordSends applies the outcomes of a batch of attempts.
func (g *Gateway) recordSends(results []sendResult) error {
	if len(results) == 0 {
		return nil
	}
	now := g.now()
	var queued bool
	err := g.Store.Update(func(tx *store.Tx) error {
		queued = false
		for _, r := range results {
			o, err := tx.OutboundState(r.id)
			if errors.Is(err, store.ErrNotFound) {
				// Gone meanwhile (retention purged its case): nothing to
				// record, and the rest of the group still is.
				continue
			}
			if r.replayed && err == nil && (o.State != kp.OutQueued || store.MessageIDHash(o.MessageID) != r.idHash) {
				continue // recorded before the stop, or not this message
			}
			if err != nil {
				return fmt.Errorf("outbound %d: %w", r.id, err)
			}
			sentAt := now // when the send, not its recording, happened
			if !r.at.IsZero() {
				sentAt = r.at
			}
			o.Attempts++
			var re *smtpclient.RecipientErrors
			if errors.As(r.err, &re) && len(re.Accepted) > 0 {
				// Delivered to some: never again to those. Permanent
				// refusals are delivery failures; temporary ones stay
				// queued for just those recipients.
				failed := re.Permanent()
				temp := re.Temporary()
				if len(temp) > 0 && now.Sub(o.Queued) < maxRetryAge {
					o.To, o.LastError, o.NextTry = temp, r.err.Error(), now.Add(backoff(o.Attempts))
				} else {
					// Out of retries: the deferred ones failed too.
					failed = append(failed, temp...)
					o.State, o.Sent, o.LastError = kp.OutSent, now, r.err.Error()
				}
				if len(failed) > 0 {
					q, err := g.deliveryFailed(tx, o, failed, true, r.err, now)
					if err != nil {
						return err
					}
					queued = queued || q
				}
				if err := tx.PutOutbound(o); err != nil {
					return err
				}
				continue
			}
			switch {
			case r.err == nil:
				o.State, o.Sent, o.LastError = kp.OutSent, sentAt, ""
				if err := tx.AddCounter("outbound_sent", 1); err != nil {
					return err
				}
			case smtpclient.IsTemporary(r.err) && now.Sub(o.Queued) < maxRetryAge:
				o.LastError = r.err.Error()
				o.NextTry = now.Add(backoff(o.Attempts))
				g.Log.Warn("sending failed, will retry", "outbound", o.ID, "case", uint64(o.Case), "attempt", o.Attempts, "err", r.err)
			default:
				o.State, o.LastError = kp.OutFailed, r.err.Error()
				g.Log.Error("sending failed permanently", "outbound", o.ID, "case", uint64(o.Case), "err", r.err)
				if err := tx.AddCounter("outbound_failed", 1); err != nil {
					return err
				}
				failed, byRcpt := failedRcpts(o, r.err)
				q, err := g.deliveryFailed(tx, o, failed, byRcpt, r.err, now)
				if err != nil {
					return err
				}
				queued = queued || q
			}
			if err := tx.PutOutbound(o); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording send results: %w", err)
	}
	if queued {
		g.wake()
	}
	return nil
}

// deliveryFailed records a permanent failure on the case and tells staff,
// unless the failed mail was itself a notice to staff (which would loop).
// Only a recipient the relay refused is suppressed; a refusal of the whole
// message (MAIL FROM, DATA) says nothing about the recipients.
func (g *Gateway) deliveryFailed(tx *store.Tx, o *kp.Outbound, failed []string, suppress bool, sendErr error, now time.Time) (bool, error) {
	for _, r := range failed {
		if g.Dir.IsStaff(r) || !suppress {
			continue
		}
		if err := tx.Suppress(r, now.Add(time.Duration(g.Config.Limits.SuppressFor))); err != nil {
			return false, err
		}
	}
	if o.Case == 0 || o.Kind == "delivery-failure" || g.Quiet {
		return false, nil
	}
	c, err := tx.Case(o.Case)
	if err != nil {
		return false, fmt.Errorf("case %d: %w", o.Case, err)
	}
	out := &outbox{g: g, tx: tx, now: now}
	d := g.caseData(c, nil)
	d.Failed = strings.Join(failed, ", ")
	d.Reason = sendErr.Error()
	d.Suppressed = suppress
	d.SuppressDays = int(time.Duration(g.Config.Limits.SuppressFor) / (24 * time.Hour))
	out.send(c, "delivery-failure", g.staffAddrs(""), nil, "auto-generated", d)
	if out.err != nil {
		return false, out.err
	}
	c.Updated = now
	if err := tx.PutCase(c); err != nil {
		return false, err
	}
	return out.queued > 0, nil
}

// maxIntakeYield is the longest the outbox worker waits for the IMAP
// intake to go quiet before it sends what is due.
const maxIntakeYield = 30 * time.Second

// yieldToIntake waits while IMAP mail is coming in, at most
// maxIntakeYield: on two cores, sending while a backlog is taken in
// halves the intake's speed, and the acknowledgements it queued go out
// as soon as it is through (or every maxIntakeYield of a long backlog).
func (g *Gateway) yieldToIntake(ctx context.Context) {
	deadline := time.Now().Add(maxIntakeYield)
	for {
		wait := min(g.intake.busyFor(), time.Until(deadline))
		if wait <= 0 {
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// RunOutbox sends due mail over the senders' connections until ctx
// ends: at once when woken (once the IMAP intake is quiet, see
// yieldToIntake), else when the next retry is due, and at least every
// minute.
func (g *Gateway) RunOutbox(ctx context.Context, senders []Sender, wake <-chan struct{}) error {
	return g.runLoop(ctx, wake, func() error {
		g.yieldToIntake(ctx)
		if _, err := g.SendDue(ctx, senders...); err != nil {
			g.Log.Error("outbox", "err", err)
		}
		return nil
	}, (*store.Tx).NextOutboundDue)
}

// runLoop runs work until ctx ends: at once when woken, else when next
// says the earliest pending item falls due, and at least every minute.
func (g *Gateway) runLoop(ctx context.Context, wake <-chan struct{}, work func() error, next func(*store.Tx) (time.Time, bool, error)) error {
	for {
		if err := work(); err != nil {
			return err
		}
		wait := time.Minute
		_ = g.Store.View(func(tx *store.Tx) error {
			if t, ok, err := next(tx); err == nil && ok {
				wait = min(wait, max(t.Sub(g.now()), 10*time.Millisecond))
			}
			return nil
		})
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// ErrAlreadySent is returned by RetryOutbound for a message that was sent.
var ErrAlreadySent = errors.New("already sent")

// RetryOutbound puts a failed or queued message back for an attempt now.
func (g *Gateway) RetryOutbound(id uint64) error {
	return g.Store.Update(func(tx *store.Tx) error {
		o, err := tx.Outbound(id)
		if err != nil {
			return fmt.Errorf("outbound %d: %w", id, err)
		}
		if o.State == kp.OutSent {
			return fmt.Errorf("outbound %d was %w %s", id, ErrAlreadySent, o.Sent.Format(time.RFC3339))
		}
		o.State, o.NextTry = kp.OutQueued, g.now()
		if o.Queued.Before(g.now().Add(-maxRetryAge / 2)) {
			o.Queued = g.now() // a manual retry gets a fresh retry window
		}
		return tx.PutOutbound(o)
	})
}

// failedRcpts names the recipients a permanent failure concerns and says
// whether the relay refused them one by one (RCPT) or the whole message.
func failedRcpts(o *kp.Outbound, err error) ([]string, bool) {
	var re *smtpclient.RecipientErrors
	if errors.As(err, &re) {
		if p := re.Permanent(); len(p) > 0 {
			return p, true
		}
	}
	var se *smtpclient.SendError
	if errors.As(err, &se) && se.Rcpt != "" {
		return []string{se.Rcpt}, true
	}
	return o.To, false
}
