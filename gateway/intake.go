package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/mailbox/imapintake"
	"kontaktpunkt/mailbox/mailmsg"
	"kontaktpunkt/routing"
	"kontaktpunkt/store"
)

// Sink returns the gateway as the IMAP poller's sink: fetched messages
// and the mailbox cursor are committed in one transaction.
func (g *Gateway) Sink() imapintake.Sink { return sink{g} }

type sink struct{ g *Gateway }

func (s sink) Cursor(ctx context.Context, mbox string) (kp.Cursor, bool, error) {
	var (
		c  kp.Cursor
		ok bool
	)
	err := s.g.Store.View(func(tx *store.Tx) error {
		var err error
		c, ok, err = tx.Cursor(mbox)
		return err
	})
	return c, ok, err
}

func (s sink) Deliver(ctx context.Context, cur kp.Cursor, msgs []imapintake.Fetched) ([]imapintake.Disposition, error) {
	s.g.intake.begin()
	defer s.g.intake.end()
	results, err := s.g.ingest(ctx, imapItems(cur.Mailbox, cur.UIDValidity, msgs), &cur)
	if err != nil {
		return nil, err
	}
	return dispositions(results), nil
}

// Prepare starts parsing a fetched batch at once (parseAhead), so that
// it parses while the poller's batch before it is applied, committed
// and moved.
func (s sink) Prepare(mailbox string, uidValidity uint32, msgs []imapintake.Fetched) imapintake.Prepared {
	return &preparedBatch{g: s.g, mailbox: mailbox, uidValidity: uidValidity, parsing: s.g.parseAhead(imapItems(mailbox, uidValidity, msgs))}
}

// preparedBatch is a fetched batch being parsed, delivered later.
type preparedBatch struct {
	g           *Gateway
	mailbox     string
	uidValidity uint32
	parsing     *parsing
}

