package web

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	kp "kontaktpunkt"
)

func TestDashboardInBokmal(t *testing.T) {
	st := openStore(t)
	c := &clock{t: t0}
	id := addCase(t, st, kp.Case{Subject: "Tilgang", Requester: kp.Address{Addr: "ola@example.org"}, Updated: t0,
		Next: &kp.FollowUp{Kind: kp.FollowRespond, Due: t0.Add(time.Hour)}},
		kp.Message{Direction: kp.In, Kind: "note", From: kp.Address{Addr: "kari@uio.no"}, Text: "Intern"})
	h := newHandler(t, st, c, func(o *Options) { o.Language = "nb" })
	_, list, _ := get(t, h, "/")
	mustContain(t, list, `<html lang="nb">`, "Åpne saker", "Søk i saker", "Uten sak", "Fra ola@example.org", "ikke tildelt")
	mustNotContain(t, list, "Open cases", "unassigned")
	_, page, _ := get(t, h, fmt.Sprintf("/case/%d", id))
	mustContain(t, page, "Saksbehandler", "Neste oppfølging", "Tidslinje", "Intern merknad · bare for oss")
	mustNotContain(t, page, "Timeline", "Next follow-up")

	_, en, _ := get(t, newHandler(t, st, c, nil), "/")
	mustContain(t, en, `<html lang="en">`, "Open cases")
}

// TestEveryTranslatedTextHasBokmal: every {{t "…"}} in the templates has
// a bokmål text, so no page is half English.
func TestEveryTranslatedTextHasBokmal(t *testing.T) {
	re := regexp.MustCompile(`\{\{[^}]*\bt "([^"]+)"`)
	entries, err := templateFS.ReadDir("templates")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := templateFS.ReadFile("templates/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			if _, ok := nb[m[1]]; !ok {
				t.Errorf("%s: %q has no bokmål text", e.Name(), m[1])
			}
		}
	}
}
