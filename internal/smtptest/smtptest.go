// Package smtptest runs a recording SMTP server (go-smtp) on 127.0.0.1:0 for
// tests of everything that sends mail.
//
// Invariants:
//   - Every accepted message is recorded with its envelope and the DATA
//     bytes exactly as received (dot-unstuffed, CRLF line endings).
//   - Failures are injected, never random: FailTemp answers the next n
//     transactions with 451 at MAIL FROM, FailPermFor answers 550 to one
//     recipient until cleared.
//   - Down closes the listener and every open connection; Up listens again
//     on the same address. The kernel lets a closed listening port be
//     re-bound (Go sets SO_REUSEADDR), but another process could take the
//     port in between: Up then fails the test with a clear message.
//   - Waiting is by notification (WaitFor), never by polling or sleeping.
//   - The server stops when the test ends (t.Cleanup).
package smtptest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one message the server accepted.
type Message struct {
	// From is the envelope sender (MAIL FROM), without angle brackets.
	From string
	// To are the accepted envelope recipients, in RCPT order.
	To []string
	// Data is the message as received after DATA.
	Data []byte
	// TLS reports whether the transaction ran over TLS.
	TLS bool
	// User is the authenticated user name, or "".
	User string
}

// Option configures Start.
type Option func(*config)

type config struct {
	user, pass  string
	oauthToken  string // with user: only XOAUTH2 and OAUTHBEARER
	startTLS    bool
	implicitTLS bool
}

// WithAuth requires AUTH PLAIN or LOGIN as user with pass before MAIL FROM.
// Without TLS the server offers AUTH in clear (the client decides whether it
// may use it); with TLS it offers AUTH only after the handshake.
func WithAuth(user, pass string) Option {
	return func(c *config) { c.user, c.pass = user, pass }
}

// WithOAuth2 requires AUTH XOAUTH2 or OAUTHBEARER as user with the access
// token before MAIL FROM, and offers no other mechanism, like a Microsoft
// 365 tenant with basic authentication switched off. A refused XOAUTH2
// gets Google's JSON error challenge first, then 535.
func WithOAuth2(user, token string) Option {
	return func(c *config) { c.user, c.oauthToken = user, token }
}

// WithSTARTTLS offers STARTTLS with a self-signed certificate; see
// Server.ClientTLSConfig.
func WithSTARTTLS() Option { return func(c *config) { c.startTLS = true } }

// WithImplicitTLS serves TLS from the first byte (as on port 465) with a
// self-signed certificate; see Server.ClientTLSConfig.
func WithImplicitTLS() Option { return func(c *config) { c.implicitTLS = true } }

// Server is a running recording SMTP server.
type Server struct {
	// Addr is host:port of the listener; it stays the same across Down/Up.
	Addr string

	t        testing.TB
	cfg      config
	tlsConf  *tls.Config
	certPool *x509.CertPool

	mu       sync.Mutex
	srv      *smtp.Server // nil while down
	served   chan struct{}
	ln       net.Listener
	msgs     []Message
	changed  chan struct{} // closed and replaced whenever msgs grows
	failTemp int
	permFail map[string]bool
	held     map[string]chan struct{} // DATA to these recipients waits for the channel's close
	conns    int
	open     map[net.Conn]struct{} // accepted and not yet closed
	finished bool                  // the test is over: no more t.Logf
}

// Start starts a server on 127.0.0.1:0 and stops it when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{t: t, changed: make(chan struct{}), permFail: map[string]bool{}, held: map[string]chan struct{}{}, open: map[net.Conn]struct{}{}}
	for _, o := range opts {
		o(&s.cfg)
	}
	if s.cfg.startTLS || s.cfg.implicitTLS {
		conf, pool, err := selfSigned()
		if err != nil {
			t.Fatalf("smtptest: making a certificate: %v", err)
		}
		s.tlsConf, s.certPool = conf, pool
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listening: %v", err)
	}
	s.Addr = l.Addr().String()
	s.serve(l)
	t.Cleanup(func() {
		s.mu.Lock()
		s.finished = true
		s.mu.Unlock()
		s.Down()
	})
	return s
}

// serve starts a fresh go-smtp server on l; a go-smtp server cannot be
// restarted after Close, so Up makes a new one.
func (s *Server) serve(l net.Listener) {
	srv := smtp.NewServer(backend{s})
	srv.Domain = "smtptest.localhost"
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.MaxMessageBytes = 32 << 20
	srv.MaxRecipients = 1000
	srv.ErrorLog = testLogger{s}
	if s.tlsConf != nil && s.cfg.startTLS {
		srv.TLSConfig = s.tlsConf
	}
	srv.AllowInsecureAuth = s.tlsConf == nil
	l = countingListener{Listener: l, s: s}
	if s.cfg.implicitTLS {
		l = tls.NewListener(l, s.tlsConf)
	}
	served := make(chan struct{})
	s.mu.Lock()
	s.srv, s.served, s.ln = srv, served, l
	s.mu.Unlock()
	go func() {
		defer close(served)
		_ = srv.Serve(l)
	}()
}

