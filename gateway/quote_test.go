package gateway

import (
	"bytes"
	"strings"
	"testing"

	kp "kontaktpunkt"
	"kontaktpunkt/mailbox/mailmsg"
	"kontaktpunkt/store"
)

// bodyOf is the readable text of a queued mail.
func bodyOf(t *testing.T, o kp.Outbound) string {
	t.Helper()
	p, err := mailmsg.Parse(o.Raw)
	if err != nil {
		t.Fatalf("parsing our own %s mail: %v", o.Kind, err)
	}
	return p.Text
}

// quoteLines prefixes every line of s with "> ", as mutt quotes.
func quoteLines(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "> " + l
	}
	return strings.Join(lines, "\n") + "\n"
}

// internalLines are lines of the assignment mail that must never reach a
// requester.
var internalLines = []string{"Skriv [note] i emnefeltet", "er tildelt deg", "Svar på denne e-posten for å svare innmelderen"}

func TestRelayCarriesOnlyTheWritersNewText(t *testing.T) {
	h := newHarness(t, nil)
	id := caseNo(t, h.one(request("req1@example.org")))
	h.one(msg([]string{"From: Kari Integrasjon <" + kari + ">", "To: " + contact, trustedAR,
		"Subject: [assign:per.hansen] [INT#1] Tilgang", "Message-ID: <kari1@uio.no>"}, ""))
	assign := h.mailsTo(per, "assign")
	if len(assign) != 1 {
		t.Fatalf("assignment mails = %d", len(assign))
	}
	assignText := bodyOf(t, assign[0])
	if !strings.Contains(assignText, "Skriv [note] i emnefeltet") {
		t.Fatalf("assignment mail lacks its instructions:\n%s", assignText)
	}

	replies := []struct{ name, body, own string }{
		{"mutt top-posting", "Hei Ola, tilgangen er bestilt.\n\nOn Mon, Nov 23, 2026 at 09:00:00AM +0100, Integrasjonskontakt wrote:\n" + quoteLines(assignText), "tilgangen er bestilt"},
		{"mutt bottom-posting", "On Mon, Nov 23, 2026 at 09:00:00AM +0100, Integrasjonskontakt wrote:\n" + quoteLines(assignText) + "\nHei Ola, den er nå på plass.\n\n-- \nPer Hansen\n", "den er nå på plass"},
		{"outlook", "Hei Ola, det tar to dager.\n\nMed vennlig hilsen\nPer Hansen\n\nFra: Integrasjonskontakt <integrasjon@uio.no>\nSendt: mandag 23. november 2026 09:00\nTil: Per Hansen <per.hansen@uio.no>\nEmne: [INT#1] Tilgang\n\n" + assignText, "det tar to dager"},
		{"quoted without any mark", "Hei Ola, se under.\n\n" + assignText, "se under"},
	}
	for i, r := range replies {
		before := len(h.mailsTo(ola, "relay"))
		h.one(msg([]string{"From: Per Hansen <" + per + ">", "To: " + contact, trustedAR,
			"Subject: Re: [INT#1] Tilgang", "Message-ID: <per" + string(rune('a'+i)) + "@uio.no>"}, r.body))
		relays := h.mailsTo(ola, "relay")
		if len(relays) != before+1 {
			t.Fatalf("%s: relays to the requester = %d, want %d", r.name, len(relays), before+1)
		}
		text := bodyOf(t, relays[len(relays)-1])
		if !strings.Contains(text, r.own) {
			t.Errorf("%s: relay lacks the writer's text %q:\n%s", r.name, r.own, text)
		}
		for _, l := range internalLines {
			if strings.Contains(text, l) {
				t.Errorf("%s: relay to the requester holds %q:\n%s", r.name, l, text)
			}
		}
	}
	if relays := h.mailsTo(ola, "relay"); !strings.Contains(bodyOf(t, relays[1]), "-- \nPer Hansen") {
		t.Errorf("signature not kept:\n%s", bodyOf(t, relays[1]))
	}

	// The stored message keeps every byte, quote and all.
	h.st.View(func(tx *store.Tx) error {
		m, err := tx.Message("pera@uio.no")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(m.Text, "Skriv [note] i emnefeltet") {
			t.Errorf("stored text lost its quote:\n%s", m.Text)
		}
		raw, err := tx.Raw(m.ID)
		if err != nil || !bytes.Contains(raw, []byte("Skriv [note] i emnefeltet")) {
			t.Errorf("stored raw message lost its quote (%v)", err)
		}
		return nil
	})

	// A requester's reply that only quotes: the relay says there is nothing new.
	relay := h.mailsTo(ola, "relay")[0]
	h.one(msg([]string{"From: " + ola, "To: " + contact, "Subject: SV: " + relay.Subject, "Message-ID: <ola2@example.org>"},
		"\nFra: Integrasjonskontakt <integrasjon@uio.no>\nSendt: mandag 23. november 2026 09:05\nTil: Ola\nEmne: "+relay.Subject+"\n\n"+bodyOf(t, relay)))
	back := h.mailsTo(per, "relay")
	if len(back) != 1 {
		t.Fatalf("relays to the assignee = %d, want 1", len(back))
	}
	if text := bodyOf(t, back[0]); !strings.Contains(text, "(Ingen ny tekst i meldingen.)") || strings.Contains(text, "bestilt") {
		t.Errorf("relay of a reply with nothing new:\n%s", text)
	}
	if c := h.caseOf(id); c.Status != kp.StatusOpen {
		t.Errorf("case status = %s", c.Status)
	}
}

