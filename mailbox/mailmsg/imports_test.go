package mailmsg

import (
	"os/exec"
	"strings"
	"testing"
)

// TestMailLibrariesStayInTheirPackage checks that in the program (the
// packages cmd/kontaktpunkt is built from) each third-party mail library is
// imported by one package only, so that its types cannot leak: go-message
// by mailmsg, go-imap and go-sasl by imapintake, go-mail by smtpclient,
// golang.org/x/oauth2 by oauthsasl. The demo's mail servers under
// internal/ are not the product and may use what they need.
func TestMailLibrariesStayInTheirPackage(t *testing.T) {
	owner := map[string]string{
		"github.com/emersion/go-message": "kontaktpunkt/mailbox/mailmsg",
		"github.com/emersion/go-imap":    "kontaktpunkt/mailbox/imapintake",
		"github.com/emersion/go-sasl":    "kontaktpunkt/mailbox/imapintake",
		"github.com/wneessen/go-mail":    "kontaktpunkt/mailbox/smtpclient",
		"golang.org/x/oauth2":            "kontaktpunkt/mailbox/oauthsasl",
	}
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "kontaktpunkt/cmd/kontaktpunkt").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := f[0]
		if pkg != "kontaktpunkt" && !strings.HasPrefix(pkg, "kontaktpunkt/") || strings.HasPrefix(pkg, "kontaktpunkt/internal/") {
			continue
		}
		for _, imp := range f[1:] {
			for lib, want := range owner {
				if imp != lib && !strings.HasPrefix(imp, lib+"/") {
					continue
				}
				seen[lib] = true
				if pkg != want {
					t.Errorf("%s imports %s, which only %s may", pkg, imp, want)
				}
			}
		}
	}
	for lib, want := range owner {
		if !seen[lib] {
			t.Errorf("%s no longer imports %s: update this test", want, lib)
		}
	}
}
