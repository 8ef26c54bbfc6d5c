package imapintake

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"kontaktpunkt/mailbox/oauthsasl"
)

// One IMAP session: connecting (TLS, STARTTLS or plain to a loopback
// address), LOGIN or AUTHENTICATE with an OAuth2 token, and IDLE or
// polling between passes.

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
