// Package smtpclient submits mail to the relay over SMTP. Sender keeps one
// connection to the relay and reuses it for every message; the raw bytes
// from the outbox go out unchanged (only SMTP's own dot-stuffing is
// applied), so the Message-ID fixed at queue time is the one that arrives.
//
// Every error Send returns is classified as temporary or permanent, and the
// outbox's retry loop looks only at that (IsTemporary):
//
//   - no answer, broken connection, timeout, 4xx: temporary;
//   - 5xx to MAIL FROM, RCPT TO or DATA: permanent;
//   - anything unrecognised: temporary (retrying is the safe default);
//   - failures while setting up the session (connect, greeting, EHLO,
//     STARTTLS, AUTH) are temporary whatever their code: they say nothing
//     about the message, and an operator who fixes a password must find the
//     outbox still queued, not every message marked failed.
//
// go-mail types never leave this package.
package smtpclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/textproto"
	"os"
	"strings"
	"time"

	"github.com/wneessen/go-mail/smtp"

	"kontaktpunkt/mailbox/mailmsg"
	"kontaktpunkt/mailbox/oauthsasl"
)

// SMTPConfig says how to reach the relay.
type SMTPConfig struct {
	// Addr is host:port of the relay.
	Addr string
	// Security is "tls" (implicit TLS, port 465), "starttls" (required, not
	// opportunistic) or "plain" (only sensible to a loopback relay).
	Security string
	// Username and Password enable AUTH PLAIN (or LOGIN when the relay
	// offers only that). Credentials are sent only over TLS, or in clear to
	// a loopback address.
	Username, Password string
	// OAuth2, instead of Password, authenticates Username with XOAUTH2 or
	// OAUTHBEARER and an access token (Microsoft 365, Google).
	OAuth2 *oauthsasl.OAuth2Config
	// HeloName is the name in EHLO; default the host name.
	HeloName string
	// TLSConfig is used for "tls" and "starttls"; default verifies the
	// relay's certificate for the host part of Addr.
	TLSConfig *tls.Config
	// Timeout bounds connecting and each SMTP exchange; default 1 minute.
	Timeout time.Duration
}

// Security values of SMTPConfig.
const (
	SecurityTLS      = "tls"
	SecuritySTARTTLS = "starttls"
	SecurityPlain    = "plain"
)

// idleCheck is how long a connection may sit unused before Send checks it
// with NOOP: relays drop idle clients after a while (Postfix: 300 s), and
// NOOP is cheaper than a failed MAIL FROM.
const idleCheck = 30 * time.Second

// ErrNoRecipients is returned (permanent) by Send without recipients.
var ErrNoRecipients = errors.New("mailbox: no recipients")

// SendError is one classified delivery failure. For a refused recipient
// Rcpt names it; otherwise the whole message failed.
type SendError struct {
	// Temporary says whether trying again later can succeed.
	Temporary bool
	// Code is the SMTP reply code, or 0 when there was no reply (network).
	Code int
	// Rcpt is the refused recipient, or "" when the failure concerns the
	// whole message.
	Rcpt string
	// Err is the underlying error.
	Err error
}

