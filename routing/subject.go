// Package routing holds the gateway's decisions as pure functions: which case
// a message belongs to (threading), what a subject line says (case tags, reply
// prefixes, staff commands), whether a sender is authenticated
// (Authentication-Results), signed reply tokens, routing rules and the
// directory of staff and teams.
//
// Invariants:
//   - Nothing here does I/O, reads the clock or the environment, or imports
//     mailbox, store or any third-party mail package: every function takes
//     values and returns values, so table tests cover it completely.
//   - Every parser of untrusted input (subjects, commands,
//     Authentication-Results, reply tokens) accepts any string without
//     panicking and is fuzzed.
//   - Case tags are recognised the same way everywhere (FindCaseTag,
//     RemoveCaseTag, CaseSubject); a string that is not a tag by FindCaseTag is
//     never removed as one.
package routing

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	kp "kontaktpunkt"
)

// DefaultTagPrefix is the case tag prefix used when none is configured.
const DefaultTagPrefix = "INT"

// replyPrefixes are the reply and forward markers mail clients put in front
// of a subject, lower-case: English, the Scandinavian languages, German
// (Outlook and Lotus Notes), Dutch, French, Italian (Outlook's R:/I:),
// Spanish, Portuguese, Polish, Finnish and Turkish clients.
var replyPrefixes = map[string]bool{
	"re": true, "fw": true, "fwd": true, // English
	"sv": true, "vs": true, "vb": true, "fs": true, // Norwegian, Danish, Swedish; Finnish "vs"
	"aw": true, "wg": true, // German
	"antw": true, "doorst": true, // Dutch
	"tr": true, "ref": true, // French
	"r": true, "i": true, "rif": true, // Italian
	"rv": true, "rpta": true, // Spanish
	"enc": true, "res": true, // Portuguese
	"odp": true, "pd": true, // Polish
	"ynt": true, "ilt": true, // Turkish
	"antwort": true, "wtrlt": true, // German Lotus Notes
	"vl": true, // Finnish Outlook forward
}

// StripReplyPrefixes removes reply and forward prefixes ("Re:", "SV:",
// "Fwd:", "AW:", "R:", "Re[3]:", "Re(2):", "Re :") from the front of s,
// nested to any depth, and trims space. Leading bracketed tags such as a case
// tag or "[EXTERNAL]" are kept but looked past, so "Re: [INT#4] SV: x"
// becomes "[INT#4] x". The prefix must be followed by a colon (ASCII or
// full-width), so "Report" or "Fwd notes" are left alone.
func StripReplyPrefixes(s string) string {
	var kept []string // leading bracket groups, in order
	rest := strings.TrimSpace(s)
	for {
		if n := replyPrefixLen(rest); n > 0 {
			rest = strings.TrimSpace(rest[n:])
			continue
		}
		if strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end > 0 && !strings.Contains(rest[1:end], "[") {
				after := strings.TrimSpace(rest[end+1:])
				// Only look past the group when a reply prefix follows it;
				// otherwise the subject is left as it is.
				if replyPrefixLen(after) > 0 || strings.HasPrefix(after, "[") {
					kept = append(kept, rest[:end+1])
					rest = after
					continue
				}
			}
		}
		break
	}
	if len(kept) == 0 {
		return rest
	}
	// A bracket group we looked past that was not followed by a prefix after
	// all (e.g. "[A] [B] x") is kept in its place.
	return strings.TrimSpace(strings.Join(kept, " ") + " " + rest)
}

