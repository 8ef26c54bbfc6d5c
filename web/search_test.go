package web

import (
	"net/url"
	"testing"
	"time"

	kp "kontaktpunkt"
)

func TestSearchPage(t *testing.T) {
	st := openStore(t)
	c := &clock{t: t0}
	addCase(t, st, kp.Case{Subject: "Canvas-emner mangler", Team: "fs", Created: t0.Add(-48 * time.Hour), Updated: t0,
		Requester: kp.Address{Name: "Åse Bjørnstad", Addr: "ase@hf.uib.no"}},
		kp.Message{Direction: kp.In, From: kp.Address{Name: "Åse Bjørnstad", Addr: "ase@hf.uib.no"}, Subject: "Canvas-emner mangler",
			Text: "Integrasjonen mot Canvas har stoppet <script>alert(1)</script>."})
	addCase(t, st, kp.Case{Subject: "Passord", Status: kp.StatusResolved, Created: t0, Updated: t0,
		Requester: kp.Address{Addr: "per@ntnu.no"}},
		kp.Message{Direction: kp.In, From: kp.Address{Addr: "per@ntnu.no"}, Subject: "Passord", Text: "Glemt passord."})
	h := newHandler(t, st, c, nil)

	code, body, _ := get(t, h, "/search?q="+url.QueryEscape("integr from:@uib.no"))
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	mustContain(t, body, "[INT#1]", "Canvas-emner mangler", "Integrasjonen mot Canvas", `value="integr from:@uib.no"`, "&lt;script&gt;")
	mustNotContain(t, body, "[INT#2]", "<script>alert")

	_, body, _ = get(t, h, "/search?q="+url.QueryEscape("status:resolved"))
	mustContain(t, body, "[INT#2]")
	mustNotContain(t, body, "[INT#1]")

	_, body, _ = get(t, h, "/search?q=bjorn")
	mustContain(t, body, "No case matches.")

	_, body, _ = get(t, h, "/search")
	mustContain(t, body, "status:open")

	// Every page carries the search box.
	for _, p := range []string{"/", "/case/1", "/unfiled", "/search?q=x"} {
		_, body, _ := get(t, h, p)
		mustContain(t, body, `action="/search"`)
	}
}

func TestSearchNeedsAuth(t *testing.T) {
	st := openStore(t)
	c := &clock{t: t0}
	h := newHandler(t, st, c, func(o *Options) { o.AuthFile = writeAuthFile(t, "kari", "pw") })
	for _, p := range []string{"/search?q=x", "/unfiled"} {
		if code, _, _ := get(t, h, p); code != 401 {
			t.Errorf("%s without credentials: %d", p, code)
		}
	}
}
