package routing

import (
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// Command is one staff command found in a subject line (docs/behaviour.md, Staff commands).
type Command struct {
	// Verb is the canonical lower-case verb: "assign", "take", "unassign",
	// "status", "close", "reopen", "note", "prio", "remind", "escalate",
	// "cc" or "requester".
	Verb string
	// Arg is the checked argument: lower-case for status, prio and remind;
	// the bare address for cc and requester; as written (trimmed) for assign;
	// "" for verbs without one.
	Arg string
	// Raw is the tag as it stood in the subject, brackets included.
	Raw string
}

// Refused is a bracketed tag that looked like a command but could not be
// applied; Reason is a short sentence for the sender's receipt.
type Refused struct {
	Raw    string
	Reason string
}

// argKind says what argument a verb takes.
type argKind int

const (
	argNone     argKind = iota // "[take]"
	argRequired                // "[assign:x]"
)

// verbs maps every verb to the argument it takes, in the order suggestions
// prefer on a tie.
var verbs = []struct {
	name string
	arg  argKind
}{
	{"assign", argRequired},
	{"take", argNone},
	{"unassign", argNone},
	{"status", argRequired},
	{"close", argNone},
	{"reopen", argNone},
	{"note", argNone},
	{"prio", argRequired},
	{"remind", argRequired},
	{"escalate", argNone},
	{"cc", argRequired},
	{"requester", argRequired},
	{"merge", argRequired},
	{"link", argRequired},
	{"archived", argRequired},
}

// verbAliases are accepted spellings of a canonical verb.
var verbAliases = map[string]string{
	"priority": "prio",
}

// ParseCommands finds the staff commands in a subject: "[verb]" or
// "[verb:argument]", case-insensitive, anywhere, several per subject.
//
// A bracket is a command candidate only when its verb is letters only and is
// a known verb, or close to one: edit distance at most 2 and at most a third
// of the known verb's length (so "[asign:x]" and "[closed]" are refused with
// a suggestion, while "[cc]" must be spelt exactly and "[EXTERNAL]",
// "[SPAM]" or a case tag are ordinary subject text). Arguments are checked
// for syntax only: whether an assignee exists is the Directory's business.
//
// rest is the subject with the applied and the refused tags removed and the
// whitespace tidied; when no tag was found it is the subject unchanged.
// Whether the sender may use commands at all is the caller's business.
func ParseCommands(subject string) (cmds []Command, refused []Refused, rest string) {
	var b strings.Builder
	last := 0
	found := false
	for i := 0; i < len(subject); {
		if subject[i] != '[' {
			i++
			continue
		}
		end := strings.IndexAny(subject[i+1:], "[]")
		if end < 0 {
			break
		}
		end += i + 1
		if subject[end] == '[' { // "[a [assign:x]": restart at the inner bracket
			i = end
			continue
		}
		raw := subject[i : end+1]
		cmd, ref, isCmd := parseTag(raw)
		if !isCmd {
			i = end + 1
			continue
		}
		found = true
		if ref != nil {
			refused = append(refused, *ref)
		} else {
			cmds = append(cmds, cmd)
		}
		b.WriteString(subject[last:i])
		b.WriteByte(' ')
		last = end + 1
		i = end + 1
	}
	if !found {
		return nil, nil, subject
	}
	b.WriteString(subject[last:])
	return cmds, refused, tidySpaces(b.String())
}

// parseTag parses one bracketed tag, raw including its brackets. isCmd is
// false when the tag is ordinary subject text; otherwise exactly one of cmd
// and ref is meaningful (ref != nil means refused).
func parseTag(raw string) (cmd Command, ref *Refused, isCmd bool) {
	inner := raw[1 : len(raw)-1]
	word, arg, _ := strings.Cut(inner, ":")
	word = strings.ToLower(strings.TrimSpace(word))
	arg = strings.TrimSpace(arg)
	if word == "" || len(word) > 20 || !isLetters(word) {
		return Command{}, nil, false
	}
	if canon, ok := verbAliases[word]; ok {
		word = canon
	}
	kind, known := verbArg(word)
	if !known {
		sugg, ok := nearestVerb(word)
		if !ok {
			return Command{}, nil, false
		}
		return Command{}, &Refused{Raw: raw, Reason: fmt.Sprintf("unknown tag %s; did you mean %s?", raw, verbUsage(sugg))}, true
	}
	refuse := func(format string, a ...any) (Command, *Refused, bool) {
		return Command{}, &Refused{Raw: raw, Reason: raw + ": " + fmt.Sprintf(format, a...)}, true
	}
	if kind == argNone {
		if arg != "" {
			return refuse("[%s] takes no argument", word)
		}
		return Command{Verb: word, Raw: raw}, nil, true
	}
	if arg == "" {
		return refuse("[%s] needs an argument, like %s", word, verbExample(word))
	}
	switch word {
	case "status":
		v := strings.ToLower(arg)
		if !oneOf(v, "open", "waiting", "resolved") {
			return refuse("status must be open, waiting or resolved%s", didYouMean(v, "open", "waiting", "resolved"))
		}
		arg = v
	case "prio":
		v := strings.ToLower(arg)
		if !oneOf(v, "low", "normal", "high", "urgent") {
			return refuse("priority must be low, normal, high or urgent%s", didYouMean(v, "low", "normal", "high", "urgent"))
		}
		arg = v
	case "remind":
		v := strings.ToLower(arg)
		if _, err := ParseRemind(v); err != nil {
			return refuse("remind must be a business duration like 3d, 4h or 1d4h, or a date like 2026-12-01")
		}
		arg = v
	case "cc", "requester":
		addr, err := parseAddrSpec(arg)
		if err != nil {
			return refuse("%q is not a valid e-mail address", arg)
		}
		arg = addr
	case "archived":
		if !validArchiveRef(arg) {
			return refuse("the archive reference must be letters, digits and / . _ - (at most 64), like [archived:2026/1234]")
		}
	case "assign":
		// Any non-empty name: the Directory resolves it.
	case "merge", "link":
		id, ok := caseRef(arg)
		if !ok {
			return refuse("[%s:…] names a case by its tag or number, like [%s:INT#5]", word, word)
		}
		arg = strconv.FormatUint(id, 10)
	}
	return Command{Verb: word, Arg: arg, Raw: raw}, nil, true
}

// caseRef reads the case number of a [merge:…] or [link:…] argument:
// "INT#5", "[INT#5]", "#5" or "5" (the prefix is not checked: a tag prefix
// of letters, digits and '-').
func caseRef(arg string) (uint64, bool) {
	s := strings.Trim(strings.TrimSpace(arg), "[]")
	if i := strings.IndexByte(s, '#'); i >= 0 {
		for _, r := range strings.TrimSpace(s[:i]) {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return 0, false
			}
		}
		s = s[i+1:]
	}
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil || n == 0 {
		return 0, false
	}
	return n, true
}

