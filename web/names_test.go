package web

import (
	"fmt"
	"testing"

	kp "kontaktpunkt"
)

// TestDashboardShowsNamesOnOneLine: display names stored with line breaks
// (before parsing cleaned them) are shown on one line.
func TestDashboardShowsNamesOnOneLine(t *testing.T) {
	st := openStore(t)
	id := addCase(t, st, kp.Case{Subject: "Tilgang", Created: t0, Updated: t0,
		Requester: kp.Address{Name: "Ola\r\nFake line", Addr: "ola@example.org"}},
		kp.Message{From: kp.Address{Name: "Per\u2028Fake line", Addr: "per@example.org"}, Direction: kp.In, Date: t0, Received: t0, Text: "Hei"})
	h := newHandler(t, st, &clock{t: t0}, nil)
	for _, target := range []string{"/?f=all", fmt.Sprintf("/case/%d", id)} {
		code, body, _ := get(t, h, target)
		if code != 200 {
			t.Fatalf("%s: %d", target, code)
		}
		mustContain(t, body, "Ola Fake line")
		mustNotContain(t, body, "Ola\r\n", "Ola\n", "Per\u2028")
		if target != "/?f=all" {
			mustContain(t, body, "Per Fake line")
		}
	}
}
