package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	kp "kontaktpunkt"
	"kontaktpunkt/gateway"
	"kontaktpunkt/store"
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

// mergeCommand builds `case merge FROM INTO`.
func mergeCommand(from kp.CaseID, rest []string, operator kp.Address, stdout io.Writer) (func(*env) error, error) {
	if len(rest) != 1 {
		return nil, usageErr("usage: case merge FROM INTO")
	}
	into, err := parseCaseNumber(rest[0])
	if err != nil {
		return nil, err
	}
	return func(e *env) error {
		err := e.g.MergeCases(from, into, operator)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, gateway.ErrRepair) {
			return usageErr("%v", err)
		}
		if err != nil {
			return err
		}
		prefix := e.cfg.Contact.TagPrefix
		fmt.Fprintf(stdout, "%s merged into %s\n", from.Tag(prefix), into.Tag(prefix))
		return nil
	}, nil
}

// moveCommand builds `case move MSGID N`.
func moveCommand(args []string, stdout io.Writer) (func(*env) error, error) {
	if len(args) != 2 {
		return nil, usageErr("usage: case move MSGID N")
	}
	to, err := parseCaseNumber(args[1])
	if err != nil {
		return nil, err
	}
	id := args[0]
	operator := kp.Address{Name: "operator", Addr: operatorAddr()}
	return func(e *env) error {
		from, err := e.g.MoveMessage(id, to, operator)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, gateway.ErrRepair) {
			return usageErr("%v", err)
		}
		if err != nil {
			return err
		}
		prefix := e.cfg.Contact.TagPrefix
		fmt.Fprintf(stdout, "message %s moved from %s to %s\n", id, from.Tag(prefix), to.Tag(prefix))
		return nil
	}, nil
}

func parseCaseNumber(s string) (kp.CaseID, error) {
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[i+1:]
	}
	n, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64)
	if err != nil || n == 0 {
		return 0, usageErr("case number must be a positive number, not %q", s)
	}
	return kp.CaseID(n), nil
}
