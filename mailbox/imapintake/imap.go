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
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	kp "kontaktpunkt"
	"kontaktpunkt/mailbox/mailmsg"
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

// session is one connection's worth of state.
type session struct {
	p      *Poller
	c      *imapclient.Client
	caps   imap.CapSet
	guard  *closeGuard
	newMsg chan struct{}

	uidValidity uint32
	lastUID     uint32    // the cursor's LastUID for the current UIDVALIDITY
	maxSeen     imap.UID  // highest UID seen by a search in this session
	lastFull    time.Time // when the last full pass completed
	warnedNoExp bool
}

// closeGuard closes the client when ctx ends, except while a batch is in
// hand: then the close waits for the batch to finish (bounded by grace, since
// go-imap's own read timeouts bound a stuck server too).
type closeGuard struct {
	mu        sync.Mutex
	c         *imapclient.Client
	busy      bool
	requested bool
}

func (g *closeGuard) request() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requested = true
	if !g.busy {
		g.c.Close()
	}
}

// begin marks a batch in hand; false when a close was already requested.
func (g *closeGuard) begin() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.requested {
		return false
	}
	g.busy = true
	return true
}

func (g *closeGuard) end() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.busy = false
	if g.requested {
		g.c.Close()
	}
}

// tokenRetry is the shortest wait between token renewals while idle, so a
// failing token endpoint is not hammered.
const tokenRetry = 30 * time.Second

// shutdownGrace bounds how long a cancelled Run waits for the batch in hand.
const shutdownGrace = 30 * time.Second

// session connects, authenticates, does a full pass and then waits for new
// mail until the connection fails or ctx ends. synced reports whether the
// first full pass completed (the backoff is then reset).
func (p *Poller) session(ctx context.Context) (synced bool, err error) {
	defer func() {
		if v := recover(); v != nil {
			p.log.Error("panic in imap session", "panic", v, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic in imap session: %v", v)
		}
	}()
	s := &session{p: p, newMsg: make(chan struct{}, 1)}
	opts := &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case s.newMsg <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	c, err := p.dial(ctx, opts)
	if err != nil {
		return false, err
	}
	s.c = c
	s.guard = &closeGuard{c: c}
	stopClose := context.AfterFunc(ctx, func() {
		s.guard.request()
		t := time.AfterFunc(shutdownGrace, func() { c.Close() })
		<-c.Closed()
		t.Stop()
	})
	defer stopClose()
	defer c.Close()

	if err := p.authenticate(ctx, c); err != nil {
		return false, err
	}
	caps, err := c.Capability().Wait()
	if err != nil {
		return false, fmt.Errorf("capability: %w", err)
	}
	s.caps = caps
	for _, name := range []string{p.cfg.Processed, p.cfg.Quarantine} {
		if err := s.ensureFolder(name); err != nil {
			return false, err
		}
	}
	sel, err := c.Select(p.cfg.Mailbox, nil).Wait()
	if err != nil {
		return false, fmt.Errorf("select %s: %w", p.cfg.Mailbox, err)
	}
	s.uidValidity = sel.UIDValidity
	cur, ok, err := p.sink.Cursor(ctx, p.cfg.Mailbox)
	if err != nil {
		return false, fmt.Errorf("reading cursor: %w", err)
	}
	switch {
	case ok && cur.UIDValidity != sel.UIDValidity:
		p.log.Warn("uidvalidity changed; full rescan", "old_uidvalidity", cur.UIDValidity, "uidvalidity", sel.UIDValidity)
	case ok:
		s.lastUID = cur.LastUID
	}
	p.setStatus(func(st *PollerStatus) { st.Connected, st.Since, st.LastError = true, p.Now(), "" })
	p.log.Info("imap connected", "addr", p.cfg.Addr, "uidvalidity", sel.UIDValidity, "messages", sel.NumMessages, "last_uid", s.lastUID)

	if err := s.pass(ctx, true); err != nil {
		return false, err
	}
	if ctx.Err() != nil {
		return true, nil
	}
	useIdle := !p.cfg.NoIdle && caps.Has(imap.CapIdle)
	if !useIdle {
		p.log.Info("imap polling", "interval", p.cfg.PollInterval)
	}
	for {
		var full bool
		if useIdle {
			full, err = s.idle(ctx)
		} else {
			full, err = s.wait(ctx)
		}
		if err != nil || ctx.Err() != nil {
			return true, err
		}
		if err := s.pass(ctx, full); err != nil {
			return true, err
		}
		if ctx.Err() != nil {
			return true, nil
		}
	}
}

func (p *Poller) dial(ctx context.Context, opts *imapclient.Options) (*imapclient.Client, error) {
	host, _, _ := net.SplitHostPort(p.cfg.Addr)
	d := &net.Dialer{Timeout: 30 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", p.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", p.cfg.Addr, err)
	}
	tlsConfig := &tls.Config{}
	if p.cfg.TLSConfig != nil {
		tlsConfig = p.cfg.TLSConfig.Clone()
	}
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = host
	}
	var c *imapclient.Client
	switch p.cfg.Security {
	case SecurityTLS:
		if tlsConfig.NextProtos == nil {
			tlsConfig.NextProtos = []string{"imap"}
		}
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("tls handshake with %s: %w", p.cfg.Addr, err)
		}
		c = imapclient.New(tc, opts)
	case SecurityStartTLS:
		opts.TLSConfig = tlsConfig
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		c, err = imapclient.NewStartTLS(conn, opts)
		stop()
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("starttls with %s: %w", p.cfg.Addr, err)
		}
	default:
		c = imapclient.New(conn, opts)
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, fmt.Errorf("greeting from %s: %w", p.cfg.Addr, err)
	}
	return c, nil
}

