package routing

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	kp "kontaktpunkt"
)

// Person is one member of the contact point's staff.
type Person struct {
	Name string
	Addr string
}

// Team is a group of responsible parties, e.g. the people behind one
// integration.
type Team struct {
	// Name is how staff name the team in "[assign:…]", e.g. "fs".
	Name string
	// Members are the members' addresses.
	Members []string
	// Escalation is the address that hears about stalled cases (level 1).
	Escalation string
	// TicketSystem is the address pattern (MatchAddrPattern) of the team's
	// own ticket system, e.g. "rt@uio.no" or "*@rt.uio.no"; "" if none.
	TicketSystem string
}

// Directory says who is who: staff, the staff lead, the manager and the
// teams. Addresses are compared case-insensitively. The zero Directory knows
// nobody.
type Directory struct {
	Staff []Person
	// Lead gets level-1 escalations; Manager gets level 2. Both count as staff.
	Lead, Manager string
	Teams         []Team
}

// Errors from Resolve, wrapped with what was asked for. Their text goes into
// the sender's receipt as it is, so it carries no package prefix.
var (
	ErrUnknownAssignee   = errors.New("unknown assignee")
	ErrAmbiguousAssignee = errors.New("ambiguous assignee")
)

// IsStaff reports whether addr belongs to the staff, the lead or the manager.
func (d *Directory) IsStaff(addr string) bool {
	if d == nil || kp.NormAddr(addr) == "" {
		return false
	}
	if kp.SameAddr(d.Lead, addr) || kp.SameAddr(d.Manager, addr) {
		return true
	}
	for _, p := range d.Staff {
		if kp.SameAddr(p.Addr, addr) {
			return true
		}
	}
	return false
}

// IsResponsible reports whether addr is a member, the escalation contact
// or the ticket system of any team.
func (d *Directory) IsResponsible(addr string) bool {
	if d == nil || kp.NormAddr(addr) == "" {
		return false
	}
	for _, t := range d.Teams {
		if kp.SameAddr(t.Escalation, addr) || MatchAddrPattern(t.TicketSystem, addr) {
			return true
		}
		for _, m := range t.Members {
			if kp.SameAddr(m, addr) {
				return true
			}
		}
	}
	return false
}

// IsTicketSystem reports whether addr matches a team's ticket system.
func (d *Directory) IsTicketSystem(addr string) bool {
	if d == nil {
		return false
	}
	for _, t := range d.Teams {
		if MatchAddrPattern(t.TicketSystem, addr) {
			return true
		}
	}
	return false
}

// TeamsOf returns the names of the teams addr works for: as a member, the
// escalation contact or the team's ticket system.
func (d *Directory) TeamsOf(addr string) []string {
	if d == nil || kp.NormAddr(addr) == "" {
		return nil
	}
	var out []string
	for _, t := range d.Teams {
		if d.inTeam(&t, addr) {
			out = append(out, t.Name)
		}
	}
	return out
}

// InTeam reports whether addr works for the team named name (see TeamsOf).
func (d *Directory) InTeam(name, addr string) bool {
	t, ok := d.Team(name)
	return ok && d.inTeam(t, addr)
}

func (d *Directory) inTeam(t *Team, addr string) bool {
	if kp.SameAddr(t.Escalation, addr) || MatchAddrPattern(t.TicketSystem, addr) {
		return true
	}
	return slices.ContainsFunc(t.Members, func(m string) bool { return kp.SameAddr(m, addr) })
}

// MatchAddrPattern reports whether addr matches a configured address
// pattern: a full address ("rt@uio.no"), a domain ("@rt.uio.no" or
// "rt.uio.no", which also takes its subdomains), or a glob with '*'
// ("*-rt@uio.no"). Case is ignored.
func MatchAddrPattern(pattern, addr string) bool {
	if pattern == "" || addr == "" {
		return false // most teams have none: no copies then
	}
	pattern, addr = kp.NormAddr(pattern), kp.NormAddr(addr)
	if pattern == "" || addr == "" {
		return false
	}
	if strings.ContainsAny(pattern, "*?[") {
		ok, err := path.Match(pattern, addr)
		return err == nil && ok
	}
	if strings.Contains(strings.TrimPrefix(pattern, "@"), "@") || !strings.Contains(pattern, ".") {
		return pattern == addr
	}
	_, dom, ok := strings.Cut(addr, "@")
	if !ok {
		return false
	}
	d := strings.TrimPrefix(pattern, "@")
	return dom == d || strings.HasSuffix(dom, "."+d)
}

