package smtpclient

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"kontaktpunkt/internal/smtptest"
	"kontaktpunkt/mailbox/internal/tokentest"
	"kontaktpunkt/mailbox/oauthsasl"
)

// A relay that accepts only XOAUTH2/OAUTHBEARER (as Microsoft 365 does with
// basic authentication off) gets the message, authenticated with a token
// from the client-credentials grant of a real HTTP token endpoint; the
// token is fetched once for several messages on one connection.
func TestSenderOAuth2OnlyRelay(t *testing.T) {
	for _, mech := range []string{"xoauth2", "oauthbearer"} {
		t.Run(mech, func(t *testing.T) {
			te := tokentest.New(t)
			srv := smtptest.Start(t, smtptest.WithSTARTTLS(), smtptest.WithOAuth2("integrasjon@example.org", "token-1"))
			s := NewSender(SMTPConfig{Addr: srv.Addr, Security: SecuritySTARTTLS, Username: "integrasjon@example.org",
				OAuth2: &oauthsasl.OAuth2Config{TokenURL: te.URL, ClientID: "app", ClientSecret: "s3cret",
					Scopes: []string{"https://outlook.office365.com/.default"}, Mechanism: mech},
				TLSConfig: srv.ClientTLSConfig(), Timeout: 10 * time.Second}, nil)
			defer s.Close()
			for i := range 2 {
				if err := s.Send(context.Background(), envFrom, []string{ola}, testRaw(t, i)); err != nil {
					t.Fatal(err)
				}
			}
			msgs := srv.Messages()
			if len(msgs) != 2 || msgs[0].User != "integrasjon@example.org" || !msgs[0].TLS {
				t.Fatalf("received %+v", msgs)
			}
			reqs := te.Requests()
			if len(reqs) != 1 || reqs[0]["grant_type"] != "client_credentials" || reqs[0]["scope"] != "https://outlook.office365.com/.default" {
				t.Errorf("token requests %v, want one client_credentials request with the scope", reqs)
			}
		})
	}
}

// A token the relay refuses is a temporary failure (535, the outbox keeps
// the message), and the next attempt asks the endpoint for a new token
// rather than offering the refused one again.
func TestSenderOAuth2RefusedTokenIsRenewed(t *testing.T) {
	te := tokentest.New(t)
	srv := smtptest.Start(t, smtptest.WithSTARTTLS(), smtptest.WithOAuth2("kp@example.org", "token-2"))
	s := NewSender(SMTPConfig{Addr: srv.Addr, Security: SecuritySTARTTLS, Username: "kp@example.org",
		OAuth2:    &oauthsasl.OAuth2Config{TokenURL: te.URL, ClientID: "app", ClientSecret: "s3cret", RefreshToken: "refresh-0"},
		TLSConfig: srv.ClientTLSConfig(), Timeout: 10 * time.Second}, nil)
	defer s.Close()
	err := s.Send(context.Background(), envFrom, []string{ola}, testRaw(t, 1))
	var se *SendError
	if !errors.As(err, &se) || !se.Temporary || se.Code != 535 {
		t.Fatalf("refused token: err = %v", err)
	}
	if !strings.Contains(err.Error(), "XOAUTH2") {
		t.Errorf("error does not name the mechanism: %v", err)
	}
	if err := s.Send(context.Background(), envFrom, []string{ola}, testRaw(t, 2)); err != nil {
		t.Fatalf("second attempt with a new token: %v", err)
	}
	reqs := te.Requests()
	if len(reqs) != 2 || reqs[1]["grant_type"] != "refresh_token" {
		t.Errorf("token requests %v, want two refresh_token requests", reqs)
	}
}

// A failing token endpoint is a temporary failure naming the endpoint's
// error, never the secret.
func TestSenderOAuth2TokenEndpointFailure(t *testing.T) {
	te := tokentest.New(t)
	te.Fail = "invalid_client"
	srv := smtptest.Start(t, smtptest.WithSTARTTLS(), smtptest.WithOAuth2("kp@example.org", "token-1"))
	s := NewSender(SMTPConfig{Addr: srv.Addr, Security: SecuritySTARTTLS, Username: "kp@example.org",
		OAuth2:    &oauthsasl.OAuth2Config{TokenURL: te.URL, ClientID: "app", ClientSecret: "topsecret"},
		TLSConfig: srv.ClientTLSConfig(), Timeout: 10 * time.Second}, nil)
	defer s.Close()
	err := s.Send(context.Background(), envFrom, []string{ola}, testRaw(t, 1))
	var se *SendError
	var tokErr *oauthsasl.TokenError
	if !errors.As(err, &se) || !se.Temporary || !errors.As(err, &tokErr) || tokErr.Code != "invalid_client" {
		t.Fatalf("token endpoint failure: err = %v", err)
	}
	if strings.Contains(err.Error(), "topsecret") {
		t.Errorf("error leaks the secret: %v", err)
	}
	if len(srv.Messages()) != 0 {
		t.Error("delivered without authentication")
	}
}

// A relay that does not offer the configured mechanism is told apart from
// a refused token.
func TestSenderOAuth2MechanismNotOffered(t *testing.T) {
	te := tokentest.New(t)
	srv := smtptest.Start(t, smtptest.WithSTARTTLS(), smtptest.WithAuth("kp", "hemmelig"))
	s := NewSender(SMTPConfig{Addr: srv.Addr, Security: SecuritySTARTTLS, Username: "kp",
		OAuth2:    &oauthsasl.OAuth2Config{TokenURL: te.URL, ClientID: "app", ClientSecret: "s3cret"},
		TLSConfig: srv.ClientTLSConfig(), Timeout: 10 * time.Second}, nil)
	defer s.Close()
	err := s.Send(context.Background(), envFrom, []string{ola}, testRaw(t, 1))
	if err == nil || !strings.Contains(err.Error(), "not XOAUTH2") {
		t.Fatalf("err = %v, want the mechanism named", err)
	}
	if n := len(te.Requests()); n != 0 {
		t.Errorf("%d token requests for a relay that cannot take a token", n)
	}
}
