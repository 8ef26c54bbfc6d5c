package web

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	kp "kontaktpunkt"
)

func TestCasePageShowsThreadingAndRepairs(t *testing.T) {
	st := openStore(t)
	into := addCase(t, st, kp.Case{Subject: "Tilgang", Requester: kp.Address{Addr: "hanne@uib.example"}, Created: t0, Updated: t0,
		OpenedBy: "kari@uio.no", Links: []kp.CaseID{3}},
		kp.Message{Direction: kp.In, Class: kp.ClassHuman, MatchedBy: kp.MatchSubject, Kind: "reply",
			From: kp.Address{Addr: "hanne@uib.example"}, Subject: "Re: Tilgang", Date: t0, Text: "Tillegg."},
		kp.Message{ID: "p360-1@kommune.example-0a1b2c3d", CollidedID: "p360-1@kommune.example", Direction: kp.In, Class: kp.ClassHuman,
			MatchedBy: kp.MatchBodyTag, Kind: "reply", From: kp.Address{Addr: "arkiv@kommune.example"}, Subject: "Brev", Date: t0.Add(time.Minute), Text: "Deres ref.: INT#1"},
	)
	merged := addCase(t, st, kp.Case{Subject: "Tilgang igjen", Status: kp.StatusResolved, Requester: kp.Address{Addr: "hanne@uib.example"},
		Created: t0, Updated: t0, ResolvedAt: t0, MergedInto: into})
	h := newHandler(t, st, &clock{t: t0}, nil)
	code, body, _ := get(t, h, fmt.Sprintf("/case/%d", into))
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	mustContain(t, body, "matched by subject", "matched by body-tag", "&lt;p360-1@kommune.example&gt; was already used",
		`<dt>Related</dt><dd><a href="/case/3">[INT#3]</a>`, "<dt>Opened by</dt><dd>kari@uio.no")
	_, body, _ = get(t, h, fmt.Sprintf("/case/%d", merged))
	mustContain(t, body, fmt.Sprintf(`<dt>Merged into</dt><dd><a href="/case/%d">[INT#%d]</a>`, into, into))
}
