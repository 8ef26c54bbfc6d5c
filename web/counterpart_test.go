package web

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	kp "kontaktpunkt"
)

func TestCasePageShowsCounterpartRefs(t *testing.T) {
	st := openStore(t)
	id := addCase(t, st, kp.Case{
		Subject: "Tilgang", Status: kp.StatusWaiting, Requester: kp.Address{Addr: "ola@example.no"}, Team: "fs",
		Created: t0.Add(-time.Hour), Updated: t0,
		Counterparts: []kp.CounterpartRef{{Team: "fs", Addr: "rt@rt.uio.no", System: "rt", Ref: "[rt.uio.no #4711]"}},
	})
	h := newHandler(t, st, &clock{t: t0}, nil)
	code, body, _ := get(t, h, fmt.Sprintf("/case/%d", id))
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	mustContain(t, body, "<dt>Their references</dt>", "<code>[rt.uio.no #4711]</code> team fs, rt@rt.uio.no (rt)")
}