func (p *Poller) authenticate(ctx context.Context, c *imapclient.Client) error {
	var err error
	if p.tokens != nil {
		var tok string
		tok, err = p.tokens.Token(ctx)
		if err != nil {
			p.authFailed("oauth2 token refresh failed", err)
			return err
		}
		host, port := splitHostPort(p.cfg.Addr)
		var mech sasl.Client
		user := p.cfg.Username
		if strings.EqualFold(p.cfg.OAuth2.Mechanism, oauthsasl.MechOAuthBearer) {
			mech = oauthsasl.NewOAuthBearerClient(user, tok, host, port)
		} else {
			mech = oauthsasl.NewXOAuth2Client(user, tok)
		}
		err = c.Authenticate(mech)
	} else if c.Caps().Has(imap.AuthCap(sasl.Plain)) {
		err = c.Authenticate(sasl.NewPlainClient("", p.cfg.Username, p.cfg.Password))
	} else {
		err = c.Login(p.cfg.Username, p.cfg.Password).Wait()
	}
	if err != nil {
		err = fmt.Errorf("authenticating as %q: %w", p.cfg.Username, err)
		p.authFailed("imap authentication failed", err)
		return err
	}
	p.setStatus(func(s *PollerStatus) { s.AuthError = "" })
	return nil
}

func (p *Poller) authFailed(msg string, err error) {
	p.log.Error(msg, "user", p.cfg.Username, "err", err)
	p.setStatus(func(s *PollerStatus) { s.AuthError = err.Error() })
}

// refreshToken renews the OAuth2 token ahead of expiry while the session is
// idle, so a failing token endpoint shows in the log and the health state
// before the server drops us.
func (s *session) refreshToken(ctx context.Context) {
	if s.p.tokens == nil {
		return
	}
	if _, err := s.p.tokens.Token(ctx); err != nil {
		s.p.authFailed("oauth2 token refresh failed", err)
		return
	}
	s.p.setStatus(func(st *PollerStatus) { st.AuthError = "" })
}

func splitHostPort(addr string) (string, int) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	var port int
	fmt.Sscanf(portStr, "%d", &port)
	return host, port
}

func (s *session) ensureFolder(name string) error {
	err := s.c.Create(name, nil).Wait()
	if err == nil {
		s.p.log.Info("created folder", "folder", name)
		return nil
	}
	var ie *imap.Error
	if errors.As(err, &ie) && (ie.Code == imap.ResponseCodeAlreadyExists || strings.Contains(strings.ToLower(ie.Text), "exist")) {
		return nil
	}
	return fmt.Errorf("creating folder %s: %w", name, err)
}

