// Package imapintake reads the contact point's IMAP mailbox and hands every
// message to a Sink that commits it.
//
// Invariants:
//
//   - Messages are fetched with BODY.PEEK[], so reading never changes flags.
//     With a size limit (MaxMessageBytes) their sizes are fetched first, and
//     a message over it is fetched as its header only (BODY.PEEK[HEADER]);
//     no message over the limit is ever held whole.
//   - A message leaves the intake mailbox only after the Sink has committed it
//     (or decided to quarantine it): MOVE to the Processed or Quarantine folder,
//     in UID-set batches. Where the server lacks MOVE, UID COPY + UID STORE
//     +FLAGS.SILENT (\Deleted) + UID EXPUNGE (UIDPLUS) with the same UID set;
//     without UIDPLUS the copy is only flagged \Deleted and never expunged, so
//     other clients' deleted mail is never expunged by us. Nothing is deleted.
//   - Every (re)connect starts with a full pass over the mailbox: mail committed
//     but not yet moved (a crash between commit and MOVE) is fetched again,
//     recognised by the Sink and only moved. A changed UIDVALIDITY resets the
//     cursor; the Sink deduplicates by Message-ID.
//   - A message that cannot be fetched or committed on its own is left in
//     place, logged, and retried on a later full pass; it never blocks the
//     messages after it.
//   - go-imap types never leave this package.
package imapintake

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/mailbox/oauthsasl"
)

// Security modes for IMAPConfig.Security (the same words as smtpclient.SMTPConfig's).
const (
	SecurityTLS      = "tls"      // implicit TLS (port 993)
	SecurityStartTLS = "starttls" // STARTTLS upgrade (port 143)
	SecurityPlain    = "plain"    // no TLS; refused unless the host is a loopback address
)

// Defaults applied by NewPoller to zero IMAPConfig fields.
const (
	DefaultPollInterval = 60 * time.Second
	DefaultIdleRestart  = 25 * time.Minute
	DefaultBatchSize    = 100
	DefaultMinBackoff   = time.Second
	// DefaultMaxBackoff keeps a reconnect within a minute of the server's
	// return, whatever the length of the outage.
	DefaultMaxBackoff = 60 * time.Second
)

// DefaultBatchBytes is the default of IMAPConfig.BatchBytes.
const DefaultBatchBytes = 32 << 20

// ErrInsecure is returned by Poller.Run when plain IMAP is configured for a
// host that is not a loopback address.
var ErrInsecure = errors.New("mailbox: plain IMAP is only allowed to a loopback address")

// IMAPConfig says where the intake mailbox is and how to reach it.
type IMAPConfig struct {
	// Addr is the server's host:port.
	Addr string
	// Security is "tls", "starttls" or "plain" (plain refused unless the host is loopback).
	Security string
	// Username and Password authenticate with AUTHENTICATE PLAIN, or LOGIN
	// when the server does not offer AUTH=PLAIN.
	Username, Password string
	// OAuth2, when set, authenticates with XOAUTH2/OAUTHBEARER instead of the password.
	OAuth2 *oauthsasl.OAuth2Config
	// Mailbox is the intake folder ("INBOX"); Processed and Quarantine receive
	// committed and quarantined mail ("Processed", "Quarantine") and are
	// created when missing.
	Mailbox, Processed, Quarantine string
	// PollInterval is how often the mailbox is checked when the server has no
	// IDLE (or NoIdle is set). Default 60s.
	PollInterval time.Duration
	// IdleRestart is how long one IDLE command runs before it is re-issued,
	// below the server's inactivity timeout (RFC 2177: 29 minutes). Each
	// restart also does a full pass, retrying mail left in place. Default 25m.
	IdleRestart time.Duration
	// BatchSize is the number of UIDs per FETCH and per Deliver, and the
	// unit in which moves are combined (see MoveBatchSize). Default 100.
	BatchSize int
	// BacklogBatchSize is the number of UIDs per FETCH and per Deliver
	// while a backlog drains: when the sizes are known (MaxMessageBytes,
	// so BatchBytes bounds a batch) and a pass finds at least twice as
	// many messages. Fewer, larger transactions cost less per message
	// (one fsync and one rewrite of the touched index pages each).
	// Default 4×BatchSize; never below BatchSize.
	BacklogBatchSize int
	// MoveBatchSize is the most UIDs per MOVE: the moves of consecutive
	// fetched batches are combined up to this many, since a MOVE costs the
	// server a fixed ~15-30 ms on a large maildir folder whatever its size.
	// Default 5×BatchSize.
	MoveBatchSize int
	// MaxMessageBytes, when > 0, is the size limit: the sizes of the mail
	// found are fetched first (RFC822.SIZE), and of a larger message only
	// the header (BODY.PEEK[HEADER]), handed to the Sink with Oversize set.
	MaxMessageBytes int64
	// BatchBytes bounds the bytes of one batch when the sizes are known
	// (with MaxMessageBytes): at most two batches are held at a time, the
	// one committed and the next one fetched. Default 32 MiB.
	BatchBytes int64
	// TLSConfig carries RootCAs/ServerName/InsecureSkipVerify as configured.
	TLSConfig *tls.Config
	// NoIdle forces polling even when the server offers IDLE.
	NoIdle bool
	// MinBackoff and MaxBackoff bound the reconnect delay, which doubles after
	// each failed session and is jittered. Defaults 1s and 60s.
	MinBackoff, MaxBackoff time.Duration
}

