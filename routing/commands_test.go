package routing

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseCommands(t *testing.T) {
	tests := []struct {
		name     string
		subject  string
		cmds     []Command
		refused  []string // reasons, checked by substring
		rest     string
		restSame bool // rest must equal the subject unchanged
	}{
		{name: "no commands", subject: "Re: [INT#4]  Tilgang", rest: "Re: [INT#4]  Tilgang", restSame: true},
		{name: "archived with the archive's reference", subject: "[INT#4] [archived:2026/1234] x",
			cmds: []Command{{"archived", "2026/1234", "[archived:2026/1234]"}}, rest: "[INT#4] x"},
		{name: "archived without a reference", subject: "[archived] x", refused: []string{"needs an argument, like [archived:2026/1234]"}, rest: "x"},
		{name: "archived with a bad reference", subject: "[archived:2026 <b>] x", refused: []string{"archive reference must be"}, rest: "x"},
		{name: "assign", subject: "[INT#4] [assign:ole] Tilgang",
			cmds: []Command{{"assign", "ole", "[assign:ole]"}}, rest: "[INT#4] Tilgang"},
		{name: "assign address and team", subject: "x [assign:Ole@UiO.no] [assign:team-fs]",
			cmds: []Command{{"assign", "Ole@UiO.no", "[assign:Ole@UiO.no]"}, {"assign", "team-fs", "[assign:team-fs]"}}, rest: "x"},
		{name: "case-insensitive verb and spaces", subject: "[ ASSIGN : ole ] x",
			cmds: []Command{{"assign", "ole", "[ ASSIGN : ole ]"}}, rest: "x"},
		{name: "take unassign", subject: "[take][unassign] x",
			cmds: []Command{{"take", "", "[take]"}, {"unassign", "", "[unassign]"}}, rest: "x"},
		{name: "status values", subject: "[status:open] [Status:WAITING] [status:resolved]",
			cmds: []Command{{"status", "open", "[status:open]"}, {"status", "waiting", "[Status:WAITING]"}, {"status", "resolved", "[status:resolved]"}}, rest: ""},
		{name: "close reopen note escalate", subject: "[close] [reopen] [note] [escalate] x",
			cmds: []Command{{"close", "", "[close]"}, {"reopen", "", "[reopen]"}, {"note", "", "[note]"}, {"escalate", "", "[escalate]"}}, rest: "x"},
		{name: "empty argument after colon is no argument", subject: "[take:] x",
			cmds: []Command{{"take", "", "[take:]"}}, rest: "x"},
		{name: "prio", subject: "[prio:HIGH] x [priority:low]",
			cmds: []Command{{"prio", "high", "[prio:HIGH]"}, {"prio", "low", "[priority:low]"}}, rest: "x"},
		{name: "remind", subject: "[remind:3d] [remind:4H] [remind:1d4h] [remind:2026-12-01] x",
			cmds: []Command{{"remind", "3d", "[remind:3d]"}, {"remind", "4h", "[remind:4H]"}, {"remind", "1d4h", "[remind:1d4h]"}, {"remind", "2026-12-01", "[remind:2026-12-01]"}}, rest: "x"},
		{name: "cc and requester", subject: "[cc:kari@example.org] [requester:Per <per@example.no>] x",
			cmds: []Command{{"cc", "kari@example.org", "[cc:kari@example.org]"}, {"requester", "per@example.no", "[requester:Per <per@example.no>]"}}, rest: "x"},
		{name: "merge and link name a case", subject: "[INT#7] [merge:INT#5] [link:#12] [Link: 3] x",
			cmds: []Command{{"merge", "5", "[merge:INT#5]"}, {"link", "12", "[link:#12]"}, {"link", "3", "[Link: 3]"}}, rest: "[INT#7] x"},
		{name: "merge without a case is refused", subject: "[merge:someone] [link:INT#0] x",
			refused: []string{"[merge:someone]", "[link:INT#0]"}, rest: "x"},
		{name: "command in the middle", subject: "Tilgang [take] til FS",
			cmds: []Command{{"take", "", "[take]"}}, rest: "Tilgang til FS"},
		{name: "other brackets are text", subject: "[EXTERNAL] [SPAM] [INT#4] [Ticket 12] [ok] [it] [x] x",
			rest: "[EXTERNAL] [SPAM] [INT#4] [Ticket 12] [ok] [it] [x] x", restSame: true},
		{name: "nested bracket restarts", subject: "[a [take] b]",
			cmds: []Command{{"take", "", "[take]"}}, rest: "[a b]"},
		{name: "unterminated bracket", subject: "[take x", rest: "[take x", restSame: true},

		// Refused.
		{name: "typo verb", subject: "[asign:ole] x", refused: []string{"unknown tag [asign:ole]; did you mean [assign:…]?"}, rest: "x"},
		{name: "typo no-arg verb", subject: "[closed] x", refused: []string{"did you mean [close]?"}, rest: "x"},
		{name: "transposed", subject: "[esclaate] x", refused: []string{"did you mean [escalate]?"}, rest: "x"},
		{name: "bad prio", subject: "[prio:hihg] x", refused: []string{"[prio:hihg]: priority must be low, normal, high or urgent; did you mean high?"}, rest: "x"},
		{name: "bad status", subject: "[status:closed]", refused: []string{"status must be open, waiting or resolved"}, rest: ""},
		{name: "bad remind", subject: "[remind:soon]", refused: []string{"remind must be"}, rest: ""},
		{name: "bad date", subject: "[remind:2026-13-01]", refused: []string{"remind must be"}, rest: ""},
		{name: "bad cc", subject: "[cc:not an address]", refused: []string{"not a valid e-mail address"}, rest: ""},
		{name: "cc without domain dot", subject: "[cc:root@localhost]", refused: []string{"not a valid e-mail address"}, rest: ""},
		{name: "assign needs argument", subject: "[assign] x", refused: []string{"[assign] needs an argument"}, rest: "x"},
		{name: "assign empty argument", subject: "[assign: ] x", refused: []string{"needs an argument"}, rest: "x"},
		{name: "take refuses argument", subject: "[take:ole] x", refused: []string{"[take] takes no argument"}, rest: "x"},
		{name: "mixed", subject: "Re: [INT#4] [assign:ole] [prio:hihg] [EXTERNAL] tekst",
			cmds: []Command{{"assign", "ole", "[assign:ole]"}}, refused: []string{"priority must be"}, rest: "Re: [INT#4] [EXTERNAL] tekst"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmds, refused, rest := ParseCommands(tt.subject)
			if !reflect.DeepEqual(cmds, tt.cmds) {
				t.Errorf("cmds = %#v, want %#v", cmds, tt.cmds)
			}
			if len(refused) != len(tt.refused) {
				t.Fatalf("refused = %#v, want %d", refused, len(tt.refused))
			}
			for i, r := range refused {
				if !strings.Contains(r.Reason, tt.refused[i]) {
					t.Errorf("refused[%d].Reason = %q, want it to contain %q", i, r.Reason, tt.refused[i])
				}
				if !strings.Contains(tt.subject, r.Raw) || !strings.HasPrefix(r.Raw, "[") {
					t.Errorf("refused[%d].Raw = %q is not a tag of the subject", i, r.Raw)
				}
			}
			if rest != tt.rest {
				t.Errorf("rest = %q, want %q", rest, tt.rest)
			}
		})
	}
}

