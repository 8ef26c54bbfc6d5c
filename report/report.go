// Package report computes the contact point's figures (new, resolved and
// reopened cases, time to first answer and to resolution, escalations,
// follow-ups, backlog) from cases and their messages as the store holds
// them. It is a pure computation: no store, no I/O, no clock of its own.
// Durations are business time on the follow-up clock, weeks are ISO weeks
// (Monday start) in the follow-up time zone.
//
// Definitions:
//   - A case is new in the period it was created. Cases merged into another
//     are left out: their mail counts on the case they were merged into.
//   - First answer: the first staff-side mail that reached the requester,
//     in business seconds from the case's creation. That is the earliest
//     of an authenticated staff-side reply stored on the case (kind
//     "reply" from staff, a team member or a responsible party, not a
//     note) and a relay of ours to the requester. The staff-side reply
//     counts at its own time (its Date, unless that lies after its
//     arrival), so an archive import, which sends no mail, gives the same
//     figure as a store that ran live. First-answer figures belong to the
//     period the case was created in.
//   - Resolution: business seconds from creation to the last resolve of a
//     case that is resolved now. The case counts as resolved in the period
//     of that last resolve, and its resolution time belongs there.
//   - Reopened: a case whose status went from resolved back to open or
//     waiting, in the period of the reopening (once per case per period).
//   - Escalated: a case whose escalation level rose in the period; the
//     escalations per level count every rise.
//   - Backlog of a week: cases open or waiting at the end of the week (or
//     now, for the running week).
//   - Percentiles by nearest rank: the p-th percentile of n sorted values
//     is value number ceil(p/100*n).
//
// Status changes and escalations are read from the records the gateway
// keeps on each case (kontaktpunkt.KindStatus, KindEscalation). For a case
// with no status record (stored before they were kept) a resolved case
// counts as resolved at its ResolvedAt.
package report

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/routing"
)

// Input is one case and its stored messages, in any order.
type Input struct {
	Case     kp.Case
	Messages []kp.Message
}

// Options say what to compute.
type Options struct {
	// From and To bound the period, [From, To); a zero time leaves that
	// side open.
	From, To time.Time
	// Team keeps only cases of this team (case-insensitive); "" keeps all.
	Team string
	// Clock is the follow-up clock: business time and the time zone of weeks.
	Clock *routing.Clock
	// StaffSide reports whether an address speaks for the contact point
	// (staff, a team member, a responsible party). Nil means nobody.
	StaffSide func(addr string) bool
	// RespondWithin is the respond target (followup.respond_within).
	RespondWithin routing.BizDuration
	// Now is when the report is made: the backlog of the running week is
	// counted at Now, and weeks after it are not listed.
	Now time.Time
	// Rules are the keys of the configured routing rules in order
	// (routing.Rule.Key): each gets a line in Report.Rules, even with no
	// cases.
	Rules []string
}

// Figures are the measures of one period, team or assignee.
type Figures struct {
	New       int `json:"new"`
	Resolved  int `json:"resolved"`
	Reopened  int `json:"reopened"`
	Escalated int `json:"escalated"`
	// The percentiles are null when there is nothing to measure.
	FirstAnswerP50 *int64 `json:"first_answer_p50_s"`
	FirstAnswerP90 *int64 `json:"first_answer_p90_s"`
	ResolutionP50  *int64 `json:"resolution_p50_s"`
	ResolutionP90  *int64 `json:"resolution_p90_s"`
	// Answered counts the new cases with a first answer; AnsweredInTarget
	// those answered within the respond target.
	Answered         int `json:"answered"`
	AnsweredInTarget int `json:"answered_within_target"`

	firstAnswers []int64
	resolutions  []int64
	// lastReopened and lastEscalated are the case last counted: a case's
	// events are all read before the next case's, so a case counts once.
	lastReopened, lastEscalated kp.CaseID
}

// Week is one ISO week of the period.
type Week struct {
	Week  string `json:"week"`  // "2026-W48"
	Start string `json:"start"` // the Monday, "2026-11-23"
	Figures
	// Backlog is the number of cases open or waiting at the week's end.
	Backlog int `json:"backlog"`
	start   time.Time
}

