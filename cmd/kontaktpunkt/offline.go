package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/config"
	"kontaktpunkt/gateway"
	"kontaktpunkt/routing"
	"kontaktpunkt/store"
)

// env is what an offline command works on: the store and a gateway over
// it. Standalone it is opened by the command; while serve runs, serve
// lends its own through the admin endpoint.
type env struct {
	cfg *config.Config
	st  *store.Store
	g   *gateway.Gateway
	// damaged, if set, is told of every error of a command; serve stops
	// when one says its store is damaged.
	damaged func(error)
}

// cmdOffline runs cases, case, outbox or backup, on the store directly or,
// when serve holds it, through serve's admin endpoint.
func cmdOffline(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) error {
	// serve may run in another directory: name files absolutely before a
	// command line may be forwarded to it.
	args = absFlagValues(args, "config", "db")
	if cmd == "backup" || cmd == "compact" {
		args = absPositional(args)
	}
	if cmd == "export-person" || cmd == "case" && len(args) > 0 && args[0] == "export" {
		args = absLastPositional(args)
	}
	return runOffline(ctx, cmd, args, stdout, func(cfg *config.Config, readOnly bool) (*env, func(), error) {
		st, err := openStoreMode(cfg, readOnly)
		if err != nil {
			if client := adminClientFor(cfg); client != nil && errors.Is(err, store.ErrInUse) {
				return nil, nil, forwarded{client}
			}
			return nil, nil, err
		}
		g, err := gateway.New(cfg, st, newLogger(cfg, stderr))
		if err != nil {
			st.Close()
			return nil, nil, configError{err}
		}
		return &env{cfg: cfg, st: st, g: g}, func() { st.Close() }, nil
	}, stderr)
}

// loc is where times are shown: the follow-up time zone (Europe/Oslo by
// default), the one the contact point works in.
func (e *env) loc() *time.Location {
	if e.g != nil && e.g.Clock != nil && e.g.Clock.Loc != nil {
		return e.g.Clock.Loc
	}
	return time.Local
}

// forwarded tells runOffline to hand the command to a running serve.
type forwarded struct{ client *adminClient }

func (forwarded) Error() string { return "forwarded to the running serve" }

