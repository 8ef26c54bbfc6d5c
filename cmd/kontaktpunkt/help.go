package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// helpEntry documents one command for `kontaktpunkt help CMD` and `CMD -h`.
type helpEntry struct {
	name    string // "case show"
	usage   string // arguments after the name
	summary string // what it does, one paragraph
	// flags lists the flags that apply, in order; nil means every flag
	// of the command's flag set. The offline commands share one flag set,
	// so each names its own.
	flags    []string
	examples []string
}

var helpEntries = []helpEntry{
	{name: "serve", usage: "-config FILE",
		summary:  "Runs the gateway: IMAP intake, the outbox, follow-ups, the admin socket and HTTP (dashboard, /healthz, /metrics), until SIGINT or SIGTERM.",
		examples: []string{"kontaktpunkt serve -config /etc/kontaktpunkt/kontaktpunkt.yaml"}},
	{name: "demo", usage: "[-keep] [-v]",
		summary:  "Plays a scripted conversation on in-process IMAP and SMTP servers with a temporary store, printing every mail and case change.",
		examples: []string{"kontaktpunkt demo", "kontaktpunkt demo -keep"}},
	{name: "ingest", usage: "[-config FILE | -db FILE] [-quiet] [-json] PATH... | -",
		summary: "Applies mail from .eml files, mbox files, Maildir folders or standard input (-) as serve would. Exit status 75 on a temporary failure, so an MTA retries.",
		examples: []string{"kontaktpunkt ingest -db cases.db -quiet archive.mbox",
			"kontaktpunkt ingest -config /etc/kontaktpunkt/kontaktpunkt.yaml -   # from an MTA pipe"}},
	{name: "cases", usage: "[-config FILE | -db FILE] [-status S] [-assignee A] [-json]",
		summary: "Lists cases, newest first.", flags: []string{"config", "db", "status", "assignee", "json"},
		examples: []string{"kontaktpunkt cases -db cases.db -status open", "kontaktpunkt cases -config /etc/kontaktpunkt/kontaktpunkt.yaml -json"}},
	{name: "case", usage: "show|assign|status|note|merge|move ...",
		summary: "Shows or changes one case. Run `kontaktpunkt help case SUB` for each: show N, assign N WHO, status N S, note N TEXT, merge FROM INTO, move MSGID N.",
		flags:   []string{"config", "db"}, examples: []string{"kontaktpunkt case show 42 -db cases.db"}},
	{name: "case show", usage: "N [-config FILE | -db FILE] [-json]",
		summary: "Prints a case and its timeline; a reply's quoted history is folded.", flags: []string{"config", "db", "json"},
		examples: []string{"kontaktpunkt case show 42 -db cases.db", "kontaktpunkt case show 42 -json -config /etc/kontaktpunkt/kontaktpunkt.yaml"}},
	{name: "case assign", usage: "N WHO [-config FILE | -db FILE]",
		summary: "Assigns case N to a person (staff or team member, by local part or address) or a team, as [assign:WHO] in a staff mail would; the assignee is mailed.",
		flags:   []string{"config", "db"}, examples: []string{"kontaktpunkt case assign 42 per.hansen -db cases.db"}},
	{name: "case status", usage: "N open|waiting|resolved [-config FILE | -db FILE]",
		summary: "Sets the status of case N, as [status:S] would.", flags: []string{"config", "db"},
		examples: []string{"kontaktpunkt case status 42 resolved -db cases.db"}},
	{name: "case note", usage: "N TEXT [-config FILE | -db FILE]",
		summary: "Adds an internal note to case N; it goes to staff, assignee and team, never to the requester.", flags: []string{"config", "db"},
		examples: []string{`kontaktpunkt case note 42 "Called the requester; waiting for the export" -db cases.db`}},
	{name: "case merge", usage: "FROM INTO [-config FILE | -db FILE]",
		summary: "Folds case FROM into case INTO: messages, participants, links and follow-up. Mail that matches FROM later goes to INTO.", flags: []string{"config", "db"},
		examples: []string{"kontaktpunkt case merge 5 3 -db cases.db"}},
	{name: "case move", usage: "MSGID N [-config FILE | -db FILE]",
		summary: "Moves one misfiled message to case N.", flags: []string{"config", "db"},
		examples: []string{"kontaktpunkt case move '<id@example.org>' 3 -db cases.db"}},
	{name: "outbox", usage: "[-config FILE | -db FILE] [-json] | outbox retry ID",
		summary: "Lists queued, sent and failed outbound mail; `outbox retry ID` queues a failed one for a new attempt.", flags: []string{"config", "db", "json"},
		examples: []string{"kontaktpunkt outbox -db cases.db", "kontaktpunkt outbox retry 17 -db cases.db"}},
	{name: "outbox retry", usage: "ID [-config FILE | -db FILE]",
		summary: "Queues the failed outbound message ID for a new attempt.", flags: []string{"config", "db"},
		examples: []string{"kontaktpunkt outbox retry 17 -config /etc/kontaktpunkt/kontaktpunkt.yaml"}},
	{name: "backup", usage: "[-config FILE | -db FILE] OUT",
		summary: "Writes a consistent copy of the store to OUT, also while serve runs. A damaged store is not copied.", flags: []string{"config", "db"},
		examples: []string{"kontaktpunkt backup -config /etc/kontaktpunkt/kontaktpunkt.yaml /backup/kontaktpunkt-$(date +%F).db"}},
	{name: "followup", usage: "rearm [-since DATE] [-dry-run]",
		summary: "Only `followup rearm`: see `kontaktpunkt help followup rearm`.", flags: []string{"config", "db", "since", "dry-run"},
		examples: []string{"kontaktpunkt followup rearm -db cases.db -dry-run"}},
	{name: "followup rearm", usage: "[-config FILE | -db FILE] [-since YYYY-MM-DD] [-dry-run]",
		summary:  "Counts the open and waiting cases without a follow-up (an archive import leaves old ones unarmed) and arms them.",
		flags:    []string{"config", "db", "since", "dry-run"},
		examples: []string{"kontaktpunkt followup rearm -db cases.db -since 2026-11-01 -dry-run"}},
	{name: "check-config", usage: "-config FILE",
		summary:  "Reports every problem in the configuration at once, with its line, and checks that secret files are readable. Exit status 0 when it would start.",
		examples: []string{"kontaktpunkt check-config -config /etc/kontaktpunkt/kontaktpunkt.yaml"}},
	{name: "check-store", usage: "[-config FILE | -db FILE] [-json] [-sizes]",
		summary:  "Checks the store file without writing to it: header pages, page tree, bbolt's consistency check and the store's indexes. Exit status 0 when sound, 1 with the problems listed. With -sizes it checks nothing and prints the keys, pages and bytes in use of each bucket instead.",
		examples: []string{"kontaktpunkt check-store -db /var/lib/kontaktpunkt/kontaktpunkt.db"}},
	{name: "version", summary: "Prints the version and the Go version it was built with.",
		examples: []string{"kontaktpunkt version"}},
	{name: "help", usage: "[CMD [SUB]]", summary: "Prints the list of commands, or one command's usage, flags and examples.",
		examples: []string{"kontaktpunkt help serve", "kontaktpunkt help case assign"}},
}