// Down closes the listener and every open connection, as a crashed or
// restarted relay would. Clients then see refused connections.
func (s *Server) Down() {
	s.mu.Lock()
	srv, served, ln := s.srv, s.served, s.ln
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	_ = srv.Close()
	// Serve may not have registered the listener with srv yet, in which
	// case srv.Close does not close it: close it here too.
	_ = ln.Close()
	<-served
	// go-smtp tracks a connection only once its goroutine runs, so
	// srv.Close can miss one just accepted: close what we handed out.
	s.mu.Lock()
	open := make([]net.Conn, 0, len(s.open))
	for c := range s.open {
		open = append(open, c)
	}
	s.mu.Unlock()
	for _, c := range open {
		_ = c.Close()
	}
}

// Up listens again on the same address after Down. It fails the test if the
// port cannot be re-bound (another process took it meanwhile).
func (s *Server) Up() {
	s.t.Helper()
	s.mu.Lock()
	up := s.srv != nil
	s.mu.Unlock()
	if up {
		return
	}
	l, err := net.Listen("tcp", s.Addr)
	if err != nil {
		s.t.Fatalf("smtptest: re-binding %s after Down: %v", s.Addr, err)
	}
	s.serve(l)
}

// FailTemp makes the next n transactions fail with 451 at MAIL FROM.
func (s *Server) FailTemp(n int) {
	s.mu.Lock()
	s.failTemp = n
	s.mu.Unlock()
}

// FailPermFor makes RCPT TO rcpt (case-insensitive) fail with 550 until
// ClearFailures.
func (s *Server) FailPermFor(rcpt string) {
	s.mu.Lock()
	s.permFail[strings.ToLower(rcpt)] = true
	s.mu.Unlock()
}

// Hold makes a message with rcpt (case-insensitive) among its recipients
// wait at the end of DATA, before it is recorded and answered, until
// release is called (at the latest when the test ends). Other
// connections go on meanwhile.
func (s *Server) Hold(rcpt string) (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.held[strings.ToLower(rcpt)] = ch
	s.mu.Unlock()
	var once sync.Once
	release = func() {
		once.Do(func() {
			s.mu.Lock()
			delete(s.held, strings.ToLower(rcpt))
			s.mu.Unlock()
			close(ch)
		})
	}
	s.t.Cleanup(release)
	return release
}

// holdFor returns the channel a message to rcpts waits for, or nil.
func (s *Server) holdFor(rcpts []string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rcpts {
		if ch := s.held[strings.ToLower(r)]; ch != nil {
			return ch
		}
	}
	return nil
}

// ClearFailures removes every injected failure.
func (s *Server) ClearFailures() {
	s.mu.Lock()
	s.failTemp = 0
	clear(s.permFail)
	s.mu.Unlock()
}

// Messages returns a copy of the messages received so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.msgs))
	copy(out, s.msgs)
	return out
}

// Connections returns how many connections the server has accepted, over
// all Down/Up cycles; a client that reuses its connection keeps it at 1.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// WaitFor blocks until at least n messages were received in total and
// returns them, or returns ctx's error.
func (s *Server) WaitFor(ctx context.Context, n int) ([]Message, error) {
	for {
		s.mu.Lock()
		if len(s.msgs) >= n {
			out := make([]Message, len(s.msgs))
			copy(out, s.msgs)
			s.mu.Unlock()
			return out, nil
		}
		ch := s.changed
		got := len(s.msgs)
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("smtptest: waiting for %d messages, have %d: %w", n, got, ctx.Err())
		}
	}
}

// ClientTLSConfig returns a client configuration that trusts the server's
// self-signed certificate (valid for 127.0.0.1 and localhost). It is nil
// when the server has no TLS.
func (s *Server) ClientTLSConfig() *tls.Config {
	if s.certPool == nil {
		return nil
	}
	return &tls.Config{RootCAs: s.certPool, MinVersion: tls.VersionTLS12}
}

func (s *Server) record(m Message) {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// takeTempFailure reports whether this transaction must fail temporarily.
func (s *Server) takeTempFailure() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failTemp > 0 {
		s.failTemp--
		return true
	}
	return false
}

func (s *Server) permFailed(rcpt string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.permFail[strings.ToLower(rcpt)]
}

type countingListener struct {
	net.Listener
	s *Server
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.s.mu.Lock()
	l.s.conns++
	l.s.open[c] = struct{}{}
	l.s.mu.Unlock()
	return &trackedConn{Conn: c, s: l.s}, nil
}

