package smtpclient

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/wneessen/go-mail/smtp"

	"kontaktpunkt/mailbox/oauthsasl"
)

// saslAuth lets go-mail's SMTP client speak one of our SASL clients
// (XOAUTH2, OAUTHBEARER), so IMAP and SMTP send the same bytes.
type saslAuth struct {
	c          oauthsasl.Client
	allowClear bool // loopback relay: no TLS needed
}

func (a *saslAuth) Start(si *smtp.ServerInfo) (string, []byte, error) {
	if !si.TLS && !a.allowClear {
		return "", nil, errors.New("refusing to send an access token without TLS")
	}
	return a.c.Start()
}

func (a *saslAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	return a.c.Next(fromServer)
}

// authOAuth2 authenticates with an access token from the token source,
// by the configured mechanism, which the relay must offer. A token the
// relay refuses is forgotten, so the next connection asks for a new one.
func (s *Sender) authOAuth2(ctx context.Context, offered []string) error {
	mech := oauthsasl.MechXOAuth2
	if strings.EqualFold(s.cfg.OAuth2.Mechanism, "oauthbearer") {
		mech = oauthsasl.MechOAuthBearer
	}
	if !contains(offered, mech) {
		return fmt.Errorf("relay offers AUTH %q, not %s (smtp.oauth2.mechanism)", strings.Join(offered, " "), mech)
	}
	token, err := s.tokens.Token(ctx)
	if err != nil {
		return fmt.Errorf("getting an access token for %s: %w", s.cfg.Username, err)
	}
	var c oauthsasl.Client
	if mech == oauthsasl.MechOAuthBearer {
		port, _ := strconv.Atoi(s.port)
		c = oauthsasl.NewOAuthBearerClient(s.cfg.Username, token, s.host, port)
	} else {
		c = oauthsasl.NewXOAuth2Client(s.cfg.Username, token)
	}
	if err := s.c.Auth(&saslAuth{c: c, allowClear: isLoopback(s.host)}); err != nil {
		s.tokens.Forget()
		detail := ""
		if f := oauthsasl.Failure(c); f != "" {
			detail = " (" + oneLineSASL(f) + ")"
		}
		return fmt.Errorf("auth as %s with %s: %w%s", s.cfg.Username, mech, err, detail)
	}
	return nil
}

// oneLineSASL keeps a server's failure detail short and printable.
func oneLineSASL(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.TrimSpace(s)
}
