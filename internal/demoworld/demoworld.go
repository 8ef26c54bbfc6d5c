// Package demoworld is a small, self-contained mail system for the demo
// and the end-to-end tests: an IMAP server (go-imap's imapmemserver) with
// one mailbox per person, and an SMTP server (go-smtp) that delivers what
// it accepts into the recipients' mailboxes, both on 127.0.0.1. Like a real
// MTA it stamps an Authentication-Results header: dmarc=pass for mail
// submitted with SMTP AUTH by the sender in From, dmarc=none otherwise,
// and it removes any such header a sender forged under its authserv-id.
package demoworld

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// AuthServID is the authserv-id the world's MTA writes; trust it in the
// gateway's staff.trusted_authserv_ids.
const AuthServID = "mailworld.test"

// Person has a mailbox in the world.
type Person struct {
	Name     string
	Addr     string
	Login    string // IMAP and SMTP login
	Password string
}

// CatchAll is the person whose mailbox receives mail for every address
// that has none; Start adds it to the people.
var CatchAll = Person{Name: "Catch-all", Addr: "catchall@" + AuthServID, Login: "catchall", Password: "demo-catchall"}

// Delivery is one message the SMTP server delivered.
type Delivery struct {
	At   time.Time
	From string   // envelope sender
	To   []string // envelope recipients
	Raw  []byte   // as stored in the mailboxes
	// Into lists the people (by address) whose INBOX received it.
	Into []string
}

// World is a running mail system.
type World struct {
	IMAPAddr string
	SMTPAddr string
	People   []Person

	users  map[string]*imapmemserver.User // by lower-case address
	logins map[string]Person
	imap   *imapserver.Server
	smtp   *smtp.Server
	done   sync.WaitGroup

	mu         sync.Mutex
	deliveries []Delivery
	changed    chan struct{}
}

// Start starts the servers. Each person gets an IMAP user with an INBOX,
// and so does CatchAll.
func Start(people []Person) (*World, error) {
	people = append(slices.Clip(people), CatchAll)
	w := &World{People: people, users: map[string]*imapmemserver.User{},
		logins: map[string]Person{}, changed: make(chan struct{})}
	for _, p := range people {
		u := imapmemserver.NewUser(p.Login, p.Password)
		if err := u.Create("INBOX", nil); err != nil {
			return nil, err
		}
		w.users[strings.ToLower(p.Addr)] = u
		w.logins[p.Login] = p
	}
	w.imap = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &imapSession{w: w}, nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
	})
	iln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	w.IMAPAddr = iln.Addr().String()
	w.done.Add(2)
	go func() { defer w.done.Done(); _ = w.imap.Serve(iln) }()

	w.smtp = smtp.NewServer(backend{w})
	w.smtp.Domain = "mx." + AuthServID
	w.smtp.AllowInsecureAuth = true
	w.smtp.MaxMessageBytes = 32 << 20
	w.smtp.ReadTimeout, w.smtp.WriteTimeout = time.Minute, time.Minute
	w.smtp.ErrorLog = log.New(io.Discard, "", 0)
	sln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		iln.Close()
		return nil, err
	}
	w.SMTPAddr = sln.Addr().String()
	go func() { defer w.done.Done(); _ = w.smtp.Serve(sln) }()
	return w, nil
}

// Close stops both servers.
func (w *World) Close() {
	_ = w.smtp.Close()
	_ = w.imap.Close()
	w.done.Wait()
}

// Person returns the person with addr.
func (w *World) Person(addr string) (Person, bool) {
	for _, p := range w.People {
		if strings.EqualFold(p.Addr, addr) {
			return p, true
		}
	}
	return Person{}, false
}

// imapSession is imapmemserver's session with our logins. It flushes
// pending updates when IDLE starts: imapmemserver only announces mail
// queued after IDLE began, real servers also what came just before.
type imapSession struct {
	*imapmemserver.UserSession // nil until logged in
	w                          *World
}

var _ imapserver.SessionIMAP4rev2 = (*imapSession)(nil)

func (s *imapSession) Login(username, password string) error {
	p, ok := s.w.logins[username]
	if !ok || p.Password != password {
		return imapserver.ErrAuthFailed
	}
	u := s.w.users[strings.ToLower(p.Addr)]
	if err := u.Login(username, password); err != nil {
		return err
	}
	s.UserSession = imapmemserver.NewUserSession(u)
	return nil
}

func (s *imapSession) Close() error {
	if s.UserSession == nil {
		return nil
	}
	return s.UserSession.Close()
}

func (s *imapSession) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	if err := s.UserSession.Poll(w, true); err != nil {
		return err
	}
	return s.UserSession.Idle(w, stop)
}

