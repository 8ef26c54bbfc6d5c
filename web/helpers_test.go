package web

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
)

// t0 is the fixed "now" of the tests.
var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// clock is a fake clock the tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// openStore opens a store in a fresh directory; the cleanup checks its
// consistency and closes it.
func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "kp.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Check(); err != nil {
			t.Errorf("store check: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("closing store: %v", err)
		}
	})
	return st
}

// addCase stores c (ID allocated) with its messages.
func addCase(t testing.TB, st *store.Store, c kp.Case, msgs ...kp.Message) kp.CaseID {
	t.Helper()
	err := st.Update(func(tx *store.Tx) error {
		id, err := tx.NextCaseID()
		if err != nil {
			return err
		}
		c.ID = id
		if c.Priority == "" {
			c.Priority = kp.PriorityNormal
		}
		if c.Status == "" {
			c.Status = kp.StatusOpen
		}
		c.Messages = len(msgs)
		if err := tx.PutCase(&c); err != nil {
			return err
		}
		for i := range msgs {
			m := msgs[i]
			m.Case = id
			if m.ID == "" {
				m.ID = fmt.Sprintf("case%d-msg%d@test.example", id, i)
			}
			if err := tx.PutMessage(&m, []byte("raw")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// writeAuthFile writes an auth file with one user and returns its path.
func writeAuthFile(t testing.TB, user, password string) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(path, []byte("# staff\n"+user+":"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// newHandler builds the handler over st with the fake clock c.
func newHandler(t testing.TB, st *store.Store, c *clock, mod func(*Options)) http.Handler {
	t.Helper()
	o := Options{Store: st, TagPrefix: "INT", ContactName: "Integrasjon UiO", Now: c.Now, Location: time.UTC}
	if mod != nil {
		mod(&o)
	}
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// get runs one GET request against h and returns the status and body.
func get(t testing.TB, h http.Handler, target string, hdr ...string) (int, string, http.Header) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	body, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(body), w.Result().Header
}

// mustContain fails the test for every want missing from body.
func mustContain(t testing.TB, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

// mustNotContain fails the test for every bad string present in body.
func mustNotContain(t testing.TB, body string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(body, b) {
			t.Errorf("page contains %q", b)
		}
	}
}

// ciRequired reports whether missing dependencies must fail the test.
func ciRequired() bool { return os.Getenv("CI") == "true" }
