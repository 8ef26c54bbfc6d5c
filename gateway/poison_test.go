package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
)

// events returns the texts of the event lines on case id.
func (h *harness) events(id kp.CaseID) []string {
	h.t.Helper()
	var out []string
	err := h.st.View(func(tx *store.Tx) error {
		ms, err := tx.CaseMessages(id)
		for _, m := range ms {
			if m.Kind == KindEvent {
				out = append(out, m.Text)
			}
		}
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

func TestOddAddressesNeverStopTheLine(t *testing.T) {
	odd := []string{
		`"john smith"@example.org`, "john.@docomo.ne.jp", "taro..yamada@docomo.ne.jp", `"a,b"@example.org`,
		"pål@økonomi.no", // 8-bit: no quoting makes it writable without SMTPUTF8
	}
	h := newHarness(t, nil)
	var batch [][]byte
	for i, a := range odd {
		batch = append(batch, msg([]string{
			"From: Ola <" + ola + ">", "To: " + contact, "Cc: Odd <" + a + ">, Kari Hansen <kari.hansen@example.org>",
			"Subject: Forespørsel " + string(rune('A'+i)), "Message-ID: <odd" + string(rune('a'+i)) + "@example.org>",
		}, "Hei\n"))
		batch = append(batch, request("good"+string(rune('a'+i))+"@example.org"))
	}
	// The odd address as the requester itself.
	batch = append(batch, msg([]string{
		"From: Taro <taro..yamada@docomo.ne.jp>", "To: " + contact, "Subject: Hei", "Message-ID: <taro@docomo.ne.jp>",
	}, "Hei\n"))
	batch = append(batch, msg([]string{
		"From: Bad <bad\x01x@example.org>", "To: " + contact, "Subject: Hei", "Message-ID: <ctl@example.org>",
	}, "Hei\n"))
	res := h.ingest(batch...)
	for _, r := range res {
		if r.Status != ResultStored {
			t.Errorf("%s: status %s (%s), want stored", r.Source, r.Status, r.Error)
		}
	}
	if n := len(h.mailsTo(ola, "ack")); n != 2*len(odd) {
		t.Errorf("acks to ola = %d, want %d", n, 2*len(odd))
	}
	if n := len(h.mailsTo("taro..yamada@docomo.ne.jp", "ack")); n != 1 {
		t.Errorf("acks to the quoted-local-part requester = %d, want 1", n)
	}

	// Every later staff reply on the case still reaches the requester
	// and the good Cc; a left-out address is named on the case.
	id := caseNo(t, res[len(odd)*2-2])
	r := h.one(msg([]string{
		"From: Kari Integrasjon <" + kari + ">", "To: " + contact, trustedAR,
		"Subject: Re: " + id.Tag("INT") + " Forespørsel", "Message-ID: <kari-odd@uio.no>",
	}, "Vi ser på det.\n"))
	if r.Status != ResultStored {
		t.Fatalf("staff reply: %+v", r)
	}
	relays := h.mailsTo(ola, "relay")
	if len(relays) != 1 {
		t.Fatalf("relays to ola = %d, want 1", len(relays))
	}
	if !strings.Contains(strings.Join(relays[0].To, " "), "kari.hansen@example.org") {
		t.Errorf("relay recipients %v lack the good Cc", relays[0].To)
	}
	ev := strings.Join(h.events(id), "\n")
	if !strings.Contains(ev, "left out") {
		t.Errorf("no event names the left-out address; events: %q", ev)
	}
	for _, o := range h.outbox() {
		for _, rc := range o.To {
			if strings.ContainsAny(rc, "\x00\x01") || !isASCII(rc) {
				t.Errorf("%s mail queued for unwritable %q", o.Kind, rc)
			}
		}
	}
}

// TestMessageThatCannotBeAppliedIsQuarantinedAlone: a message whose
// handling fails for a reason of its own (here a template that fails only
// for its subject) is quarantined with the reason, and the rest of its
// batch is stored.
func TestMessageThatCannotBeAppliedIsQuarantinedAlone(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "nb"), 0o755); err != nil {
		t.Fatal(err)
	}
	tmpl := `{{if eq .Subject "Giftig"}}{{index .Applied 7}}{{end}}Takk, {{.Tag}}.` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "nb", "ack.tmpl"), []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Templates.Dir = dir
	h := newHarness(t, cfg)
	res := h.ingest(
		request("before@example.org"),
		msg([]string{"From: " + ola, "To: " + contact, "Subject: Giftig", "Message-ID: <poison@example.org>"}, "x\n"),
		request("after@example.org"),
	)
	if res[0].Status != ResultStored || res[2].Status != ResultStored {
		t.Fatalf("good messages: %+v / %+v", res[0], res[2])
	}
	if res[1].Status != ResultQuarantined || !strings.Contains(res[1].Error, "cannot be applied") {
		t.Fatalf("poison message: %+v", res[1])
	}
	if n := len(h.mailsTo(ola, "ack")); n != 2 {
		t.Errorf("acks = %d, want 2", n)
	}
	// Seen again (IMAP redelivery, ingest rerun): a duplicate that keeps its reason.
	again := h.one(msg([]string{"From: " + ola, "To: " + contact, "Subject: Giftig", "Message-ID: <poison@example.org>"}, "x\n"))
	if again.Status != ResultDuplicate || again.Error == "" {
		t.Errorf("poison message again: %+v", again)
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