// Submit sends raw through the world's SMTP server as from, with SMTP AUTH
// when auth is set, exactly as a person's mail client would.
func (w *World) Submit(from Person, auth bool, to []string, raw []byte) error {
	c, err := smtp.Dial(w.SMTPAddr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("client.localhost"); err != nil {
		return err
	}
	if auth {
		if err := c.Auth(sasl.NewPlainClient("", from.Login, from.Password)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := c.SendMail(from.Addr, to, bytes.NewReader(raw)); err != nil {
		return err
	}
	return c.Quit()
}

// Deliveries returns every delivery so far.
func (w *World) Deliveries() []Delivery {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Delivery(nil), w.deliveries...)
}

// Mail returns what was delivered into the INBOX of the person with addr,
// oldest first, whether or not it is still there.
func (w *World) Mail(addr string) []Delivery {
	var out []Delivery
	for _, d := range w.Deliveries() {
		if slices.ContainsFunc(d.Into, func(a string) bool { return strings.EqualFold(a, addr) }) {
			out = append(out, d)
		}
	}
	return out
}

// WaitFor waits until the delivery number i (counting from 0) exists and
// returns it; it never sleeps, it waits for the SMTP server's signal.
func (w *World) WaitFor(ctx context.Context, i int) (Delivery, error) {
	for {
		w.mu.Lock()
		if i < len(w.deliveries) {
			d := w.deliveries[i]
			w.mu.Unlock()
			return d, nil
		}
		ch := w.changed
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Delivery{}, fmt.Errorf("waiting for mail number %d: %w", i+1, ctx.Err())
		}
	}
}

// deliver appends raw to the INBOX of every recipient, once per mailbox;
// recipients without one share the catch-all mailbox.
func (w *World) deliver(from string, to []string, raw []byte) error {
	var into []string
	for _, rcpt := range to {
		addr := strings.ToLower(rcpt)
		if w.users[addr] == nil {
			addr = CatchAll.Addr
		}
		if slices.Contains(into, addr) {
			continue
		}
		into = append(into, addr)
		if _, err := w.users[addr].Append("INBOX", literal{bytes.NewReader(raw), int64(len(raw))}, &imap.AppendOptions{Time: time.Now()}); err != nil {
			return fmt.Errorf("delivering to %s: %w", addr, err)
		}
	}
	w.mu.Lock()
	w.deliveries = append(w.deliveries, Delivery{At: time.Now(), From: from, To: to, Raw: raw, Into: into})
	close(w.changed)
	w.changed = make(chan struct{})
	w.mu.Unlock()
	return nil
}

type literal struct {
	*bytes.Reader
	n int64
}

func (l literal) Size() int64 { return l.n }

type backend struct{ w *World }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{w: b.w, remote: c.Conn().RemoteAddr().String()}, nil
}

type session struct {
	w      *World
	remote string
	user   *Person
	from   string
	to     []string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		p, ok := s.w.logins[username]
		if !ok || p.Password != password {
			return errors.New("invalid credentials")
		}
		s.user = &p
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	body, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	raw := stamp(body, s.from, s.user, s.remote)
	return s.w.deliver(s.from, s.to, raw)
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// stamp prepends the trace and authentication headers an MTA adds and
// removes every Authentication-Results field that names our authserv-id,
// folded or not. dmarc=pass needs SMTP AUTH by the person whose address is
// in From; anything else is dmarc=none.
func stamp(raw []byte, envFrom string, user *Person, remote string) []byte {
	fields, body := splitHeader(raw)
	var kept bytes.Buffer
	var from string
	for _, f := range fields {
		name, value, _ := strings.Cut(unfold(f), ":")
		name = strings.TrimSpace(name)
		switch {
		case f[0] == ' ' || f[0] == '\t':
			continue // a continuation with no field: it would extend ours
		case strings.EqualFold(name, "Authentication-Results") && strings.Contains(strings.ToLower(value), AuthServID):
			continue
		case strings.EqualFold(name, "Return-Path"):
			continue // the final delivery writes its own
		case strings.EqualFold(name, "From") && from == "":
			if a, err := mail.ParseAddress(strings.TrimSpace(value)); err == nil {
				from = a.Address
			}
		}
		kept.Write(f)
	}
	result := "dmarc=none"
	if user != nil && from != "" && strings.EqualFold(user.Addr, from) {
		result = "dmarc=pass header.from=" + strings.ToLower(from[strings.LastIndex(from, "@")+1:])
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "Return-Path: <%s>\r\n", envFrom)
	// As a milter does, the result stands above the MTA's own Received
	// line, whose "by" host is the authserv-id.
	fmt.Fprintf(&out, "Authentication-Results: %s; %s\r\n", AuthServID, result)
	fmt.Fprintf(&out, "Received: from client.localhost ([%s]) by %s with ESMTP; %s\r\n", remote, AuthServID, time.Now().Format(time.RFC1123Z))
	out.Write(kept.Bytes())
	out.Write(body)
	return out.Bytes()
}

// splitHeader cuts raw into its header fields (each with its continuation
// lines and line ends, as sent) and the rest: the empty line and the body.
func splitHeader(raw []byte) (fields [][]byte, rest []byte) {
	off := 0
	for off < len(raw) {
		end := bytes.IndexByte(raw[off:], '\n') + 1
		if end == 0 {
			end = len(raw) - off
		}
		line := raw[off : off+end]
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return fields, raw[off:]
		}
		if (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
			last := fields[len(fields)-1]
			fields[len(fields)-1] = last[:len(last)+len(line)] // the field continues
		} else {
			fields = append(fields, line[:len(line):len(raw)-off])
		}
		off += end
	}
	return fields, nil
}

// unfold joins a field's continuation lines (RFC 5322 section 2.2.3).
func unfold(f []byte) string {
	s := strings.ReplaceAll(string(f), "\r\n", "")
	return strings.ReplaceAll(s, "\n", "")
}

// Count returns how many messages the mailbox of the person with addr holds.
func (w *World) Count(addr, mailbox string) (int, error) {
	u := w.users[strings.ToLower(addr)]
	if u == nil {
		return 0, fmt.Errorf("no mailbox for %s", addr)
	}
	st, err := u.Status(mailbox, &imap.StatusOptions{NumMessages: true})
	if err != nil {
		return 0, err
	}
	return int(*st.NumMessages), nil
}