func (e *SendError) Error() string {
	kind := "permanent"
	if e.Temporary {
		kind = "temporary"
	}
	if e.Rcpt != "" {
		return fmt.Sprintf("%s failure for %s: %v", kind, e.Rcpt, e.Err)
	}
	return fmt.Sprintf("%s failure: %v", kind, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// RecipientErrors is returned when the relay refused some recipients at
// RCPT TO. Accepted lists the recipients the message was delivered to
// (empty if the relay refused them all, in which case nothing was sent).
// The caller retries only the Failed recipients whose SendError is
// Temporary and reports the others; it must not resend to Accepted.
// errors.As(err, &*SendError) finds the first failure.
type RecipientErrors struct {
	Accepted []string
	Failed   []*SendError
}

func (e *RecipientErrors) Error() string {
	if len(e.Failed) == 1 && len(e.Accepted) == 0 {
		return e.Failed[0].Error()
	}
	parts := make([]string, len(e.Failed))
	for i, f := range e.Failed {
		parts[i] = f.Error()
	}
	return fmt.Sprintf("%d of %d recipients refused: %s", len(e.Failed),
		len(e.Failed)+len(e.Accepted), strings.Join(parts, "; "))
}

// Unwrap returns every *SendError.
func (e *RecipientErrors) Unwrap() []error {
	out := make([]error, len(e.Failed))
	for i, f := range e.Failed {
		out[i] = f
	}
	return out
}

// Temporary returns the refused recipients that may be retried.
func (e *RecipientErrors) Temporary() []string { return e.pick(true) }

// Permanent returns the refused recipients that must not be retried.
func (e *RecipientErrors) Permanent() []string { return e.pick(false) }

func (e *RecipientErrors) pick(temp bool) []string {
	var out []string
	for _, f := range e.Failed {
		if f.Temporary == temp {
			out = append(out, f.Rcpt)
		}
	}
	return out
}

// IsTemporary reports whether err may go away if the send is tried again:
// true for network errors, 4xx replies and anything unrecognised; false for
// 5xx replies and bad input. For *RecipientErrors it is true if any refused
// recipient may still be retried.
func IsTemporary(err error) bool {
	if err == nil {
		return false
	}
	var re *RecipientErrors
	if errors.As(err, &re) {
		return len(re.Temporary()) > 0
	}
	var se *SendError
	if errors.As(err, &se) {
		return se.Temporary
	}
	if errors.Is(err, mailmsg.ErrCompose) || errors.Is(err, ErrNoRecipients) {
		return false
	}
	if code := replyCode(err); code != 0 {
		return code < 500 || code >= 600
	}
	return true
}

// Sender sends raw messages over one reused SMTP connection, reconnecting
// when it breaks. It is not safe for concurrent use: one goroutine (the
// outbox loop) owns it, and calls Close when done.
type Sender struct {
	// Now is the clock that decides when an idle connection is checked;
	// default time.Now.
	Now func() time.Time

	cfg    SMTPConfig
	log    *slog.Logger
	host   string
	port   string
	tokens *oauthsasl.TokenSource // with cfg.OAuth2

	c        *smtp.Client
	conn     net.Conn // the TCP connection under c, for deadlines
	lastUsed time.Time
	dirty    bool // the last transaction did not finish: RSET first
}

// NewSender returns a Sender; it connects on the first Send.
func NewSender(cfg SMTPConfig, log *slog.Logger) *Sender {
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Minute
	}
	if cfg.Security == "" {
		cfg.Security = SecuritySTARTTLS
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		host = cfg.Addr
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Sender{Now: time.Now, cfg: cfg, log: log, host: host, port: port}
	if cfg.OAuth2 != nil {
		s.tokens = oauthsasl.NewTokenSource(*cfg.OAuth2, nil)
	}
	return s
}

// NewSenders returns n Senders (at least one) to the same relay, for
// sending over n connections at once, each Sender from a goroutine of its
// own. With OAuth2 they share one token source, so an access token is
// fetched once for all of them.
func NewSenders(cfg SMTPConfig, n int, log *slog.Logger) []*Sender {
	out := make([]*Sender, max(n, 1))
	for i := range out {
		out[i] = NewSender(cfg, log)
		if i > 0 {
			out[i].tokens = out[0].tokens
		}
	}
	return out
}

// Send delivers raw from the envelope sender from ("" for the null sender
// of bounces) to the envelope recipients to. raw goes out as it is in DATA;
// it should use CRLF line endings (Compose does). The error is nil, a
// *SendError, or a *RecipientErrors; classify it with IsTemporary.
//
// A reused connection that turns out to be dead before the message was
// handed over is replaced once, transparently. A failure after the final
// "." is temporary and the relay may still have delivered the message:
// retrying may then duplicate it, which is better than losing it.
func (s *Sender) Send(ctx context.Context, from string, to []string, raw []byte) error {
	if len(to) == 0 {
		return &SendError{Err: ErrNoRecipients}
	}
	const forbidden = "\r\n<> \t"
	if strings.ContainsAny(from, forbidden) {
		return &SendError{Err: fmt.Errorf("mailbox: malformed envelope sender %q", from)}
	}
	for _, a := range to {
		if a == "" || strings.ContainsAny(a, forbidden) {
			return &SendError{Rcpt: a, Err: fmt.Errorf("mailbox: malformed envelope recipient %q", a)}
		}
	}
	if err := ctx.Err(); err != nil {
		return &SendError{Temporary: true, Err: fmt.Errorf("sending: %w", err)}
	}

	reused, err := s.ready(ctx)
	if err != nil {
		return err
	}
	err = s.transaction(ctx, from, to, raw)
	var fe *freshError
	if reused && errors.As(err, &fe) && ctx.Err() == nil {
		// The relay closed the idle connection (or sent 421) before taking
		// anything: that is not a failure of this message.
		s.log.Debug("smtp connection went stale, reconnecting", "addr", s.cfg.Addr, "error", fe.err)
		s.drop()
		if _, err = s.ready(ctx); err != nil {
			return err
		}
		err = s.transaction(ctx, from, to, raw)
	}
	if errors.As(err, &fe) {
		err = fe.err
	}
	return err
}

// Close ends the session with QUIT and closes the connection.
func (s *Sender) Close() error {
	if s.c == nil {
		return nil
	}
	_ = s.conn.SetDeadline(time.Now().Add(s.cfg.Timeout))
	err := s.c.Quit()
	s.drop()
	if err != nil {
		return fmt.Errorf("smtp quit: %w", err)
	}
	return nil
}

// freshError marks a failure of the first command on a connection, before
// the relay took any part of the message; Send may retry it on a new
// connection.
type freshError struct{ err error }

func (e *freshError) Error() string { return e.err.Error() }

// ready makes sure there is a usable connection and reports whether it is
// one that was used before.
func (s *Sender) ready(ctx context.Context) (reused bool, err error) {
	if s.c != nil && s.Now().Sub(s.lastUsed) > idleCheck {
		stop := s.guard(ctx)
		err := s.c.Noop()
		stop()
		if err != nil {
			s.log.Debug("smtp connection failed NOOP, reconnecting", "addr", s.cfg.Addr, "error", err)
			s.drop()
		}
	}
	if s.c != nil {
		return true, nil
	}
	if err := s.connect(ctx); err != nil {
		s.drop()
		return false, &SendError{Temporary: true, Code: replyCode(err), Err: fmt.Errorf("connecting to %s: %w", s.cfg.Addr, err)}
	}
	return false, nil
}

func (s *Sender) connect(ctx context.Context) error {
	if s.cfg.Username != "" && s.cfg.Security == SecurityPlain && !isLoopback(s.host) {
		return fmt.Errorf("refusing to send credentials in clear to %s: use tls or starttls", s.host)
	}
	switch s.cfg.Security {
	case SecurityTLS, SecuritySTARTTLS, SecurityPlain:
	default:
		return fmt.Errorf("unknown security %q (want tls, starttls or plain)", s.cfg.Security)
	}
	dctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	d := net.Dialer{}
	conn, err := d.DialContext(dctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	s.conn = conn
	stop := s.guard(ctx)
	defer stop()
	var wire net.Conn = conn
	if s.cfg.Security == SecurityTLS {
		tc := tls.Client(conn, s.tlsConfig())
		if err := tc.HandshakeContext(dctx); err != nil {
			_ = conn.Close()
			return fmt.Errorf("tls handshake: %w", err)
		}
		wire = tc
	}
	c, err := smtp.NewClient(wire, s.host)
	if err != nil {
		_ = wire.Close()
		return fmt.Errorf("greeting: %w", err)
	}
	s.c = c
	if err := c.Hello(s.heloName()); err != nil {
		return fmt.Errorf("ehlo: %w", err)
	}
	if s.cfg.Security == SecuritySTARTTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("relay does not offer STARTTLS (security: starttls)")
		}
		if err := c.StartTLS(s.tlsConfig()); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	}
	if s.cfg.Username != "" {
		if err := s.auth(ctx); err != nil {
			return err
		}
	}
	s.lastUsed = s.Now()
	s.dirty = false
	s.log.Debug("smtp connected", "addr", s.cfg.Addr, "security", s.cfg.Security)
	return nil
}

func (s *Sender) auth(ctx context.Context) error {
	ok, mechs := s.c.Extension("AUTH")
	if !ok {
		return errors.New("relay offers no AUTH, but a username is configured")
	}
	if s.cfg.OAuth2 != nil {
		return s.authOAuth2(ctx, strings.Fields(strings.ToUpper(mechs)))
	}
	// The TLS check is ours (Security), not go-mail's: it knows only the
	// literal names "localhost", "127.0.0.1" and "::1".
	allowClear := isLoopback(s.host)
	var a smtp.Auth
	switch fields := strings.Fields(strings.ToUpper(mechs)); {
	case contains(fields, "PLAIN"):
		a = smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.host, allowClear)
	case contains(fields, "LOGIN"):
		a = smtp.LoginAuth(s.cfg.Username, s.cfg.Password, s.host, allowClear)
	default:
		return fmt.Errorf("relay offers AUTH %q, neither PLAIN nor LOGIN", mechs)
	}
	if err := s.c.Auth(a); err != nil {
		return fmt.Errorf("auth as %s: %w", s.cfg.Username, err)
	}
	return nil
}

