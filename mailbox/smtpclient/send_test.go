package smtpclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/internal/smtptest"
	"kontaktpunkt/mailbox/mailmsg"
)

const (
	envFrom = "integrasjon@uio.no"
	ola     = "ola@example.org"
)

// testRaw composes a real message, as the outbox would hold it.
func testRaw(t testing.TB, i int) []byte {
	t.Helper()
	raw, err := mailmsg.Compose(mailmsg.OutMail{
		From:      kp.Address{Name: "Integrasjon", Addr: envFrom},
		To:        []kp.Address{{Name: "Ola Nordmann", Addr: ola}},
		Subject:   fmt.Sprintf("[INT#%d] Spørsmål om blåbær", i),
		Text:      "Hei,\n.\n..linje med punktum først\nHilsen oss\n",
		MessageID: fmt.Sprintf("t%d@uio.no", i),
		Date:      time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC),
		Headers:   map[string]string{kp.LoopHeader: "1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func plainSender(t testing.TB, srv *smtptest.Server) *Sender {
	s := NewSender(SMTPConfig{Addr: srv.Addr, Security: SecurityPlain, Timeout: 10 * time.Second, HeloName: "gw.test"}, nil)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestSenderReuses1ConnectionFor100MessagesAndSendsRawBytes(t *testing.T) {
	srv := smtptest.Start(t)
	s := plainSender(t, srv)
	ctx := context.Background()
	for i := range 100 {
		if err := s.Send(ctx, envFrom, []string{ola}, testRaw(t, i)); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	got, err := srv.WaitFor(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.Connections(); n != 1 {
		t.Errorf("connections = %d, want 1", n)
	}
	for i, m := range got {
		if !bytes.Equal(m.Data, testRaw(t, i)) {
			t.Fatalf("message %d changed on the way:\n%s\n---\n%s", i, m.Data, testRaw(t, i))
		}
		if m.From != envFrom || len(m.To) != 1 || m.To[0] != ola {
			t.Fatalf("message %d envelope = %s -> %v", i, m.From, m.To)
		}
	}
}

func TestSenderNullReversePath(t *testing.T) {
	srv := smtptest.Start(t)
	s := plainSender(t, srv)
	if err := s.Send(context.Background(), "", []string{ola}, testRaw(t, 1)); err != nil {
		t.Fatal(err)
	}
	if m := srv.Messages(); len(m) != 1 || m[0].From != "" {
		t.Fatalf("messages = %+v", m)
	}
}

func TestSenderTempFailureIsTemporaryAndKeepsConnection(t *testing.T) {
	srv := smtptest.Start(t)
	s := plainSender(t, srv)
	ctx := context.Background()
	if err := s.Send(ctx, envFrom, []string{ola}, testRaw(t, 0)); err != nil {
		t.Fatal(err)
	}
	srv.FailTemp(1)
	err := s.Send(ctx, envFrom, []string{ola}, testRaw(t, 1))
	var se *SendError
	if !errors.As(err, &se) || !IsTemporary(err) || se.Code != 451 || se.Rcpt != "" {
		t.Fatalf("451: err = %#v, temporary = %v", err, IsTemporary(err))
	}
	if err := s.Send(ctx, envFrom, []string{ola}, testRaw(t, 2)); err != nil {
		t.Fatalf("after the 451: %v", err)
	}
	if n := srv.Connections(); n != 1 {
		t.Errorf("connections = %d: a 451 must not cost the connection", n)
	}
	if n := len(srv.Messages()); n != 2 {
		t.Errorf("received %d, want 2", n)
	}
}

func TestSenderPermanentRcptFailureIsPermanentAndNamesRecipient(t *testing.T) {
	srv := smtptest.Start(t)
	s := plainSender(t, srv)
	srv.FailPermFor("gone@example.org")
	err := s.Send(context.Background(), envFrom, []string{"gone@example.org"}, testRaw(t, 1))
	if err == nil || IsTemporary(err) {
		t.Fatalf("550: err = %v, temporary = %v", err, IsTemporary(err))
	}
	var se *SendError
	if !errors.As(err, &se) || se.Rcpt != "gone@example.org" || se.Code != 550 || se.Temporary {
		t.Fatalf("550: SendError = %+v", se)
	}
	var re *RecipientErrors
	if !errors.As(err, &re) || len(re.Accepted) != 0 || strings.Join(re.Permanent(), ",") != "gone@example.org" {
		t.Fatalf("RecipientErrors = %+v", re)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("delivered %d messages with every recipient refused", n)
	}
	// The connection is still good for the next message.
	if err := s.Send(context.Background(), envFrom, []string{ola}, testRaw(t, 2)); err != nil {
		t.Fatal(err)
	}
	if n := srv.Connections(); n != 1 {
		t.Errorf("connections = %d, want 1", n)
	}
}

func TestSenderPartialRefusalDeliversToAcceptedAndNamesRefused(t *testing.T) {
	srv := smtptest.Start(t)
	s := plainSender(t, srv)
	srv.FailPermFor("gone@example.org")
	srv.FailPermFor("away@example.org")
	to := []string{"gone@example.org", ola, "away@example.org", "kari@example.org"}
	err := s.Send(context.Background(), envFrom, to, testRaw(t, 1))
	var re *RecipientErrors
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want *RecipientErrors", err)
	}
	if IsTemporary(err) {
		t.Error("permanent refusals reported as temporary")
	}
	if got := strings.Join(re.Accepted, ","); got != ola+",kari@example.org" {
		t.Errorf("accepted = %s", got)
	}
	if got := strings.Join(re.Permanent(), ","); got != "gone@example.org,away@example.org" {
		t.Errorf("permanent = %s", got)
	}
	if len(re.Temporary()) != 0 {
		t.Errorf("temporary = %v", re.Temporary())
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || strings.Join(msgs[0].To, ",") != ola+",kari@example.org" {
		t.Fatalf("delivered = %+v", msgs)
	}
}

func TestSenderServerDownIsTemporaryThenReconnects(t *testing.T) {
	srv := smtptest.Start(t)
	s := plainSender(t, srv)
	ctx := context.Background()
	if err := s.Send(ctx, envFrom, []string{ola}, testRaw(t, 0)); err != nil {
		t.Fatal(err)
	}
	srv.Down()
	err := s.Send(ctx, envFrom, []string{ola}, testRaw(t, 1))
	var se *SendError
	if err == nil || !IsTemporary(err) || !errors.As(err, &se) || se.Code != 0 {
		t.Fatalf("server down: err = %v, temporary = %v", err, IsTemporary(err))
	}
	srv.Up()
	if err := s.Send(ctx, envFrom, []string{ola}, testRaw(t, 2)); err != nil {
		t.Fatalf("after the server came back: %v", err)
	}
	if n := len(srv.Messages()); n != 2 {
		t.Errorf("received %d, want 2", n)
	}
}

// TestSenderRetriesOnceOnAConnectionTheServerDropped: the relay restarted
// between two messages; the stale connection fails at MAIL FROM, which is
// not the message's fault, and Send goes on with a new connection.
func TestSenderRetriesOnceOnAConnectionTheServerDropped(t *testing.T) {
	srv := smtptest.Start(t)
	s := plainSender(t, srv)
	ctx := context.Background()
	if err := s.Send(ctx, envFrom, []string{ola}, testRaw(t, 0)); err != nil {
		t.Fatal(err)
	}
	srv.Down()
	srv.Up()
	if err := s.Send(ctx, envFrom, []string{ola}, testRaw(t, 1)); err != nil {
		t.Fatalf("send over a dropped connection: %v", err)
	}
	if n := srv.Connections(); n != 2 {
		t.Errorf("connections = %d, want 2", n)
	}
	if n := len(srv.Messages()); n != 2 {
		t.Errorf("received %d, want 2", n)
	}
}

// TestSenderChecksAnIdleConnectionWithNoop: after more than 30 s of
// (fake) idleness Send checks the connection first and replaces a dead one.
func TestSenderChecksAnIdleConnectionWithNoop(t *testing.T) {
	srv := smtptest.Start(t)
	s := plainSender(t, srv)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	ctx := context.Background()
	if err := s.Send(ctx, envFrom, []string{ola}, testRaw(t, 0)); err != nil {
		t.Fatal(err)
	}
	now = now.Add(idleCheck / 2)
	if err := s.Send(ctx, envFrom, []string{ola}, testRaw(t, 1)); err != nil {
		t.Fatal(err)
	}
	srv.Down()
	srv.Up()
	now = now.Add(idleCheck + time.Second)
	if err := s.Send(ctx, envFrom, []string{ola}, testRaw(t, 2)); err != nil {
		t.Fatalf("send after idle period over a dropped connection: %v", err)
	}
	if n := srv.Connections(); n != 2 {
		t.Errorf("connections = %d, want 2", n)
	}
}

func TestSenderSTARTTLSAndImplicitTLSWithAuth(t *testing.T) {
	for _, mode := range []string{SecuritySTARTTLS, SecurityTLS} {
		t.Run(mode, func(t *testing.T) {
			opt := smtptest.WithSTARTTLS()
			if mode == SecurityTLS {
				opt = smtptest.WithImplicitTLS()
			}
			srv := smtptest.Start(t, opt, smtptest.WithAuth("kp", "hemmelig"))
			s := NewSender(SMTPConfig{Addr: srv.Addr, Security: mode, Username: "kp", Password: "hemmelig",
				TLSConfig: srv.ClientTLSConfig(), Timeout: 10 * time.Second}, nil)
			defer s.Close()
			for i := range 3 {
				if err := s.Send(context.Background(), envFrom, []string{ola}, testRaw(t, i)); err != nil {
					t.Fatal(err)
				}
			}
			msgs := srv.Messages()
			if len(msgs) != 3 {
				t.Fatalf("received %d", len(msgs))
			}
			for _, m := range msgs {
				if !m.TLS || m.User != "kp" {
					t.Errorf("message over TLS=%v as user %q", m.TLS, m.User)
				}
			}
			if n := srv.Connections(); n != 1 {
				t.Errorf("connections = %d, want 1", n)
			}
		})
	}
}

// TestSenderWrongPasswordIsTemporaryWith535: a session failure says nothing
// about the message; the outbox keeps it until the operator fixes the
// password (see the send.go comment).
func TestSenderWrongPasswordIsTemporaryWith535(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSTARTTLS(), smtptest.WithAuth("kp", "hemmelig"))
	s := NewSender(SMTPConfig{Addr: srv.Addr, Security: SecuritySTARTTLS, Username: "kp", Password: "feil",
		TLSConfig: srv.ClientTLSConfig(), Timeout: 10 * time.Second}, nil)
	defer s.Close()
	err := s.Send(context.Background(), envFrom, []string{ola}, testRaw(t, 1))
	var se *SendError
	if !errors.As(err, &se) || !se.Temporary || se.Code != 535 {
		t.Fatalf("wrong password: err = %v (%+v)", err, se)
	}
	if len(srv.Messages()) != 0 {
		t.Fatal("delivered without authentication")
	}
}

func TestSenderRefusesCredentialsInClearExceptToLoopback(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithAuth("kp", "hemmelig"))
	s := NewSender(SMTPConfig{Addr: srv.Addr, Security: SecurityPlain, Username: "kp", Password: "hemmelig", Timeout: 10 * time.Second}, nil)
	defer s.Close()
	if err := s.Send(context.Background(), envFrom, []string{ola}, testRaw(t, 1)); err != nil {
		t.Fatalf("plain auth to loopback: %v", err)
	}

	// A listener that must never be reached: the refusal comes before dialling.
	far := NewSender(SMTPConfig{Addr: "192.0.2.1:587", Security: SecurityPlain, Username: "kp", Password: "x", Timeout: time.Second}, nil)
	err := far.Send(context.Background(), envFrom, []string{ola}, testRaw(t, 1))
	if err == nil || !strings.Contains(err.Error(), "refusing to send credentials in clear") {
		t.Fatalf("plain auth to a remote host: err = %v", err)
	}
	for host, want := range map[string]bool{"127.0.0.1": true, "::1": true, "localhost": true, "127.0.0.53": true,
		"smtp.uio.no": false, "10.0.0.1": false, "": false} {
		if got := isLoopback(host); got != want {
			t.Errorf("isLoopback(%q) = %v", host, got)
		}
	}
}

func TestSenderRequiresSTARTTLSWhenConfigured(t *testing.T) {
	srv := smtptest.Start(t) // offers no STARTTLS
	s := NewSender(SMTPConfig{Addr: srv.Addr, Security: SecuritySTARTTLS, Timeout: 10 * time.Second}, nil)
	defer s.Close()
	err := s.Send(context.Background(), envFrom, []string{ola}, testRaw(t, 1))
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("err = %v", err)
	}
	if len(srv.Messages()) != 0 {
		t.Fatal("sent in clear although starttls was required")
	}
}

func TestSenderRejectsBadEnvelopePermanently(t *testing.T) {
	srv := smtptest.Start(t)
	s := plainSender(t, srv)
	for name, to := range map[string][]string{
		"none":      nil,
		"empty":     {""},
		"injection": {"a@b>\r\nRCPT TO:<c@d"},
		"brackets":  {"<a@b>"},
	} {
		err := s.Send(context.Background(), envFrom, to, testRaw(t, 1))
		if err == nil || IsTemporary(err) {
			t.Errorf("%s: err = %v, temporary = %v", name, err, IsTemporary(err))
		}
	}
	if n := srv.Connections(); n != 0 {
		t.Errorf("connected %d times for envelopes that cannot be sent", n)
	}
}

func TestSenderCancelledContextIsTemporary(t *testing.T) {
	srv := smtptest.Start(t)
	s := plainSender(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Send(ctx, envFrom, []string{ola}, testRaw(t, 1))
	if !errors.Is(err, context.Canceled) || !IsTemporary(err) {
		t.Fatalf("err = %v", err)
	}
}

func TestIsTemporary(t *testing.T) {
	for name, c := range map[string]struct {
		err  error
		want bool
	}{
		"nil":          {nil, false},
		"451 reply":    {&textproto.Error{Code: 451, Msg: "later"}, true},
		"550 reply":    {fmt.Errorf("wrapped: %w", &textproto.Error{Code: 550, Msg: "no"}), false},
		"network":      {&net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		"eof":          {io.EOF, true},
		"unknown":      {errors.New("something odd"), true},
		"compose":      {fmt.Errorf("x: %w", mailmsg.ErrCompose), false},
		"send temp":    {&SendError{Temporary: true, Code: 452}, true},
		"send perm":    {&SendError{Code: 554}, false},
		"rcpts mixed":  {&RecipientErrors{Failed: []*SendError{{Rcpt: "a"}, {Rcpt: "b", Temporary: true}}}, true},
		"rcpts perm":   {&RecipientErrors{Accepted: []string{"c"}, Failed: []*SendError{{Rcpt: "a"}}}, false},
		"no recipient": {&SendError{Err: ErrNoRecipients}, false},
	} {
		if got := IsTemporary(c.err); got != c.want {
			t.Errorf("%s: IsTemporary(%v) = %v, want %v", name, c.err, got, c.want)
		}
	}
}

// BenchmarkSend measures messages per second over one reused connection to
// smtptest (composition excluded; see BenchmarkComposeAndSend).
func BenchmarkSend(b *testing.B) {
	srv := smtptest.Start(b)
	s := plainSender(b, srv)
	raw := testRaw(b, 1)
	ctx := context.Background()
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	for b.Loop() {
		if err := s.Send(ctx, envFrom, []string{ola}, raw); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if n := srv.Connections(); n != 1 {
		b.Fatalf("connections = %d", n)
	}
}

// BenchmarkComposeAndSend adds Compose to every message.
func BenchmarkComposeAndSend(b *testing.B) {
	srv := smtptest.Start(b)
	s := plainSender(b, srv)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		if err := s.Send(ctx, envFrom, []string{ola}, testRaw(b, i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