// Group is the figures of one team or assignee.
type Group struct {
	Name string `json:"name"`
	Figures
	// FirstAnswerHist counts first answers by business time, in the
	// buckets of HistBuckets (the last one open-ended), and
	// FirstAnswerSum adds them up (business seconds); ResolutionHist and
	// ResolutionSum do the same for resolutions. With them a Prometheus
	// histogram can be exported.
	FirstAnswerHist []int `json:"first_answer_hist"`
	FirstAnswerSum  int64 `json:"first_answer_sum_s"`
	ResolutionHist  []int `json:"resolution_hist"`
	ResolutionSum   int64 `json:"resolution_sum_s"`
}

// Count is a named number.
type Count struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// RuleHits is how many new cases of the period one routing rule routed.
type RuleHits struct {
	// Rule is the rule's place in the configured routing list (1 for the
	// first), 0 for a rule that routed cases but is configured no more.
	Rule int `json:"rule"`
	// Key names the rule (routing.Rule.Key).
	Key string `json:"key"`
	New int    `json:"new"`
}

// Report is everything Compute finds.
type Report struct {
	From      string  `json:"from,omitempty"`
	To        string  `json:"to,omitempty"`
	Team      string  `json:"team,omitempty"`
	Totals    Figures `json:"totals"`
	Weeks     []Week  `json:"weeks"`
	Teams     []Group `json:"teams"`
	Assignees []Group `json:"assignees"`
	// EscalationsByLevel counts rises of the escalation level, by level.
	EscalationsByLevel map[string]int `json:"escalations_by_level"`
	// FollowUpsSent counts follow-up mail sent in the period by kind.
	FollowUpsSent map[string]int `json:"followups_sent"`
	// RespondTarget is followup.respond_within; AnsweredInTargetShare is
	// the share of new cases answered within it (0 to 1), null with no
	// new cases.
	RespondTarget         string   `json:"respond_target"`
	AnsweredInTargetShare *float64 `json:"answered_within_target_share"`
	// RequesterDomains counts new cases by the requester's domain, most first.
	RequesterDomains []Count `json:"requester_domains"`
	// HistBuckets are the upper bounds, in business seconds, of the
	// first-answer histogram buckets of Teams and Assignees.
	HistBuckets []int64 `json:"hist_buckets_s"`
	// Rules counts the new cases of the period by the routing rule that
	// matched their first message, the configured rules first in order;
	// NoRule counts the new cases no rule matched (and those opened
	// before the matching rule was recorded with a case).
	Rules  []RuleHits `json:"rules"`
	NoRule int        `json:"no_rule"`
	// Unfiled, Quarantined and Spam count such messages received in the
	// period (set by the caller, which reads them apart from cases).
	Unfiled     int `json:"unfiled"`
	Quarantined int `json:"quarantined"`
	Spam        int `json:"spam"`
}

// FollowUpKinds are the outbound mail kinds counted as follow-ups.
var FollowUpKinds = []string{"triage", "respond", "escalate", "waiting", "auto-resolve", "snooze"}

// NoTeam, NoAssignee and NoRule name the groups of cases without one.
const (
	NoTeam     = "(no team)"
	NoAssignee = "(unassigned)"
	NoRule     = "(no rule)"
)

// histBounds are the histogram buckets in business hours: up to 1 hour,
// 4 hours, 1 day (8 h), 2 days, 5 days, 10 days, 20 days, and more.
var histBounds = []int64{3600, 4 * 3600, 8 * 3600, 16 * 3600, 40 * 3600, 80 * 3600, 160 * 3600}

// timeline is what one case did, read from its messages.
type timeline struct {
	created     time.Time
	firstAnswer time.Time
	lastResolve time.Time // zero unless resolved now
	reopens     []time.Time
	escalations []escalation
	// changes are the status changes in time order, for the backlog.
	changes []change
}

type change struct {
	at       time.Time
	resolved bool
}

type escalation struct {
	at    time.Time
	level int
}

// msgTime is when a message took effect: an inbound message at its Date
// unless that lies after its arrival (an archive import applies mail at
// its Date), anything else when it was stored.
func msgTime(m *kp.Message) time.Time {
	if m.Direction == kp.In && !m.Date.IsZero() && !m.Date.After(m.Received) {
		return m.Date
	}
	if m.Received.IsZero() {
		return m.Date
	}
	return m.Received
}

