package web

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	kp "kontaktpunkt"
	"kontaktpunkt/routing"
	"kontaktpunkt/store"
	"kontaktpunkt/suggest"
)

const (
	// perPage is how many cases one list page shows.
	perPage = 100
	// maxPage bounds the page number so the offset cannot overflow or
	// make one request walk far past the end of any index.
	maxPage = 10000
	// escalatedScan is how many of the newest open and waiting cases the
	// escalated list looks at: there is no escalation index, and a full
	// scan per request would grow with the store.
	escalatedScan = 2000
	// overdueCountCap bounds the overdue count shown on the tab.
	overdueCountCap = 1000
	// maxShownText caps the text of one message on the case page; the
	// rest is in the stored raw message.
	maxShownText = 256 << 10
)

// filters are the tabs of the case list, in order.
var filters = []struct{ name, label string }{
	{"open", "Open"},
	{"waiting", "Waiting"},
	{"overdue", "Overdue"},
	{"escalated", "Escalated"},
	{"resolved", "Resolved"},
	{"all", "All"},
}

// dashboard renders the staff pages.
type dashboard struct {
	s *server
	t *template.Template
}

// tab is one filter link of the case list.
type tab struct {
	Label  string
	Count  string
	Href   string
	Active bool
}

// caseRow is one case in the list, already formatted.
type caseRow struct {
	ID         uint64
	Tag        string
	Href       string
	Subject    string
	Status     string
	Priority   string
	Requester  string
	Assignee   string
	AssignHref string
	Team       string
	Escalation int
	Updated    string
	UpdatedISO string
	Next       string
	Overdue    bool
	Messages   int
}

// listPage is the data of the case list template.
type listPage struct {
	page
	Tabs     []tab
	Filter   string
	Assignee string
	Rows     []caseRow
	PageNo   int
	Prev     string
	Next     string
	Note     string
	Empty    string
}

// page is what every page template needs.
type page struct {
	Title   string
	Contact string
	User    string
	Now     string
	// CSRF is the token of the page's forms; "" when the user may not
	// act, and the pages then show no forms.
	CSRF string
	// Query fills the search box.
	Query string
}

func (d *dashboard) page(r *http.Request, title string, now time.Time) page {
	contact := d.s.o.ContactName
	if contact == "" {
		contact = "Kontaktpunkt"
	}
	p := page{Title: title, Contact: contact, User: userOf(r.Context()), Now: d.fmtTime(now)}
	if d.s.canAct(r) {
		p.CSRF = d.s.csrfToken(p.User, now)
	}
	return p
}

func (d *dashboard) fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(d.s.loc).Format("2006-01-02 15:04")
}

// listQuery is the parsed query of the case list.
type listQuery struct {
	filter   string
	assignee string
	page     int
}

func parseListQuery(q url.Values) listQuery {
	lq := listQuery{filter: q.Get("f"), assignee: kp.NormAddr(q.Get("assignee")), page: 1}
	if !slices.ContainsFunc(filters, func(f struct{ name, label string }) bool { return f.name == lq.filter }) {
		lq.filter = "open"
	}
	if len(lq.assignee) > 320 || !utf8.ValidString(lq.assignee) {
		lq.assignee = ""
	}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 1 {
		lq.page = min(n, maxPage)
	}
	return lq
}

// href renders the list URL of a query.
func (lq listQuery) href() string {
	v := url.Values{}
	if lq.filter != "open" {
		v.Set("f", lq.filter)
	}
	if lq.assignee != "" {
		v.Set("assignee", lq.assignee)
	}
	if lq.page > 1 {
		v.Set("page", strconv.Itoa(lq.page))
	}
	if len(v) == 0 {
		return "/"
	}
	return "/?" + v.Encode()
}