// idle runs IDLE until new mail is announced, IdleRestart passes (full is
// then true), the token needs renewing, or ctx ends.
func (s *session) idle(ctx context.Context) (full bool, err error) {
	// The IDLE ends by IdleRestart at the latest, and a full pass is due
	// IdleRestart after the last one even when new mail keeps waking us.
	restart := s.p.cfg.IdleRestart - s.p.Now().Sub(s.lastFull)
	if restart <= 0 {
		return true, nil
	}
	if s.p.tokens != nil {
		// Wake to renew the token ahead of expiry; a failing endpoint is
		// asked again every tokenRetry at most.
		restart = min(restart, max(s.p.tokens.RefreshIn(), tokenRetry))
	}
	cmd, err := s.c.Idle()
	if err != nil {
		return false, fmt.Errorf("idle: %w", err)
	}
	t := time.NewTimer(restart)
	defer t.Stop()
	select {
	case <-s.newMsg:
	case <-t.C:
		full = true
	case <-ctx.Done():
	case <-s.c.Closed():
	}
	if err := cmd.Close(); err != nil {
		return false, fmt.Errorf("ending idle: %w", err)
	}
	if err := cmd.Wait(); err != nil {
		return false, fmt.Errorf("idle: %w", err)
	}
	if full {
		s.refreshToken(ctx)
	}
	return full || s.p.Now().Sub(s.lastFull) >= s.p.cfg.IdleRestart, nil
}

// wait polls: NOOP every PollInterval until the server reports new messages
// or ctx ends. Each tick is a full pass.
func (s *session) wait(ctx context.Context) (full bool, err error) {
	t := time.NewTimer(s.p.cfg.PollInterval)
	defer t.Stop()
	select {
	case <-s.newMsg:
		return false, nil
	case <-ctx.Done():
		return false, nil
	case <-t.C:
	}
	s.refreshToken(ctx)
	if err := s.c.Noop().Wait(); err != nil {
		return false, fmt.Errorf("noop: %w", err)
	}
	return true, nil
}

// pass searches the mailbox (all undeleted mail when full, else only UIDs
// above those already seen in this session) and delivers what it finds.
func (s *session) pass(ctx context.Context, full bool) error {
	for {
		n, err := s.passOnce(ctx, full)
		if err != nil {
			return err
		}
		// Mail that arrived while this pass worked is picked up now, not
		// when the server next announces it: Dovecot, for one, may hold an
		// EXISTS back for up to half a second after IDLE begins.
		if n == 0 || ctx.Err() != nil {
			return nil
		}
		full = false
	}
}

// passOnce is one search and delivery; it returns how many UIDs it found.
func (s *session) passOnce(ctx context.Context, full bool) (int, error) {
	crit := &imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagDeleted}}
	if !full && s.maxSeen > 0 {
		var set imap.UIDSet
		set.AddRange(s.maxSeen+1, 0)
		crit.UID = []imap.UIDSet{set}
	}
	data, err := s.c.UIDSearch(crit, nil).Wait()
	if err != nil {
		return 0, fmt.Errorf("uid search: %w", err)
	}
	all, _ := data.All.(imap.UIDSet)
	found, ok := all.Nums()
	if !ok { // "*" in a search result: a server bug; AllUIDs would panic
		return 0, fmt.Errorf("uid search: dynamic result %v", all)
	}
	var uids []imap.UID
	for _, u := range found {
		if full || u > s.maxSeen {
			uids = append(uids, u)
		}
	}
	slices.Sort(uids)
	if n := len(uids); n > 0 {
		s.maxSeen = max(s.maxSeen, uids[n-1])
	}
	s.p.log.Debug("imap pass", "full", full, "uids", len(uids))
	if err := s.deliverAll(ctx, uids); err != nil {
		return 0, err
	}
	now := s.p.Now()
	if full {
		s.lastFull = now
	}
	s.p.setStatus(func(st *PollerStatus) { st.LastSync = now })
	return len(uids), nil
}

type fetchResult struct {
	msgs []Fetched
	err  error
}

var (
	bodySection   = &imap.FetchItemBodySection{Peek: true}
	headerSection = &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
)

