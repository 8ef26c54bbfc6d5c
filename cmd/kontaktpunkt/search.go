package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	kp "kontaktpunkt"
	"kontaktpunkt/search"
	"kontaktpunkt/store"
)

// searchLimit is how many cases `search` prints.
const searchLimit = 100

// searchJSON is one case found by `search -json`.
type searchJSON struct {
	ID      kp.CaseID `json:"id"`
	Tag     string    `json:"tag"`
	Subject string    `json:"subject"`
	Status  kp.Status `json:"status"`
	Snippet string    `json:"snippet"`
}

// searchCases runs `search QUERY`: the newest matching cases first.
func searchCases(e *env, query string, asJSON bool, stdout io.Writer) error {
	q := search.ParseQuery(query)
	if len(q.Bad) > 0 {
		return usageErr("cannot read %s (dates are YYYY-MM-DD, from: takes an address or @domain)", strings.Join(q.Bad, ", "))
	}
	if q.Empty() {
		return usageErr("nothing to search for in %q", query)
	}
	var res store.SearchResult
	if err := e.st.View(func(tx *store.Tx) error {
		var err error
		res, err = tx.Search(q, e.loc(), searchLimit)
		return err
	}); err != nil {
		return err
	}
	prefix := e.cfg.Contact.TagPrefix
	if asJSON {
		out := make([]searchJSON, 0, len(res.Hits))
		for _, h := range res.Hits {
			out = append(out, searchJSON{ID: h.Case.ID, Tag: h.Case.ID.Tag(prefix), Subject: h.Case.Subject, Status: h.Case.Status, Snippet: h.Snippet})
		}
		return writeJSON(stdout, out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TAG\tSTATUS\tCREATED\tSUBJECT\tSNIPPET")
	for _, h := range res.Hits {
		c := h.Case
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID.Tag(prefix), c.Status, c.Created.In(e.loc()).Format("2006-01-02"), c.Subject, h.Snippet)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if res.More {
		fmt.Fprintf(stdout, "only the newest %d matching cases are shown\n", searchLimit)
	}
	if res.Partial != "" {
		fmt.Fprintln(stdout, "note:", res.Partial)
	}
	return nil
}