// list renders the case list: one page of one filter, newest first
// (overdue: longest overdue first).
func (d *dashboard) list(w http.ResponseWriter, r *http.Request) {
	now := d.s.now()
	lq := parseListQuery(r.URL.Query())
	var (
		cases    []kp.Case
		more     bool
		note     string
		byStatus map[kp.Status]int
		overdue  int
	)
	err := d.s.o.Store.View(func(tx *store.Tx) error {
		var err error
		if byStatus, err = tx.CountByStatus(); err != nil {
			return err
		}
		due, err := tx.DueFollowUps(now, overdueCountCap+1)
		if err != nil {
			return err
		}
		overdue = len(due)
		cases, more, note, err = d.fetch(tx, lq, now)
		return err
	})
	if err != nil {
		d.s.log.Error("case list", "err", err)
		http.Error(w, "the store cannot be read", http.StatusInternalServerError)
		return
	}

	title := d.tr(r, "Cases")
	for _, f := range filters {
		if f.name == lq.filter {
			title = d.tr(r, f.label) + " " + d.tr(r, "cases")
		}
	}
	p := listPage{page: d.page(r, title, now), Filter: lq.filter, Assignee: lq.assignee, PageNo: lq.page, Note: d.tr(r, note)}
	counts := map[string]string{
		"open":     strconv.Itoa(byStatus[kp.StatusOpen]),
		"waiting":  strconv.Itoa(byStatus[kp.StatusWaiting]),
		"resolved": strconv.Itoa(byStatus[kp.StatusResolved]),
		"all":      strconv.Itoa(byStatus[kp.StatusOpen] + byStatus[kp.StatusWaiting] + byStatus[kp.StatusResolved]),
		"overdue":  strconv.Itoa(min(overdue, overdueCountCap)),
	}
	if overdue > overdueCountCap {
		counts["overdue"] += "+"
	}
	if lq.assignee != "" {
		// The counters are per status, not per assignee: showing them
		// next to an assignee filter would mislead.
		counts = nil
	}
	for _, f := range filters {
		q := listQuery{filter: f.name, assignee: lq.assignee, page: 1}
		p.Tabs = append(p.Tabs, tab{Label: d.tr(r, f.label), Count: counts[f.name], Href: q.href(), Active: f.name == lq.filter})
	}
	for i := range cases {
		p.Rows = append(p.Rows, d.row(&cases[i], now))
	}
	if lq.page > 1 {
		q := lq
		q.page--
		p.Prev = q.href()
	}
	if more && lq.page < maxPage {
		q := lq
		q.page++
		p.Next = q.href()
	}
	if len(p.Rows) == 0 {
		p.Empty = d.tr(r, "No cases here.")
		if lq.page > 1 {
			p.Empty = d.tr(r, "No cases on this page.")
		}
	}
	d.render(w, r, "list", p)
}

// fetch returns one page of cases for lq and whether there are more.
func (d *dashboard) fetch(tx *store.Tx, lq listQuery, now time.Time) (cases []kp.Case, more bool, note string, err error) {
	offset := (lq.page - 1) * perPage
	switch lq.filter {
	case "overdue":
		cases, more, err = overdueCases(tx, lq.assignee, now, offset)
		return cases, more, "Longest overdue first.", err
	case "escalated":
		return escalatedCases(tx, lq.assignee, offset)
	}
	f := store.CaseFilter{Assignee: lq.assignee, Limit: perPage + 1, Offset: offset}
	if lq.filter != "all" {
		f.Status = kp.Status(lq.filter)
	}
	if cases, err = tx.Cases(f); err != nil {
		return nil, false, "", err
	}
	if len(cases) > perPage {
		return cases[:perPage], true, "", nil
	}
	return cases, false, "", nil
}

