package web

import (
	kp "kontaktpunkt"
	"kontaktpunkt/suggest"
)

// suggestView is the case page's section on cases like this one.
type suggestView struct {
	// Voters is how many similar assigned cases voted.
	Voters int
	// Suggestions are teams and people, best first.
	Suggestions []suggestionView
	// Answered are similar resolved cases, whose answer may be reused;
	// Similar the most similar cases of any status.
	Answered, Similar []hitView
}

type suggestionView struct {
	Who, Assign string // Assign is the [assign:…] argument
	Percent     int
	Votes       int
	Cases       []caseLink
}

type hitView struct {
	caseLink
	Subject, Status, Who string
	Percent              int
}

// suggestView shapes a ranking for the page; a nil one shows nothing.
func (d *dashboard) suggestView(res *suggest.Result, link func(kp.CaseID) caseLink) suggestView {
	var v suggestView
	if res == nil {
		return v
	}
	v.Voters = res.Voters
	for _, s := range res.Suggestions {
		sv := suggestionView{Who: "team " + s.Team, Assign: s.Team, Percent: int(100*s.Score + 0.5), Votes: s.Votes}
		if s.Assignee != "" {
			sv.Who, sv.Assign = s.Assignee, s.Assignee
		}
		for i, id := range s.Similar {
			if i == 5 {
				break
			}
			sv.Cases = append(sv.Cases, link(id))
		}
		v.Suggestions = append(v.Suggestions, sv)
	}
	hits := func(hs []suggest.Hit) []hitView {
		var out []hitView
		for _, h := range hs {
			who := h.Team
			if h.Assignee != "" {
				who = h.Assignee
			}
			out = append(out, hitView{caseLink: link(h.Case), Subject: h.Subject, Status: string(h.Status), Who: who, Percent: int(100*h.Similarity + 0.5)})
		}
		return out
	}
	v.Answered, v.Similar = hits(res.Answered), hits(res.Similar)
	return v
}
