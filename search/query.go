package search

import (
	"strings"
	"time"
)

// Query is a parsed search: words, all of which must match (each as a
// prefix of an indexed token), and filters.
type Query struct {
	// Words are folded tokens; each matches indexed tokens it is a prefix of.
	Words []string
	// From are address tokens ("from:ola@uib.no", "from:@uib.no"); a
	// case matches when one of its messages came from there.
	From []string
	// Status, Team and Assignee filter the cases found ("" is any).
	Status   string
	Team     string
	Assignee string
	// After and Before bound the day a case was opened: After is the
	// first day included, Before the first day excluded. Zero is no
	// bound. Dates are calendar days; the caller places them in its zone.
	After, Before time.Time
	// Bad lists filters that could not be read, for the user.
	Bad []string
}

// Empty reports whether q asks for nothing.
func (q Query) Empty() bool {
	return len(q.Words) == 0 && len(q.From) == 0 && q.Status == "" && q.Team == "" &&
		q.Assignee == "" && q.After.IsZero() && q.Before.IsZero()
}

// maxQueryWords bounds how many words one query looks up.
const maxQueryWords = 16

// ParseQuery reads a query: words, and filters written name:value
// (status:open, team:fs, from:@uib.no or from:ola@uib.no,
// assignee:kari@uio.no, after:2026-03-01, before:2026-06-30). A term with
// an unknown name is read as words.
func ParseQuery(s string) Query {
	var q Query
	for _, f := range strings.Fields(s) {
		name, val, ok := strings.Cut(f, ":")
		name = strings.ToLower(name)
		if ok && val != "" {
			switch name {
			case "status":
				q.Status = strings.ToLower(val)
				continue
			case "team":
				q.Team = strings.ToLower(val)
				continue
			case "assignee":
				q.Assignee = strings.ToLower(val)
				continue
			case "from":
				v := strings.ToLower(val)
				if strings.HasPrefix(v, "@") && len(v) > 1 && validAddrToken(v) {
					q.From = append(q.From, "from:"+v)
				} else if t := AddressTokens(v); len(t) > 0 {
					q.From = append(q.From, "from:"+t[0])
				} else {
					q.Bad = append(q.Bad, f)
				}
				continue
			case "after", "before":
				d, err := time.Parse("2006-01-02", val)
				if err != nil {
					q.Bad = append(q.Bad, f)
					continue
				}
				if name == "after" {
					q.After = d
				} else {
					q.Before = d
				}
				continue
			}
		}
		for _, t := range Tokens(f) {
			if len(q.Words) < maxQueryWords && !contains(q.Words, t) {
				q.Words = append(q.Words, t)
			}
		}
	}
	return q
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
