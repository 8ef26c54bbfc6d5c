// Package gateway applies mail to cases. It joins the pure decisions of
// package routing to the store: every inbound message is parsed and
// classified outside any transaction, then threaded, applied to its case,
// and the outbound mail and follow-up it causes are queued, all in one store
// transaction (docs/architecture.md). It never does network I/O inside a
// transaction; the outbox worker and the IMAP poller do that afterwards.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/config"
	"kontaktpunkt/mailbox/mailmsg"
	"kontaktpunkt/routing"
	"kontaktpunkt/store"
	"kontaktpunkt/suggest"
)

// Gateway holds what applying mail needs. It is safe for concurrent use;
// the store serialises writers.
type Gateway struct {
	Store     *store.Store
	Config    *config.Config
	Dir       *routing.Directory
	Rules     []routing.Rule
	Templates *Templates
	Clock     *routing.Clock
	Policy    routing.Policy
	// TeamPolicy holds per-team follow-up overrides.
	TeamPolicy map[string]routing.Policy
	// TokenSecret enables reply tokens when not nil.
	TokenSecret []byte
	// Quiet queues no outbound mail (archive import).
	Quiet bool
	Now   func() time.Time
	Log   *slog.Logger

	// Wake, if set, is called after a commit that queued outbound mail or
	// changed follow-ups, so the workers look at once.
	Wake func()

	journal *sendJournal // the outbox's, opened on first use (sendloop.go); shared by copies
	intake  *intakeState // IMAP deliveries in progress (intake.go)
}

