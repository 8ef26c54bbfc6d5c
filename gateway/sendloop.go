package gateway

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	kp "kontaktpunkt"
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
	id   uint64
	err  error
	took time.Duration // how long the send took
}

// SendDue sends every outbound message due now and records the outcomes.
// It returns how many were sent successfully. At most maxUnrecorded
// messages are ever sent without their outcome on disk, so a crash sends
// at most that many twice after the restart, and loses none.
func (g *Gateway) SendDue(ctx context.Context, s Sender) (int, error) {
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
		n, err := g.sendRecorded(ctx, s, due)
		sent += n
		if err != nil {
			return sent, err
		}
		if ctx.Err() != nil || len(due) < sendBatch {
			return sent, nil
		}
	}
}

// sendRecorded sends due in order while a second goroutine commits the
// outcomes in groups. A token is taken before each send and given back
// once its outcome is committed; with maxUnrecorded tokens, no more than
// that many sends are ever unrecorded. It returns when every outcome of
// the sends made is committed, or recording failed (then no further
// message is sent).
func (g *Gateway) sendRecorded(ctx context.Context, s Sender, due []kp.Outbound) (int, error) {
	tokens := make(chan struct{}, maxUnrecorded)
	results := make(chan sendResult, maxUnrecorded)
	failed := make(chan struct{}) // closed when recording failed
	recorded := make(chan error, 1)
	go func() {
		var err error
		var pace recordPace
		group := make([]sendResult, 0, maxUnrecorded)
		for {
			group = gather(results, group[:0], pace.wait)
			if len(group) == 0 {
				break // results closed and drained
			}
			if err != nil {
				continue // the sender is stopping; its tokens stay taken
			}
			start := time.Now()
			if err = g.recordSendsSafely(group); err != nil {
				close(failed)
				continue
			}
			pace.committed(time.Since(start), group)
			for range group {
				<-tokens
			}
		}
		recorded <- err
	}()

	sent := 0
	for _, o := range due {
		if ctx.Err() != nil || !acquire(tokens, failed) {
			break
		}
		// A send in hand is finished even when we are told to stop: a
		// relay that already has the message may be about to say OK, and
		// giving up then would send it twice after a restart. The Sender's
		// own timeout bounds the wait.
		start := time.Now()
		err := s.Send(context.WithoutCancel(ctx), o.From, o.To, o.Raw)
		results <- sendResult{id: o.ID, err: err, took: time.Since(start)} // never blocks: the tokens bound what is pending
		if err == nil {
			sent++
		}
	}
	close(results)
	return sent, <-recorded
}

// gather appends to group the outcomes waiting in results, and waits for
// more while wait says so, up to
// maxUnrecorded. It returns an empty group only once results is closed
// and drained.
func gather(results <-chan sendResult, group []sendResult, wait func(n int) bool) []sendResult {
	r, ok := <-results
	for ok {
		group = append(group, r)
		if len(group) == maxUnrecorded {
			break
		}
		select {
		case r, ok = <-results:
		default:
			if !wait(len(group)) {
				return group
			}
			r, ok = <-results
		}
	}
	return group
}

// recordPace decides how many outcomes to gather before a commit.
// Commits run one at a time, and while a group is being committed only
// maxUnrecorded minus its size can be sent. Groups of half the window let
// sending and committing alternate without either waiting, which is best
// unless sending is much faster than a commit: then the disk sets the pace
// and full groups (four mails per fsync instead of two) are faster.
type recordPace struct {
	send, commit time.Duration // moving averages
}

// wait reports whether to wait for more outcomes with n in hand.
func (p *recordPace) wait(n int) bool {
	target := maxUnrecorded / 2
	if maxUnrecorded*p.send < p.commit {
		target = maxUnrecorded
	}
	return n < target
}

// committed takes the time one commit of group took into the averages.
func (p *recordPace) committed(took time.Duration, group []sendResult) {
	avg := func(a *time.Duration, x time.Duration) {
		if *a == 0 {
			*a = x
		} else {
			*a += (x - *a) / 4
		}
	}
	avg(&p.commit, took)
	for _, r := range group {
		avg(&p.send, r.took)
	}
}

// acquire waits for a free token and reports whether sending may go on
// (false once recording failed).
func acquire(tokens chan<- struct{}, failed <-chan struct{}) bool {
	select {
	case tokens <- struct{}{}:
	case <-failed:
		return false
	}
	select {
	case <-failed:
		return false
	default:
		return true
	}
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
			o, err := tx.Outbound(r.id)
			if err != nil {
				return fmt.Errorf("outbound %d: %w", r.id, err)
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
				o.State, o.Sent, o.LastError = kp.OutSent, now, ""
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

// RunOutbox sends due mail until ctx ends: at once when woken, else when the
// next retry is due, and at least every minute.
func (g *Gateway) RunOutbox(ctx context.Context, s Sender, wake <-chan struct{}) error {
	return g.runLoop(ctx, wake, func() error {
		if _, err := g.SendDue(ctx, s); err != nil {
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