func (o *Options) inPeriod(t time.Time) bool {
	if !o.From.IsZero() && t.Before(o.From) {
		return false
	}
	return o.To.IsZero() || t.Before(o.To)
}

// Builder gathers what a report needs one case and one message at a time
// and keeps of each message only the event it means to the figures (a
// status change, an escalation, a follow-up sent, a first answer), so
// that a report over a large store holds a few words per message rather
// than the messages. Add every case before its messages. One Builder
// gives reports of any period and team (Report).
type Builder struct {
	staffSide func(addr string) bool
	cases     []caseFacts
	index     caseIndex
	events    []event
}

// caseIndex finds a case's place in Builder.cases by its id. Case ids are
// handed out in sequence, so a slice indexed by id is dense and faster
// than a map; ids far beyond the number of cases go to a map.
type caseIndex struct {
	dense  []int32 // place+1 by id; 0 for none
	sparse map[kp.CaseID]int32
}

func (x *caseIndex) put(id kp.CaseID, place, n int) {
	if uint64(id) >= uint64(4*n+1024) {
		if x.sparse == nil {
			x.sparse = map[kp.CaseID]int32{}
		}
		x.sparse[id] = int32(place)
		return
	}
	if int(id) >= len(x.dense) {
		x.dense = append(x.dense, make([]int32, int(id)+1-len(x.dense)+len(x.dense)/4)...)
	}
	x.dense[id] = int32(place) + 1
}

func (x *caseIndex) get(id kp.CaseID) (int32, bool) {
	if uint64(id) < uint64(len(x.dense)) && x.dense[id] > 0 {
		return x.dense[id] - 1, true
	}
	place, ok := x.sparse[id]
	return place, ok
}

// caseFacts are the fields of a case the figures use.
type caseFacts struct {
	id                              kp.CaseID
	created, resolvedAt             time.Time
	resolved, merged                bool
	team, assignee, requester, rule string
	// firstAnswer is the earliest staff-side answer seen so far.
	firstAnswer time.Time
}

// event is one message that counts, by its case's place in Builder.cases.
type event struct {
	at   time.Time
	c    int32
	kind uint8
	// arg is 1 for a change to resolved (0 to open or waiting), the
	// level of an escalation, the index in FollowUpKinds of a follow-up.
	arg int32
}

const (
	evStatus uint8 = iota
	evEscalation
	evFollowUp
)

// NewBuilder returns an empty Builder. staffSide reports whether an
// address speaks for the contact point (Options.StaffSide); nil means
// nobody.
func NewBuilder(staffSide func(addr string) bool) *Builder {
	return &Builder{staffSide: staffSide}
}

// Grow makes room for n more cases and their events, so that adding
// them does not copy what was added before over and over.
func (b *Builder) Grow(n int) {
	if n <= 0 {
		return
	}
	b.cases = slices.Grow(b.cases, n)
	b.events = slices.Grow(b.events, 2*n)
	if want := len(b.cases) + n + 1; len(b.index.dense) < want {
		b.index.dense = append(b.index.dense, make([]int32, want-len(b.index.dense))...)
	}
}

// AddCase adds a case; c is not retained.
func (b *Builder) AddCase(c *kp.Case) {
	b.index.put(c.ID, len(b.cases), len(b.cases))
	b.addCase(c)
}

func (b *Builder) addCase(c *kp.Case) {
	b.cases = append(b.cases, caseFacts{
		id: c.ID, created: c.Created, resolvedAt: c.ResolvedAt, resolved: c.Status == kp.StatusResolved,
		merged: c.MergedInto != 0, team: c.Team, assignee: c.Assignee, requester: c.Requester.Addr, rule: c.Rule,
	})
}

// AddMessage adds a message of the case m.Case, which must have been
// added; a message of another case is ignored. m is not retained. Only
// the messages Counts accepts matter.
func (b *Builder) AddMessage(m *kp.Message) {
	if ci, ok := b.index.get(m.Case); ok {
		b.add(ci, m)
	}
}

