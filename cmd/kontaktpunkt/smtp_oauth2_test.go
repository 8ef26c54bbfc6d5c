package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"kontaktpunkt/config"
	"kontaktpunkt/internal/smtptest"
	"kontaktpunkt/mailbox/smtpclient"
)

// serve's SMTP settings carry smtp.oauth2 to the sender: a message reaches
// a relay that takes nothing but XOAUTH2, with a token from the configured
// endpoint and the client secret read from its configured source.
func TestServeSMTPConfigWithOAuth2(t *testing.T) {
	var got http.Header
	var form map[string][]string
	te := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		got, form = r.Header, r.PostForm
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "tok-m365", "token_type": "Bearer", "expires_in": 3600})
	}))
	defer te.Close()
	srv := smtptest.Start(t, smtptest.WithSTARTTLS(), smtptest.WithOAuth2("integrasjon@example.org", "tok-m365"))
	host, port, _ := net.SplitHostPort(srv.Addr)
	t.Setenv("KP_TEST_CLIENT_SECRET", "s3cret")

	cfg := config.Default()
	cfg.SMTP.Host = host
	cfg.SMTP.Port, _ = strconv.Atoi(port)
	cfg.SMTP.Username = "integrasjon@example.org"
	cfg.SMTP.OAuth2 = &config.OAuth2{TokenURL: te.URL, ClientID: "app", Mechanism: "xoauth2",
		ClientSecret: config.Secret{Env: "KP_TEST_CLIENT_SECRET"}, Scopes: []string{"https://outlook.office365.com/.default"}}
	sc, err := smtpConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sc.TLSConfig = srv.ClientTLSConfig()
	sc.Timeout = 10 * time.Second
	s := smtpclient.NewSender(sc, nil)
	defer s.Close()
	raw := []byte("From: integrasjon@example.org\r\nTo: ola@example.no\r\nSubject: test\r\nMessage-ID: <m1@example.org>\r\n\r\nHei.\r\n")
	if err := s.Send(context.Background(), "integrasjon@example.org", []string{"ola@example.no"}, raw); err != nil {
		t.Fatal(err)
	}
	if msgs := srv.Messages(); len(msgs) != 1 || msgs[0].User != "integrasjon@example.org" {
		t.Fatalf("relay received %+v", msgs)
	}
	if form["client_secret"][0] != "s3cret" || got.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("token request %v", form)
	}
}