// runOffline parses the command's flags, gets an env from open and runs
// the command. serve's admin endpoint calls it with its own open.
func runOffline(ctx context.Context, cmd string, args []string, stdout io.Writer, open func(cfg *config.Config, readOnly bool) (*env, func(), error), stderr io.Writer) error {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	var cf commonFlags
	cf.register(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	status := fs.String("status", "", "only cases with this status (open, waiting, resolved)")
	assignee := fs.String("assignee", "", "only cases assigned to this address")
	limit := fs.Int("limit", 0, "cases: at most this many (newest first)")
	page := fs.Int("page", 0, "cases: the page of -limit cases to show, from 1")
	since := fs.String("since", "", "followup rearm: only cases updated on or after this `DATE` (YYYY-MM-DD)")
	dryRun := fs.Bool("dry-run", false, "followup rearm: only count the cases")
	from := fs.String("from", "", "report: first date YYYY-MM-DD")
	to := fs.String("to", "", "report: last date YYYY-MM-DD (inclusive)")
	team := fs.String("team", "", "report: only this team's cases")
	asCSV := fs.Bool("csv", false, "report: print CSV")
	replay := fs.Bool("replay", false, "case suggest: replay the latest assigned cases and print how often the top suggestion was right")
	reindex := fs.Bool("reindex", false, "case suggest, search: add what was stored before the index existed to it")
	thorough := fs.Bool("thorough", false, "forget: read every message, not only those the indexes point at")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	// Check the arguments before opening anything.
	var run func(*env) error
	switch cmd {
	case "cases":
		if *status != "" && !kp.Status(*status).Valid() {
			return usageErr("-status must be open, waiting or resolved, not %q", *status)
		}
		if len(pos) > 0 {
			return usageErr("cases takes no arguments (got %q)", pos[0])
		}
		if *limit < 0 || *page < 0 || (*page > 0 && *limit == 0) {
			return usageErr("-limit must be a positive number, and -page needs -limit")
		}
		f := store.CaseFilter{Status: kp.Status(*status), Assignee: kp.NormAddr(*assignee), Limit: *limit}
		if *page > 1 {
			f.Offset = (*page - 1) * *limit
		}
		run = func(e *env) error { return listCases(e, f, *asJSON, stdout) }
	case "case":
		if len(pos) >= 1 && pos[0] == "suggest" && (*replay || *reindex) {
			if run, err = suggestHistoryCommand(pos[1:], *replay, *reindex, *asJSON, stdout); err != nil {
				return err
			}
			break
		}
		if len(pos) < 2 {
			return usageErr("usage: case show N | case assign N WHO | case status N S | case note N TEXT | case merge FROM INTO | case move MSGID N | case suggest N")
		}
		if pos[0] == "move" {
			if run, err = moveCommand(pos[1:], stdout); err != nil {
				return err
			}
			break
		}
		id, err := strconv.ParseUint(strings.TrimPrefix(pos[1], "#"), 10, 64)
		if err != nil || id == 0 {
			return usageErr("case number must be a positive number, not %q", pos[1])
		}
		run, err = caseCommand(pos[0], kp.CaseID(id), pos[2:], *asJSON, stdout)
		if err != nil {
			return err
		}
	case "outbox":
		switch {
		case len(pos) == 0:
			run = func(e *env) error { return listOutbox(e, *asJSON, stdout) }
		case pos[0] == "retry" && len(pos) == 2:
			id, err := strconv.ParseUint(pos[1], 10, 64)
			if err != nil {
				return usageErr("outbox retry needs a message number, not %q", pos[1])
			}
			run = func(e *env) error {
				if err := e.g.RetryOutbound(id); err != nil {
					if errors.Is(err, store.ErrNotFound) {
						return usageErr("no outbound message %d", id)
					}
					if errors.Is(err, gateway.ErrAlreadySent) {
						return usageErr("%v; nothing to retry", err)
					}
					return err
				}
				fmt.Fprintf(stdout, "outbound %d queued for a new attempt\n", id)
				return nil
			}
		default:
			return usageErr("usage: outbox [-json] | outbox retry ID")
		}
	case "check-store":
		// Only through serve's admin socket: standalone, cmdCheckStore
		// checks files that do not open.
		if len(pos) > 0 {
			return usageErr("check-store takes no arguments (got %q)", pos[0])
		}
		run = func(e *env) error { return printReport(e.st.CheckReport(), *asJSON, stdout) }
	case "followup":
		if len(pos) != 1 || pos[0] != "rearm" {
			return usageErr("usage: followup rearm [-since YYYY-MM-DD] [-dry-run]")
		}
		var from time.Time
		if *since != "" {
			t, err := time.Parse("2006-01-02", *since)
			if err != nil {
				return usageErr("-since must be a date YYYY-MM-DD, not %q", *since)
			}
			from = t
		}
		run = func(e *env) error {
			from := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, e.loc())
			n, err := e.g.Rearm(from, true)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%d open or waiting cases without a follow-up", n)
			if *since != "" {
				fmt.Fprintf(stdout, " updated since %s", *since)
			}
			fmt.Fprintln(stdout)
			if *dryRun || n == 0 {
				return nil
			}
			if n, err = e.g.Rearm(from, false); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "re-armed %d cases; follow-ups already overdue fire now, at most followup.max_per_tick mails at once\n", n)
			return nil
		}
	case "report":
		if run, err = reportCommand(pos, *from, *to, *team, *asJSON, *asCSV, stdout); err != nil {
			return err
		}
	case "compact", "forget", "purge", "audit", "export-person":
		if run, err = privacyCommand(cmd, pos, *dryRun, *asJSON, *thorough, stdout); err != nil {
			return err
		}
	case "search":
		if *reindex {
			run = func(e *env) error { return reindexSearch(e, stdout) }
			break
		}
		if len(pos) == 0 {
			return usageErr("usage: search [-json] QUERY | search -reindex")
		}
		query := strings.Join(pos, " ")
		run = func(e *env) error { return searchCases(e, query, *asJSON, stdout) }
	case "backup":
		if len(pos) != 1 {
			return usageErr("usage: backup [-config FILE] [-db FILE] OUT")
		}
		out := pos[0]
		run = func(e *env) error {
			if err := e.st.BackupFile(out); err != nil {
				return fmt.Errorf("backup to %s: %w", out, err)
			}
			fi, err := os.Stat(out)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "backup written to %s (%d bytes)\n", out, fi.Size())
			return nil
		}
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	// Commands that only read share the store with each other.
	readOnly := cmd == "cases" || cmd == "backup" || cmd == "check-store" || cmd == "report" || (cmd == "search" && !*reindex) || cmd == "compact" || cmd == "audit" ||
		(cmd == "forget" || cmd == "purge") && *dryRun || (cmd == "case" && (pos[0] == "show" || pos[0] == "suggest" && !*reindex)) ||
		(cmd == "outbox" && len(pos) == 0)
	e, closeEnv, err := open(cfg, readOnly)
	var fw forwarded
	if errors.As(err, &fw) {
		return fw.client.run(ctx, append([]string{cmd}, args...), stdout, stderr)
	}
	if err != nil {
		return err
	}
	defer closeEnv()
	return run(e)
}

