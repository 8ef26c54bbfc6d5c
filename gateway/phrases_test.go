package gateway

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"kontaktpunkt/routing"
)

// englishWords are words of the gateway's English receipt lines that no
// Norwegian line uses.
var englishWords = regexp.MustCompile(`(?i)\b(assigned|refused|priority|participant|requester|unknown|internal note|follow-up|escalated|did you mean|must be|needs an argument|not an e-mail|relayed)\b`)

// Every line of a receipt is in the template language: in nb no English
// line, in en the same commands in English.
func TestReceiptFollowsTemplateLanguage(t *testing.T) {
	subjects := []string{
		"[assign:per.hansen] [prio:high] [remind:3d] [cc:eva@example.net] [INT#1]",
		"[status:waiting] [escalate] [INT#1]",
		"[unassign] [reopen] [INT#1]",
		"[assign:nobody] [prio:hihg] [status:done] [remind:soon] [cc:not an address] [INT#1]",
		"[asign:per] [take:x] [merge:someone] [INT#1]",
	}
	for _, lang := range []string{"nb", "en"} {
		t.Run(lang, func(t *testing.T) {
			cfg := testConfig()
			cfg.Templates.Language = lang
			h := newHarness(t, cfg)
			h.one(request("req1@example.org"))
			for i, subj := range subjects {
				h.one(msg([]string{"From: " + kari, "To: " + contact, trustedAR, "Subject: " + subj, fmt.Sprintf("Message-ID: <lang%d@uio.no>", i)}, "Tekst.\n"))
			}
			receipts := h.mailsTo(kari, "receipt")
			if len(receipts) != len(subjects) {
				t.Fatalf("%d receipts, want %d", len(receipts), len(subjects))
			}
			var all strings.Builder
			for _, r := range receipts {
				all.WriteString(textOf(t, r))
			}
			txt := all.String()
			switch lang {
			case "nb":
				for _, line := range strings.Split(txt, "\n") {
					if m := englishWords.FindString(line); m != "" {
						t.Errorf("English %q in a Norwegian receipt line: %s", m, line)
					}
				}
				for _, want := range []string{"tildelt per.hansen@uio.no", "prioritet high", "mente du [assign:", "mente du high?", "ukjent merke"} {
					if !strings.Contains(txt, want) {
						t.Errorf("nb receipt lacks %q:\n%s", want, txt)
					}
				}
			case "en":
				for _, want := range []string{"assigned to per.hansen@uio.no", "priority high", "did you mean [assign:", "did you mean high?", "unknown tag"} {
					if !strings.Contains(txt, want) {
						t.Errorf("en receipt lacks %q:\n%s", want, txt)
					}
				}
			}
		})
	}
}

// Every routing refusal key has a Norwegian wording, and each wording
// takes the arguments routing gives it.
func TestRoutingRefusalsHaveNorwegian(t *testing.T) {
	_, refused, _ := routing.ParseCommands("[asign:x] [take:x] [assign] [status:done] [prio:x] [remind:soon] [cc:nope] [merge:who] [archived:a b]")
	g := &Gateway{Config: testConfig()}
	seen := map[string]bool{}
	for _, r := range refused {
		seen[r.Key] = true
		if _, ok := routingRefusals[r.Key]; !ok {
			t.Errorf("no Norwegian for %q (%s)", r.Key, r.Reason)
		}
		if s := g.refusal(r); strings.Contains(s, "%!") || englishWords.MatchString(s) {
			t.Errorf("%q renders %q", r.Key, s)
		}
	}
	for k := range routingRefusals {
		if !seen[k] {
			t.Errorf("refusal %q not produced by the test subject", k)
		}
	}
	for key, p := range phrases {
		if strings.Count(p.en, "%") != strings.Count(p.nb, "%") {
			t.Errorf("phrase %q: en and nb take different arguments", key)
		}
	}
}
