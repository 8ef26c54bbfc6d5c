package routing

import (
	"errors"
	"strings"
	"testing"

	kp "kontaktpunkt"
)

func mustRule(t *testing.T, from, fromDomain, to, subject, body, team, assignee string) Rule {
	t.Helper()
	r, err := CompileRule(from, fromDomain, to, subject, body, team, assignee)
	if err != nil {
		t.Fatalf("CompileRule: %v", err)
	}
	return r
}

func TestCompileRule(t *testing.T) {
	if _, err := CompileRule("", "", "", "", "", "", ""); !errors.Is(err, ErrRule) {
		t.Errorf("rule without team or assignee: err = %v, want ErrRule", err)
	}
	_, err := CompileRule("(", "", "", "[", "", "fs", "")
	if !errors.Is(err, ErrRule) {
		t.Fatalf("bad patterns: err = %v, want ErrRule", err)
	}
	for _, field := range []string{"from:", "subject:"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error %q does not name %q", err, field)
		}
	}
	r := mustRule(t, "", "", "", "", "", "fs", "")
	if r.From != nil || r.FromDomain != nil || r.To != nil || r.Subject != nil || r.Body != nil {
		t.Errorf("empty patterns compiled to non-nil: %+v", r)
	}
}

func TestRoute(t *testing.T) {
	rules := []Rule{
		mustRule(t, "", `^usit\.uio\.no$`, "", "", "", "fs", ""),
		mustRule(t, `^robot@`, "", "", "", "", "", "ole@usit.uio.no"),
		mustRule(t, "", "", `^fs-support@`, "", "", "fs", ""),
		mustRule(t, "", "", "", `canvas|lms`, "", "team-lms", ""),
		mustRule(t, "", `example\.org$`, "", "", `faktura`, "HR", "siri@uio.no"),
		mustRule(t, "", "", "", "", "", "triage", ""), // catch-all
	}
	msg := func(from, subject, text string, to, cc []string) *kp.Parsed {
		p := &kp.Parsed{From: kp.Address{Addr: from}, Subject: subject, Text: text}
		for _, a := range to {
			p.To = append(p.To, kp.Address{Addr: a})
		}
		for _, a := range cc {
			p.Cc = append(p.Cc, kp.Address{Addr: a})
		}
		return p
	}
	tests := []struct {
		name           string
		p              *kp.Parsed
		team, assignee string
		ok             bool
	}{
		{"from domain, case-insensitive", msg("Ola@USIT.uio.no", "x", "", nil, nil), "fs", "", true},
		{"from domain anchored by the pattern", msg("ola@x.usit.uio.no", "x", "", nil, nil), "triage", "", true},
		{"from", msg("ROBOT@example.com", "x", "", nil, nil), "", "ole@usit.uio.no", true},
		{"to", msg("a@b.example", "x", "", []string{"integrasjon@uio.no", "FS-support@uio.no"}, nil), "fs", "", true},
		{"cc counts as to", msg("a@b.example", "x", "", nil, []string{"fs-support@uio.no"}), "fs", "", true},
		{"subject", msg("a@b.example", "Problem med Canvas", "", nil, nil), "team-lms", "", true},
		{"all matchers must match", msg("a@example.org", "x", "ingen", nil, nil), "triage", "", true},
		{"domain and body", msg("a@example.org", "x", "Om FAKTURA 12", nil, nil), "HR", "siri@uio.no", true},
		{"first match wins", msg("robot@usit.uio.no", "canvas", "", nil, nil), "fs", "", true},
		{"nil message", nil, "", "", false},
	}
	for _, tt := range tests {
		team, assignee, ok := Route(rules, tt.p)
		if team != tt.team || assignee != tt.assignee || ok != tt.ok {
			t.Errorf("%s: Route = %q, %q, %v; want %q, %q, %v", tt.name, team, assignee, ok, tt.team, tt.assignee, tt.ok)
		}
	}
	if _, _, ok := Route(rules[:1], msg("a@b.example", "x", "", nil, nil)); ok {
		t.Error("Route matched although no rule does")
	}
	if _, _, ok := Route(nil, msg("a@b.example", "x", "", nil, nil)); ok {
		t.Error("Route without rules matched")
	}
}

// TestRuleKeyAndFirst: a rule's key names its target and its patterns as
// configured, and First returns the first matching rule itself.
func TestRuleKeyAndFirst(t *testing.T) {
	a := mustRule(t, "", `^(fs\.)?unit\.no$`, "", `\bFS\b`, "", "fs", "")
	b := mustRule(t, "", "", "", "", "", "", "ole@uio.no")
	if want := `team fs; from_domain ~ ^(fs\.)?unit\.no$; subject ~ \bFS\b`; a.Key != want {
		t.Errorf("key = %q, want %q", a.Key, want)
	}
	if b.Key != "assignee ole@uio.no" {
		t.Errorf("key = %q", b.Key)
	}
	rules := []Rule{a, b}
	if r := First(rules, &kp.Parsed{From: kp.Address{Addr: "x@unit.no"}, Subject: "FS-feil"}); r == nil || r.Key != a.Key {
		t.Errorf("First = %+v, want the first rule", r)
	}
	if r := First(rules, &kp.Parsed{From: kp.Address{Addr: "x@uib.no"}, Subject: "Hei"}); r == nil || r.Key != b.Key {
		t.Errorf("First = %+v, want the catch-all", r)
	}
	if r := First(rules[:1], &kp.Parsed{From: kp.Address{Addr: "x@uib.no"}}); r != nil {
		t.Errorf("First = %+v, want none", r)
	}
}