// caseCommand builds the runner of one `case` subcommand.
func caseCommand(sub string, id kp.CaseID, rest []string, asJSON bool, stdout io.Writer) (func(*env) error, error) {
	operator := kp.Address{Name: "operator", Addr: operatorAddr()}
	operate := func(e *env, commands, text string) error {
		applied, err := e.g.Operate(id, operator, commands, text)
		if errors.Is(err, store.ErrNotFound) {
			return usageErr("no case %d", id)
		}
		if errors.Is(err, gateway.ErrNothingApplied) {
			return usageErr("%v", err)
		}
		if err != nil {
			return err
		}
		for _, a := range applied {
			fmt.Fprintf(stdout, "case %d: %s\n", id, a)
		}
		return nil
	}
	switch sub {
	case "show":
		if len(rest) != 0 {
			return nil, usageErr("usage: case show N [-json]")
		}
		return func(e *env) error { return showCase(e, id, asJSON, stdout) }, nil
	case "assign":
		if len(rest) != 1 {
			return nil, usageErr("usage: case assign N WHO")
		}
		return func(e *env) error { return operate(e, "[assign:"+rest[0]+"]", "") }, nil
	case "status":
		if len(rest) != 1 || !kp.Status(rest[0]).Valid() {
			return nil, usageErr("usage: case status N open|waiting|resolved")
		}
		return func(e *env) error { return operate(e, "[status:"+rest[0]+"]", "") }, nil
	case "note":
		if len(rest) == 0 {
			return nil, usageErr("usage: case note N TEXT")
		}
		return func(e *env) error { return operate(e, "[note]", strings.Join(rest, " ")) }, nil
	case "merge":
		return mergeCommand(id, rest, operator, stdout)
	case "archived":
		if len(rest) != 1 {
			return nil, usageErr("usage: case archived N REFERENCE (the archive's reference, like 2026/1234)")
		}
		return func(e *env) error { return operate(e, "[archived:"+rest[0]+"]", "") }, nil
	case "export":
		if len(rest) != 1 {
			return nil, usageErr("usage: case export N OUT")
		}
		return func(e *env) error { return exportCase(e, id, rest[0], stdout) }, nil
	case "suggest":
		return suggestCommand(id, rest, asJSON, stdout)
	}
	return nil, usageErr("unknown case command %q (show, assign, status, note, merge, move, archived, export, suggest)", sub)
}