// Fetched is one message as read from the server.
type Fetched struct {
	UID uint32
	Raw []byte
	// Oversize is non-zero for a message over MaxMessageBytes: its size
	// in bytes; Raw then holds only its header. The Sink stores a stub of
	// it and quarantines it.
	Oversize int64
}

// Disposition is what the poller does with a message after Deliver.
type Disposition int

const (
	// Processed: committed; move to the Processed folder.
	Processed Disposition = iota
	// Quarantined: stored with a reason; move to the Quarantine folder.
	Quarantined
	// Leave: a temporary problem; leave in place and retry on a later full pass.
	Leave
)

// String returns the disposition's name for logs.
func (d Disposition) String() string {
	switch d {
	case Processed:
		return "processed"
	case Quarantined:
		return "quarantined"
	case Leave:
		return "leave"
	}
	return fmt.Sprintf("Disposition(%d)", int(d))
}

// Sink commits fetched messages. Deliver must store every message and set the cursor
// (mailbox, uidvalidity, highest UID of msgs) in ONE transaction, then return one disposition per
// message in order. A message already stored must be recognised (by Message-ID) and only get its
// disposition again. An error means nothing was committed.
type Sink interface {
	Cursor(ctx context.Context, mailbox string) (kp.Cursor, bool, error)
	Deliver(ctx context.Context, cur kp.Cursor, msgs []Fetched) ([]Disposition, error)
}

// Preparer is a Sink that can begin the work on a fetched batch that
// needs no transaction (parsing, say) as soon as the batch is in, so that
// it overlaps the commit of the batch before it. The poller calls Prepare
// from the goroutine that fetched the batch and later delivers the whole
// batch through the returned Prepared instead of Sink.Deliver; when it
// delivers the messages one by one instead (after the batch failed), it
// uses Sink.Deliver. A Prepared that is never delivered is dropped.
type Preparer interface {
	Prepare(mailbox string, uidValidity uint32, msgs []Fetched) Prepared
}

// Prepared is a batch a Preparer has begun on. Deliver is Sink.Deliver
// of that batch; cur names the same mailbox and UIDVALIDITY as Prepare
// was given.
type Prepared interface {
	Deliver(ctx context.Context, cur kp.Cursor) ([]Disposition, error)
}

// PollerStatus is a snapshot of the poller's health.
type PollerStatus struct {
	// Connected is true while a session is logged in and has its mailbox selected.
	Connected bool
	// LastError is the error that ended the last session; "" before the
	// first failure and again once a session is connected.
	LastError string
	// Since is when Connected last changed: when the current session
	// connected, or when the last one was lost. Zero until the first
	// session connects.
	Since time.Time
	// LastSync is when the last pass over the mailbox completed.
	LastSync time.Time
	// Reconnects counts sessions that ended with an error and were retried.
	Reconnects int
	// AuthError is the last authentication or token refresh failure, cleared
	// by the next success.
	AuthError string
}

// Poller keeps one IMAP session to the intake mailbox alive and feeds a Sink.
type Poller struct {
	cfg    IMAPConfig
	sink   Sink
	log    *slog.Logger
	tokens *oauthsasl.TokenSource

	// Now is the clock (time.Now by default); set before Run.
	Now func() time.Time
	// Jitter returns a float in [0,1) used to spread reconnects (math/rand by default).
	Jitter func() float64

	mu     sync.Mutex
	status PollerStatus
}

