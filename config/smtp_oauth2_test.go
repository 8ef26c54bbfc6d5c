package config

import (
	"strings"
	"testing"
)

func TestSMTPOAuth2SharesIMAPSettings(t *testing.T) {
	c, err := Parse([]byte(`contact:
  address: integrasjon@example.org
imap:
  host: outlook.office365.com
  username: integrasjon@example.org
  oauth2: &oauth2
    token_url: https://login.microsoftonline.com/T/oauth2/v2.0/token
    client_id: app
    client_secret: {env: KP_SECRET}
    scopes: ["https://outlook.office365.com/.default"]
smtp:
  host: smtp.office365.com
  port: 587
  username: integrasjon@example.org
  oauth2: *oauth2
staff:
  members: [{address: kari@example.org}]
  trusted_authserv_ids: [mx.example.org]
`))
	if err != nil {
		t.Fatal(err)
	}
	o := c.SMTP.OAuth2
	if o == nil || o.ClientID != "app" || o.Mechanism != "xoauth2" || o.ClientSecret.Env != "KP_SECRET" {
		t.Fatalf("smtp.oauth2 = %+v", o)
	}
	names := map[string]bool{}
	for _, s := range c.secrets() {
		names[s.path] = true
	}
	if !names["smtp.oauth2.client_secret"] {
		t.Error("check-config would not read smtp.oauth2.client_secret")
	}
}

func TestSMTPOAuth2Problems(t *testing.T) {
	_, err := Parse([]byte(`contact:
  address: integrasjon@example.org
smtp:
  host: smtp.office365.com
  password: {env: X}
  oauth2:
    token_url: http://login.example.org/token
    mechanism: plain
`))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		"smtp.password: set either password or oauth2, not both",
		"smtp.oauth2.token_url: must be https",
		"smtp.oauth2.client_id: required",
		"smtp.oauth2.client_secret: required without refresh_token",
		"smtp.oauth2.mechanism: must be xoauth2 or oauthbearer",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	_, err = Parse([]byte("contact:\n  address: integrasjon@example.org\nsmtp:\n  host: smtp.gmail.com\n  oauth2:\n    token_url: https://oauth2.googleapis.com/token\n    client_id: a\n    refresh_token: {env: R}\n"))
	if err == nil || !strings.Contains(err.Error(), "smtp.username: required with smtp.oauth2") {
		t.Errorf("oauth2 without a username: %v", err)
	}
}