func TestParseRemind(t *testing.T) {
	tests := []struct {
		in   string
		want Remind
		err  bool
	}{
		{in: "3d", want: Remind{Days: 3, Duration: 72 * time.Hour}},
		{in: "4h", want: Remind{Hours: 4, Duration: 4 * time.Hour}},
		{in: "1d4h", want: Remind{Days: 1, Hours: 4, Duration: 28 * time.Hour}},
		{in: "1D4H", want: Remind{Days: 1, Hours: 4, Duration: 28 * time.Hour}},
		{in: " 2d ", want: Remind{Days: 2, Duration: 48 * time.Hour}},
		{in: "0d4h", want: Remind{Hours: 4, Duration: 4 * time.Hour}},
		{in: "2026-12-01", want: Remind{Date: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}},
		{in: "", err: true},
		{in: "d", err: true},
		{in: "3", err: true},
		{in: "0d", err: true},
		{in: "0h", err: true},
		{in: "3w", err: true},
		{in: "4h1d", err: true},
		{in: "1d1d", err: true},
		{in: "1h1h", err: true},
		{in: "3 d", err: true},
		{in: "-3d", err: true},
		{in: "99999d", err: true},
		{in: "367d", err: true},
		{in: "1001h", err: true},
		{in: "2026-02-30", err: true},
		{in: "2026-1-1", err: true},
		{in: "01-12-2026", err: true},
	}
	for _, tt := range tests {
		got, err := ParseRemind(tt.in)
		if tt.err {
			if err == nil || !errors.Is(err, ErrRemind) {
				t.Errorf("ParseRemind(%q) = %+v, %v; want ErrRemind", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseRemind(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"asign", "assign", 1}, {"hihg", "high", 1},
		{"close", "closed", 1}, {"kitten", "sitting", 3}, {"ø", "o", 1},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func BenchmarkParseCommands(b *testing.B) {
	const s = "SV: [INT#42] [assign:ole] [prio:hihg] [EXTERNAL] [remind:1d4h] Tilgang til FS for nye studenter"
	for b.Loop() {
		ParseCommands(s)
	}
}