// add reads what m means to the case at ci.
func (b *Builder) add(ci int32, m *kp.Message) {
	c := &b.cases[ci]
	t := msgTime(m)
	switch {
	case m.Direction == kp.Out && m.Kind == kp.KindStatus:
		if s, ok := strings.CutPrefix(m.Subject, "status "); ok {
			arg := int32(0)
			if kp.Status(s) == kp.StatusResolved {
				arg = 1
			}
			b.events = append(b.events, event{at: t, c: ci, kind: evStatus, arg: arg})
		}
	case m.Direction == kp.Out && m.Kind == kp.KindEscalation:
		if l, ok := strings.CutPrefix(m.Subject, "level "); ok {
			if n, err := strconv.Atoi(l); err == nil {
				b.events = append(b.events, event{at: t, c: ci, kind: evEscalation, arg: int32(n)})
			}
		}
	case m.Direction == kp.Out && m.Kind == "relay":
		if (c.firstAnswer.IsZero() || t.Before(c.firstAnswer)) && sentTo(m, c.requester) {
			c.firstAnswer = t
		}
	case m.Direction == kp.In && m.Kind == "reply" && !m.Outsider && m.Class == kp.ClassHuman:
		if (c.firstAnswer.IsZero() || t.Before(c.firstAnswer)) && b.staffSide != nil &&
			!kp.SameAddr(m.From.Addr, c.requester) && b.staffSide(m.From.Addr) {
			c.firstAnswer = t
		}
	case m.Direction == kp.Out:
		if k := followUpIndex(m.Kind); k >= 0 {
			b.events = append(b.events, event{at: t, c: ci, kind: evFollowUp, arg: int32(k)})
		}
	}
}

// byCase returns the events grouped by case in case order, each case's
// in the order they were added, and where each case's start.
func (b *Builder) byCase() ([]event, []int) {
	start := make([]int, len(b.cases)+1)
	for _, e := range b.events {
		start[e.c+1]++
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	out := make([]event, len(b.events))
	next := append([]int(nil), start[:len(b.cases)]...)
	for _, e := range b.events {
		out[next[e.c]] = e
		next[e.c]++
	}
	return out, start
}

// timelineOf builds the timeline of a case from its events, counting its
// follow-ups sent in o's period.
func timelineOf(c *caseFacts, evs []event, o *Options, followUps map[string]int) timeline {
	tl := timeline{created: c.created, firstAnswer: c.firstAnswer}
	var buf [8]change
	statuses := buf[:0]
	for _, e := range evs {
		switch e.kind {
		case evStatus:
			statuses = append(statuses, change{e.at, e.arg == 1})
		case evEscalation:
			tl.escalations = append(tl.escalations, escalation{e.at, int(e.arg)})
		case evFollowUp:
			if followUps != nil && o.inPeriod(e.at) {
				followUps[FollowUpKinds[e.arg]]++
			}
		}
	}
	// Status records are few per case: an insertion sort puts them in
	// time order (stable, so records of one instant keep store order).
	for i := 1; i < len(statuses); i++ {
		for j := i; j > 0 && statuses[j].at.Before(statuses[j-1].at); j-- {
			statuses[j], statuses[j-1] = statuses[j-1], statuses[j]
		}
	}
	prevResolved := false
	for _, st := range statuses {
		if st.resolved {
			tl.lastResolve = st.at
		} else if prevResolved {
			tl.reopens = append(tl.reopens, st.at)
		}
		if st.resolved != prevResolved {
			tl.changes = append(tl.changes, st)
		}
		prevResolved = st.resolved
	}
	if len(statuses) == 0 && c.resolved && !c.resolvedAt.IsZero() {
		tl.lastResolve = c.resolvedAt
		tl.changes = []change{{c.resolvedAt, true}}
		prevResolved = true
	}
	if !c.resolved || !prevResolved {
		tl.lastResolve = time.Time{}
	}
	if !tl.firstAnswer.IsZero() && tl.firstAnswer.Before(tl.created) {
		tl.firstAnswer = tl.created
	}
	return tl
}

// read builds the timeline of one case and counts its follow-ups. The
// messages may come in any order.
func read(in *Input, o *Options, followUps map[string]int) timeline {
	b := NewBuilder(o.StaffSide)
	b.addCase(&in.Case)
	for i := range in.Messages {
		b.add(0, &in.Messages[i])
	}
	return timelineOf(&b.cases[0], b.events, o, followUps)
}

// Counts reports whether a report looks at m at all: status and
// escalation records, relays, follow-ups and inbound replies. A caller
// that gathers many messages may leave the others out (acknowledgements,
// notifications, requests, notes) and gets the same report.
func Counts(m *kp.Message) bool {
	if m.Direction == kp.In {
		return m.Kind == "reply"
	}
	return m.Direction == kp.Out && (m.Kind == kp.KindStatus || m.Kind == kp.KindEscalation || m.Kind == "relay" || isFollowUp(m.Kind))
}

func sentTo(m *kp.Message, addr string) bool {
	for _, a := range m.To {
		if kp.SameAddr(a.Addr, addr) {
			return true
		}
	}
	for _, a := range m.Cc {
		if kp.SameAddr(a.Addr, addr) {
			return true
		}
	}
	return false
}

func isFollowUp(kind string) bool { return followUpIndex(kind) >= 0 }

func followUpIndex(kind string) int {
	for i, k := range FollowUpKinds {
		if k == kind {
			return i
		}
	}
	return -1
}

// backlog sets each week's backlog: the cases open or waiting at its end
// (at now, for the running week). marks hold each case's creation (as a
// change to open) and its status changes: a change to open adds one, to
// resolved takes one away; they are placed in the first week that ends
// after them and summed up week by week.
func backlog(weeks map[time.Time]*Week, marks []change, now time.Time) {
	ws := make([]*Week, 0, len(weeks))
	for _, w := range weeks {
		ws = append(ws, w)
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].start.Before(ws[j].start) })
	ends := make([]time.Time, len(ws))
	for i, w := range ws {
		ends[i] = w.start.AddDate(0, 0, 7)
		if !now.IsZero() && now.Before(ends[i]) {
			ends[i] = now
		}
	}
	deltas := make([]int, len(ws)+1)
	add := func(t time.Time, d int) {
		deltas[sort.Search(len(ends), func(i int) bool { return t.Before(ends[i]) })] += d
	}
	for _, ch := range marks {
		if ch.resolved {
			add(ch.at, -1)
		} else {
			add(ch.at, 1)
		}
	}
	n := 0
	for i, w := range ws {
		n += deltas[i]
		w.Backlog = n
	}
}