func lookupHelp(name string) (helpEntry, bool) {
	for _, e := range helpEntries {
		if e.name == name {
			return e, true
		}
	}
	return helpEntry{}, false
}

// helpRequest is returned by parseFlags for -h: Run prints the command's
// help to standard output and exits 0.
type helpRequest struct {
	fs  *flag.FlagSet
	pos []string // positional arguments before -h ("show" in "case show -h")
}

func (helpRequest) Error() string { return "help requested" }
func (helpRequest) Unwrap() error { return flag.ErrHelp }

func isHelpFlag(s string) bool { return s == "-h" || s == "-help" || s == "--help" }

// printRequestedHelp prints the help of the command that saw -h.
func printRequestedHelp(hr helpRequest, w io.Writer) {
	name := hr.fs.Name()
	if len(hr.pos) > 0 {
		if e, ok := lookupHelp(name + " " + hr.pos[0]); ok {
			writeHelp(w, e, hr.fs)
			return
		}
	}
	e, ok := lookupHelp(name)
	if !ok {
		e = helpEntry{name: name}
	}
	writeHelp(w, e, hr.fs)
}

// printHelp prints the help of a command without a flag set.
func printHelp(name string, w io.Writer) error {
	e, ok := lookupHelp(name)
	if !ok {
		return usageErr("no help for %q; run kontaktpunkt help", name)
	}
	writeHelp(w, e, nil)
	return nil
}

func writeHelp(w io.Writer, e helpEntry, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: kontaktpunkt %s", e.name)
	if e.usage != "" {
		fmt.Fprintf(w, " %s", e.usage)
	}
	fmt.Fprintln(w)
	if e.summary != "" {
		fmt.Fprintf(w, "\n%s\n", wrap(e.summary, 76))
	}
	if fs != nil {
		var lines []string
		show := func(f *flag.Flag) {
			arg, desc := flag.UnquoteUsage(f)
			if i := strings.Index(desc, ": "); i > 0 && strings.Contains(desc[:i], " ") && e.flags != nil {
				desc = desc[i+2:] // "followup rearm: only count the cases" under its own command
			}
			head := "  -" + f.Name
			if arg != "" {
				head += " " + arg
			}
			line := head + "\n      " + desc
			if f.DefValue != "" && f.DefValue != "false" {
				line += fmt.Sprintf(" (default %s)", f.DefValue)
			}
			lines = append(lines, line)
		}
		if e.flags == nil {
			fs.VisitAll(show)
		} else {
			for _, n := range e.flags {
				if f := fs.Lookup(n); f != nil {
					show(f)
				}
			}
		}
		if len(lines) > 0 {
			fmt.Fprintf(w, "\nflags:\n%s\n", strings.Join(lines, "\n"))
		}
	}
	if len(e.examples) > 0 {
		fmt.Fprintln(w, "\nexamples:")
		for _, x := range e.examples {
			fmt.Fprintf(w, "  %s\n", x)
		}
	}
}

// wrap breaks text into lines of at most width characters.
func wrap(s string, width int) string {
	var b strings.Builder
	n := 0
	for i, word := range strings.Fields(s) {
		if i > 0 {
			if n+1+len(word) > width {
				b.WriteByte('\n')
				n = 0
			} else {
				b.WriteByte(' ')
				n++
			}
		}
		b.WriteString(word)
		n += len(word)
	}
	return b.String()
}

// cmdHelp prints general usage, or one command's help by running it with
// -h, so the flags printed are the ones the command really parses.
func cmdHelp(run func(args []string) int, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return nil
	}
	name := strings.Join(args, " ")
	if _, ok := lookupHelp(name); !ok {
		return usageErr("unknown command %q; run kontaktpunkt help", name)
	}
	switch args[0] {
	case "help":
		return printHelp("help", stdout)
	case "version":
		return printHelp("version", stdout)
	}
	if code := run(append(append([]string{}, args...), "-h")); code != exitOK {
		return errors.New("help failed")
	}
	return nil
}
