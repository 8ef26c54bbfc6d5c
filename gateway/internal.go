package gateway

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	kp "kontaktpunkt"
)

// Internal text stays internal: nothing from a mail to the contact point's
// own people (notification, assignment, receipt, note, escalation,
// reminder, digest) may reach a requester or an outsider. Relays carry the
// writer's own text, but a writer may still paste or leave a quoted
// internal line in it; the relay to the requester passes through
// withholdInternal, the one place that enforces the rule.

// internalKinds are the outbound mails that go only to the contact point's
// own people.
var internalKinds = map[string]bool{
	"notify": true, "assign": true, "note": true, "outsider": true, "receipt": true,
	"delivery-failure": true, "triage": true, "respond": true, "escalate": true,
	"digest": true, "followup-digest": true, "snooze": true, "flood": true, "relay-paused": true,
	"escalate-1": true, "escalate-2": true, "remind": true,
	"weekly": true,
}

// IsInternalKind reports whether mail of this kind goes only to staff,
// assignees and teams.
func IsInternalKind(kind string) bool { return internalKinds[kind] }

// minInternalLine is the shortest line (in runes, normalised) that counts
// as internal text: shorter ones ("Hei,", "Mvh Kari") are common to
// every mail.
const minInternalLine = 20

var (
	templateAction = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\{\{.*?\}\}`) })
)

// normLine normalises a line for comparison: quote markers and white space
// at the start removed, runs of space made one, lower case.
func normLine(l string) string {
	l = strings.TrimSpace(l)
	for strings.HasPrefix(l, ">") || strings.HasPrefix(l, "|") {
		l = strings.TrimSpace(l[1:])
	}
	return strings.ToLower(squeezeSpace(l))
}

// isSpaceByte is the regexp class \s: ASCII tab, newline, form feed,
// carriage return and space.
func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// squeezeSpace makes each run of \s in l one space; l itself when it has
// no run to change.
func squeezeSpace(l string) string {
	i := 0
	for ; i < len(l); i++ {
		if c := l[i]; isSpaceByte(c) && (c != ' ' || i+1 < len(l) && isSpaceByte(l[i+1])) {
			break
		}
	}
	if i == len(l) {
		return l
	}
	var b strings.Builder
	b.Grow(len(l))
	b.WriteString(l[:i])
	for i < len(l) {
		if !isSpaceByte(l[i]) {
			b.WriteByte(l[i])
			i++
			continue
		}
		b.WriteByte(' ')
		for i < len(l) && isSpaceByte(l[i]) {
			i++
		}
	}
	return b.String()
}

// templateFragments returns the literal text of a template source, cut at
// its actions and lines, normalised, each at least minInternalLine runes.
func templateFragments(src string) []string {
	var out []string
	for _, piece := range templateAction().Split(src, -1) {
		for _, l := range strings.Split(piece, "\n") {
			if n := normLine(l); utf8.RuneCountInString(n) >= minInternalLine {
				out = append(out, n)
			}
		}
	}
	return out
}

// internalLines gathers the lines on case c that are internal: the text of
// internal mails and notes, less the lines the requester side wrote or was
// already sent (the request quoted in a notification is the requester's
// own).
func (o *outbox) internalLines(c *kp.Case) (map[string]bool, error) {
	msgs, err := o.tx.CaseMessages(c.ID)
	if err != nil {
		return nil, err
	}
	internal := map[string]bool{}
	add := func(text string) {
		for l := range strings.Lines(text) {
			if n := normLine(l); utf8.RuneCountInString(n) >= minInternalLine {
				internal[n] = true
			}
		}
	}
	public := func(m *kp.Message) bool {
		switch {
		case m.Direction == kp.Out:
			return !internalKinds[m.Kind] && m.Kind != KindEvent
		case m.Kind == "note" || m.Kind == KindNotAuthenticated:
			return false
		}
		return !o.g.Dir.IsStaff(m.From.Addr) && !o.g.Dir.IsResponsible(m.From.Addr)
	}
	for i := range msgs {
		if m := &msgs[i]; m.Direction == kp.Out && internalKinds[m.Kind] || m.Direction != kp.Out && (m.Kind == "note" || m.Kind == KindNotAuthenticated) {
			add(m.Text)
		}
	}
	if len(internal) == 0 {
		return internal, nil
	}
	// Lines the requester side wrote or was sent are not internal.
	for i := range msgs {
		m := &msgs[i]
		if !public(m) {
			continue
		}
		for l := range strings.Lines(m.Text) {
			if n := normLine(l); internal[n] {
				delete(internal, n)
			}
		}
	}
	return internal, nil
}

// withholdInternal returns text without the lines that are internal on
// case c, or that carry a line of an internal template, and records an
// event when it removed any.
func (o *outbox) withholdInternal(c *kp.Case, text string) string {
	if o.err != nil || text == "" {
		return text
	}
	internal, err := o.internalLines(c)
	if err != nil {
		o.err = err
		return ""
	}
	frags := o.g.Templates.internalFragments()
	var kept []string
	removed := 0
	for _, l := range strings.Split(text, "\n") {
		n := normLine(l)
		if utf8.RuneCountInString(n) >= minInternalLine && (internal[n] || containsAnyFragment(n, frags)) {
			removed++
			continue
		}
		kept = append(kept, l)
	}
	if removed == 0 {
		return text
	}
	o.events = append(o.events, fmt.Sprintf("relay: %d lines of internal text withheld from the requester", removed))
	return strings.TrimRight(strings.Join(kept, "\n"), "\n ")
}

func containsAnyFragment(line string, frags []string) bool {
	for _, f := range frags {
		if strings.Contains(line, f) {
			return true
		}
	}
	return false
}