// New builds a Gateway from a validated configuration.
func New(cfg *config.Config, st *store.Store, log *slog.Logger) (*Gateway, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{Store: st, Config: cfg, Now: time.Now, Log: log, journal: &sendJournal{}, intake: &intakeState{}}
	var errs []error

	g.Dir = &routing.Directory{Lead: cfg.Staff.Lead, Manager: cfg.Staff.Manager}
	for _, m := range cfg.Staff.Members {
		g.Dir.Staff = append(g.Dir.Staff, routing.Person{Name: m.Name, Addr: m.Address})
	}
	for _, t := range cfg.Teams {
		g.Dir.Teams = append(g.Dir.Teams, routing.Team{Name: t.Name, Members: t.Members, Escalation: t.Escalation, TicketSystem: t.TicketSystem})
	}
	for i, r := range cfg.Routing {
		rule, err := routing.CompileRule(r.From, r.FromDomain, r.To, r.Subject, r.Body, r.Team, r.Assignee)
		if err != nil {
			errs = append(errs, fmt.Errorf("routing[%d]: %w", i, err))
			continue
		}
		g.Rules = append(g.Rules, rule)
	}
	tmpl, err := LoadTemplates(cfg.Templates.Language, cfg.Templates.Dir)
	if err != nil {
		errs = append(errs, err)
	}
	g.Templates = tmpl

	fu := cfg.FollowUp
	clk, err := routing.NewClock(fu.Timezone, fu.WorkHours, fu.Workdays, fu.ClosedDays)
	if err != nil {
		errs = append(errs, fmt.Errorf("followup: %w", err))
	}
	g.Clock = clk
	pol, err := policyFrom(routing.DefaultPolicy(), config.FollowUpOverride{
		TriageWithin: fu.TriageWithin, RespondWithin: fu.RespondWithin, EscalateAfter: fu.EscalateAfter,
		Escalate2After: fu.Escalate2After, WaitingReminder: fu.WaitingReminder, AutoResolveAfter: fu.AutoResolveAfter,
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("followup: %w", err))
	}
	g.Policy = pol
	g.TeamPolicy = map[string]routing.Policy{}
	for team, o := range fu.Teams {
		tp, err := policyFrom(pol, o)
		if err != nil {
			errs = append(errs, fmt.Errorf("followup.teams.%s: %w", team, err))
		}
		g.TeamPolicy[strings.ToLower(team)] = tp
	}
	if cfg.Contact.ReplyToken.Enabled {
		secret, err := cfg.Contact.ReplyToken.Secret.Value()
		if err != nil {
			errs = append(errs, fmt.Errorf("contact.reply_token.secret: %w", err))
		} else if len(secret) < config.MinReplyTokenSecret {
			errs = append(errs, fmt.Errorf("contact.reply_token.secret: must be at least %d characters", config.MinReplyTokenSecret))
		} else {
			g.TokenSecret = []byte(secret)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return g, nil
}

func policyFrom(base routing.Policy, o config.FollowUpOverride) (routing.Policy, error) {
	p := base
	var errs []error
	set := func(dst *routing.BizDuration, s, name string) {
		if s == "" {
			return
		}
		d, err := routing.ParseBizDuration(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			return
		}
		*dst = d
	}
	set(&p.TriageWithin, o.TriageWithin, "triage_within")
	set(&p.RespondWithin, o.RespondWithin, "respond_within")
	set(&p.EscalateAfter, o.EscalateAfter, "escalate_after")
	set(&p.Escalate2After, o.Escalate2After, "escalate2_after")
	set(&p.WaitingReminder, o.WaitingReminder, "waiting_reminder")
	set(&p.AutoResolveAfter, o.AutoResolveAfter, "auto_resolve_after")
	return p, errors.Join(errs...)
}

// policyFor returns the follow-up policy of the case's team.
func (g *Gateway) policyFor(c *kp.Case) routing.Policy {
	if p, ok := g.TeamPolicy[strings.ToLower(c.Team)]; ok {
		return p
	}
	return g.Policy
}

// classifyOptions is what classification takes from the configuration.
func (g *Gateway) classifyOptions() routing.ClassifyOptions {
	return routing.ClassifyOptions{SpamSCL: g.Config.Limits.SpamSCL, Own: []string{g.Config.Contact.Address}}
}

func (g *Gateway) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

func (g *Gateway) wake() {
	if g.Wake != nil {
		g.Wake()
	}
}

// Item is one raw message to ingest, with a name saying where it came from.
type Item struct {
	Source string
	Raw    []byte
	// Oversize is non-zero for a message over limits.max_message_bytes that
	// was not read whole: its size in bytes, and Raw holds only its header.
	// Such a message, like any Raw over the limit, is quarantined with a
	// stub record of its header.
	Oversize int64 `json:",omitempty"`
}

// Result status values, as `ingest -json` prints them.
const (
	ResultStored      = "stored"
	ResultDuplicate   = "duplicate"
	ResultUnfiled     = "unfiled"
	ResultQuarantined = "quarantined"
)

// Result says what became of one ingested message.
type Result struct {
	Source    string       `json:"source"`
	MessageID string       `json:"message_id"`
	Case      *kp.CaseID   `json:"case"`
	MatchedBy kp.MatchedBy `json:"matched_by"`
	Class     kp.Class     `json:"class"`
	Status    string       `json:"status"`
	Error     string       `json:"error"`
}

// parsedItem is an Item after the CPU-bound work done outside the transaction.
type parsedItem struct {
	Item
	parsed   *kp.Parsed
	parseErr error
	class    kp.Class
	// hash is the content hash (contentHash), computed with the parse;
	// collided is the Message-ID the message arrived with when it had to
	// be stored under a derived one (storedCopy).
	hash     uint64
	collided string
	// textTokens are the search index tokens of the text (store.TextTokens),
	// also found with the parse, so the writer does not tokenise.
	textTokens []string
	// packed is Raw packed for storage (store.PackRaw); suggestText the
	// vocabulary-free suggestion terms of the text of a message that
	// will likely open a case (suggest.Prepare). Both are found with the
	// parse; the writer does what they leave.
	packed      store.PackedRaw
	suggestText *suggest.Prepared
	// suggestSubject is the same for the subject the case would get
	// (routing.CaseSubject) when no staff command changes it.
	suggestSubject *suggest.Prepared
	// ticket is what routing.DetectTicket says of the message, nil
	// when it must be asked in the transaction (no From yet).
	ticket *ticketMark
	// own is the writer's own text of a reply (the templates' quote
	// trimmer's Own), found with the parse; the writer finds it for
	// other messages when it needs it.
	own ownText
}

// ownText is the Own of a quote trimmer's Split of text, when ok;
// builtin says the trimmer was builtinTrimmer.
type ownText struct {
	text, own   string
	ok, builtin bool
}

// of returns the own text of text when it is the one found.
func (o ownText) of(text string) (string, bool) {
	if !o.ok || o.text != text {
		return "", false
	}
	return o.own, true
}

// ticketMark is a ticket system's mark found on a message, if any.
type ticketMark struct {
	ref      routing.TicketRef
	detected bool
}

// detect returns the mark found with the parse, or looks now.
func (m *ticketMark) detect(p *kp.Parsed) (routing.TicketRef, bool) {
	if m == nil {
		return routing.DetectTicket(p)
	}
	return m.ref, m.detected
}

// prepare is what the parsers compute for the writer besides the parse.
type prepare struct {
	// pack packs raw bytes as the store keeps them; nil packs nothing.
	pack func(raw []byte) store.PackedRaw
	// suggest prepares the suggestion terms of likely requests.
	suggest bool
	// tagPrefix is the case tag prefix (contact.tag_prefix).
	tagPrefix string
	// trim finds the own text of replies; nil finds none.
	trim *routing.QuoteTrimmer
}

func (g *Gateway) prepare() prepare {
	pre := prepare{pack: g.Store.PackRaw, suggest: indexSuggestions, tagPrefix: g.Config.Contact.TagPrefix}
	if !g.Quiet {
		// Only mail about a reply carries its own text (mailText).
		pre.trim = g.Templates.Trimmer()
	}
	return pre
}

// parsing is a batch being parsed on all cores, in the background, so
// the single writer can apply the first messages while the parsers work
// on the rest.
type parsing struct {
	items []parsedItem
	// done[i] is closed when items[i] is parsed.
	done []chan struct{}
}

// startParse starts parsing items on workers goroutines (all cores when
// workers is 0) and returns at once.
// Messages over limit bytes (0: no limit) become stubs (parseOversize).
// Workers take items in order, so the writer waits at most for the
// items in hand.
func startParse(items []Item, limit int64, o routing.ClassifyOptions, pre prepare, workers int) *parsing {
	p := &parsing{items: make([]parsedItem, len(items)), done: make([]chan struct{}, len(items))}
	for i := range p.done {
		p.done[i] = make(chan struct{})
	}
	var next atomic.Int64
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	for range min(workers, len(items)) {
		go func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(items) {
					return
				}
				p.items[i] = parseOne(items[i], limit, o, pre)
				close(p.done[i])
			}
		}()
	}
	return p
}

