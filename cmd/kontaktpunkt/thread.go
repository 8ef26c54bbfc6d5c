package main

import (
	"fmt"
	"io"
	"strings"

	kp "kontaktpunkt"
)

// showThreadLinks prints what repairs and forwarding recorded on a case:
// the case it was merged into, related cases, and who opened it on the
// requester's behalf.
func showThreadLinks(w io.Writer, c *kp.Case, prefix string) {
	if c.MergedInto != 0 {
		fmt.Fprintf(w, "  merged into: %s (mail for this case goes there)\n", c.MergedInto.Tag(prefix))
	}
	if len(c.Links) > 0 {
		tags := make([]string, 0, len(c.Links))
		for _, l := range c.Links {
			tags = append(tags, l.Tag(prefix))
		}
		fmt.Fprintf(w, "  related:    %s\n", strings.Join(tags, ", "))
	}
	if c.OpenedBy != "" {
		fmt.Fprintf(w, "  opened by:  %s on the requester's behalf\n", c.OpenedBy)
	}
}