// overdueCases walks the follow-up due index (earliest first) and returns
// one page of cases whose next follow-up is past due. Only the cases on
// or before the page are read, plus, with an assignee filter, the
// overdue cases of other assignees in between.
func overdueCases(tx *store.Tx, assignee string, now time.Time, offset int) ([]kp.Case, bool, error) {
	ids, err := tx.DueFollowUps(now, 0)
	if err != nil {
		return nil, false, err
	}
	var out []kp.Case
	for _, id := range ids {
		c, err := tx.Case(id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		if !isOverdue(c, now) || (assignee != "" && !kp.SameAddr(c.Assignee, assignee)) {
			continue
		}
		if offset > 0 {
			offset--
			continue
		}
		if len(out) == perPage {
			return out, true, nil
		}
		out = append(out, *c)
	}
	return out, false, nil
}

// escalatedCases returns one page of escalated open and waiting cases,
// newest first, found among the newest escalatedScan of them.
func escalatedCases(tx *store.Tx, assignee string, offset int) ([]kp.Case, bool, string, error) {
	var all []kp.Case
	truncated := false
	for _, st := range []kp.Status{kp.StatusOpen, kp.StatusWaiting} {
		cs, err := tx.Cases(store.CaseFilter{Status: st, Assignee: assignee, Limit: escalatedScan + 1})
		if err != nil {
			return nil, false, "", err
		}
		if len(cs) > escalatedScan {
			truncated = true
		}
		for _, c := range cs {
			if c.Escalation > 0 {
				all = append(all, c)
			}
		}
	}
	slices.SortFunc(all, func(a, b kp.Case) int { return cmpDesc(a.ID, b.ID) })
	note := "Open and waiting cases that were escalated, newest first."
	if truncated {
		note = "Only the newest " + strconv.Itoa(escalatedScan) + " open and the newest " + strconv.Itoa(escalatedScan) +
			" waiting cases were searched for escalations; older ones may be missing."
	}
	if offset >= len(all) {
		return nil, false, note, nil
	}
	all = all[offset:]
	if len(all) > perPage {
		return all[:perPage], true, note, nil
	}
	return all, false, note, nil
}

func cmpDesc(a, b kp.CaseID) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// isOverdue reports whether the case's next follow-up is past due.
func isOverdue(c *kp.Case, now time.Time) bool {
	return c.Next != nil && c.Next.Due.Before(now)
}

func (d *dashboard) row(c *kp.Case, now time.Time) caseRow {
	r := caseRow{
		ID:         uint64(c.ID),
		Tag:        c.ID.Tag(d.s.o.TagPrefix),
		Href:       "/case/" + strconv.FormatUint(uint64(c.ID), 10),
		Subject:    c.Subject,
		Status:     string(c.Status),
		Priority:   string(c.Priority),
		Requester:  c.Requester.String(),
		Assignee:   c.Assignee,
		Team:       c.Team,
		Escalation: c.Escalation,
		Updated:    d.fmtTime(c.Updated),
		Overdue:    isOverdue(c, now),
		Messages:   c.Messages,
	}
	if !c.Updated.IsZero() {
		r.UpdatedISO = c.Updated.UTC().Format(time.RFC3339)
	}
	if r.Subject == "" {
		r.Subject = "(no subject)"
	}
	if c.Assignee != "" {
		r.AssignHref = listQuery{filter: "open", assignee: kp.NormAddr(c.Assignee), page: 1}.href()
	}
	if c.Next != nil {
		r.Next = d.followUp(c.Next, now)
	}
	return r
}

// followUp describes a scheduled follow-up for a person.
func (d *dashboard) followUp(f *kp.FollowUp, now time.Time) string {
	s := string(f.Kind) + " " + d.fmtTime(f.Due)
	if f.Due.Before(now) {
		return s + " (overdue by " + humanDuration(now.Sub(f.Due)) + ")"
	}
	return s + " (in " + humanDuration(f.Due.Sub(now)) + ")"
}

// humanDuration renders d coarsely: "3d 4h", "5h 12m", "7m".
func humanDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	days := int(d / (24 * time.Hour))
	hours := int(d % (24 * time.Hour) / time.Hour)
	mins := int(d % time.Hour / time.Minute)
	switch {
	case days > 0:
		return strconv.Itoa(days) + "d " + strconv.Itoa(hours) + "h"
	case hours > 0:
		return strconv.Itoa(hours) + "h " + strconv.Itoa(mins) + "m"
	}
	return strconv.Itoa(mins) + "m"
}

// jump redirects the "go to case" form to the case page. It accepts
// "42", "#42", "[INT#42]" and "INT42".
func (d *dashboard) jump(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("id"))
	digits := strings.TrimRightFunc(q, func(r rune) bool { return r < '0' || r > '9' })
	i := len(digits)
	for i > 0 && digits[i-1] >= '0' && digits[i-1] <= '9' {
		i--
	}
	id, err := strconv.ParseUint(digits[i:], 10, 64)
	if err != nil || id == 0 {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/case/"+strconv.FormatUint(id, 10), http.StatusSeeOther)
}