// transaction runs RSET (if needed), MAIL, RCPT and DATA on the current
// connection. A dead connection found by its first command is reported
// as *freshError.
func (s *Sender) transaction(ctx context.Context, from string, to []string, raw []byte) error {
	// Allow for slow links on big messages: 100 kB/s beyond the timeout.
	stop := s.guardFor(ctx, s.cfg.Timeout+time.Duration(len(raw)/100_000)*time.Second)
	defer stop()
	fail := func(stage string, err error) error {
		code := replyCode(err)
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
			code = 0
		}
		if code == 0 || code == 421 {
			// no reply or "closing": the connection is gone
			s.drop()
		} else {
			s.dirty = true
		}
		return &SendError{Temporary: code < 500 || code >= 600, Code: code, Err: fmt.Errorf("%s: %w", stage, err)}
	}

	// A dead connection shows on the first command; nothing of the message
	// has been handed over yet, so Send may retry on a new connection.
	first := func(stage string, err error) error {
		e := fail(stage, err)
		if isConnGone(err) {
			return &freshError{e}
		}
		return e
	}
	if s.dirty {
		if err := s.c.Reset(); err != nil {
			return first("RSET", err)
		}
		s.dirty = false
	}
	s.dirty = true // until DATA completes
	if w, err := mailmsg.WireAddr(from); err == nil {
		from = w
	}
	if err := s.c.Mail("<" + from + ">"); err != nil {
		return first("MAIL FROM", err)
	}
	var accepted []string
	var refused []*SendError
	for _, rcpt := range to {
		wire, err := mailmsg.WireAddr(rcpt)
		if err != nil {
			refused = append(refused, &SendError{Code: 553, Rcpt: rcpt, Err: fmt.Errorf("RCPT TO: %w", err)})
			continue
		}
		if err := s.c.Rcpt("<" + wire + ">"); err != nil {
			code := replyCode(err)
			if code == 0 || code == 421 || ctx.Err() != nil {
				return fail("RCPT TO", err)
			}
			refused = append(refused, &SendError{Temporary: code < 500, Code: code, Rcpt: rcpt,
				Err: fmt.Errorf("RCPT TO: %w", err)})
			continue
		}
		accepted = append(accepted, rcpt)
	}
	if len(accepted) == 0 {
		if err := s.c.Reset(); err != nil {
			s.drop()
		} else {
			s.dirty = false
		}
		return &RecipientErrors{Failed: refused}
	}
	w, err := s.c.Data()
	if err != nil {
		return fail("DATA", err)
	}
	if _, err := w.Write(raw); err != nil {
		_ = w.Close()
		return fail("DATA", err)
	}
	if err := w.Close(); err != nil {
		return fail("end of DATA", err)
	}
	s.dirty = false
	s.lastUsed = s.Now()
	if len(refused) > 0 {
		return &RecipientErrors{Accepted: accepted, Failed: refused}
	}
	return nil
}