// trackedConn forgets itself when closed. It hides the concrete type, so
// go-smtp would not see a *tls.Conn: that is why implicit TLS is layered
// on top of the counting listener, not under it.
type trackedConn struct {
	net.Conn
	s *Server
}

func (c *trackedConn) Close() error {
	c.s.mu.Lock()
	delete(c.s.open, c.Conn)
	c.s.mu.Unlock()
	return c.Conn.Close()
}

// testLogger sends go-smtp's internal errors to the test log while the test
// runs, and drops them afterwards (t.Logf after the end panics).
type testLogger struct{ s *Server }

func (l testLogger) Printf(format string, v ...any) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if !l.s.finished {
		l.s.t.Logf("smtptest: "+format, v...)
	}
}

func (l testLogger) Println(v ...any) { l.Printf("%s", fmt.Sprintln(v...)) }

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	sess := &session{s: b.s, conn: c}
	if b.s.cfg.user != "" {
		return &authSession{session: sess}, nil
	}
	return sess, nil
}

// session is one SMTP session; go-smtp calls it from one goroutine.
type session struct {
	s    *Server
	conn *smtp.Conn
	user string
	from string
	to   []string
}

var (
	errTemp = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Injected temporary failure"}
	errPerm = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "Injected permanent failure: no such user"}
)

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.s.cfg.user != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	if s.s.takeTempFailure() {
		return errTemp
	}
	s.from, s.to = from, nil
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.s.permFailed(to) {
		return errPerm
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("reading data: %w", err)
	}
	if ch := s.s.holdFor(s.to); ch != nil {
		<-ch
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.s.record(Message{From: s.from, To: append([]string(nil), s.to...), Data: data, TLS: isTLS, User: s.user})
	return nil
}

func (s *session) Reset() { s.from, s.to = "", nil }

func (s *session) Logout() error { return nil }

// authSession adds AUTH PLAIN and LOGIN with the one configured user.
type authSession struct{ *session }

func (a *authSession) AuthMechanisms() []string {
	if a.s.cfg.oauthToken != "" {
		return []string{"XOAUTH2", sasl.OAuthBearer}
	}
	return []string{sasl.Plain, sasl.Login}
}

func (a *authSession) Auth(mech string) (sasl.Server, error) {
	if a.s.cfg.oauthToken != "" {
		return a.oauth(mech)
	}
	check := func(user, pass string) error {
		if user != a.s.cfg.user || pass != a.s.cfg.pass {
			return smtp.ErrAuthFailed
		}
		a.user = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				return smtp.ErrAuthFailed
			}
			return check(user, pass)
		}), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// oauth serves XOAUTH2 and OAUTHBEARER for the one user and token.
func (a *authSession) oauth(mech string) (sasl.Server, error) {
	ok := func(user, token string) bool {
		if user != a.s.cfg.user || token != a.s.cfg.oauthToken {
			return false
		}
		a.user = user
		return true
	}
	switch mech {
	case "XOAUTH2":
		return &xoauth2Server{ok: ok}, nil
	case sasl.OAuthBearer:
		return sasl.NewOAuthBearerServer(func(o sasl.OAuthBearerOptions) *sasl.OAuthBearerError {
			if !ok(o.Username, o.Token) {
				return &sasl.OAuthBearerError{Status: "invalid_token", Schemes: "bearer"}
			}
			return nil
		}), nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// xoauth2Server is the server side of XOAUTH2 as Google and Microsoft
// speak it: "user=U^Aauth=Bearer T^A^A"; on failure a base64 JSON
// challenge, and after the client's empty answer, 535.
type xoauth2Server struct {
	ok     func(user, token string) bool
	failed bool
}

func (x *xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	if x.failed {
		return nil, true, smtp.ErrAuthFailed
	}
	if resp == nil {
		return []byte{}, false, nil // ask for the initial response
	}
	var user, token string
	for _, f := range strings.Split(string(resp), "\x01") {
		if v, ok := strings.CutPrefix(f, "user="); ok {
			user = v
		} else if v, ok := strings.CutPrefix(f, "auth=Bearer "); ok {
			token = v
		}
	}
	if x.ok(user, token) {
		return nil, true, nil
	}
	x.failed = true
	return []byte(`{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`), false, nil
}

// loginServer is the server side of the obsolete but common LOGIN
// mechanism, which go-sasl only has as a client.
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step++
		if len(response) > 0 { // initial response carries the user name
			l.user = string(response)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.step++
		l.user = string(response)
		return []byte("Password:"), false, nil
	case 2:
		l.step++
		return nil, true, l.check(l.user, string(response))
	}
	return nil, false, errors.New("unexpected LOGIN response")
}

// selfSigned makes an ECDSA certificate for 127.0.0.1 and localhost and a
// pool that trusts it.
func selfSigned() (*tls.Config, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("signing certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parsing certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	conf := &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
		MinVersion:   tls.VersionTLS12,
	}
	return conf, pool, nil
}
