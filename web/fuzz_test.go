package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// FuzzDashboardRequest feeds arbitrary paths and queries (filters, pages,
// assignees, case ids: all of it typed or pasted by people) to the
// handler: no panic, no server error.
func FuzzDashboardRequest(f *testing.F) {
	for _, s := range []string{
		"/", "/?f=overdue&page=3", "/?f=escalated&assignee=per@uio.no", "/?page=99999999999999999999",
		"/?page=-4&f=all", "/?assignee=%ff%fe", "/case?id=[INT%2342]", "/case?id=99999999999999999999999",
		"/case/1", "/case/18446744073709551615", "/case/%00", "/healthz", "/metrics",
	} {
		f.Add(s)
	}
	st := openStore(f)
	seedSmall(f, st)
	h := newHandler(f, st, &clock{t: t0}, nil)
	f.Fuzz(func(t *testing.T, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		r := &http.Request{Method: http.MethodGet, URL: u, RequestURI: target, Header: http.Header{}, Host: "127.0.0.1"}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%q: status %d: %s", target, w.Code, w.Body.String())
		}
	})
}
