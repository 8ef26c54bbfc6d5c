package gateway

import (
	"fmt"
	"strings"

	kp "kontaktpunkt"
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

// suggestCase adds the request that opens c to the suggestion index and,
// when mail will be sent or automatic assignment is on, ranks teams by
// the cases before it. An unassigned case whose top suggestion is
// confident enough (suggest.auto_assign_above) is assigned to that team.
// The line for the notification is nil when there is nothing to say.
func (g *Gateway) suggestCase(out *outbox, c *kp.Case, msg *kp.Message) (*suggestLine, error) {
	terms := suggest.CaseTerms(c.Subject, msg.Text, suggest.VocabOf(out.tx))
	auto := g.Config.Suggest.AutoAssignAbove
	unassigned := c.Team == "" && c.Assignee == ""
	var line *suggestLine
	if unassigned && (!out.quiet || auto > 0) {
		res, err := suggest.Rank(out.tx, terms, suggest.Options{Exclude: c.ID})
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
