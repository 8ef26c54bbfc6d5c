package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every command's help names its usage, each flag the command parses with
// a description, and an example, on standard output with exit status 0;
// `help CMD` and `CMD -h` print the same.
func TestHelpForEveryCommand(t *testing.T) {
	cases := []struct {
		args  []string
		flags []string
	}{
		{[]string{"serve"}, []string{"-config"}},
		{[]string{"demo"}, []string{"-keep", "-v"}},
		{[]string{"ingest"}, []string{"-config", "-db", "-quiet", "-json"}},
		{[]string{"cases"}, []string{"-config", "-db", "-status", "-assignee", "-json"}},
		{[]string{"case"}, []string{"-config", "-db"}},
		{[]string{"case", "show"}, []string{"-config", "-db", "-json"}},
		{[]string{"case", "assign"}, []string{"-config", "-db"}},
		{[]string{"case", "status"}, []string{"-config", "-db"}},
		{[]string{"case", "note"}, []string{"-config", "-db"}},
		{[]string{"case", "merge"}, []string{"-config", "-db"}},
		{[]string{"case", "move"}, []string{"-config", "-db"}},
		{[]string{"outbox"}, []string{"-config", "-db", "-json"}},
		{[]string{"outbox", "retry"}, []string{"-config", "-db"}},
		{[]string{"backup"}, []string{"-config", "-db"}},
		{[]string{"followup", "rearm"}, []string{"-config", "-db", "-since", "-dry-run"}},
		{[]string{"check-config"}, []string{"-config"}},
		{[]string{"check-store"}, []string{"-config", "-db", "-json"}},
	}
	for _, c := range cases {
		name := strings.Join(c.args, " ")
		t.Run(name, func(t *testing.T) {
			out, errOut, code := run(t, "", append([]string{"help"}, c.args...)...)
			if code != 0 || errOut != "" {
				t.Fatalf("help %s: exit %d, stderr %q", name, code, errOut)
			}
			if !strings.HasPrefix(out, "usage: kontaktpunkt "+name) {
				t.Errorf("help %s does not start with its usage:\n%s", name, out)
			}
			for _, f := range c.flags {
				i := strings.Index(out, "\n  "+f)
				if i < 0 {
					t.Errorf("help %s lacks flag %s:\n%s", name, f, out)
					continue
				}
				// The description is the indented line after the flag.
				rest := out[i+1:]
				lines := strings.SplitN(rest, "\n", 3)
				if len(lines) < 2 || strings.TrimSpace(lines[1]) == "" || !strings.HasPrefix(lines[1], "      ") {
					t.Errorf("help %s: flag %s has no description:\n%s", name, f, out)
				}
			}
			if !strings.Contains(out, "\nexamples:\n  kontaktpunkt "+c.args[0]) {
				t.Errorf("help %s has no example:\n%s", name, out)
			}
			dash, errOut, code := run(t, "", append(append([]string{}, c.args...), "-h")...)
			if code != 0 || errOut != "" || dash != out {
				t.Errorf("%s -h (exit %d, stderr %q) differs from help %s:\n%s", name, code, errOut, name, dash)
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	out, _, code := run(t, "", "help")
	if code != 0 || !strings.Contains(out, "usage: kontaktpunkt COMMAND") || !strings.Contains(out, "version") {
		t.Errorf("help: exit %d:\n%s", code, out)
	}
	_, errOut, code := run(t, "", "help", "nosuch")
	if code != exitUser || !strings.Contains(errOut, `unknown command "nosuch"`) {
		t.Errorf("help nosuch: exit %d, %q", code, errOut)
	}
	for _, args := range [][]string{{"version"}, {"-version"}} {
		out, _, code := run(t, "", args...)
		if code != 0 || !strings.HasPrefix(out, "kontaktpunkt ") || !strings.Contains(out, "go1.") {
			t.Errorf("%v: exit %d, %q", args, code, out)
		}
	}
	version = "1.2.3-test"
	defer func() { version = "" }()
	if out, _, _ := run(t, "", "version"); !strings.HasPrefix(out, "kontaktpunkt 1.2.3-test (") {
		t.Errorf("stamped version not printed: %q", out)
	}
}

// Errors name their problem once: the store path appears once, and a
// value of the wrong kind in the configuration is described in words with
// its line and key, not with a Go type.
func TestErrorMessagesSayItOnce(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "st.db")
	if err := os.WriteFile(db, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := run(t, "", "cases", "-db", db)
	if code != exitUser || strings.Count(errOut, db) != 1 || strings.Count(errOut, "opening") != 1 {
		t.Errorf("cases on an empty file: exit %d, %q", code, errOut)
	}

	cfg := filepath.Join(dir, "k.yaml")
	if err := os.WriteFile(cfg, []byte("contact:\n  address: a@example.org\nstaff:\n  members: \"x@example.org\"\nlimits:\n  max_participants: many\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = run(t, "", "check-config", "-config", cfg)
	if code != exitUser {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"configuration problems in " + cfg + ":",
		`line 4: staff.members must be a list, not text "x@example.org"`,
		`line 6: limits.max_participants must be a whole number, not text "many"`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("missing %q in:\n%s", want, errOut)
		}
	}
	for _, leak := range []string{"config.Person", "unmarshal", "!!str", "config " + cfg} {
		if strings.Contains(errOut, leak) {
			t.Errorf("error leaks %q:\n%s", leak, errOut)
		}
	}
}

// serve's first log line names the version, so a log shows which build
// wrote it; here serve then refuses a file that is not a store.
func TestServeLogsVersionFirst(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kp.db"), []byte("not a store at all, just text"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, dir, "kp.yaml", "contact:\n  address: integrasjon@example.org\nstore:\n  path: kp.db\nhttp:\n  listen: \"\"\n")
	version = "9.9.9-test"
	defer func() { version = "" }()
	_, errOut, code := run(t, "", "serve", "-config", cfg)
	if code != exitUser {
		t.Fatalf("serve on a non-store: exit %d: %s", code, errOut)
	}
	first, _, _ := strings.Cut(errOut, "\n")
	if !strings.Contains(first, "kontaktpunkt starting") || !strings.Contains(first, "version=9.9.9-test") {
		t.Errorf("first log line %q does not name the version", first)
	}
}