// NewPoller returns a poller for cfg with defaults filled in. It does no I/O.
func NewPoller(cfg IMAPConfig, sink Sink, log *slog.Logger) *Poller {
	if cfg.Security == "" {
		cfg.Security = SecurityTLS
	}
	if cfg.Mailbox == "" {
		cfg.Mailbox = "INBOX"
	}
	if cfg.Processed == "" {
		cfg.Processed = "Processed"
	}
	if cfg.Quarantine == "" {
		cfg.Quarantine = "Quarantine"
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.IdleRestart <= 0 {
		cfg.IdleRestart = DefaultIdleRestart
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.BatchBytes <= 0 {
		cfg.BatchBytes = DefaultBatchBytes
	}
	if cfg.BacklogBatchSize <= 0 {
		cfg.BacklogBatchSize = 4 * cfg.BatchSize
	}
	cfg.BacklogBatchSize = max(cfg.BacklogBatchSize, cfg.BatchSize)
	if cfg.MoveBatchSize <= 0 {
		cfg.MoveBatchSize = 5 * cfg.BatchSize
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(DefaultMaxBackoff, cfg.MinBackoff)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Poller{
		cfg:    cfg,
		sink:   sink,
		log:    log.With("mailbox", cfg.Mailbox), // the caller names the component
		Now:    time.Now,
		Jitter: rand.Float64,
	}
	if cfg.OAuth2 != nil {
		p.tokens = oauthsasl.NewTokenSource(*cfg.OAuth2, nil)
	}
	return p
}

// Status returns a snapshot of the poller's health. Safe for concurrent use.
func (p *Poller) Status() PollerStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status
}

func (p *Poller) setStatus(f func(*PollerStatus)) {
	p.mu.Lock()
	f(&p.status)
	p.mu.Unlock()
}

// Run syncs the mailbox until ctx ends: a full pass at start, then IDLE (or
// polling), reconnecting with capped exponential backoff and jitter. It
// returns nil on ctx cancel after finishing the batch in hand, and an error
// only for a configuration it refuses.
func (p *Poller) Run(ctx context.Context) error {
	if err := p.checkConfig(); err != nil {
		return err
	}
	if p.tokens != nil {
		p.tokens.SetClock(p.Now)
	}
	backoff := p.cfg.MinBackoff
	for {
		synced, err := p.session(ctx)
		p.setStatus(func(s *PollerStatus) {
			if s.Connected {
				s.Connected, s.Since = false, p.Now()
			}
		})
		if ctx.Err() != nil {
			p.log.Info("imap poller stopped")
			return nil
		}
		if synced {
			backoff = p.cfg.MinBackoff
		}
		if err == nil {
			err = errors.New("session ended")
		}
		delay := jittered(backoff, p.Jitter())
		p.setStatus(func(s *PollerStatus) { s.LastError = err.Error(); s.Reconnects++ })
		p.log.Warn("imap session ended; reconnecting", "err", err, "delay", delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			p.log.Info("imap poller stopped")
			return nil
		case <-t.C:
		}
		backoff = nextBackoff(backoff, p.cfg.MaxBackoff)
	}
}

// jittered spreads a backoff over [b/2, b] by j in [0,1], so that many
// gateways cut off by one server outage do not reconnect in step.
func jittered(b time.Duration, j float64) time.Duration {
	return time.Duration(float64(b) * (0.5 + 0.5*min(max(j, 0), 1)))
}

// nextBackoff doubles b up to limit.
func nextBackoff(b, limit time.Duration) time.Duration {
	return min(b*2, limit)
}

func (p *Poller) checkConfig() error {
	host, _, err := net.SplitHostPort(p.cfg.Addr)
	if err != nil {
		return fmt.Errorf("mailbox: imap address %q: %w", p.cfg.Addr, err)
	}
	switch p.cfg.Security {
	case SecurityTLS, SecurityStartTLS:
	case SecurityPlain:
		if !loopbackHost(host) {
			return fmt.Errorf("%w: %q", ErrInsecure, host)
		}
	default:
		return fmt.Errorf("mailbox: imap security %q: want tls, starttls or plain", p.cfg.Security)
	}
	if p.cfg.OAuth2 == nil && p.cfg.Username == "" {
		return errors.New("mailbox: imap username is empty")
	}
	return nil
}

func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