// openAt reports whether the case was open or waiting at t.
func (tl *timeline) openAt(t time.Time) bool {
	if tl.created.After(t) {
		return false
	}
	resolved := false
	for _, ch := range tl.changes {
		if ch.at.After(t) {
			break
		}
		resolved = ch.resolved
	}
	return !resolved
}

// WeekStart is the Monday 00:00, in loc, of the ISO week holding t.
func WeekStart(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	wd := (int(t.Weekday()) + 6) % 7 // Monday 0
	y, m, d := t.Date()
	return time.Date(y, m, d-wd, 0, 0, 0, 0, loc)
}

// WeekID is the ISO week id of t in loc, "2026-W48".
func WeekID(t time.Time, loc *time.Location) string {
	y, w := t.In(loc).ISOWeek()
	return strconv.Itoa(y) + "-W" + twoDigits(w)
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// Compute computes the report of cases over o's period.
func Compute(cases []Input, o Options) *Report {
	b := NewBuilder(o.StaffSide)
	b.cases = make([]caseFacts, 0, len(cases))
	b.events = make([]event, 0, 2*len(cases))
	for i := range cases {
		b.addCase(&cases[i].Case)
		ci := int32(len(b.cases) - 1)
		for j := range cases[i].Messages {
			b.add(ci, &cases[i].Messages[j])
		}
	}
	return b.Report(o)
}

// Report computes the report of the cases added over o's period
// (o.StaffSide is the Builder's). It may be called again, for another
// period or team.
func (b *Builder) Report(o Options) *Report {
	loc := time.UTC
	if o.Clock != nil && o.Clock.Loc != nil {
		loc = o.Clock.Loc
	}
	r := &Report{
		Team: o.Team, EscalationsByLevel: map[string]int{}, FollowUpsSent: map[string]int{},
		RespondTarget: o.RespondWithin.String(), HistBuckets: histBounds,
	}
	if !o.From.IsZero() {
		r.From = o.From.In(loc).Format(time.DateOnly)
	}
	if !o.To.IsZero() {
		r.To = o.To.In(loc).Format(time.DateOnly)
	}
	weeks := map[time.Time]*Week{}
	teams := map[string]*Group{}
	assignees := map[string]*Group{}
	domains := map[string]int{}
	ruleHits := map[string]int{}
	weekOf := func(t time.Time) *Week {
		s := WeekStart(t, loc)
		w := weeks[s]
		if w == nil {
			w = &Week{Week: WeekID(s, loc), Start: s.Format(time.DateOnly), start: s}
			weeks[s] = w
		}
		return w
	}
	groupOf := func(m map[string]*Group, name string) *Group {
		g := m[name]
		if g == nil {
			g = &Group{Name: name, FirstAnswerHist: make([]int, len(histBounds)+1), ResolutionHist: make([]int, len(histBounds)+1)}
			m[name] = g
		}
		return g
	}
	cal, target := calendar(b.cases, &o)
	r.Totals.firstAnswers = make([]int64, 0, len(b.cases))
	r.Totals.resolutions = make([]int64, 0, len(b.cases))
	marks := make([]change, 0, 2*len(b.cases))
	evs, start := b.byCase()
	for i := range b.cases {
		c := &b.cases[i]
		if c.merged {
			continue
		}
		if o.Team != "" && !strings.EqualFold(c.team, o.Team) {
			continue
		}
		tl := timelineOf(c, evs[start[i]:start[i+1]], &o, r.FollowUpsSent)
		marks = append(append(marks, change{tl.created, false}), tl.changes...)
		team, assignee := c.team, kp.NormAddr(c.assignee)
		if team == "" {
			team = NoTeam
		}
		if assignee == "" {
			assignee = NoAssignee
		}
		tg, ag := groupOf(teams, team), groupOf(assignees, assignee)
		// all holds the figures a case counts in; the fourth place is
		// for the week of the event at hand.
		all := [4]*Figures{&r.Totals, &tg.Figures, &ag.Figures}
		with := func(w *Week) []*Figures { all[3] = &w.Figures; return all[:] }
		if o.inPeriod(tl.created) {
			w := weekOf(tl.created)
			domains[domainOf(c.requester)]++
			if c.rule != "" {
				ruleHits[c.rule]++
			} else {
				r.NoRule++
			}
			for _, f := range with(w) {
				f.New++
			}
			if !tl.firstAnswer.IsZero() {
				span := cal.Between(tl.created, tl.firstAnswer)
				secs := int64(span / time.Second)
				in := span <= target
				for _, f := range with(w) {
					f.Answered++
					f.firstAnswers = append(f.firstAnswers, secs)
					if in {
						f.AnsweredInTarget++
					}
				}
				b := bucket(secs)
				tg.FirstAnswerHist[b]++
				ag.FirstAnswerHist[b]++
				tg.FirstAnswerSum += secs
				ag.FirstAnswerSum += secs
			}
		}
		if !tl.lastResolve.IsZero() && o.inPeriod(tl.lastResolve) {
			secs := int64(cal.Between(tl.created, tl.lastResolve) / time.Second)
			for _, f := range with(weekOf(tl.lastResolve)) {
				f.Resolved++
				f.resolutions = append(f.resolutions, secs)
			}
			b := bucket(secs)
			tg.ResolutionHist[b]++
			ag.ResolutionHist[b]++
			tg.ResolutionSum += secs
			ag.ResolutionSum += secs
		}
		for _, t := range tl.reopens {
			if o.inPeriod(t) {
				for _, f := range with(weekOf(t)) {
					f.markReopened(c.id)
				}
			}
		}
		for _, e := range tl.escalations {
			if o.inPeriod(e.at) {
				r.EscalationsByLevel[strconv.Itoa(e.level)]++
				for _, f := range with(weekOf(e.at)) {
					f.markEscalated(c.id)
				}
			}
		}
	}
	// Every week of the period is listed, even a quiet one.
	first, last := o.From, o.To
	if first.IsZero() || last.IsZero() {
		for s := range weeks {
			if first.IsZero() || s.Before(first) {
				first = s
			}
		}
		if last.IsZero() {
			last = o.Now
			for s := range weeks {
				if !s.Before(last) {
					last = s.AddDate(0, 0, 7)
				}
			}
		}
	}
	if !first.IsZero() && !last.IsZero() {
		for s := WeekStart(first, loc); s.Before(last); s = s.AddDate(0, 0, 7) {
			weekOf(s)
		}
	}
	backlog(weeks, marks, o.Now)
	r.Weeks = make([]Week, 0, len(weeks))
	for _, w := range weeks {
		w.finish()
		r.Weeks = append(r.Weeks, *w)
	}
	sort.Slice(r.Weeks, func(i, j int) bool { return r.Weeks[i].start.Before(r.Weeks[j].start) })
	r.Teams, r.Assignees = groups(teams), groups(assignees)
	r.Totals.finish()
	if r.Totals.New > 0 {
		share := float64(r.Totals.AnsweredInTarget) / float64(r.Totals.New)
		share = math.Round(share*10000) / 10000
		r.AnsweredInTargetShare = &share
	}
	r.Rules = ruleList(o.Rules, ruleHits)
	for d, n := range domains {
		r.RequesterDomains = append(r.RequesterDomains, Count{d, n})
	}
	sort.Slice(r.RequesterDomains, func(i, j int) bool {
		a, b := r.RequesterDomains[i], r.RequesterDomains[j]
		return a.Count > b.Count || a.Count == b.Count && a.Name < b.Name
	})
	return r
}

// calendar builds the business calendar spanning the cases and the
// period, and the respond target in business time. Being the same
// business time, "within the target" is the same as the answer coming no
// later than Clock.Add(created, RespondWithin).
func calendar(cases []caseFacts, o *Options) (*routing.Calendar, time.Duration) {
	var first, last time.Time
	for i := range cases {
		t := cases[i].created
		if first.IsZero() || t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	for _, t := range []time.Time{o.Now, o.To} {
		if t.After(last) {
			last = t
		}
	}
	if o.Now.IsZero() && o.To.IsZero() {
		last = last.AddDate(1, 0, 0) // events after the newest case
	}
	if first.IsZero() {
		first = last
	}
	d := o.RespondWithin
	target := time.Duration(d.Days)*o.Clock.DayLength() + time.Duration(d.Hours)*time.Hour + time.Duration(d.Minutes)*time.Minute
	return o.Clock.Calendar(first, last.AddDate(0, 0, 1)), target
}

func (f *Figures) markReopened(id kp.CaseID) {
	if f.lastReopened != id {
		f.Reopened++
		f.lastReopened = id
	}
}

func (f *Figures) markEscalated(id kp.CaseID) {
	if f.lastEscalated != id {
		f.Escalated++
		f.lastEscalated = id
	}
}

// finish turns the gathered values into the figures.
func (f *Figures) finish() {
	f.FirstAnswerP50, f.FirstAnswerP90 = Percentile(f.firstAnswers, 50), Percentile(f.firstAnswers, 90)
	f.ResolutionP50, f.ResolutionP90 = Percentile(f.resolutions, 50), Percentile(f.resolutions, 90)
	f.firstAnswers, f.resolutions, f.lastReopened, f.lastEscalated = nil, nil, 0, 0
}

// Percentile is the p-th percentile of vs by nearest rank (vs is sorted in
// place); nil for no values.
func Percentile(vs []int64, p int) *int64 {
	if len(vs) == 0 {
		return nil
	}
	slices.Sort(vs)
	rank := (p*len(vs) + 99) / 100 // ceil(p/100 * n)
	if rank < 1 {
		rank = 1
	}
	v := vs[rank-1]
	return &v
}

func bucket(secs int64) int {
	for i, b := range histBounds {
		if secs <= b {
			return i
		}
	}
	return len(histBounds)
}

func groups(m map[string]*Group) []Group {
	out := make([]Group, 0, len(m))
	for _, g := range m {
		g.finish()
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ruleList lists the configured rules in order with their hits, then
// the rules no longer configured by most hits.
func ruleList(keys []string, hits map[string]int) []RuleHits {
	out := make([]RuleHits, 0, len(keys)+len(hits))
	listed := map[string]bool{}
	for i, k := range keys {
		out = append(out, RuleHits{Rule: i + 1, Key: k, New: hits[k]})
		listed[k] = true
	}
	n := len(out)
	for k, h := range hits {
		if !listed[k] {
			out = append(out, RuleHits{Key: k, New: h})
		}
	}
	gone := out[n:]
	sort.Slice(gone, func(i, j int) bool {
		return gone[i].New > gone[j].New || gone[i].New == gone[j].New && gone[i].Key < gone[j].Key
	})
	return out
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return kp.NormAddr(addr[i+1:])
	}
	return "(none)"
}