// item waits for items[i] to be parsed and returns it.
func (p *parsing) item(i int) *parsedItem {
	<-p.done[i]
	return &p.items[i]
}

func parseOne(it Item, limit int64, o routing.ClassifyOptions, pre prepare) (pi parsedItem) {
	if it.Oversize > 0 || limit > 0 && int64(len(it.Raw)) > limit {
		return parseOversize(it, limit, o)
	}
	pi.Item = it
	defer func() {
		if r := recover(); r != nil {
			pi.parsed = &kp.Parsed{MessageID: mailmsg.SyntheticID(it.Raw), SyntheticID: true, Size: int64(len(it.Raw))}
			pi.parseErr = fmt.Errorf("parser failure: %v", r)
			pi.class = kp.ClassHuman
		}
	}()
	pi.parsed, pi.parseErr = mailmsg.Parse(it.Raw)
	if pi.parsed == nil {
		pi.parsed = &kp.Parsed{MessageID: mailmsg.SyntheticID(it.Raw), SyntheticID: true, Size: int64(len(it.Raw))}
	}
	pi.class = routing.ClassifyWith(pi.parsed, o)
	pi.hash = contentHash(it.Raw)
	pi.textTokens = store.TextTokens(pi.parsed.Text)
	if pre.pack != nil {
		pi.packed = pre.pack(it.Raw)
	}
	if pre.suggest && pi.parseErr == nil && len(pi.parsed.InReplyTo) == 0 && len(pi.parsed.References) == 0 {
		// A message that refers to none opens a case, unless a reply
		// token or the subject's tag threads it; a reply that opens one
		// has its terms found in the transaction.
		pi.suggestText = suggest.Prepare(pi.parsed.Text)
		pi.suggestSubject = suggest.Prepare(routing.CaseSubject(pi.parsed.Subject, pre.tagPrefix))
	}
	if pre.trim != nil && pi.parseErr == nil && (len(pi.parsed.InReplyTo) > 0 || len(pi.parsed.References) > 0) {
		// A reply: the mail about it carries the writer's own text.
		pi.own = ownText{text: pi.parsed.Text, own: pre.trim.Split(pi.parsed.Text).Own, ok: true, builtin: pre.trim == builtinTrimmer()}
	}
	if pi.parseErr == nil && pi.parsed.From.Addr != "" {
		// (Apply gives a message without From its sender's address.)
		ref, ok := routing.DetectTicket(pi.parsed)
		pi.ticket = &ticketMark{ref, ok}
	}
	return pi
}

// itemError is the failure of one item of a batch.
type itemError struct {
	i   int
	err error
}

// permanent reports whether an error applying one message will come again
// on every retry (a malformed address, a value the store refuses), as
// opposed to a damaged store or a stop, which concern every message.
func permanent(err error) bool {
	return !errors.Is(err, store.ErrCorrupt) && !errors.Is(err, store.ErrDamaged) && !errors.Is(err, context.Canceled) &&
		!errors.Is(err, context.DeadlineExceeded)
}

// applySafe is apply with a panic turned into an error of that message.
func (g *Gateway) applySafe(tx *store.Tx, pi *parsedItem) (res Result, queued bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			if derr := store.DamageFromPanic(g.Store.Path(), r); derr != nil {
				err = derr
				return
			}
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	tx.GivenPackedRaw(pi.packed)
	return g.apply(tx, pi)
}

