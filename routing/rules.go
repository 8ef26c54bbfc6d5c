package routing

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	kp "kontaktpunkt"
)

// Rule is one routing rule from the configuration: when every matcher that
// is set matches a new case's first message, the case goes to Team and/or
// Assignee. Rules are tried in order and the first match wins.
type Rule struct {
	// From matches the sender's address (From header).
	From *regexp.Regexp
	// FromDomain matches the domain part of the sender's address.
	FromDomain *regexp.Regexp
	// To matches any To or Cc address.
	To *regexp.Regexp
	// Subject matches the decoded subject.
	Subject *regexp.Regexp
	// Body matches the readable text body.
	Body *regexp.Regexp
	// Team and Assignee are where a matching case goes; the caller resolves
	// them against the Directory.
	Team, Assignee string
	// Key names the rule by what it does and what it matches, as in
	// "team lms; subject ~ \bcanvas\b": a case records the key of the rule
	// that routed it, so a report counts a rule's cases under the same
	// name however the rules are reordered, and a changed rule under a
	// new one.
	Key string
}

// ErrRule is returned (wrapped) by CompileRule for a rule that cannot work.
var ErrRule = errors.New("routing: invalid rule")

// CompileRule compiles one rule. Empty patterns mean "don't care" (nil).
// Patterns are RE2, unanchored (write ^…$ to match the whole value) and
// case-insensitive, because addresses and subjects are. A rule must name a
// team or an assignee; a rule without any pattern matches every message.
func CompileRule(from, fromDomain, to, subject, body, team, assignee string) (Rule, error) {
	r := Rule{Team: team, Assignee: assignee}
	if team == "" && assignee == "" {
		return Rule{}, fmt.Errorf("%w: neither team nor assignee", ErrRule)
	}
	var key strings.Builder
	if team != "" {
		key.WriteString("team " + team)
	} else {
		key.WriteString("assignee " + assignee)
	}
	var errs []error
	for _, f := range []struct {
		name string
		pat  string
		dst  **regexp.Regexp
	}{
		{"from", from, &r.From},
		{"from_domain", fromDomain, &r.FromDomain},
		{"to", to, &r.To},
		{"subject", subject, &r.Subject},
		{"body", body, &r.Body},
	} {
		if f.pat == "" {
			continue
		}
		key.WriteString("; " + f.name + " ~ " + f.pat)
		re, err := regexp.Compile("(?i)" + f.pat)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: %w", ErrRule, f.name, err))
			continue
		}
		*f.dst = re
	}
	if len(errs) > 0 {
		return Rule{}, errors.Join(errs...)
	}
	r.Key = key.String()
	return r, nil
}

// Matches reports whether every matcher of r that is set matches p.
func (r *Rule) Matches(p *kp.Parsed) bool {
	if p == nil {
		return false
	}
	if r.From != nil && !r.From.MatchString(p.From.Addr) {
		return false
	}
	if r.FromDomain != nil && !r.FromDomain.MatchString(addrDomain(p.From.Addr)) {
		return false
	}
	if r.To != nil {
		hit := false
		for _, lists := range [][]kp.Address{p.To, p.Cc} {
			for _, a := range lists {
				if r.To.MatchString(a.Addr) {
					hit = true
				}
			}
		}
		if !hit {
			return false
		}
	}
	if r.Subject != nil && !r.Subject.MatchString(p.Subject) {
		return false
	}
	if r.Body != nil && !r.Body.MatchString(p.Text) {
		return false
	}
	return true
}

// Route returns the team and assignee of the first rule that matches p;
// ok is false when none does.
func Route(rules []Rule, p *kp.Parsed) (team, assignee string, ok bool) {
	if r := First(rules, p); r != nil {
		return r.Team, r.Assignee, true
	}
	return "", "", false
}

// First returns the first rule that matches p, nil when none does.
func First(rules []Rule, p *kp.Parsed) *Rule {
	for i := range rules {
		if rules[i].Matches(p) {
			return &rules[i]
		}
	}
	return nil
}