// parseAddrSpec accepts "a@b.example" or "Name <a@b.example>" and returns the
// bare address; the domain must have a dot, as mail from outside needs one.
func parseAddrSpec(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", fmt.Errorf("parsing address %q: %w", s, err)
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at <= 0 || !strings.Contains(a.Address[at+1:], ".") || strings.ContainsAny(a.Address, " \t\r\n") {
		return "", fmt.Errorf("address %q: domain is not fully qualified", s)
	}
	return a.Address, nil
}

func verbArg(verb string) (argKind, bool) {
	for _, v := range verbs {
		if v.name == verb {
			return v.arg, true
		}
	}
	return 0, false
}

// nearestVerb returns the known verb closest to word, if it is close enough
// to be a typo: distance <= 2 and <= len(verb)/3.
func nearestVerb(word string) (string, bool) {
	best, bestD := "", 1<<30
	for _, v := range verbs {
		d := editDistance(word, v.name)
		if d <= 2 && d <= len(v.name)/3 && d < bestD {
			best, bestD = v.name, d
		}
	}
	return best, best != ""
}

// verbUsage renders how a verb is written: "[take]" or "[assign:…]".
func verbUsage(verb string) string {
	if k, _ := verbArg(verb); k == argNone {
		return "[" + verb + "]"
	}
	return "[" + verb + ":…]"
}