// Ingest parses and applies items in one store transaction and returns one
// result per item, in order. The transaction is durable when Ingest returns
// without error; on error nothing of the batch was stored.
func (g *Gateway) Ingest(ctx context.Context, items []Item) ([]Result, error) {
	return g.ingest(ctx, items, nil)
}

func (g *Gateway) ingest(ctx context.Context, items []Item, cursor *kp.Cursor) ([]Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return g.applyBatch(ctx, g.parse(items), cursor)
}

// parse starts parsing items on all cores (startParse).
func (g *Gateway) parse(items []Item) *parsing {
	return startParse(items, g.Config.Limits.MaxMessageBytes, g.classifyOptions(), g.prepare(), 0)
}

// parseAhead starts parsing a batch that will be applied after the one
// being applied now, on all cores but one: the single writer, which
// sets the pace, keeps a core while the batch parses, and the batch
// still parses faster than the writer applies one.
func (g *Gateway) parseAhead(items []Item) *parsing {
	return startParse(items, g.Config.Limits.MaxMessageBytes, g.classifyOptions(), g.prepare(), max(1, runtime.GOMAXPROCS(0)-1))
}

// Pipeline ingests batches one after another as Ingest does, one
// transaction each, but parses a batch while the one handed over before
// it is written and committed: the parsing cores work while the writer
// applies and the disk syncs. Its methods are not safe for concurrent use.
type Pipeline struct {
	g   *Gateway
	ctx context.Context
	// next is the batch handed over and not yet applied.
	next *parsing
}

// Pipeline returns an empty pipeline that ingests through g.
func (g *Gateway) Pipeline(ctx context.Context) *Pipeline {
	return &Pipeline{g: g, ctx: ctx}
}

// Add hands over a batch, which is parsed from now on, and applies the
// batch handed over before it. It returns that batch's results (nil
// for the first call), durable when there is no error; on error
// nothing of that batch was stored and the pipeline is empty. items
// must not change until the results of its batch are returned.
func (p *Pipeline) Add(items []Item) ([]Result, error) {
	if err := p.ctx.Err(); err != nil {
		p.next = nil
		return nil, err
	}
	prev := p.next
	p.next = p.g.parse(items)
	if prev == nil {
		return nil, nil
	}
	res, err := p.g.applyBatch(p.ctx, prev, nil)
	if err != nil {
		p.next = nil
	}
	return res, err
}

// Flush applies the batch handed over last and returns its results (nil
// when there is none).
func (p *Pipeline) Flush() ([]Result, error) {
	prev := p.next
	p.next = nil
	if prev == nil {
		return nil, nil
	}
	if err := p.ctx.Err(); err != nil {
		return nil, err
	}
	return p.g.applyBatch(p.ctx, prev, nil)
}

// applyBatch applies a parsed batch in one store transaction; see Ingest.
func (g *Gateway) applyBatch(ctx context.Context, parsing *parsing, cursor *kp.Cursor) ([]Result, error) {
	parsed := parsing.items
	results := make([]Result, len(parsed))
	var queued bool
	// A message that cannot be applied for a reason of its own is
	// quarantined and the batch applied again without it: one bad message
	// never rolls back the others. A failure of the store itself, or of
	// storing the quarantined message, ends the batch with nothing stored.
	for {
		var failed *itemError
		err := g.Store.Update(func(tx *store.Tx) error {
			queued = false
			for i := range parsed {
				r, q, err := g.applySafe(tx, parsing.item(i))
				if err != nil {
					failed = &itemError{i: i, err: err}
					return fmt.Errorf("applying %s: %w", parsed[i].Source, err)
				}
				results[i] = r
				queued = queued || q
			}
			if cursor != nil {
				if err := tx.PutCursor(*cursor); err != nil {
					return fmt.Errorf("storing cursor: %w", err)
				}
			}
			return nil
		})
		if err == nil {
			break
		}
		if failed == nil || !permanent(failed.err) || parsed[failed.i].parseErr != nil || ctx.Err() != nil {
			return nil, err
		}
		pi := &parsed[failed.i]
		pi.parseErr = fmt.Errorf("cannot be applied: %w", failed.err)
		g.Log.Warn("message quarantined: it cannot be applied", "source", pi.Source, "message_id", pi.parsed.MessageID, "reason", failed.err.Error())
	}
	if queued {
		g.wake()
	}
	for _, r := range results {
		attrs := []any{"source", r.Source, "message_id", r.MessageID, "class", r.Class, "matched_by", r.MatchedBy, "status", r.Status}
		if r.Case != nil {
			attrs = append(attrs, "case", uint64(*r.Case))
		}
		if r.Error != "" {
			attrs = append(attrs, "reason", r.Error)
		}
		g.Log.Debug("message applied", attrs...)
	}
	return results, nil
}