// replyPrefixLen returns the length of the reply prefix at the start of s,
// including its counter and colon, or 0 when s does not start with one.
func replyPrefixLen(s string) int {
	i := 0
	for i < len(s) && isASCIILetter(s[i]) {
		i++
	}
	if i == 0 || i > 7 || !replyPrefixes[strings.ToLower(s[:i])] {
		return 0
	}
	// Optional counter: "Re[3]:" "Re(2):" "Re^2:".
	if i < len(s) && (s[i] == '[' || s[i] == '(') {
		closer := byte(']')
		if s[i] == '(' {
			closer = ')'
		}
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i+1 || j >= len(s) || s[j] != closer {
			return 0
		}
		i = j + 1
	} else if i < len(s) && s[i] == '^' {
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i+1 {
			return 0
		}
		i = j
	}
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if strings.HasPrefix(s[i:], ":") {
		return i + 1
	}
	if strings.HasPrefix(s[i:], "：") { // full-width colon, CJK clients
		return i + len("：")
	}
	return 0
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// tagSpan is one case tag found in a subject: s[start:end] is the text to
// remove (brackets included when present).
type tagSpan struct {
	start, end int
	id         kp.CaseID
}

// findCaseTags returns every case tag in subject, in order. prefix "" means
// DefaultTagPrefix.
func findCaseTags(subject, prefix string, all bool) []tagSpan {
	prefix = strings.TrimSpace(prefix)
	if prefix == "" {
		prefix = DefaultTagPrefix
	}
	var spans []tagSpan
	for i := 0; i+len(prefix) <= len(subject); {
		if !strings.EqualFold(subject[i:i+len(prefix)], prefix) {
			i++
			continue
		}
		if sp, ok := tagAt(subject, prefix, i); ok {
			spans = append(spans, sp)
			if !all {
				return spans
			}
			i = sp.end
			continue
		}
		i++
	}
	return spans
}

// tagAt checks whether a case tag starts at subject[i:] where the prefix
// matched: word boundary before, optional spaces, '#', digits, word boundary
// after; brackets around it are included in the span when both are present.
func tagAt(subject, prefix string, i int) (tagSpan, bool) {
	if i > 0 {
		r, _ := utf8.DecodeLastRuneInString(subject[:i])
		if isWordRune(r) {
			return tagSpan{}, false
		}
	}
	j := i + len(prefix)
	for j < len(subject) && subject[j] == ' ' && j-(i+len(prefix)) < 2 {
		j++
	}
	if j >= len(subject) || subject[j] != '#' {
		return tagSpan{}, false
	}
	j++
	k := j
	for k < len(subject) && subject[k] >= '0' && subject[k] <= '9' {
		k++
	}
	if k == j {
		return tagSpan{}, false
	}
	if k < len(subject) {
		r, _ := utf8.DecodeRuneInString(subject[k:])
		if isWordRune(r) {
			return tagSpan{}, false
		}
	}
	n, err := strconv.ParseUint(subject[j:k], 10, 64)
	if err != nil || n == 0 {
		return tagSpan{}, false
	}
	sp := tagSpan{start: i, end: k, id: kp.CaseID(n)}
	// Include surrounding brackets, allowing spaces inside them.
	b := i
	for b > 0 && subject[b-1] == ' ' {
		b--
	}
	e := k
	for e < len(subject) && subject[e] == ' ' {
		e++
	}
	if b > 0 && subject[b-1] == '[' && e < len(subject) && subject[e] == ']' {
		sp.start, sp.end = b-1, e+1
	}
	return sp, true
}

func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// FindCaseTag finds the first case tag in subject: "[INT#42]", "[INT #42]",
// "[ INT#42 ]" or "INT#42" without brackets, the prefix matched
// case-insensitively. The tag must stand on word boundaries, so "XINT#4" and
// "INT#4a" do not count; case 0 and numbers that overflow do not count.
// prefix "" means DefaultTagPrefix.
func FindCaseTag(subject, prefix string) (kp.CaseID, bool) {
	spans := findCaseTags(subject, prefix, false)
	if len(spans) == 0 {
		return 0, false
	}
	return spans[0].id, true
}

// maxTagRounds bounds RemoveCaseTag's passes over a crafted subject.
const maxTagRounds = 32

// RemoveCaseTag removes every case tag (as FindCaseTag recognises them) from
// subject and tidies the whitespace. A subject without a tag is returned
// unchanged.
func RemoveCaseTag(subject, prefix string) string {
	// Removal can join text into a new tag ("INT[INT#1]#2" leaves "INT #2"),
	// so repeat until none is left, but only so often: each round is linear,
	// and only a crafted subject nests tags this deep.
	for round := 0; ; round++ {
		spans := findCaseTags(subject, prefix, true)
		if len(spans) == 0 || round == maxTagRounds {
			return subject
		}
		var b strings.Builder
		last := 0
		for _, sp := range spans {
			b.WriteString(subject[last:sp.start])
			b.WriteByte(' ')
			last = sp.end
		}
		b.WriteString(subject[last:])
		subject = tidySpaces(b.String())
	}
}

// CaseSubject is the subject of a new case made from subject: case tags
// removed, reply prefixes stripped, whitespace tidied. It returns "" when
// nothing is left; choosing a placeholder such as "(uten emne)" is the
// caller's business.
func CaseSubject(subject, prefix string) string {
	s := tidySpaces(RemoveCaseTag(subject, prefix))
	s = StripReplyPrefixes(s)
	// Stripping may expose a tag again ("Re: [INT#4] x" has none left, but
	// "[INT#4] Re: [INT#4] x" had two); a second pass is cheap.
	return tidySpaces(StripReplyPrefixes(RemoveCaseTag(s, prefix)))
}

// HasReplyPrefix reports whether subject starts with a reply or forward
// prefix ("Re:", "SV:", "AW:", "Fwd:", "Re[2]:", stacked), case tags and
// leading bracket groups looked past.
func HasReplyPrefix(subject, prefix string) bool {
	s := tidySpaces(RemoveCaseTag(subject, prefix))
	return StripReplyPrefixes(s) != s
}

// NormalSubject is the form under which cases are found by subject:
// CaseSubject, lower-cased, white space collapsed. Two subjects that a
// person would call the same reply chain normalise alike.
func NormalSubject(subject, prefix string) string {
	return strings.ToLower(CaseSubject(subject, prefix))
}

// tidySpaces collapses runs of white space (including folded-header tabs and
// newlines) into one space and trims both ends.
func tidySpaces(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