func verbExample(verb string) string {
	switch verb {
	case "assign":
		return "[assign:ola] or [assign:team-fs]"
	case "status":
		return "[status:waiting]"
	case "prio":
		return "[prio:high]"
	case "remind":
		return "[remind:3d] or [remind:2026-12-01]"
	case "cc":
		return "[cc:someone@example.org]"
	case "requester":
		return "[requester:someone@example.org]"
	case "merge", "link":
		return "[" + verb + ":INT#5]"
	case "archived":
		return "[archived:2026/1234]"
	}
	return "[" + verb + "]"
}

// didYouMean returns "; did you mean X?" for the closest choice within edit
// distance 2, or "".
func didYouMean(v string, choices ...string) string {
	best, bestD := "", 3
	for _, c := range choices {
		if d := editDistance(v, c); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return "; did you mean " + best + "?"
}

func oneOf(v string, choices ...string) bool {
	for _, c := range choices {
		if v == c {
			return true
		}
	}
	return false
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// editDistance is the optimal-string-alignment distance (Levenshtein plus
// adjacent transpositions, so "hihg" is 1 from "high") between two strings,
// counted in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 { // nothing we compare is that long
		return 1 << 20
	}
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// Remind is the argument of "[remind:…]": either a business duration
// (Days and Hours, counted in working days and working hours by the follow-up
// clock) or a calendar date.
type Remind struct {
	// Duration is Days*24h + Hours*1h, a calendar approximation for display
	// and ordering; the follow-up clock counts Days and Hours in business
	// time. Zero when Date is set.
	Duration time.Duration
	// Days and Hours are the business components of "1d4h".
	Days  int
	Hours int
	// Date is the day given as YYYY-MM-DD, at midnight UTC; the caller
	// applies the configured timezone. Zero for a duration.
	Date time.Time
}

// ErrRemind is returned (wrapped) by ParseRemind for an argument it cannot read.
var ErrRemind = errors.New("routing: invalid remind argument")

// Limits on a remind duration: a year of business days, or a month of
// business hours written as hours alone.
const (
	maxRemindDays  = 366
	maxRemindHours = 1000
)

// ParseRemind reads "3d", "4h", "1d4h" (business days and hours, each at
// most once, days first, total > 0) or "2026-12-01" (a date, midnight UTC).
// Upper case is accepted; spaces are not.
func ParseRemind(arg string) (Remind, error) {
	s := strings.ToLower(strings.TrimSpace(arg))
	if len(s) == len("2006-01-02") && strings.Count(s, "-") == 2 {
		t, err := time.Parse("2006-01-02", s)
		if err != nil {
			return Remind{}, fmt.Errorf("%w %q: %w", ErrRemind, arg, err)
		}
		return Remind{Date: t}, nil
	}
	var r Remind
	rest := s
	seenD, seenH := false, false
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i > 4 || i == len(rest) {
			return Remind{}, fmt.Errorf("%w %q: want a number followed by d or h", ErrRemind, arg)
		}
		n, _ := strconv.Atoi(rest[:i]) // at most 4 digits: cannot fail
		switch rest[i] {
		case 'd':
			if seenD || seenH {
				return Remind{}, fmt.Errorf("%w %q: days must come first, once", ErrRemind, arg)
			}
			seenD, r.Days = true, n
		case 'h':
			if seenH {
				return Remind{}, fmt.Errorf("%w %q: hours given twice", ErrRemind, arg)
			}
			seenH, r.Hours = true, n
		default:
			return Remind{}, fmt.Errorf("%w %q: unit %q is not d or h", ErrRemind, arg, rest[i])
		}
		rest = rest[i+1:]
	}
	if r.Days == 0 && r.Hours == 0 {
		return Remind{}, fmt.Errorf("%w %q: want a duration or a date", ErrRemind, arg)
	}
	if r.Days > maxRemindDays || r.Hours > maxRemindHours {
		return Remind{}, fmt.Errorf("%w %q: too far ahead", ErrRemind, arg)
	}
	r.Duration = time.Duration(r.Days)*24*time.Hour + time.Duration(r.Hours)*time.Hour
	return r, nil
}

// validArchiveRef reports whether ref is an archive system's case
// reference as [archived:…] takes it: "2026/1234", "24/00123-4".
func validArchiveRef(ref string) bool {
	if ref == "" || len(ref) > 64 {
		return false
	}
	for _, r := range ref {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-", r)) {
			return false
		}
	}
	return true
}