// casePage is the data of the case template.
type casePage struct {
	page
	Case         caseRow
	Participants []string
	Created      string
	ResolvedAt   string
	Previous     string
	PreviousHref string
	// Counterparts are counterpart ticket systems' own references.
	Counterparts []kp.CounterpartRef
	// MergedInto, Links and OpenedBy show what repairs and forwarding
	// recorded on the case.
	MergedInto  *caseLink
	Links       []caseLink
	OpenedBy    string
	LastInbound string
	LastStaff   string
	Messages    []messageView
	// Suggest is who similar past cases went to, and those cases.
	Suggest suggestView
	// Suppressed is set when mail to the requester is suppressed (it
	// bounced for good).
	Suppressed bool
	// Plan is what follows if nothing happens.
	Plan []planRow
	// Failed are the case's outbound messages that failed for good,
	// each with a retry button.
	Failed []failedOut
	// CanExport shows the export button to those mayExport lets through.
	CanExport bool
}

// planRow is one step of the follow-up plan, formatted.
type planRow struct {
	Kind, Due, Who, Effect string
	Overdue                bool
}

// failedOut is one failed outbound message of a case.
type failedOut struct {
	ID      uint64
	Kind    string
	To      string
	Error   string
	Subject string
}

// messageView is one message of the timeline.
type messageView struct {
	// ID is the Message-ID, for the move form.
	ID            string
	Anchor        string
	Time          string
	Direction     string
	Inbound       bool
	From          string
	To            string
	Cc            string
	Kind          string
	Class         string
	Machine       bool
	MatchedBy     string
	Outsider      bool
	Authenticated bool
	Subject       string
	Text          string
	Cut           bool
	Attachments   []attachmentLink
	Quarantine    string
	// Folded is set for a reply shown as its own text (Own, "" when
	// nothing new) with its quoted history (Quoted) folded away.
	Folded bool
	// Note marks an internal note; Event a line the gateway or an
	// operator recorded; NotAuth mail that failed the sender check;
	// Bounce and Spam the classes.
	Note, Event, NotAuth, Bounce, Spam bool
	Own, Quoted                        string
	QuotedLines                        int
	CollidedID                         string
}

// caseLink is a case named on another case's page.
type caseLink struct {
	Tag, Href string
}

// caseView renders one case: its header and its timeline.
func (d *dashboard) caseView(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		http.Error(w, "no such case", http.StatusNotFound)
		return
	}
	now := d.s.now()
	var (
		c          *kp.Case
		msgs       []kp.Message
		sug        *suggest.Result
		failed     []kp.Outbound
		suppressed bool
	)
	err = d.s.o.Store.View(func(tx *store.Tx) error {
		var err error
		if c, err = tx.Case(kp.CaseID(id)); err != nil {
			return err
		}
		if msgs, err = tx.CaseMessages(kp.CaseID(id)); err != nil {
			return err
		}
		if sug, err = suggest.ForCase(tx, kp.CaseID(id)); err != nil {
			return err
		}
		if c.Requester.Addr != "" {
			if suppressed, err = tx.Suppressed(c.Requester.Addr, now); err != nil {
				return err
			}
		}
		if d.s.o.Actions == nil {
			return nil
		}
		failed, err = tx.ListOutbound(kp.OutFailed, failedShown)
		return err
	})
	if errors.Is(err, store.ErrNotFound) && c == nil {
		http.Error(w, "no such case", http.StatusNotFound)
		return
	}
	if err != nil {
		d.s.log.Error("case page", "case", id, "err", err)
		http.Error(w, "the store cannot be read", http.StatusInternalServerError)
		return
	}
	p := casePage{
		page:         d.page(r, c.ID.Tag(d.s.o.TagPrefix)+" "+c.Subject, now),
		Case:         d.row(c, now),
		Participants: c.Participants,
		Counterparts: c.Counterparts,
		Created:      d.fmtTime(c.Created),
		ResolvedAt:   d.fmtTime(c.ResolvedAt),
		LastInbound:  d.fmtTime(c.LastInbound),
		LastStaff:    d.fmtTime(c.LastStaffReply),
		CanExport:    d.s.mayExport(r),
	}
	if c.PreviousCase != 0 {
		p.Previous = c.PreviousCase.Tag(d.s.o.TagPrefix)
		p.PreviousHref = "/case/" + strconv.FormatUint(uint64(c.PreviousCase), 10)
	}
	link := func(id kp.CaseID) caseLink {
		return caseLink{Tag: id.Tag(d.s.o.TagPrefix), Href: "/case/" + strconv.FormatUint(uint64(id), 10)}
	}
	if c.MergedInto != 0 {
		l := link(c.MergedInto)
		p.MergedInto = &l
	}
	for _, id := range c.Links {
		p.Links = append(p.Links, link(id))
	}
	p.OpenedBy = c.OpenedBy
	p.Suppressed = suppressed
	if d.s.o.FollowUpPlan != nil {
		for _, st := range d.s.o.FollowUpPlan(*c) {
			row := planRow{Kind: st.Kind, Due: d.fmtTime(st.Due), Who: st.Who, Overdue: st.Due.Before(now)}
			switch {
			case st.Resolve:
				row.Effect = d.tr(r, "resolves the case")
			case st.Escalation > 0:
				row.Effect = d.tr(r, "escalation level") + " " + strconv.Itoa(st.Escalation)
			}
			p.Plan = append(p.Plan, row)
		}
	}
	for _, o := range failed {
		if o.Case == c.ID {
			p.Failed = append(p.Failed, failedOut{ID: o.ID, Kind: o.Kind, To: strings.Join(o.To, ", "), Error: o.LastError, Subject: o.Subject})
		}
	}
	for i := range msgs {
		p.Messages = append(p.Messages, d.message(&msgs[i], i))
	}
	p.Suggest = d.suggestView(sug, link)
	d.render(w, r, "case", p)
}

