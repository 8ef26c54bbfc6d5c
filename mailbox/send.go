package mailbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/textproto"
	"strings"
	"time"

	gmsmtp "github.com/wneessen/go-mail/smtp"
)

// SMTPConfig says how to reach the outbound relay.
type SMTPConfig struct {
	Addr     string // host:port
	Security string // "tls" (implicit), "starttls" or "plain" (no TLS; loopback only for AUTH)
	Username string
	Password string
	HeloName string
	// TLSConfig carries RootCAs, ServerName and InsecureSkipVerify.
	TLSConfig *tls.Config
	Timeout   time.Duration
}

// SendError is a failed delivery attempt. Temporary errors (network
// trouble, 4xx replies) are worth retrying; permanent ones (5xx) are not.
// Rcpt names the refused recipient when the failure was one RCPT.
type SendError struct {
	Temporary bool
	Code      int
	Rcpt      string
	Err       error
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

// IsTemporary reports whether err may succeed on a later attempt. Unknown
// errors count as temporary: retrying is safer than dropping mail.
func IsTemporary(err error) bool {
	var se *SendError
	if errors.As(err, &se) {
		return se.Temporary
	}
	return err != nil
}

// Sender sends raw messages through one SMTP connection that it keeps open
// between messages (RSET in between) and re-dials when it breaks. It is
// used by one goroutine at a time (the outbox worker).
type Sender struct {
	cfg  SMTPConfig
	log  *slog.Logger
	c    *gmsmtp.Client
	used time.Time
}

// NewSender returns a Sender; it connects on the first Send.
func NewSender(cfg SMTPConfig, log *slog.Logger) *Sender {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.HeloName == "" {
		cfg.HeloName = "localhost"
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sender{cfg: cfg, log: log}
}

// idleCheck is how long a connection may sit unused before Send checks it
// with NOOP before trusting it.
const idleCheck = 30 * time.Second

// Send delivers raw, as is, from the envelope sender to the recipients.
// If some recipients are refused and others accepted, the message goes to
// the accepted ones and the error names the first refused recipient.
func (s *Sender) Send(ctx context.Context, from string, to []string, raw []byte) error {
	if err := ctx.Err(); err != nil {
		return &SendError{Temporary: true, Err: err}
	}
	for attempt := 0; ; attempt++ {
		err := s.send(ctx, from, to, raw)
		if err == nil {
			return nil
		}
		var se *SendError
		if errors.As(err, &se) && se.Code != 0 {
			// The server answered: the connection is fine unless it said 421.
			if se.Code == 421 {
				s.drop()
			}
			return err
		}
		// A broken connection (e.g. closed by the server while idle): one
		// fresh try before reporting a temporary failure.
		s.drop()
		if attempt >= 1 || ctx.Err() != nil {
			return err
		}
	}
}

func (s *Sender) send(ctx context.Context, from string, to []string, raw []byte) error {
	c, err := s.conn(ctx)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(s.cfg.Timeout + time.Duration(len(raw)/10000)*time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := c.UpdateDeadline(time.Until(deadline)); err != nil {
		return &SendError{Temporary: true, Err: err}
	}
	if err := c.Mail(from); err != nil {
		return classify(err, "")
	}
	var refused *SendError
	accepted := 0
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			se := classify(err, r)
			if se.Code == 0 { // connection trouble
				return se
			}
			if refused == nil || (refused.Temporary && !se.Temporary) {
				refused = se
			}
			continue
		}
		accepted++
	}
	if accepted == 0 {
		_ = c.Reset()
		if refused == nil {
			refused = &SendError{Err: errors.New("no recipients")}
		}
		return refused
	}
	w, err := c.Data()
	if err != nil {
		return classify(err, "")
	}
	if _, err := w.Write(raw); err != nil {
		return &SendError{Temporary: true, Err: err}
	}
	if err := w.Close(); err != nil {
		return classify(err, "")
	}
	s.used = time.Now()
	if err := c.Reset(); err != nil {
		s.drop()
	}
	if refused != nil {
		return refused
	}
	return nil
}

// conn returns the open connection, dialling when there is none.
func (s *Sender) conn(ctx context.Context) (*gmsmtp.Client, error) {
	if s.c != nil && time.Since(s.used) > idleCheck {
		if err := s.c.Noop(); err != nil {
			s.drop()
		}
	}
	if s.c != nil {
		return s.c, nil
	}
	host, _, err := net.SplitHostPort(s.cfg.Addr)
	if err != nil {
		return nil, &SendError{Err: fmt.Errorf("smtp address %q: %w", s.cfg.Addr, err)}
	}
	d := &net.Dialer{Timeout: s.cfg.Timeout}
	var nc net.Conn
	if s.cfg.Security == "tls" {
		td := &tls.Dialer{NetDialer: d, Config: s.tlsConfig(host)}
		nc, err = td.DialContext(ctx, "tcp", s.cfg.Addr)
	} else {
		nc, err = d.DialContext(ctx, "tcp", s.cfg.Addr)
	}
	if err != nil {
		return nil, &SendError{Temporary: true, Err: fmt.Errorf("connecting to %s: %w", s.cfg.Addr, err)}
	}
	_ = nc.SetDeadline(time.Now().Add(s.cfg.Timeout))
	c, err := gmsmtp.NewClient(nc, host)
	if err != nil {
		nc.Close()
		return nil, classify(err, "")
	}
	fail := func(err error) (*gmsmtp.Client, error) {
		c.Close()
		return nil, err
	}
	if err := c.Hello(s.cfg.HeloName); err != nil {
		return fail(classify(err, ""))
	}
	if s.cfg.Security == "starttls" {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fail(&SendError{Err: fmt.Errorf("%s does not offer STARTTLS", s.cfg.Addr)})
		}
		if err := c.StartTLS(s.tlsConfig(host)); err != nil {
			return fail(&SendError{Temporary: true, Err: fmt.Errorf("STARTTLS: %w", err)})
		}
	}
	if s.cfg.Username != "" {
		_, isTLS := c.TLSConnectionState()
		loopback := isLoopbackHost(host)
		if !isTLS && !loopback {
			return fail(&SendError{Err: errors.New("refusing to send the SMTP password without TLS")})
		}
		var auth gmsmtp.Auth
		if ok, mechs := c.Extension("AUTH"); ok && !strings.Contains(strings.ToUpper(mechs), "PLAIN") && strings.Contains(strings.ToUpper(mechs), "LOGIN") {
			auth = gmsmtp.LoginAuth(s.cfg.Username, s.cfg.Password, host, loopback)
		} else {
			auth = gmsmtp.PlainAuth("", s.cfg.Username, s.cfg.Password, host, loopback)
		}
		if err := c.Auth(auth); err != nil {
			return fail(classify(err, ""))
		}
	}
	s.c, s.used = c, time.Now()
	s.log.Debug("smtp connected", "addr", s.cfg.Addr)
	return c, nil
}

func (s *Sender) tlsConfig(host string) *tls.Config {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.cfg.TLSConfig != nil {
		tc = s.cfg.TLSConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	return tc
}

// drop closes the connection without ceremony.
func (s *Sender) drop() {
	if s.c != nil {
		s.c.Close()
		s.c = nil
	}
}

// Close ends the session politely.
func (s *Sender) Close() error {
	if s.c == nil {
		return nil
	}
	err := s.c.Quit()
	s.drop()
	return err
}

// classify turns an SMTP client error into a SendError: a reply code
// decides (4xx temporary, 5xx permanent); anything else is connection
// trouble and temporary.
func classify(err error, rcpt string) *SendError {
	var se *SendError
	if errors.As(err, &se) {
		return se
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return &SendError{Temporary: te.Code < 500, Code: te.Code, Rcpt: rcpt, Err: err}
	}
	return &SendError{Temporary: true, Rcpt: rcpt, Err: err}
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
