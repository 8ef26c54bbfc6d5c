package config

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// AuthFile holds the users of http.auth_file: user name to bcrypt hash.
//
// The file has one "user:hash" line per user, where hash is a bcrypt hash
// ($2a$, $2b$ or $2y$), exactly what `htpasswd -nbB user password` prints.
// Blank lines and lines starting with '#' are ignored. Other hash schemes
// (MD5 "$apr1$", SHA1 "{SHA}", crypt, plain text) are refused: they are too
// cheap to brute-force if the file leaks.
type AuthFile map[string][]byte

// ReadAuthFile reads and checks an auth file. Errors name the line, never
// its content.
func ReadAuthFile(path string) (AuthFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading auth file: %w", err)
	}
	a := AuthFile{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok || user == "" {
			return nil, fmt.Errorf("auth file %s line %d: want user:bcrypt-hash", path, n)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil || !strings.HasPrefix(hash, "$2") {
			return nil, fmt.Errorf("auth file %s line %d: not a bcrypt hash (create lines with htpasswd -nbB USER PASSWORD)", path, n)
		}
		if _, dup := a[user]; dup {
			return nil, fmt.Errorf("auth file %s line %d: user %q listed twice", path, n, user)
		}
		a[user] = []byte(hash)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading auth file %s: %w", path, err)
	}
	if len(a) == 0 {
		return nil, fmt.Errorf("auth file %s lists no users", path)
	}
	return a, nil
}

// dummyHash is compared against for unknown users, so that a wrong user
// name takes as long as a wrong password.
var dummyHash = []byte("$2a$10$jK9.1Teu5TSZElnZ4m2blO5GyZ/sqbF275Sa0OPD0Cwxv7tAgAb8m")

// Verify reports whether password is right for user.
func (a AuthFile) Verify(user, password string) bool {
	hash, ok := a[user]
	if !ok {
		hash = dummyHash
	}
	err := bcrypt.CompareHashAndPassword(hash, []byte(password))
	return ok && err == nil
}
