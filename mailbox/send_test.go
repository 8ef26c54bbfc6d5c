package mailbox

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"kontaktpunkt/internal/smtptest"
)

func testRaw(i int) []byte {
	return []byte(fmt.Sprintf("From: integrasjon@uio.no\r\nTo: ola@example.org\r\nSubject: test %d\r\nMessage-ID: <t%d@uio.no>\r\n\r\nHei på deg.\r\n", i, i))
}

func TestSenderReusesOneConnection(t *testing.T) {
	srv := smtptest.Start(t)
	s := NewSender(SMTPConfig{Addr: srv.Addr, Security: "plain", Timeout: 10 * time.Second}, nil)
	defer s.Close()
	for i := range 100 {
		if err := s.Send(context.Background(), "integrasjon@uio.no", []string{"ola@example.org"}, testRaw(i)); err != nil {
			t.Fatal(err)
		}
	}
	got := srv.Messages()
	if len(got) != 100 {
		t.Fatalf("received %d", len(got))
	}
	if !bytes.Contains(got[7].Data, []byte("Subject: test 7")) || got[7].From != "integrasjon@uio.no" {
		t.Fatalf("message 7 = %+v", got[7])
	}
	if n := srv.Connections(); n != 1 {
		t.Fatalf("connections = %d, want 1", n)
	}
}

func TestSenderClassifiesFailures(t *testing.T) {
	srv := smtptest.Start(t)
	s := NewSender(SMTPConfig{Addr: srv.Addr, Security: "plain", Timeout: 10 * time.Second}, nil)
	defer s.Close()

	srv.FailTemp(1)
	err := s.Send(context.Background(), "integrasjon@uio.no", []string{"ola@example.org"}, testRaw(1))
	if err == nil || !IsTemporary(err) {
		t.Fatalf("451: err = %v, temporary = %v", err, IsTemporary(err))
	}

	srv.FailPermFor("gone@example.org")
	err = s.Send(context.Background(), "integrasjon@uio.no", []string{"gone@example.org"}, testRaw(2))
	var se *SendError
	if err == nil || IsTemporary(err) || !asSendError(err, &se) || se.Rcpt != "gone@example.org" {
		t.Fatalf("550: err = %v", err)
	}

	// One refused, one accepted: delivered to the accepted, error names the refused.
	err = s.Send(context.Background(), "integrasjon@uio.no", []string{"gone@example.org", "ola@example.org"}, testRaw(3))
	if err == nil || IsTemporary(err) {
		t.Fatalf("partial: err = %v", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != "ola@example.org" {
		t.Fatalf("partial delivery = %+v", msgs)
	}

	srv.Down()
	err = s.Send(context.Background(), "integrasjon@uio.no", []string{"ola@example.org"}, testRaw(4))
	if err == nil || !IsTemporary(err) {
		t.Fatalf("server down: err = %v", err)
	}
	srv.Up()
	if err := s.Send(context.Background(), "integrasjon@uio.no", []string{"ola@example.org"}, testRaw(5)); err != nil {
		t.Fatalf("after the server came back: %v", err)
	}
}

func asSendError(err error, se **SendError) bool {
	e, ok := err.(*SendError)
	if ok {
		*se = e
	}
	return ok
}

func TestSenderTLSAndAuth(t *testing.T) {
	for _, mode := range []string{"starttls", "tls"} {
		t.Run(mode, func(t *testing.T) {
			opt := smtptest.WithSTARTTLS()
			if mode == "tls" {
				opt = smtptest.WithImplicitTLS()
			}
			srv := smtptest.Start(t, opt, smtptest.WithAuth("kp", "hemmelig"))
			s := NewSender(SMTPConfig{Addr: srv.Addr, Security: mode, Username: "kp", Password: "hemmelig",
				TLSConfig: srv.ClientTLSConfig(), Timeout: 10 * time.Second}, nil)
			defer s.Close()
			if err := s.Send(context.Background(), "integrasjon@uio.no", []string{"ola@example.org"}, testRaw(1)); err != nil {
				t.Fatal(err)
			}
			bad := NewSender(SMTPConfig{Addr: srv.Addr, Security: mode, Username: "kp", Password: "feil",
				TLSConfig: srv.ClientTLSConfig(), Timeout: 10 * time.Second}, nil)
			defer bad.Close()
			if err := bad.Send(context.Background(), "integrasjon@uio.no", []string{"ola@example.org"}, testRaw(2)); err == nil || IsTemporary(err) {
				t.Fatalf("wrong password: err = %v", err)
			}
			if len(srv.Messages()) != 1 {
				t.Fatalf("received %d", len(srv.Messages()))
			}
		})
	}
}

// TestSenderPlainAuthOnlyToLoopback: AUTH without TLS is allowed to a
// loopback relay (a local MTA) and to nothing else.
func TestSenderPlainAuthOnlyToLoopback(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithAuth("kp", "hemmelig"))
	s := NewSender(SMTPConfig{Addr: srv.Addr, Security: "plain", Username: "kp", Password: "hemmelig", Timeout: 10 * time.Second}, nil)
	defer s.Close()
	if err := s.Send(context.Background(), "integrasjon@uio.no", []string{"ola@example.org"}, testRaw(1)); err != nil {
		t.Fatalf("plain auth to loopback: %v", err)
	}
	for host, want := range map[string]bool{"127.0.0.1": true, "::1": true, "localhost": true, "smtp.uio.no": false, "10.0.0.1": false} {
		if got := isLoopbackHost(host); got != want {
			t.Errorf("isLoopbackHost(%q) = %v", host, got)
		}
	}
}

func BenchmarkSend(b *testing.B) {
	srv := smtptest.Start(b)
	s := NewSender(SMTPConfig{Addr: srv.Addr, Security: "plain", Timeout: 10 * time.Second}, nil)
	defer s.Close()
	raw := testRaw(1)
	b.ResetTimer()
	for range b.N {
		if err := s.Send(context.Background(), "integrasjon@uio.no", []string{"ola@example.org"}, raw); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
