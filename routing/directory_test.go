package routing

import (
	"errors"
	"strings"
	"testing"
)

func testDirectory() *Directory {
	return &Directory{
		Staff: []Person{
			{Name: "Kari Nordmann", Addr: "kari@uio.no"},
			{Name: "Per Hansen", Addr: "Per.Hansen@uio.no"},
		},
		Lead:    "leder@uio.no",
		Manager: "sjef@uio.no",
		Teams: []Team{
			{Name: "fs", Members: []string{"ole@usit.uio.no", "anne@usit.uio.no"}, Escalation: "fs-leder@usit.uio.no"},
			{Name: "team-lms", Members: []string{"ole@ifi.uio.no", "Anne@usit.uio.no"}},
			{Name: "HR", Members: []string{"siri@uio.no"}},
		},
	}
}

func TestDirectoryRoles(t *testing.T) {
	d := testDirectory()
	tests := []struct {
		addr               string
		staff, responsible bool
	}{
		{"kari@uio.no", true, false},
		{"KARI@UIO.NO", true, false},
		{" per.hansen@uio.no ", true, false},
		{"leder@uio.no", true, false},
		{"sjef@uio.no", true, false},
		{"ole@usit.uio.no", false, true},
		{"fs-leder@usit.uio.no", false, true},
		{"Siri@UiO.no", false, true},
		{"ola@example.org", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		if got := d.IsStaff(tt.addr); got != tt.staff {
			t.Errorf("IsStaff(%q) = %v, want %v", tt.addr, got, tt.staff)
		}
		if got := d.IsResponsible(tt.addr); got != tt.responsible {
			t.Errorf("IsResponsible(%q) = %v, want %v", tt.addr, got, tt.responsible)
		}
	}
	var nilDir *Directory
	if nilDir.IsStaff("kari@uio.no") || nilDir.IsResponsible("kari@uio.no") || nilDir.Name("kari@uio.no") != "" {
		t.Error("a nil Directory knows somebody")
	}
}

func TestDirectoryTeam(t *testing.T) {
	d := testDirectory()
	tests := []struct{ q, want string }{
		{"fs", "fs"},
		{"FS", "fs"},
		{"team-fs", "fs"},
		{"Team-FS", "fs"},
		{"team-lms", "team-lms"},
		{"lms", "team-lms"},
		{"hr", "HR"},
		{" hr ", "HR"},
		{"team-", ""},
		{"", ""},
		{"nope", ""},
	}
	for _, tt := range tests {
		tm, ok := d.Team(tt.q)
		got := ""
		if ok {
			got = tm.Name
		}
		if got != tt.want {
			t.Errorf("Team(%q) = %q, want %q", tt.q, got, tt.want)
		}
	}
	// An exact name wins over a stripped match.
	d2 := &Directory{Teams: []Team{{Name: "fs"}, {Name: "team-fs"}}}
	if tm, _ := d2.Team("team-fs"); tm == nil || tm.Name != "team-fs" {
		t.Errorf("Team(team-fs) with both teams = %v, want team-fs", tm)
	}
}

func TestDirectoryResolve(t *testing.T) {
	d := testDirectory()
	tests := []struct {
		who            string
		assignee, team string
		err            error
		errText        string
	}{
		{who: "kari@uio.no", assignee: "kari@uio.no"},
		{who: "KARI@uio.no", assignee: "kari@uio.no"},
		{who: "kari", assignee: "kari@uio.no"},
		{who: "Kari", assignee: "kari@uio.no"},
		{who: "per.hansen", assignee: "per.hansen@uio.no"},
		{who: "siri", assignee: "siri@uio.no", team: "HR"},
		{who: "ole@usit.uio.no", assignee: "ole@usit.uio.no", team: "fs"},
		{who: "anne@usit.uio.no", assignee: "anne@usit.uio.no"}, // member of two teams
		{who: "fs-leder", assignee: "fs-leder@usit.uio.no"},
		{who: "leder", assignee: "leder@uio.no"},
		{who: "Kari  Nordmann", assignee: "kari@uio.no"},
		{who: "per hansen", assignee: "per.hansen@uio.no"},
		{who: "Kari Hansen", err: ErrUnknownAssignee},
		{who: "fs", team: "fs"},
		{who: "team-fs", team: "fs"},
		{who: "lms", team: "team-lms"},
		{who: "ole", err: ErrAmbiguousAssignee, errText: "ole@ifi.uio.no or ole@usit.uio.no"},
		{who: "karri", err: ErrUnknownAssignee, errText: "nearest known is kari@uio.no"},
		{who: "team-fz", err: ErrUnknownAssignee, errText: "nearest known is fs"},
		{who: "nobody@example.org", err: ErrUnknownAssignee},
		{who: "", err: ErrUnknownAssignee},
	}
	for _, tt := range tests {
		a, tm, err := d.Resolve(tt.who)
		if tt.err != nil {
			if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("Resolve(%q) = %q, %q, %v; want %v containing %q", tt.who, a, tm, err, tt.err, tt.errText)
			}
			continue
		}
		if err != nil || a != tt.assignee || tm != tt.team {
			t.Errorf("Resolve(%q) = %q, %q, %v; want %q, %q", tt.who, a, tm, err, tt.assignee, tt.team)
		}
	}
	var empty Directory
	if _, _, err := empty.Resolve("kari"); !errors.Is(err, ErrUnknownAssignee) {
		t.Errorf("empty directory Resolve = %v, want ErrUnknownAssignee", err)
	}
}

func TestDirectoryName(t *testing.T) {
	d := testDirectory()
	if got := d.Name("KARI@uio.no"); got != "Kari Nordmann" {
		t.Errorf("Name(kari) = %q", got)
	}
	if got := d.Name("ole@usit.uio.no"); got != "" {
		t.Errorf("Name(ole) = %q, want empty", got)
	}
}