// startFetch issues UID FETCH (UID BODY.PEEK[]) for uids and collects the
// answer in its own goroutine, so the next batch streams in while the current
// one is committed and moved. Messages whose size in sizes is over the limit
// only have their header fetched (BODY.PEEK[HEADER]), after the others.
func (s *session) startFetch(uids []imap.UID, sizes map[imap.UID]int64) <-chan fetchResult {
	ch := make(chan fetchResult, 1)
	limit := s.p.cfg.MaxMessageBytes
	var whole, over []imap.UID
	for _, u := range uids {
		if limit > 0 && sizes[u] > limit {
			over = append(over, u)
		} else {
			whole = append(whole, u)
		}
	}
	var cmd *imapclient.FetchCommand
	if len(whole) > 0 {
		cmd = s.c.Fetch(imap.UIDSetNum(whole...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{bodySection}})
	}
	go func() {
		var res fetchResult
		defer func() {
			if v := recover(); v != nil {
				s.c.Close()
				res = fetchResult{err: fmt.Errorf("panic reading fetch answer: %v", v)}
			}
			ch <- res
		}()
		if cmd != nil {
			res = s.collect(cmd, nil)
		}
		// The headers are fetched only now: the client's reader hands each
		// answer to its command and waits until it is read, so collecting
		// one command while a server such as Dovecot interleaves the
		// answers of another would hang.
		if len(over) > 0 && res.err == nil {
			h := s.collect(s.c.Fetch(imap.UIDSetNum(over...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{headerSection}}), sizes)
			res.msgs = append(res.msgs, h.msgs...)
			res.err = h.err
			slices.SortFunc(res.msgs, func(a, b Fetched) int { return cmp.Compare(a.UID, b.UID) })
		}
	}()
	return ch
}

// fetchSizes asks for the sizes of uids (UID FETCH RFC822.SIZE).
func (s *session) fetchSizes(uids []imap.UID) (map[imap.UID]int64, error) {
	cmd := s.c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, RFC822Size: true})
	sizes := make(map[imap.UID]int64, len(uids))
	for {
		m := cmd.Next()
		if m == nil {
			break
		}
		buf, err := m.Collect()
		if err != nil {
			s.c.Close()
			return nil, fmt.Errorf("reading message sizes: %w", err)
		}
		if buf.UID != 0 {
			sizes[buf.UID] = buf.RFC822Size
		}
	}
	if err := cmd.Close(); err != nil {
		return nil, fmt.Errorf("fetching message sizes: %w", err)
	}
	return sizes, nil
}