// Team finds a team by name, case-insensitively. A leading "team-" is
// optional on either side: "team-fs", "Team-FS" and "fs" all find a team
// named "fs" (staff write "[assign:team-fs]"), and "fs" also finds a team
// configured as "team-fs". An exact (case-insensitive) name wins over a
// match by the stripped name.
func (d *Directory) Team(name string) (*Team, bool) {
	if d == nil {
		return nil, false
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, false
	}
	for i := range d.Teams {
		if strings.EqualFold(d.Teams[i].Name, name) {
			return &d.Teams[i], true
		}
	}
	want := teamKey(name)
	if want == "" {
		return nil, false
	}
	for i := range d.Teams {
		if teamKey(d.Teams[i].Name) == want {
			return &d.Teams[i], true
		}
	}
	return nil, false
}

func teamKey(name string) string {
	n := strings.ToLower(strings.TrimSpace(name))
	return strings.TrimPrefix(n, "team-")
}

// people returns every known person address (staff, lead, manager, team
// members and escalation contacts), normalised, without duplicates, sorted.
func (d *Directory) people() []string {
	seen := map[string]bool{}
	var out []string
	add := func(a string) {
		a = kp.NormAddr(a)
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, p := range d.Staff {
		add(p.Addr)
	}
	add(d.Lead)
	add(d.Manager)
	for _, t := range d.Teams {
		for _, m := range t.Members {
			add(m)
		}
		add(t.Escalation)
	}
	sort.Strings(out)
	return out
}

// Resolve reads the argument of "[assign:X]". X is, in this order:
//
//  1. a full address of a staff member, team member or escalation contact:
//     assignee is that address (lower-cased);
//  2. a team name (see Team): team is the team's configured name and
//     assignee is "";
//  3. the local part of exactly one known address: that address;
//  4. the full display name of exactly one staff member: their address.
//
// For a person, team is the one team they are a member of, or "" when they
// are a member of none or of several (the caller then keeps the case's team).
// Anything else is an error wrapping ErrUnknownAssignee (naming the nearest
// known name) or ErrAmbiguousAssignee (naming the candidates).
func (d *Directory) Resolve(who string) (assignee string, team string, err error) {
	if d == nil {
		d = &Directory{}
	}
	w := strings.TrimSpace(who)
	if w == "" {
		return "", "", fmt.Errorf("%w: empty name", ErrUnknownAssignee)
	}
	people := d.people()
	if strings.Contains(w, "@") {
		a := kp.NormAddr(w)
		for _, p := range people {
			if p == a {
				return p, d.teamOf(p), nil
			}
		}
		return "", "", d.unknown(w)
	}
	if t, ok := d.Team(w); ok {
		return "", t.Name, nil
	}
	var hits []string
	for _, p := range people {
		if at := strings.LastIndexByte(p, '@'); at > 0 && strings.EqualFold(p[:at], w) {
			hits = append(hits, p)
		}
	}
	if len(hits) == 0 {
		// A staff member's full display name, "[assign:Kari Nordmann]".
		for _, p := range d.Staff {
			if p.Name != "" && strings.EqualFold(tidySpaces(p.Name), tidySpaces(w)) && !slices.Contains(hits, kp.NormAddr(p.Addr)) {
				hits = append(hits, kp.NormAddr(p.Addr))
			}
		}
	}
	switch len(hits) {
	case 1:
		return hits[0], d.teamOf(hits[0]), nil
	case 0:
		return "", "", d.unknown(w)
	}
	return "", "", fmt.Errorf("%w: %q could be %s; write the full address", ErrAmbiguousAssignee, w, strings.Join(hits, " or "))
}

// teamOf returns the name of the only team addr is a member of, or "".
func (d *Directory) teamOf(addr string) string {
	found := ""
	for _, t := range d.Teams {
		for _, m := range t.Members {
			if kp.SameAddr(m, addr) {
				if found != "" && found != t.Name {
					return ""
				}
				found = t.Name
			}
		}
	}
	return found
}

// unknown builds the error for a name nobody has, suggesting the nearest
// team name, local part or address.
func (d *Directory) unknown(who string) error {
	lw := strings.ToLower(who)
	best, bestD := "", 1<<30
	consider := func(cand, shown string) {
		if dist := editDistance(lw, strings.ToLower(cand)); dist < bestD {
			best, bestD = shown, dist
		}
	}
	for _, t := range d.Teams {
		consider(t.Name, t.Name)
		consider("team-"+teamKey(t.Name), t.Name)
	}
	for _, p := range d.people() {
		consider(p, p)
		if at := strings.LastIndexByte(p, '@'); at > 0 {
			consider(p[:at], p)
		}
	}
	if best == "" {
		return fmt.Errorf("%w: nobody called %q", ErrUnknownAssignee, who)
	}
	return fmt.Errorf("%w: nobody called %q; nearest known is %s", ErrUnknownAssignee, who, best)
}

// Name returns the display name of addr when the directory knows one (staff
// only carry names), else "".
func (d *Directory) Name(addr string) string {
	if d == nil {
		return ""
	}
	for _, p := range d.Staff {
		if kp.SameAddr(p.Addr, addr) {
			return p.Name
		}
	}
	return ""
}