// Deliver applies the batch with the cursor in one transaction, as
// sink.Deliver does.
func (b *preparedBatch) Deliver(ctx context.Context, cur kp.Cursor) ([]imapintake.Disposition, error) {
	if cur.Mailbox != b.mailbox || cur.UIDValidity != b.uidValidity {
		return nil, fmt.Errorf("delivering a batch of %s/%d under the cursor of %s/%d", b.mailbox, b.uidValidity, cur.Mailbox, cur.UIDValidity)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.g.intake.begin()
	defer b.g.intake.end()
	results, err := b.g.applyBatch(ctx, b.parsing, &cur)
	if err != nil {
		return nil, err
	}
	return dispositions(results), nil
}

// imapItems are fetched messages as items, named by where they came from.
func imapItems(mailbox string, uidValidity uint32, msgs []imapintake.Fetched) []Item {
	items := make([]Item, len(msgs))
	for i, m := range msgs {
		items[i] = Item{Source: fmt.Sprintf("imap:%s/%d/%d", mailbox, uidValidity, m.UID), Raw: m.Raw, Oversize: m.Oversize}
	}
	return items
}

// dispositions says what the poller does with each message of a batch.
func dispositions(results []Result) []imapintake.Disposition {
	out := make([]imapintake.Disposition, len(results))
	for i, r := range results {
		if r.Status == ResultQuarantined || (r.Status == ResultDuplicate && r.Error != "") {
			out[i] = imapintake.Quarantined
		} else {
			out[i] = imapintake.Processed
		}
	}
	return out
}

// ErrNothingApplied is returned by Operate when every command was refused.
var ErrNothingApplied = errors.New("nothing applied")

// Operate applies staff commands given by an operator on the command line
// (`case assign`, `case status`, `case note`) as if the actor had written
// them in a subject, with text as the message body. It records the action
// on the case and queues the mail it causes.
func (g *Gateway) Operate(id kp.CaseID, actor kp.Address, commands, text string) ([]string, error) {
	return g.operate(ChannelCLI, id, actor, commands, text)
}

// WebActions is the gateway as the dashboard's actions see it: the same
// operations, with staff commands recorded in the audit trail as coming
// from the web.
type WebActions struct{ *Gateway }

// Operate is Gateway.Operate on the web channel.
func (w WebActions) Operate(id kp.CaseID, actor kp.Address, commands, text string) ([]string, error) {
	return w.operate(ChannelWeb, id, actor, commands, text)
}

// operatorSource names where an operator's command came from on its
// timeline record.
func operatorSource(channel string) string {
	if channel == ChannelWeb {
		return "web"
	}
	return "operator"
}

func (g *Gateway) operate(channel string, id kp.CaseID, actor kp.Address, commands, text string) ([]string, error) {
	var result []string
	err := g.Store.Update(func(tx *store.Tx) error {
		c, err := tx.Case(id)
		if err != nil {
			return fmt.Errorf("case %d: %w", id, err)
		}
		now := g.now()
		cmds, refused, _ := routing.ParseCommands(commands)
		if len(cmds) == 0 && len(refused) == 0 {
			return fmt.Errorf("%w: no command in %q", ErrNothingApplied, commands)
		}
		prevNext := c.Next
		msg := &kp.Message{
			ID: mailmsg.NewMessageID("operator.invalid"), Case: c.ID, Direction: kp.In, Class: kp.ClassHuman,
			MatchedBy: kp.MatchNone, Kind: "command", From: actor, Subject: strings.TrimSpace(commands),
			Date: now, Received: now, Text: text, Authenticated: true, Source: operatorSource(channel),
		}
		if err := tx.PutMessage(msg, nil); err != nil {
			return err
		}
		c.Messages++
		c.Updated = now
		out := &outbox{g: g, tx: tx, now: now, quiet: g.Quiet}
		before := *c
		prev := recordOf(c)
		fx := g.applyCommands(c, cmds, refused, actor.Addr, now)
		out.remind = fx.remind
		if err := g.recordAudit(tx, now, actor.Addr, channel, c.ID, fx); err != nil {
			return err
		}
		if fx.note {
			msg.Kind = "note"
			to := append(g.staffAddrs(actor.Addr), g.assigneeAddrs(c, actor.Addr)...)
			out.send(c, "note", to, nil, "", g.caseData(c, msg))
		}
		if (c.Assignee != before.Assignee && c.Assignee != "") || (c.Team != before.Team && c.Team != "") {
			out.assign(c, actor.Addr)
		}
		if fx.escalated {
			out.escalate(c, c.Escalation)
		}
		g.schedule(c, prevNext, out.remind)
		if out.err != nil {
			return out.err
		}
		if err := tx.UpdateMessage(msg); err != nil {
			return err
		}
		result = append(append(result, fx.applied...), prefixAll("refused: ", fx.refused)...)
		if len(fx.applied) == 0 {
			return fmt.Errorf("%w: %s", ErrNothingApplied, strings.Join(fx.refused, "; "))
		}
		if err := g.recordChanges(tx, c, prev, now); err != nil {
			return err
		}
		return tx.PutCase(c)
	})
	if err == nil {
		g.wake()
	}
	return result, err
}

func prefixAll(p string, list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = p + s
	}
	return out
}

// intakeState tells the outbox worker whether IMAP mail is coming in: a
// delivery is running, or one ended less than intakeQuiet ago (the poller
// delivers a backlog batch after batch, the next fetched while one is
// committed).
type intakeState struct {
	mu      sync.Mutex
	running int
	lastEnd time.Time
}

// intakeQuiet is how long after a delivery the intake counts as busy.
const intakeQuiet = 500 * time.Millisecond

func (s *intakeState) begin() {
	s.mu.Lock()
	s.running++
	s.mu.Unlock()
}

func (s *intakeState) end() {
	s.mu.Lock()
	s.running--
	s.lastEnd = time.Now()
	s.mu.Unlock()
}

// busyFor returns how much longer the intake counts as busy at least; 0
// when it is quiet.
func (s *intakeState) busyFor() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running > 0 {
		return intakeQuiet
	}
	if s.lastEnd.IsZero() {
		return 0
	}
	return max(0, intakeQuiet-time.Since(s.lastEnd))
}
