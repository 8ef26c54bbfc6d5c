// Package tokentest runs a real OAuth2 token endpoint on 127.0.0.1 for the
// tests of the IMAP intake, the SMTP sender and their token source.
package tokentest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Endpoint is a real HTTP token endpoint on 127.0.0.1 that records the
// requests it gets.
type Endpoint struct {
	*httptest.Server
	mu       sync.Mutex
	requests []map[string]string
	next     int // number in the next issued token

	// Fail, when set, makes the endpoint answer 400 with this OAuth2 error
	// code. Set it before the first request, or with SetFail.
	Fail string
	// Rotate issues a new refresh token with every answer.
	Rotate bool
	// Expires is the expires_in of an issued token, in seconds.
	Expires int
}

// New starts an Endpoint issuing tokens that expire in an hour; it stops
// when the test ends.
func New(t testing.TB) *Endpoint {
	te := &Endpoint{Expires: 3600}
	te.Server = httptest.NewServer(http.HandlerFunc(te.serve))
	t.Cleanup(te.Close)
	return te
}

func (te *Endpoint) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	form := map[string]string{}
	for k := range r.PostForm {
		form[k] = r.PostForm.Get(k)
	}
	te.mu.Lock()
	defer te.mu.Unlock()
	te.requests = append(te.requests, form)
	w.Header().Set("Content-Type", "application/json")
	if te.Fail != "" {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": te.Fail, "error_description": "AADSTS70000: the grant is expired"})
		return
	}
	te.next++
	resp := map[string]any{"access_token": fmt.Sprintf("token-%d", te.next), "token_type": "Bearer", "expires_in": te.Expires}
	if te.Rotate {
		resp["refresh_token"] = fmt.Sprintf("refresh-%d", te.next)
	}
	json.NewEncoder(w).Encode(resp)
}

// SetFail sets Fail while requests may be arriving.
func (te *Endpoint) SetFail(code string) {
	te.mu.Lock()
	te.Fail = code
	te.mu.Unlock()
}

// Requests returns the form of every request so far.
func (te *Endpoint) Requests() []map[string]string {
	te.mu.Lock()
	defer te.mu.Unlock()
	return append([]map[string]string(nil), te.requests...)
}
