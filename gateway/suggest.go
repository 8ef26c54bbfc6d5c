package gateway

import (
	"errors"
	"fmt"
	"strings"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
	"kontaktpunkt/suggest"
)

// suggestLine is what the new-case notification says about the cases
// answered before: the suggested team, how many similar cases went to it,
// and some of them by tag.
type suggestLine struct {
	// Who is the suggested team (the [assign:…] argument).
	Who string
	// Votes of Voters similar assigned cases went to Who.
	Votes, Voters int
	// Cases are tags of those cases, most similar first, "…" when there
	// are more.
	Cases string
	// Auto is set when the case was assigned to Who by the suggestion.
	Auto bool
}

// indexSuggestions is switched off only by the benchmark that measures
// what keeping the suggestion index costs ingest.
var indexSuggestions = true

// suggestCase adds the request that opens c to the suggestion index and,
// when mail will be sent or automatic assignment is on, ranks teams by
// the cases before it. An unassigned case whose top suggestion is
// confident enough (suggest.auto_assign_above) is assigned to that team.
// The line for the notification is nil when there is nothing to say.
// subject and text, when not nil, are a subject and msg.Text prepared on
// the parsing cores; they are used when they are the case's.
func (g *Gateway) suggestCase(out *outbox, c *kp.Case, msg *kp.Message, subject, text *suggest.Prepared) (*suggestLine, error) {
	if !indexSuggestions {
		return nil, nil
	}
	if !subject.Of(c.Subject) {
		subject = suggest.Prepare(c.Subject)
	}
	if !text.Of(msg.Text) {
		text = suggest.Prepare(msg.Text)
	}
	terms := suggest.CaseTermsPrepared(subject, text, suggest.VocabOf(out.tx))
	auto := g.Config.Suggest.AutoAssignAbove
	unassigned := c.Team == "" && c.Assignee == ""
	var line *suggestLine
	if unassigned && (!out.quiet || auto > 0) {
		res, err := suggest.Rank(out.tx, terms, suggest.Options{Exclude: c.ID, VotesOnly: true})
		if err != nil {
			return nil, err
		}
		if top, ok := res.Top(); ok {
			if _, known := g.Dir.Team(top.Team); known {
				line = &suggestLine{Who: top.Team, Votes: top.Votes, Voters: res.Voters, Cases: g.tagList(top.Similar, 3)}
				if auto > 0 && top.Score > auto && top.Votes >= g.Config.Suggest.MinVotes {
					c.Team, c.AssignedAt, line.Auto = top.Team, out.now, true
					out.events = append(out.events, fmt.Sprintf("assigned to team %s by suggestion: %d of %d similar cases (confidence %.2f)",
						top.Team, top.Votes, res.Voters, top.Score))
				}
			}
		}
	}
	if err := out.tx.PutCaseTerms(c.ID, terms); err != nil {
		return nil, err
	}
	return line, nil
}

// tagList writes up to n case tags, with "…" when there are more.
func (g *Gateway) tagList(ids []kp.CaseID, n int) string {
	var b strings.Builder
	for i, id := range ids {
		if i == n {
			b.WriteString(" …")
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(id.Tag(g.Config.Contact.TagPrefix))
	}
	return b.String()
}

// IndexHistory adds the cases that have no suggestion terms (opened
// before the index existed) to the index, a batch per transaction, and
// returns how many it added.
func IndexHistory(st *store.Store) (int, error) {
	const batch = 500
	var last kp.CaseID
	if err := st.View(func(tx *store.Tx) (err error) { last, err = tx.LastCaseID(); return err }); err != nil {
		return 0, err
	}
	added := 0
	for start := kp.CaseID(1); start <= last; start += batch {
		err := st.Update(func(tx *store.Tx) error {
			for id := start; id < start+batch && id <= last; id++ {
				c, err := tx.Case(id)
				if errors.Is(err, store.ErrNotFound) {
					continue
				}
				if err != nil {
					return err
				}
				if t, err := tx.CaseTerms(id); err != nil || t != nil {
					if err != nil {
						return err
					}
					continue
				}
				terms, err := suggest.TermsOf(tx, c)
				if err != nil {
					return err
				}
				if err := tx.PutCaseTerms(id, terms); err != nil {
					return err
				}
				added++
			}
			return nil
		})
		if err != nil {
			return added, err
		}
	}
	return added, nil
}

// Replay is how suggestions would have done on past cases.
type Replay struct {
	// Cases is how many assigned cases were replayed.
	Cases int `json:"cases"`
	// Right is how many of them went to the top suggestion (the team, or
	// the person for a case with no team).
	Right int `json:"right"`
	// NoSuggestion is how many had no suggestion at all.
	NoSuggestion int `json:"no_suggestion"`
	// Accuracy is Right over Cases.
	Accuracy float64 `json:"accuracy"`
}

// ReplaySuggestions replays the last n assigned, indexed cases (all when n
// <= 0): was each one's final team the top suggestion from the cases
// before it? Term rarity is the index's today, a small look ahead.
func ReplaySuggestions(tx *store.Tx, n int) (Replay, error) {
	var r Replay
	max, err := tx.LastCaseID()
	if err != nil {
		return r, err
	}
	for id := max; id > 0 && (n <= 0 || r.Cases < n); id-- {
		terms, err := tx.CaseTerms(id)
		if err != nil {
			return r, err
		}
		if terms == nil {
			continue
		}
		c, err := tx.Case(id)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			return r, err
		}
		if c.MergedInto != 0 || (c.Team == "" && c.Assignee == "") {
			continue
		}
		res, err := suggest.Rank(tx, terms, suggest.Options{Before: id})
		if err != nil {
			return r, err
		}
		r.Cases++
		if len(res.Suggestions) == 0 {
			r.NoSuggestion++
			continue
		}
		if c.Team != "" {
			if top, ok := res.Top(); ok && top.Team == c.Team {
				r.Right++
			}
			continue
		}
		for _, s := range res.Suggestions {
			if s.Assignee != "" {
				if kp.SameAddr(s.Assignee, c.Assignee) {
					r.Right++
				}
				break
			}
		}
	}
	if r.Cases > 0 {
		r.Accuracy = float64(r.Right) / float64(r.Cases)
	}
	return r, nil
}
