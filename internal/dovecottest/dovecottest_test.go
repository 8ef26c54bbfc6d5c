package dovecottest

import (
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"kontaktpunkt/internal/imaptest"
)

// TestStartServesTLSAndStartTLS logs in over both listeners with the
// generated certificate and sees mail written straight into the maildir.
func TestStartServesTLSAndStartTLS(t *testing.T) {
	srv := Start(t)
	srv.WriteMaildir(t, "INBOX", [][]byte{imaptest.Message("a@example.org", 100), imaptest.Message("b@example.org", 100)})
	srv.WriteMaildir(t, "Archive", [][]byte{imaptest.Message("c@example.org", 100)})
	opts := &imapclient.Options{TLSConfig: srv.TLSConfig()}
	for _, tc := range []struct {
		name string
		dial func() (*imapclient.Client, error)
	}{
		{"tls", func() (*imapclient.Client, error) { return imapclient.DialTLS(srv.TLSAddr, opts) }},
		{"starttls", func() (*imapclient.Client, error) { return imapclient.DialStartTLS(srv.Addr, opts) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.dial()
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer c.Close()
			if err := c.Login(srv.Username, srv.Password).Wait(); err != nil {
				t.Fatalf("login: %v", err)
			}
			for box, want := range map[string]uint32{"INBOX": 2, "Archive": 1} {
				st, err := c.Status(box, &imap.StatusOptions{NumMessages: true}).Wait()
				if err != nil {
					t.Fatalf("status %s: %v", box, err)
				}
				if *st.NumMessages != want {
					t.Errorf("%s has %d messages, want %d", box, *st.NumMessages, want)
				}
			}
		})
	}
	c, err := imapclient.DialTLS(srv.TLSAddr, opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	if err := c.Login(srv.Username, "wrong").Wait(); err == nil {
		t.Errorf("login with a wrong password succeeded")
	}
}