func (d *dashboard) message(m *kp.Message, i int) messageView {
	t := m.Date
	if t.IsZero() {
		t = m.Received
	}
	v := messageView{
		ID:            m.ID,
		Note:          m.Kind == "note",
		Event:         m.Kind == "event" || m.Kind == "command",
		NotAuth:       m.Kind == "not-authenticated",
		Bounce:        m.Class == kp.ClassBounce,
		Spam:          m.Class == kp.ClassSpam,
		Anchor:        "m" + strconv.Itoa(i+1),
		Time:          d.fmtTime(t),
		Direction:     string(m.Direction),
		Inbound:       m.Direction == kp.In,
		From:          m.From.String(),
		To:            joinAddrs(m.To),
		Cc:            joinAddrs(m.Cc),
		Kind:          m.Kind,
		Class:         string(m.Class),
		Machine:       m.Class.Machine(),
		MatchedBy:     string(m.MatchedBy),
		Outsider:      m.Outsider,
		Authenticated: m.Authenticated,
		Subject:       m.Subject,
		Text:          m.Text,
		Quarantine:    m.Quarantine,
		CollidedID:    m.CollidedID,
	}
	if len(v.Text) > maxShownText {
		cut := maxShownText
		for cut > 0 && !utf8.RuneStart(v.Text[cut]) {
			cut--
		}
		v.Text, v.Cut = v.Text[:cut], true
	}
	if routing.FoldsQuotes(m) {
		var q routing.Quoted
		if d.s.o.Quotes != nil {
			q = d.s.o.Quotes.Split(v.Text)
		} else {
			q = routing.SplitQuoted(v.Text)
		}
		v.Folded, v.Own, v.Quoted, v.QuotedLines = true, q.Own, q.Quoted, q.QuotedLines
	}
	for j, a := range m.Attachments {
		v.Attachments = append(v.Attachments, attachmentLink{
			Label: a.Name + " (" + a.ContentType + ", " + byteSize(a.Size) + ")",
			Href:  "/case/" + strconv.FormatUint(uint64(m.Case), 10) + "/attachment?m=" + strconv.Itoa(i+1) + "&a=" + strconv.Itoa(j),
		})
	}
	return v
}

// attachmentLink is an attachment on the case page, with its download.
type attachmentLink struct {
	Label, Href string
}

func joinAddrs(as []kp.Address) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB"
	case n >= 1<<10:
		return strconv.FormatInt(n>>10, 10) + " KB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

// render executes a template into a buffer first, so a template error
// becomes a clean 500 instead of half a page.
func (d *dashboard) render(w http.ResponseWriter, r *http.Request, name string, data any) {
	d.renderStatus(w, r, http.StatusOK, name, data)
}

// renderStatus is render with a status code other than 200.
func (d *dashboard) renderStatus(w http.ResponseWriter, r *http.Request, code int, name string, data any) {
	var buf bytes.Buffer
	if err := d.t.ExecuteTemplate(&buf, name, data); err != nil {
		d.s.log.Error("rendering page", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(code)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = buf.WriteTo(w) // the client went away; nothing to do
}
