// Package imaptest starts in-process IMAP servers (go-imap's imapmemserver)
// on 127.0.0.1:0 for tests, and a TCP proxy that can cut connections at a
// chosen point of the conversation.
//
// Everything here is for tests only: servers and proxies stop at the test's
// Cleanup, nothing listens beyond loopback, nothing is written outside
// t.TempDir().
package imaptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
)

// Options shape the server.
type Options struct {
	// Username and Password of the one account (default "user"/"password").
	Username, Password string
	// NoMove advertises IMAP4rev1 + UIDPLUS only: no MOVE, so clients must
	// fall back to COPY/STORE/UID EXPUNGE.
	NoMove bool
	// NoUIDPlus, with NoMove, advertises neither MOVE nor UIDPLUS.
	NoUIDPlus bool
	// StartTLS offers STARTTLS with a self-signed certificate (see Server.RootCAs).
	StartTLS bool
	// OAuthToken, when set, enables AUTHENTICATE XOAUTH2 and OAUTHBEARER
	// accepting this bearer token for Username (PLAIN still works). Change it
	// with Server.SetOAuthToken.
	OAuthToken string
}

// Server is a running imapmemserver.
type Server struct {
	// Addr is host:port on 127.0.0.1.
	Addr string
	// Username and Password of the account.
	Username, Password string
	// RootCAs trusts the server's certificate (StartTLS).
	RootCAs *x509.CertPool

	user *imapmemserver.User
	srv  *imapserver.Server

	mu       sync.Mutex
	token    string
	authLog  []string
	sessions int
}

// Start runs a server until the test ends. INBOX exists.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Username == "" {
		opts.Username = "user"
	}
	if opts.Password == "" {
		opts.Password = "password"
	}
	s := &Server{Username: opts.Username, Password: opts.Password, token: opts.OAuthToken}
	s.user = imapmemserver.NewUser(opts.Username, opts.Password)
	if err := s.user.Create("INBOX", nil); err != nil {
		t.Fatalf("imaptest: create INBOX: %v", err)
	}
	caps := imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}}
	if opts.NoMove {
		caps = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}, imap.CapNamespace: {}}
		if opts.NoUIDPlus {
			delete(caps, imap.CapUIDPlus)
		}
	}
	var tlsConfig *tls.Config
	if opts.StartTLS {
		cert, pool := SelfSigned(t, "127.0.0.1", "localhost")
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		s.RootCAs = pool
	}
	oauth := opts.OAuthToken != ""
	s.srv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			s.mu.Lock()
			s.sessions++
			s.mu.Unlock()
			return &session{srv: s, oauth: oauth}, nil, nil
		},
		Caps:         caps,
		TLSConfig:    tlsConfig,
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("imaptest: listen: %v", err)
	}
	s.Addr = ln.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.srv.Serve(ln)
	}()
	t.Cleanup(func() {
		s.srv.Close()
		<-done
	})
	return s
}

// SetOAuthToken changes the bearer token the server accepts.
func (s *Server) SetOAuthToken(tok string) {
	s.mu.Lock()
	s.token = tok
	s.mu.Unlock()
}

// AuthLog lists the successful authentications as "MECH user".
func (s *Server) AuthLog() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.authLog...)
}

// Sessions counts the connections accepted so far.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// Append stores raw in mailbox, creating the mailbox if needed.
func (s *Server) Append(t testing.TB, mailbox string, raw []byte) {
	t.Helper()
	s.Create(t, mailbox)
	_, err := s.user.Append(mailbox, literal{bytes.NewReader(raw), int64(len(raw))}, &imap.AppendOptions{})
	if err != nil {
		t.Fatalf("imaptest: append to %s: %v", mailbox, err)
	}
}

// Create makes mailbox unless it exists.
func (s *Server) Create(t testing.TB, mailbox string) {
	t.Helper()
	err := s.user.Create(mailbox, nil)
	var ie *imap.Error
	if err != nil && !(errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists) {
		t.Fatalf("imaptest: create %s: %v", mailbox, err)
	}
}

// Count returns the number of messages in mailbox, or -1 if it does not exist.
func (s *Server) Count(mailbox string) int {
	st, err := s.user.Status(mailbox, &imap.StatusOptions{NumMessages: true})
	if err != nil || st.NumMessages == nil {
		return -1
	}
	return int(*st.NumMessages)
}

// UIDValidity returns mailbox's UIDVALIDITY, 0 if it does not exist.
func (s *Server) UIDValidity(mailbox string) uint32 {
	st, err := s.user.Status(mailbox, &imap.StatusOptions{UIDValidity: true})
	if err != nil {
		return 0
	}
	return st.UIDValidity
}

// Delete removes mailbox (to simulate a recreated folder with a new UIDVALIDITY).
func (s *Server) Delete(t testing.TB, mailbox string) {
	t.Helper()
	if err := s.user.Delete(mailbox); err != nil {
		t.Fatalf("imaptest: delete %s: %v", mailbox, err)
	}
}

