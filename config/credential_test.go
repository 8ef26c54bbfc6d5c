package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCredentialSecret(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "smtp-password"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Parse([]byte("contact:\n  address: integrasjon@example.org\nsmtp:\n  host: smtp.example.org\n  username: kp\n  password: {credential: smtp-password}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := c.SMTP.Password
	if !s.IsSet() || s.String() != "credential:smtp-password" {
		t.Fatalf("secret %v", s)
	}

	t.Setenv("CREDENTIALS_DIRECTORY", dir)
	if v, err := s.Value(); err != nil || v != "s3cret" {
		t.Errorf("Value = %q, %v; want the credential's content without its newline", v, err)
	}

	t.Setenv("CREDENTIALS_DIRECTORY", "")
	_, err = s.Value()
	if err == nil || !strings.Contains(err.Error(), "CREDENTIALS_DIRECTORY is not set") || !strings.Contains(err.Error(), "LoadCredential=smtp-password:PATH") {
		t.Errorf("without a credentials directory: %v", err)
	}
	if err := c.CheckFiles(); err == nil || !strings.Contains(err.Error(), "smtp.password") {
		t.Errorf("check-config misses the unavailable credential: %v", err)
	}

	t.Setenv("CREDENTIALS_DIRECTORY", t.TempDir())
	if _, err := s.Value(); err == nil || !strings.Contains(err.Error(), "credential smtp-password is not in") {
		t.Errorf("missing credential: %v", err)
	}
}

func TestCredentialSecretProblems(t *testing.T) {
	_, err := Parse([]byte("contact:\n  address: integrasjon@example.org\nsmtp:\n  host: smtp.example.org\n  username: kp\n  password: {credential: ../etc/shadow, env: X}\n"))
	if err == nil {
		t.Fatal("accepted a path as credential name and two sources")
	}
	for _, want := range []string{"smtp.password.credential", "not a credential name", "set one of file, env and credential"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}
