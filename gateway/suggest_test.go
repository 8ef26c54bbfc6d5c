package gateway

import (
	"fmt"
	"strings"
	"testing"

	"kontaktpunkt/config"
)

const lisa = "lisa@uio.no" // team canvas

// suggestConfig routes mail from two partner domains by rule, so the
// history is assigned the way routing rules assign; mail from anyone else
// matches no rule.
func suggestConfig() *config.Config {
	cfg := testConfig()
	cfg.Teams = append(cfg.Teams, config.Team{Name: "canvas", Members: []string{lisa}})
	cfg.Routing = []config.Rule{
		{FromDomain: `^fs\.example$`, Team: "fs"},
		{FromDomain: `^lms\.example$`, Team: "canvas"},
	}
	return cfg
}

var suggestHistory = map[string][]string{
	"fs": {
		"Eksamen mangler i FS|Eksamenen for emnet vises ikke for studentene.",
		"Karakterer fra FS-API-et|Karakterene kommer ikke over fra FS-API-et.",
		"Vitnemål|Vitnemålet til studenten har feil emner.",
		"Emne i studieprogram|Emnet er borte fra studieprogrammet.",
	},
	"canvas": {
		"Emnerom i Canvas|Emnerommet er tomt etter kopiering.",
		"Innlevering virker ikke|Innleveringen i Canvas låser seg.",
		"Canvas-modul|Modulen i emnerommet vises ikke.",
		"Frist på oppgave|Oppgavefristen i Canvas er feil.",
	},
}

// history ingests the past cases: each routed by rule, and one case
// opened without a rule and assigned by staff afterwards.
func (h *harness) suggestHistory() {
	h.t.Helper()
	n := 0
	for _, team := range []string{"fs", "canvas"} {
		domain := map[string]string{"fs": "fs.example", "canvas": "lms.example"}[team]
		for _, s := range suggestHistory[team] {
			subj, body, _ := strings.Cut(s, "|")
			n++
			h.one(msg([]string{fmt.Sprintf("From: u%d@%s", n, domain), "To: " + contact, "Subject: " + subj,
				fmt.Sprintf("Message-ID: <h%d@%s>", n, domain)}, body+"\n"))
		}
	}
	// A reassignment counts for the final team: opened unrouted, then
	// staff assign it to canvas.
	id := caseNo(h.t, h.one(msg([]string{"From: ny@example.org", "To: " + contact, "Subject: Canvas-oppgave",
		"Message-ID: <h-re@example.org>"}, "Quizen i emnerommet teller feil.\n")))
	h.one(msg([]string{"From: " + kari, "To: " + contact, trustedAR,
		fmt.Sprintf("Subject: [assign:canvas] [INT#%d]", id), "Message-ID: <k-re@uio.no>"}, ""))
	if c := h.caseOf(id); c.Team != "canvas" {
		h.t.Fatalf("history case %d team %q, want canvas", id, c.Team)
	}
}

func TestSuggestInNotification(t *testing.T) {
	h := newHarness(t, suggestConfig())
	h.suggestHistory()
	id := caseNo(t, h.one(msg([]string{"From: " + ola, "To: " + contact, "Subject: Emnerommene i Canvas",
		"Message-ID: <new@example.org>"}, "Hei, innleveringene i emnerommet mitt forsvant i dag.\n")))
	if c := h.caseOf(id); c.Team != "" || c.Assignee != "" {
		t.Errorf("assigned to %q/%q without auto_assign_above", c.Team, c.Assignee)
	}
	notes := h.mailsTo(kari, "notify")
	text := bodyOf(t, notes[len(notes)-1])
	if !strings.Contains(text, "Forslag: canvas (") || !strings.Contains(text, "lignende saker: [INT#") {
		t.Errorf("notification lacks the suggestion:\n%s", text)
	}
	if !strings.Contains(text, "Svar med [assign:canvas] i emnefeltet") {
		t.Errorf("notification lacks the [assign:canvas] hint:\n%s", text)
	}
	// A case routed by rule gets no suggestion: it is already assigned.
	h.one(msg([]string{"From: x@fs.example", "To: " + contact, "Subject: Eksamen", "Message-ID: <r@fs.example>"}, "Eksamenen mangler.\n"))
	notes = h.mailsTo(kari, "notify")
	if text := bodyOf(t, notes[len(notes)-1]); strings.Contains(text, "Forslag") {
		t.Errorf("routed case's notification suggests:\n%s", text)
	}
}

func TestSuggestAutoAssign(t *testing.T) {
	cfg := suggestConfig()
	cfg.Suggest.AutoAssignAbove = 0.6
	h := newHarness(t, cfg)
	h.suggestHistory()
	id := caseNo(t, h.one(msg([]string{"From: " + ola, "To: " + contact, "Subject: Karakterene i FS",
		"Message-ID: <new@example.org>"}, "Karakteren til studenten er feil i vitnemålet.\n")))
	if c := h.caseOf(id); c.Team != "fs" {
		t.Fatalf("team %q, want fs assigned by suggestion", c.Team)
	}
	notes := h.mailsTo(kari, "notify")
	if text := bodyOf(t, notes[len(notes)-1]); !strings.Contains(text, "Tildelt automatisk etter lignende saker: fs (") {
		t.Errorf("notification does not say it was assigned automatically:\n%s", text)
	}
	if len(h.mailsTo(per, "assign")) == 0 {
		t.Errorf("team fs got no assignment mail")
	}
	// Something unlike every past case is not assigned.
	id = caseNo(t, h.one(msg([]string{"From: " + ola, "To: " + contact, "Subject: Kaffemaskinen",
		"Message-ID: <new2@example.org>"}, "Kaffemaskinen i tredje etasje lekker.\n")))
	if c := h.caseOf(id); c.Team != "" {
		t.Errorf("unrelated case assigned to %q", c.Team)
	}
}