func operatorAddr() string {
	u := os.Getenv("USER")
	if u == "" {
		u = "operator"
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	return u + "@" + host
}

// caseJSON is the shape of a case in `cases -json` and `case show -json`.
type caseJSON struct {
	ID         kp.CaseID    `json:"id"`
	Tag        string       `json:"tag"`
	Subject    string       `json:"subject"`
	Status     kp.Status    `json:"status"`
	Requester  string       `json:"requester"`
	Assignee   string       `json:"assignee"`
	Team       string       `json:"team"`
	Priority   kp.Priority  `json:"priority"`
	Escalation int          `json:"escalation"`
	Created    time.Time    `json:"created"`
	Updated    time.Time    `json:"updated"`
	Messages   any          `json:"messages"`
	Next       *kp.FollowUp `json:"next_followup"`
	Previous   kp.CaseID    `json:"previous_case,omitempty"`
	Cc         []string     `json:"participants,omitempty"`
	// CounterpartRefs are the counterpart ticket systems' own references.
	CounterpartRefs []kp.CounterpartRef `json:"counterpart_refs,omitempty"`
	MergedInto      kp.CaseID           `json:"merged_into,omitempty"`
	Links           []kp.CaseID         `json:"links,omitempty"`
	OpenedBy        string              `json:"opened_by,omitempty"`
	Archived        string              `json:"archived,omitempty"`
	// Audit and Tombstone are shown by case show only.
	Audit     []store.AuditEntry `json:"audit,omitempty"`
	Tombstone *store.Tombstone   `json:"tombstone,omitempty"`
}

type messageJSON struct {
	MessageID   string          `json:"message_id"`
	From        string          `json:"from"`
	Date        time.Time       `json:"date"`
	Direction   kp.Direction    `json:"direction"`
	Class       kp.Class        `json:"class"`
	MatchedBy   kp.MatchedBy    `json:"matched_by"`
	Kind        string          `json:"kind"`
	Subject     string          `json:"subject"`
	Text        string          `json:"text"`
	OwnText     *string         `json:"own_text,omitempty"`     // a reply's new text without its quoted history; absent where the whole text counts
	QuotedLines int             `json:"quoted_lines,omitempty"` // lines left out of own_text
	Outsider    bool            `json:"outsider"`
	To          []string        `json:"to,omitempty"`
	Attachments []kp.Attachment `json:"attachments,omitempty"`
	// CollidedID is the Message-ID the message arrived with when an
	// earlier, different message had it; MessageID is then derived.
	CollidedID string `json:"collided_id,omitempty"`
}

func toCaseJSON(c *kp.Case, prefix string) caseJSON {
	return caseJSON{
		ID: c.ID, Tag: c.ID.Tag(prefix), Subject: c.Subject, Status: c.Status, Requester: c.Requester.Addr,
		Assignee: c.Assignee, Team: c.Team, Priority: c.Priority, Escalation: c.Escalation,
		Created: c.Created, Updated: c.Updated, Messages: c.Messages, Next: c.Next,
		Previous: c.PreviousCase, Cc: c.Participants, CounterpartRefs: c.Counterparts,
		MergedInto: c.MergedInto, Links: c.Links, OpenedBy: c.OpenedBy, Archived: c.Archived,
	}
}

// counterpartName says whose a counterpart reference is: "team fs, rt@uio.no, rt".
func counterpartName(r kp.CounterpartRef) string {
	var parts []string
	if r.Team != "" {
		parts = append(parts, "team "+r.Team)
	}
	if r.Addr != "" {
		parts = append(parts, r.Addr)
	}
	if r.System != "" {
		parts = append(parts, r.System)
	}
	return strings.Join(parts, ", ")
}

// listCases streams the cases: each is written as it is read, so a
// listing of any size needs the memory of one case (and, for the table,
// of one chunk of rows).
func listCases(e *env, f store.CaseFilter, asJSON bool, stdout io.Writer) error {
	prefix := e.cfg.Contact.TagPrefix
	w := bufio.NewWriterSize(stdout, 64<<10)
	if asJSON {
		first := true
		if _, err := w.WriteString("["); err != nil {
			return err
		}
		// The same form writeJSON gives a whole array, one case at a time.
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("  ", "  ")
		err := e.st.View(func(tx *store.Tx) error {
			return tx.EachCase(f, func(c *kp.Case) error {
				buf.Reset()
				if err := enc.Encode(toCaseJSON(c, prefix)); err != nil {
					return err
				}
				b := bytes.TrimRight(buf.Bytes(), "\n")
				sep := ",\n  "
				if first {
					sep, first = "\n  ", false
				}
				w.WriteString(sep)
				_, err := w.Write(b)
				return err
			})
		})
		if err != nil {
			return err
		}
		if !first {
			w.WriteString("\n")
		}
		w.WriteString("]\n")
		return w.Flush()
	}
	const chunk = 1000 // rows aligned together; the table is flushed per chunk
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TAG\tSTATUS\tPRIO\tASSIGNEE\tREQUESTER\tUPDATED\tSUBJECT")
	rows := 0
	err := e.st.View(func(tx *store.Tx) error {
		return tx.EachCase(f, func(c *kp.Case) error {
			who := c.Assignee
			if who == "" && c.Team != "" {
				who = "team " + c.Team
			}
			if who == "" {
				who = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID.Tag(prefix), c.Status, c.Priority, who,
				c.Requester.Addr, c.Updated.In(e.loc()).Format("2006-01-02 15:04"), c.Subject)
			if rows++; rows%chunk == 0 {
				return tw.Flush()
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return w.Flush()
}

func showCase(e *env, id kp.CaseID, asJSON bool, stdout io.Writer) error {
	var (
		c     *kp.Case
		msgs  []kp.Message
		audit []store.AuditEntry
		tomb  *store.Tombstone
	)
	err := e.st.View(func(tx *store.Tx) error {
		var err error
		if c, err = tx.Case(id); err != nil {
			return err
		}
		if msgs, err = tx.CaseMessages(id); err != nil {
			return err
		}
		if t, ok, err := tx.Tombstone(id); err != nil {
			return err
		} else if ok {
			tomb = &t
		}
		audit, err = tx.Audit(id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return usageErr("no case %d", id)
	}
	if err != nil {
		return err
	}
	prefix := e.cfg.Contact.TagPrefix
	trim := e.g.Templates.Trimmer()
	if asJSON {
		cj := toCaseJSON(c, prefix)
		ms := make([]messageJSON, 0, len(msgs))
		for _, m := range msgs {
			mj := messageJSON{
				MessageID: m.ID, From: m.From.Addr, Date: m.Date, Direction: m.Direction, Class: m.Class,
				MatchedBy: m.MatchedBy, Kind: m.Kind, Subject: m.Subject, Text: m.Text, Outsider: m.Outsider,
				Attachments: m.Attachments, CollidedID: m.CollidedID,
			}
			for _, a := range append(append([]kp.Address{}, m.To...), m.Cc...) {
				mj.To = append(mj.To, a.Addr)
			}
			if routing.FoldsQuotes(&m) {
				q := trim.Split(m.Text)
				mj.OwnText, mj.QuotedLines = &q.Own, q.QuotedLines
			}
			if mj.Date.IsZero() {
				mj.Date = m.Received
			}
			ms = append(ms, mj)
		}
		cj.Messages = ms
		cj.Audit, cj.Tombstone = audit, tomb
		return writeJSON(stdout, cj)
	}
	fmt.Fprintf(stdout, "%s %s\n", c.ID.Tag(prefix), c.Subject)
	fmt.Fprintf(stdout, "  status:     %s   priority: %s   escalation: %d\n", c.Status, c.Priority, c.Escalation)
	fmt.Fprintf(stdout, "  requester:  %s\n", c.Requester)
	if len(c.Participants) > 0 {
		fmt.Fprintf(stdout, "  cc:         %s\n", strings.Join(c.Participants, ", "))
	}
	fmt.Fprintf(stdout, "  assignee:   %s   team: %s\n", orDash(c.Assignee), orDash(c.Team))
	fmt.Fprintf(stdout, "  created:    %s   updated: %s\n", c.Created.In(e.loc()).Format("2006-01-02 15:04"), c.Updated.In(e.loc()).Format("2006-01-02 15:04"))
	if c.Next != nil {
		fmt.Fprintf(stdout, "  next:       %s at %s\n", c.Next.Kind, c.Next.Due.In(e.loc()).Format("2006-01-02 15:04"))
	}
	if c.PreviousCase != 0 {
		fmt.Fprintf(stdout, "  follows:    %s\n", c.PreviousCase.Tag(prefix))
	}
	for _, r := range c.Counterparts {
		fmt.Fprintf(stdout, "  their ref:  %s (%s)\n", r.Ref, counterpartName(r))
	}
	showThreadLinks(stdout, c, prefix)
	if c.Archived != "" {
		fmt.Fprintf(stdout, "  archived:   %s\n", c.Archived)
	}
	if tomb != nil {
		fmt.Fprintf(stdout, "  purged:     %s (retention; %d messages in, %d out)\n", tomb.Purged.In(e.loc()).Format("2006-01-02 15:04"), tomb.Inbound, tomb.Outbound)
	}
	defer func() {
		if len(audit) > 0 {
			fmt.Fprintf(stdout, "\naudit trail:\n")
			printAudit(e, audit, stdout)
		}
	}()
	for _, m := range msgs {
		arrow := "<-"
		if m.Direction == kp.Out {
			arrow = "->"
		}
		when := m.Received
		flags := []string{m.Kind}
		if m.Class != kp.ClassHuman {
			flags = append(flags, string(m.Class))
		}
		if m.Outsider {
			flags = append(flags, "OUTSIDER")
		}
		if m.MatchedBy != "" && m.Direction == kp.In {
			flags = append(flags, "by "+string(m.MatchedBy))
		}
		if m.CollidedID != "" {
			flags = append(flags, "id collided with an earlier message: <"+m.CollidedID+">, stored as <"+m.ID+">")
		}
		who := m.From.String()
		if m.Direction == kp.Out && len(m.To)+len(m.Cc) == 0 {
			// A line the gateway records (an event, a status change): no mail.
			arrow, who = "--", "recorded"
		} else if m.Direction == kp.Out {
			var to []string
			for _, a := range append(append([]kp.Address{}, m.To...), m.Cc...) {
				to = append(to, a.Addr)
			}
			who = "to " + strings.Join(to, ", ")
		}
		fmt.Fprintf(stdout, "\n%s %s %s [%s]\n  %s\n", when.In(e.loc()).Format("2006-01-02 15:04"), arrow, who, strings.Join(flags, ", "), m.Subject)
		text, folded := strings.TrimSpace(m.Text), 0
		if routing.FoldsQuotes(&m) {
			q := trim.Split(m.Text)
			text, folded = q.Own, q.QuotedLines
			if text == "" {
				text = "(no new text)"
			}
		}
		if len(text) > 2000 {
			text = text[:2000] + " […]"
		}
		for _, l := range strings.Split(text, "\n") {
			fmt.Fprintf(stdout, "  | %s\n", l)
		}
		if folded > 0 {
			fmt.Fprintf(stdout, "  | [… %d quoted %s]\n", folded, plural(folded, "line", "lines"))
		}
	}
	return nil
}

func listOutbox(e *env, asJSON bool, stdout io.Writer) error {
	var list []kp.Outbound
	if err := e.st.View(func(tx *store.Tx) error {
		var err error
		list, err = tx.ListOutbound("", 200)
		return err
	}); err != nil {
		return err
	}
	if asJSON {
		if list == nil {
			list = []kp.Outbound{}
		}
		return writeJSON(stdout, list)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tKIND\tCASE\tTO\tATTEMPTS\tQUEUED\tLAST ERROR")
	for _, o := range list {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%d\t%s\t%s\n", o.ID, o.State, o.Kind, o.Case, strings.Join(o.To, ","),
			o.Attempts, o.Queued.In(e.loc()).Format("2006-01-02 15:04:05"), o.LastError)
	}
	return tw.Flush()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// absPositional makes the positional arguments (not flags or their values)
// absolute paths.
func absPositional(args []string) []string {
	out := make([]string, len(args))
	copy(out, args)
	for i := 0; i < len(out); i++ {
		a := out[i]
		if strings.HasPrefix(a, "-") {
			if !strings.Contains(a, "=") && a != "-json" && a != "--json" {
				i++ // the flag's value
			}
			continue
		}
		if abs, err := filepath.Abs(a); err == nil {
			out[i] = abs
		}
	}
	return out
}

// absFlagValues makes the values of the named flags absolute paths.
func absFlagValues(args []string, names ...string) []string {
	out := make([]string, len(args))
	copy(out, args)
	for i := 0; i < len(out); i++ {
		for _, n := range names {
			for _, prefix := range []string{"-" + n, "--" + n} {
				switch {
				case out[i] == prefix && i+1 < len(out):
					if abs, err := filepath.Abs(out[i+1]); err == nil {
						out[i+1] = abs
					}
				case strings.HasPrefix(out[i], prefix+"="):
					if abs, err := filepath.Abs(strings.TrimPrefix(out[i], prefix+"=")); err == nil {
						out[i] = prefix + "=" + abs
					}
				}
			}
		}
	}
	return out
}