type literal struct {
	*bytes.Reader
	n int64
}

func (l literal) Size() int64 { return l.n }

// session wraps imapmemserver's session to add XOAUTH2/OAUTHBEARER.
type session struct {
	*imapmemserver.UserSession // nil until authenticated
	srv                        *Server
	oauth                      bool
}

var _ imapserver.SessionSASL = (*session)(nil)
var _ imapserver.SessionIMAP4rev2 = (*session)(nil)

func (sess *session) Close() error {
	if sess.UserSession == nil {
		return nil
	}
	return sess.UserSession.Close()
}

// Idle first flushes updates queued since the last command. imapmemserver's
// tracker only wakes an IDLE for updates queued after the IDLE began, so mail
// appended between a client's last command and its IDLE would otherwise go
// unannounced (real servers report it when IDLE starts). A window of a few
// instructions remains between this flush and the tracker's registration.
func (sess *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	if err := sess.UserSession.Poll(w, true); err != nil {
		return err
	}
	return sess.UserSession.Idle(w, stop)
}

func (sess *session) Login(username, password string) error {
	if username != sess.srv.Username || password != sess.srv.Password {
		return imapserver.ErrAuthFailed
	}
	sess.loggedIn("LOGIN", username)
	return nil
}

func (sess *session) loggedIn(mech, username string) {
	sess.UserSession = imapmemserver.NewUserSession(sess.srv.user)
	sess.srv.mu.Lock()
	sess.srv.authLog = append(sess.srv.authLog, mech+" "+username)
	sess.srv.mu.Unlock()
}

func (sess *session) AuthenticateMechanisms() []string {
	if sess.oauth {
		return []string{sasl.Plain, "XOAUTH2", sasl.OAuthBearer}
	}
	return []string{sasl.Plain}
}

func (sess *session) Authenticate(mech string) (sasl.Server, error) {
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && identity != username {
				return imapserver.ErrAuthFailed
			}
			if err := sess.Login(username, password); err != nil {
				return err
			}
			return nil
		}), nil
	case "XOAUTH2":
		if sess.oauth {
			return &xoauth2Server{sess: sess}, nil
		}
	case sasl.OAuthBearer:
		if sess.oauth {
			return sasl.NewOAuthBearerServer(func(o sasl.OAuthBearerOptions) *sasl.OAuthBearerError {
				if !sess.tokenOK(o.Username, o.Token) {
					return &sasl.OAuthBearerError{Status: "invalid_token", Schemes: "bearer"}
				}
				sess.loggedIn("OAUTHBEARER", o.Username)
				return nil
			}), nil
		}
	}
	return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "SASL mechanism not supported"}
}

func (sess *session) tokenOK(user, token string) bool {
	sess.srv.mu.Lock()
	defer sess.srv.mu.Unlock()
	return user == sess.srv.Username && token != "" && token == sess.srv.token
}

// xoauth2Server speaks the server side of XOAUTH2 as Google does: a JSON
// error challenge on failure, then NO after the client's empty response.
type xoauth2Server struct {
	sess   *session
	failed bool
}

func (x *xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	if x.failed {
		return nil, true, imapserver.ErrAuthFailed
	}
	if resp == nil {
		return []byte{}, false, nil
	}
	var user, token string
	for _, f := range strings.Split(string(resp), "\x01") {
		if v, ok := strings.CutPrefix(f, "user="); ok {
			user = v
		}
		if v, ok := strings.CutPrefix(f, "auth=Bearer "); ok {
			token = v
		}
	}
	if !x.sess.tokenOK(user, token) {
		x.failed = true
		return []byte(`{"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"}`), false, nil
	}
	x.sess.loggedIn("XOAUTH2", user)
	return nil, true, nil
}

// SelfSigned returns a fresh ECDSA certificate for hosts (IP addresses or
// names) and a pool that trusts it.
func SelfSigned(t testing.TB, hosts ...string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	certPEM, keyPEM := SelfSignedPEM(t, hosts...)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("imaptest: key pair: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return cert, pool
}

// SelfSignedPEM returns a fresh self-signed certificate and its key in PEM.
func SelfSignedPEM(t testing.TB, hosts ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("imaptest: key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "kontaktpunkt test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("imaptest: certificate: %v", err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatalf("imaptest: marshal key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// Message returns a small RFC 5322 message with the given Message-ID
// (without brackets) and a body of about size bytes.
func Message(id string, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Requester <requester@example.org>\r\nTo: integrasjon@example.org\r\nSubject: Test %s\r\nDate: Mon, 2 Nov 2026 10:00:00 +0100\r\nMessage-ID: <%s>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n", id, id)
	line := "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n"
	for b.Len() < size {
		b.WriteString(line)
	}
	return b.Bytes()
}
