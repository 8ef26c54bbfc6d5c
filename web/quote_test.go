package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	kp "kontaktpunkt"
)

func TestCasePageFoldsQuotedHistory(t *testing.T) {
	st := openStore(t)
	quote := "\n-----Opprinnelig melding-----\nFra: Integrasjon <integrasjon@uio.no>\nSendt: mandag 23. november 2026 10:15\nTil: Per\nEmne: [INT#1] Tilgang\n\nSkriv [note] i emnefeltet <b>her</b>.\n"
	id := addCase(t, st, kp.Case{Subject: "Tilgang", Requester: kp.Address{Addr: "ola@example.org"}, Created: t0, Updated: t0},
		kp.Message{Direction: kp.In, Class: kp.ClassHuman, Kind: "request", From: kp.Address{Addr: "ola@example.org"},
			Subject: "Tilgang", Text: "Hei, se feilen under.\n\n-----Opprinnelig melding-----\nFra: FS\nSendt: i går\nTil: Ola\n\nFeilkode 4711\n"},
		kp.Message{Direction: kp.In, Class: kp.ClassHuman, Kind: "reply", From: kp.Address{Addr: "per@uio.no"},
			Subject: "SV: [INT#1] Tilgang", Text: "Tilgangen er bestilt.\n" + quote},
		kp.Message{Direction: kp.In, Class: kp.ClassHuman, Kind: "reply", From: kp.Address{Addr: "ola@example.org"},
			Subject: "SV: [INT#1] Tilgang", Text: "> Tilgangen er bestilt.\n"},
	)
	h := newHandler(t, st, &clock{t: t0}, nil)
	code, body, _ := get(t, h, fmt.Sprintf("/case/%d", id))
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	// The reply shows its own text; its quote is folded in <details>,
	// escaped, with the line count; no script is involved.
	mustContain(t, body,
		"<pre>Tilgangen er bestilt.</pre>",
		`<details class="quoted"><summary>7 quoted lines</summary><pre>-----Opprinnelig melding-----`,
		"Skriv [note] i emnefeltet &lt;b&gt;her&lt;/b&gt;.",
		"<pre>(no new text)</pre>", "<summary>1 quoted line</summary>",
	)
	mustNotContain(t, body, "<script")
	// The request that opened the case is shown whole.
	if i := strings.Index(body, "Feilkode 4711"); i < 0 || strings.LastIndex(body[:i], "<details") > strings.LastIndex(body[:i], "<li") {
		t.Errorf("the request's quoted part was folded")
	}
}
