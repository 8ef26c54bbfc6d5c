package smtptest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

const body = "Subject: hei\r\n\r\nblåbær\r\n.leading dot\r\n"

func send(c *smtp.Client, from string, to ...string) error {
	return c.SendMail(from, to, strings.NewReader(body))
}

func TestRecordsEnvelopeAndDataAndCountsConnections(t *testing.T) {
	s := Start(t)
	c, err := smtp.Dial(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 3 {
		if err := send(c, "a@example.org", "b@example.org", "c@example.org"); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := s.WaitFor(context.Background(), 3)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if m.From != "a@example.org" || strings.Join(m.To, ",") != "b@example.org,c@example.org" || string(m.Data) != body {
		t.Errorf("recorded %+v", m)
	}
	if m.TLS || m.User != "" {
		t.Errorf("TLS/user recorded on a plain connection: %+v", m)
	}
	if n := s.Connections(); n != 1 {
		t.Errorf("connections = %d, want 1", n)
	}
	if n := len(s.Messages()); n != 3 {
		t.Errorf("messages = %d", n)
	}
}

func TestWaitForReturnsContextError(t *testing.T) {
	s := Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.WaitFor(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestFailTempAndFailPermFor(t *testing.T) {
	s := Start(t)
	s.FailTemp(2)
	s.FailPermFor("Bad@Example.org")
	c, err := smtp.Dial(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 2 {
		var se *smtp.SMTPError
		if err := send(c, "a@x", "ok@example.org"); !errors.As(err, &se) || se.Code != 451 {
			t.Fatalf("want 451, got %v", err)
		}
		_ = c.Reset()
	}
	var se *smtp.SMTPError
	if err := send(c, "a@x", "bad@example.org"); !errors.As(err, &se) || se.Code != 550 {
		t.Fatalf("want 550 for the refused recipient, got %v", err)
	}
	_ = c.Reset()
	if err := send(c, "a@x", "ok@example.org"); err != nil {
		t.Fatalf("third transaction: %v", err)
	}
	s.ClearFailures()
	if err := send(c, "a@x", "bad@example.org"); err != nil {
		t.Fatalf("after ClearFailures: %v", err)
	}
}

func TestDownRefusesAndUpListensOnTheSameAddress(t *testing.T) {
	s := Start(t)
	addr := s.Addr
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s.Down()
	if err := send(c, "a@x", "b@x"); err == nil {
		t.Fatal("open connection survived Down")
	}
	if c2, err := smtp.Dial(addr); err == nil {
		c2.Close()
		t.Fatal("dial succeeded while down")
	}
	s.Up()
	if s.Addr != addr {
		t.Fatalf("address changed: %s -> %s", addr, s.Addr)
	}
	c3, err := smtp.Dial(addr)
	if err != nil {
		t.Fatalf("dial after Up: %v", err)
	}
	defer c3.Close()
	if err := send(c3, "a@x", "b@x"); err != nil {
		t.Fatal(err)
	}
	if n := s.Connections(); n != 2 {
		t.Errorf("connections = %d, want 2", n)
	}
}

func TestAuthRequiredAndAccepted(t *testing.T) {
	s := Start(t, WithAuth("kp", "hemmelig"))
	c, err := smtp.Dial(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := send(c, "a@x", "b@x"); err == nil {
		t.Fatal("MAIL accepted without AUTH")
	}
	if err := c.Auth(sasl.NewPlainClient("", "kp", "feil")); err == nil {
		t.Fatal("wrong password accepted")
	}
	c.Close()
	for _, mech := range []sasl.Client{sasl.NewPlainClient("", "kp", "hemmelig"), sasl.NewLoginClient("kp", "hemmelig")} {
		c, err := smtp.Dial(s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Auth(mech); err != nil {
			t.Fatalf("auth: %v", err)
		}
		if err := send(c, "a@x", "b@x"); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	for _, m := range s.Messages() {
		if m.User != "kp" {
			t.Errorf("user = %q", m.User)
		}
	}
}

func TestSTARTTLSAndImplicitTLS(t *testing.T) {
	st := Start(t, WithSTARTTLS(), WithAuth("kp", "pw"))
	c, err := smtp.DialStartTLS(st.Addr, st.ClientTLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "kp", "pw")); err != nil {
		t.Fatal(err)
	}
	if err := send(c, "a@x", "b@x"); err != nil {
		t.Fatal(err)
	}

	it := Start(t, WithImplicitTLS())
	c2, err := smtp.DialTLS(it.Addr, it.ClientTLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := send(c2, "a@x", "b@x"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Server{st, it} {
		msgs := s.Messages()
		if len(msgs) != 1 || !msgs[0].TLS {
			t.Errorf("messages %+v: want one over TLS", msgs)
		}
	}
}

func TestAuthNotOfferedBeforeSTARTTLS(t *testing.T) {
	s := Start(t, WithSTARTTLS(), WithAuth("kp", "pw"))
	c, err := smtp.Dial(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("test"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("AUTH offered in clear on a TLS-capable server")
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Error("STARTTLS not offered")
	}
}
