package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	kp "kontaktpunkt"
	"kontaktpunkt/gateway"
	"kontaktpunkt/store"
	"kontaktpunkt/suggest"
)

// replayDefault is how many of the latest assigned cases `case suggest
// -replay` replays when not told.
const replayDefault = 2000

// suggestCommand builds `case suggest N [-json]`: the teams and people
// similar past cases went to, best first, and the similar cases.
func suggestCommand(id kp.CaseID, rest []string, asJSON bool, stdout io.Writer) (func(*env) error, error) {
	if len(rest) != 0 {
		return nil, usageErr("usage: case suggest N [-json] | case suggest -replay [LAST] | case suggest -reindex")
	}
	return func(e *env) error {
		var res *suggest.Result
		err := e.st.View(func(tx *store.Tx) (err error) {
			res, err = suggest.ForCase(tx, id)
			return err
		})
		if errors.Is(err, store.ErrNotFound) {
			return usageErr("no case %d", id)
		}
		if err != nil {
			return err
		}
		if asJSON {
			list := res.Suggestions
			if list == nil {
				list = []suggest.Suggestion{}
			}
			return writeJSON(stdout, list)
		}
		prefix := e.cfg.Contact.TagPrefix
		if len(res.Suggestions) == 0 {
			fmt.Fprintf(stdout, "no suggestion for %s: no similar assigned case\n", id.Tag(prefix))
		} else {
			fmt.Fprintf(stdout, "suggestions for %s from %d similar assigned %s:\n", id.Tag(prefix), res.Voters, plural(res.Voters, "case", "cases"))
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			for _, s := range res.Suggestions {
				who := "team " + s.Team
				if s.Assignee != "" {
					who = s.Assignee
				}
				fmt.Fprintf(tw, "  %s\t%.2f\t%d %s\t%s\n", who, s.Score, s.Votes, plural(s.Votes, "case", "cases"), tags(s.Similar, prefix, 5))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
		printHits(stdout, "similar cases", res.Similar, prefix)
		printHits(stdout, "answered before (resolved)", res.Answered, prefix)
		return nil
	}, nil
}

func printHits(w io.Writer, title string, hits []suggest.Hit, prefix string) {
	if len(hits) == 0 {
		return
	}
	fmt.Fprintf(w, "%s:\n", title)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, h := range hits {
		who := orDash(h.Team)
		if h.Assignee != "" {
			who = h.Assignee
		}
		fmt.Fprintf(tw, "  %s\t%.2f\t%s\t%s\t%s\n", h.Case.Tag(prefix), h.Similarity, h.Status, who, h.Subject)
	}
	tw.Flush()
}

func tags(ids []kp.CaseID, prefix string, n int) string {
	var parts []string
	for i, id := range ids {
		if i == n {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, id.Tag(prefix))
	}
	return strings.Join(parts, " ")
}

// suggestHistoryCommand builds `case suggest -replay [LAST]` and `case
// suggest -reindex`.
func suggestHistoryCommand(rest []string, replay, reindex, asJSON bool, stdout io.Writer) (func(*env) error, error) {
	if replay == reindex || len(rest) > 1 || (reindex && len(rest) > 0) {
		return nil, usageErr("usage: case suggest -replay [LAST] | case suggest -reindex")
	}
	if reindex {
		return func(e *env) error {
			n, err := gateway.IndexHistory(e.st)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%d %s added to the suggestion index\n", n, plural(n, "case", "cases"))
			return nil
		}, nil
	}
	last := replayDefault
	if len(rest) == 1 {
		n, err := strconv.Atoi(rest[0])
		if err != nil || n < 0 {
			return nil, usageErr("case suggest -replay takes a number of cases (0 for all), not %q", rest[0])
		}
		last = n
	}
	return func(e *env) error {
		var r gateway.Replay
		err := e.st.View(func(tx *store.Tx) (err error) {
			r, err = gateway.ReplaySuggestions(tx, last)
			return err
		})
		if err != nil {
			return err
		}
		if asJSON {
			return writeJSON(stdout, r)
		}
		fmt.Fprintf(stdout, "replayed %d assigned %s: the top suggestion from the cases before was right for %d (%.1f %%); no suggestion for %d\n",
			r.Cases, plural(r.Cases, "case", "cases"), r.Right, 100*r.Accuracy, r.NoSuggestion)
		return nil
	}, nil
}