// The request that opens a case is passed on whole: a forward or a quote
// in it is what the requester asks about.
func TestNewRequestIsPassedOnWhole(t *testing.T) {
	h := newHarness(t, nil)
	body := "Hei, vi får denne feilen, se under.\n\n-----Opprinnelig melding-----\nFra: FS <fs@uio.no>\nSendt: mandag\nTil: Ola\nEmne: Feil\n\nFeilkode 4711: ingen tilgang.\n"
	h.one(msg([]string{"From: Ola <" + ola + ">", "To: " + contact, "Subject: Feil i FS", "Message-ID: <r1@example.org>"}, body))
	notify := h.mailsTo(kari, "notify")
	if len(notify) != 1 || !strings.Contains(bodyOf(t, notify[0]), "Feilkode 4711") {
		t.Fatalf("notification lost the quoted request")
	}
}

// Every line of our templates with enough fixed text is recognised, so a
// reply quoting any of our mails is cut there.
func TestTrimmerKnowsOurTemplates(t *testing.T) {
	for _, lang := range []string{"nb", "en"} {
		tm, err := LoadTemplates(lang, "")
		if err != nil {
			t.Fatal(err)
		}
		d := &caseData{Tag: "[INT#7]", Subject: "Tilgang", ContactName: "Integrasjonskontakt", Case: &kp.Case{ID: 7, Status: kp.StatusOpen},
			Requester: kp.Address{Name: "Ola", Addr: ola}, Assignee: per, Author: "Kari <kari@uio.no>", Text: "", Quote: "> Hei",
			Applied: []string{"assign"}, Failed: ola, Reason: "550 5.1.1", Suppressed: true, SuppressDays: 30, Level: 1,
			Since: "2026-11-23 09:00", Created: "2026-11-23 09:00", ResolveOn: "2026-12-08", ReopenDays: 14}
		for _, kind := range []string{"assign", "note", "relay", "receipt", "escalate", "respond", "triage", "notify", "outsider", "delivery-failure", "ack"} {
			body, err := tm.Render(kind, d)
			if err != nil {
				t.Fatal(err)
			}
			q := tm.Trimmer().Split("Mitt svar.\n\n" + body)
			if q.Own != "Mitt svar." && !(kind == "ack" && strings.HasPrefix(q.Own, "Mitt svar.\n\nHe")) {
				t.Errorf("%s/%s: own text = %q", lang, kind, q.Own)
			}
		}
	}
}