// guard bounds the exchange that follows by the timeout and ctx: a past
// deadline unblocks any read or write, and the connection is then dropped
// by the caller's error path.
func (s *Sender) guard(ctx context.Context) (stop func()) { return s.guardFor(ctx, s.cfg.Timeout) }

func (s *Sender) guardFor(ctx context.Context, d time.Duration) (stop func()) {
	deadline := time.Now().Add(d)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn := s.conn
	_ = conn.SetDeadline(deadline)
	unregister := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	return func() { unregister() }
}

// drop closes the connection without QUIT.
func (s *Sender) drop() {
	if s.c != nil {
		_ = s.c.Close()
	} else if s.conn != nil {
		_ = s.conn.Close()
	}
	s.c, s.conn, s.dirty = nil, nil, false
}

func (s *Sender) tlsConfig() *tls.Config {
	if s.cfg.TLSConfig != nil {
		c := s.cfg.TLSConfig.Clone()
		if c.ServerName == "" {
			c.ServerName = s.host
		}
		return c
	}
	return &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
}

func (s *Sender) heloName() string {
	if s.cfg.HeloName != "" {
		return s.cfg.HeloName
	}
	if h, err := os.Hostname(); err == nil && h != "" && !strings.ContainsAny(h, "\r\n ") {
		return h
	}
	return "localhost"
}

// replyCode returns the SMTP reply code in err, or 0 if there is none.
func replyCode(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	var se *SendError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// isConnGone reports whether err means the connection no longer works.
func isConnGone(err error) bool {
	code := replyCode(err)
	return code == 0 || code == 421
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