// batchUIDs cuts uids into batches of at most n messages and at most
// maxBytes bytes of messages fetched whole, by sizes; a message larger
// than maxBytes is a batch of its own. Messages over limit (only their
// header is fetched) and of unknown size count as nothing.
func batchUIDs(uids []imap.UID, sizes map[imap.UID]int64, n int, maxBytes, limit int64) [][]imap.UID {
	var out [][]imap.UID
	var cur []imap.UID
	var bytes int64
	for _, u := range uids {
		size := sizes[u]
		if limit > 0 && size > limit {
			size = 0
		}
		if len(cur) > 0 && (len(cur) >= n || maxBytes > 0 && bytes+size > maxBytes) {
			out = append(out, cur)
			cur, bytes = nil, 0
		}
		cur = append(cur, u)
		bytes += size
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// collect reads a FETCH answer item by item rather than with go-imap's
// Collect: after a literal fails to read (the connection broke mid-body),
// Collect's cleanup reads the literal again while the decoder goroutine reads
// the same connection, and a body cut short reads as a clean EOF. Here a
// short or failed literal ends everything: the client is closed, and neither
// the message nor the command is touched again.
//
// sizes, when not nil, are the sizes of messages of which only the header
// was fetched: they are marked Oversize. A literal over the size limit is
// never held either: its header part is kept and the rest read past.
func (s *session) collect(cmd *imapclient.FetchCommand, sizes map[imap.UID]int64) fetchResult {
	var res fetchResult
	limit := s.p.cfg.MaxMessageBytes
	for {
		m := cmd.Next()
		if m == nil {
			break
		}
		var uid imap.UID
		var raw []byte
		var oversize int64
		for {
			item := m.Next()
			if item == nil {
				break
			}
			switch item := item.(type) {
			case imapclient.FetchItemDataUID:
				uid = item.UID
			case imapclient.FetchItemDataBodySection:
				if item.Literal == nil {
					continue
				}
				b, over, err := readLiteral(item.Literal, limit)
				if err != nil {
					s.c.Close()
					res.err = fmt.Errorf("reading message body of uid %d: %w", uid, err)
					return res
				}
				raw, oversize = b, over
				if sizes != nil {
					raw, oversize = mailmsg.HeaderPart(b), max(sizes[uid], over)
				}
				if sizes != nil && oversize == 0 {
					// A header the server sent for a message not asked
					// for: taking it for the whole message would lose mail.
					raw = nil
				}
			}
		}
		if uid == 0 || raw == nil {
			continue
		}
		res.msgs = append(res.msgs, Fetched{UID: uint32(uid), Raw: raw, Oversize: oversize})
	}
	res.err = cmd.Close()
	return res
}

// readLiteral reads a message literal into one buffer of its size. One
// over limit (when limit > 0) is read past: only its header part is kept,
// and its size is returned as oversize. A literal cut short (the
// connection ended inside it, which the reader reports as a clean EOF) is
// an error.
func readLiteral(lit imap.LiteralReader, limit int64) (raw []byte, oversize int64, err error) {
	size := lit.Size()
	var n int64
	switch {
	case limit > 0 && size > limit:
		raw, n, err = mailmsg.ReadPast(lit, nil)
		oversize = n
	case limit > 0:
		raw = make([]byte, size)
		var k int
		k, err = io.ReadFull(lit, raw)
		n = int64(k)
		if err == io.EOF {
			err = nil
		}
	default:
		raw, err = io.ReadAll(lit)
		n = int64(len(raw))
	}
	if err == nil && n != size || err == io.ErrUnexpectedEOF {
		err = fmt.Errorf("got %d of %d bytes: %w", n, size, io.ErrUnexpectedEOF)
	}
	return raw, oversize, err
}

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
	batches := batchUIDs(uids, sizes, s.p.cfg.BatchSize, s.p.cfg.BatchBytes, s.p.cfg.MaxMessageBytes)

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
			res.msgs = s.fetchSingly(batch, sizes)
		}
		s.p.log.Debug("imap batch fetched", "uids", len(batch), "fetched", len(res.msgs))
		sets, err := s.commit(ctx, res.msgs)
		if err != nil {
			// Still move what earlier batches committed.
			pending = append(pending, s.issue(acc)...)
			return errors.Join(err, waitPending())
		}
		acc.add(sets)
		last := i+1 == len(batches) || ctx.Err() != nil
		if last || acc.len() >= s.p.cfg.MoveBatchSize {
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

// fetchSingly fetches uids one UID FETCH at a time, skipping (and logging)
// those the server refuses.
func (s *session) fetchSingly(uids []imap.UID, sizes map[imap.UID]int64) []Fetched {
	var out []Fetched
	for _, u := range uids {
		res := <-s.startFetch([]imap.UID{u}, sizes)
		if res.err != nil {
			s.p.log.Error("cannot fetch message; left in place", "uid", u, "err", res.err)
			continue
		}
		out = append(out, res.msgs...)
	}
	return out
}

// commit hands msgs to the Sink and issues the moves for their dispositions.
// When the batch as a whole fails, each message is delivered alone so that
// one message the Sink cannot take does not hold back the others; if none
// can be delivered the error is returned and the session restarts.
func (s *session) commit(ctx context.Context, msgs []Fetched) (moveSets, error) {
	if len(msgs) == 0 {
		return moveSets{}, nil
	}
	dctx := context.WithoutCancel(ctx) // the batch in hand is finished even on shutdown
	disp, err := s.deliver(dctx, msgs)
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
	last := s.lastUID
	for _, m := range msgs {
		last = max(last, m.UID)
	}
	cur := kp.Cursor{Mailbox: s.p.cfg.Mailbox, UIDValidity: s.uidValidity, LastUID: last}
	disp, err := s.p.sink.Deliver(ctx, cur, msgs)
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
