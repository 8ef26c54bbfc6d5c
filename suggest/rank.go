package suggest

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"
	"unicode/utf8"

	kp "kontaktpunkt"
)

// Index is the inverted index of past cases' terms, with the cases
// themselves. The store's transaction implements it; ranking inside the
// apply transaction sees the assignments made before it.
type Index interface {
	// TermCases returns how many indexed cases have term.
	TermCases(term string) int
	// TermPostings calls fn for each indexed case with term, with the
	// term's frequency in the case and the case's term count.
	TermPostings(term string, fn func(id kp.CaseID, freq, length int) bool) error
	// TermStats returns the number of indexed cases and their total
	// term count.
	TermStats() (cases, terms int64, err error)
	// Case returns a case.
	Case(id kp.CaseID) (*kp.Case, error)
}

// BriefIndex is an Index that reads the part of a case ranking needs
// (subject, status, team, assignee, merged-into) more cheaply than the
// whole case. Rank uses it when the index has it.
type BriefIndex interface {
	Index
	// CaseBrief reads at least those fields of case id into c.
	CaseBrief(id kp.CaseID, c *kp.Case) error
}

// VocabOf returns the vocabulary of an index: the terms it knows.
func VocabOf(ix Index) Vocab {
	return func(t string) bool { return ix.TermCases(t) > 0 }
}

// Options tune a ranking. The zero value is the default.
type Options struct {
	// Exclude is a case left out of the ranking (the case asked about).
	Exclude kp.CaseID
	// Before keeps only cases with lower ids (replaying history); zero
	// keeps all.
	Before kp.CaseID
	// Neighbours is how many similar assigned cases vote (default 15).
	Neighbours int
	// VotesOnly stops reading cases once the voters are found: the
	// Similar and Answered lists may be short.
	VotesOnly bool
}

// Suggestion is a team or a person who answered similar cases. Exactly
// one of Team and Assignee is set.
type Suggestion struct {
	Team     string `json:"team,omitempty"`
	Assignee string `json:"assignee,omitempty"`
	// Score is the share of the similarity-weighted votes of the similar
	// cases, from 0 to 1: the confidence of the suggestion.
	Score float64 `json:"score"`
	// Votes is how many of the similar cases went to it.
	Votes int `json:"votes"`
	// Similar are those cases, most similar first.
	Similar []kp.CaseID `json:"similar"`
}

// Hit is a past case similar to the one asked about.
type Hit struct {
	Case     kp.CaseID `json:"case"`
	Subject  string    `json:"subject"`
	Status   kp.Status `json:"status"`
	Team     string    `json:"team,omitempty"`
	Assignee string    `json:"assignee,omitempty"`
	// Similarity is from 0 (nothing shared) to 1 (the same words).
	Similarity float64 `json:"similarity"`
}

// Result is the ranking for one case.
type Result struct {
	// Suggestions are teams and people, best first.
	Suggestions []Suggestion `json:"suggestions"`
	// Voters is how many similar assigned cases voted.
	Voters int `json:"voters"`
	// Similar are the most similar past cases, assigned or not.
	Similar []Hit `json:"similar"`
	// Answered are the most similar resolved cases: an answer to reuse.
	Answered []Hit `json:"answered"`
}

// Top returns the best team suggestion, or a zero Suggestion and false.
func (r *Result) Top() (Suggestion, bool) {
	if r == nil {
		return Suggestion{}, false
	}
	for _, s := range r.Suggestions {
		if s.Team != "" {
			return s, true
		}
	}
	return Suggestion{}, false
}

// BM25 parameters (the usual ones) and the limits that keep a query fast
// on a large index.
const (
	k1 = 1.2
	b  = 0.75
	// maxQueryTerms is how many of the rarest query terms are scored.
	maxQueryTerms = 48
	// commonShare: a term in more than this share of cases says nothing
	// and costs the most to score; it is skipped.
	commonShare = 0.25
	// readBudget caps the candidate cases read to find the voters.
	readBudget = 200
	// minShare: a candidate less similar than this share of the best one
	// does not vote.
	minShare = 0.25
	// listed is how many similar and answered cases a result lists.
	listed = 5
)

type qterm struct {
	term   string
	weight float64 // query weight: 1 + ln(frequency), lower for a guessed spelling
	idf    float64
}

// Rank ranks teams and people for a request with the given terms by the
// past cases with similar terms and their final assignment. Cases merged
// into another and cases without a team or assignee do not vote.
func Rank(ix Index, terms map[string]int, o Options) (*Result, error) {
	if o.Neighbours <= 0 {
		o.Neighbours = 15
	}
	res := &Result{}
	n, total, err := ix.TermStats()
	if err != nil {
		return nil, fmt.Errorf("suggestion index: %w", err)
	}
	if n == 0 || len(terms) == 0 {
		return res, nil
	}
	avgdl := float64(total) / float64(n)
	var qs []qterm
	for t, f := range terms {
		w := 1 + math.Log(float64(f))
		df := ix.TermCases(t)
		if df == 0 {
			// A word no past case has may be misspelt: take the known
			// spelling one edit away that most cases share.
			if t2, df2 := respell(ix, t); df2 > 0 && terms[t2] == 0 {
				t, df, w = t2, df2, w*0.7
			}
		}
		if df == 0 || (n >= 40 && float64(df) > commonShare*float64(n)) {
			continue
		}
		idf := math.Log(1 + (float64(n)-float64(df)+0.5)/(float64(df)+0.5))
		qs = append(qs, qterm{t, w, idf})
	}
	slices.SortFunc(qs, func(a, b qterm) int { return cmp.Or(cmp.Compare(b.idf, a.idf), cmp.Compare(a.term, b.term)) })
	if len(qs) > maxQueryTerms {
		qs = qs[:maxQueryTerms]
	}
	// The query's score against itself bounds every other: similarity is
	// a case's score over it.
	qlen := 0
	for _, f := range terms {
		qlen += f
	}
	var self float64
	for _, q := range qs {
		f := float64(terms[q.term])
		if f == 0 {
			f = 1
		}
		self += q.weight * q.idf * f * (k1 + 1) / (f + k1*(1-b+b*float64(qlen)/avgdl))
	}
	// Scores accumulate in a slice indexed by case id (ids are dense):
	// a map costs more than the postings it sums over. The slice is
	// reused from query to query, zeroed where it was touched.
	sc := scratchPool.Get().(*scratch)
	defer sc.release()
	scores, touched := sc.scores, sc.touched[:0]
	defer func() { sc.scores, sc.touched = scores, touched }()
	for _, q := range qs {
		err := ix.TermPostings(q.term, func(id kp.CaseID, f, l int) bool {
			if id == o.Exclude || (o.Before != 0 && id >= o.Before) {
				return true
			}
			if int(id) >= len(scores) {
				scores = append(scores, make([]float32, int(id)+1-len(scores)+len(scores)/2)...)
			}
			if scores[id] == 0 {
				touched = append(touched, id)
			}
			ff := float64(f)
			scores[id] += float32(q.weight * q.idf * ff * (k1 + 1) / (ff + k1*(1-b+b*float64(l)/avgdl)))
			return true
		})
		if err != nil {
			return nil, fmt.Errorf("suggestion index: %w", err)
		}
	}
	cands := sc.cands[:0]
	defer func() { sc.cands = cands }()
	for _, id := range touched {
		cands = append(cands, cand{id, float64(scores[id])})
	}
	brief, _ := ix.(BriefIndex)
	var cs *kp.Case
	if brief != nil {
		cs = new(kp.Case)
	}
	// Only the best few are read; a partial order suffices for the rest.
	budget := readBudget
	if o.VotesOnly {
		budget = 2 * o.Neighbours
	}
	top := topCands(cands, budget, &sc.top)
	if len(top) == 0 {
		return res, nil
	}
	best := top[0].score
	type vote struct {
		weight float64
		votes  int
		cases  []kp.CaseID
	}
	teams, people := map[string]*vote{}, map[string]*vote{}
	add := func(m map[string]*vote, key string, w float64, id kp.CaseID) {
		v := m[key]
		if v == nil {
			v = &vote{}
			m[key] = v
		}
		v.weight += w
		v.votes++
		v.cases = append(v.cases, id)
	}
	var sum float64
	for _, c := range top {
		if res.Voters >= o.Neighbours && (o.VotesOnly || len(res.Answered) >= listed) {
			break
		}
		var err error
		if brief != nil {
			err = brief.CaseBrief(c.id, cs)
		} else {
			cs, err = ix.Case(c.id)
		}
		if err != nil {
			continue // a case the index names but the store lost: no vote
		}
		sim := min(1, c.score/self)
		h := Hit{Case: c.id, Subject: cs.Subject, Status: cs.Status, Team: cs.Team, Assignee: cs.Assignee, Similarity: sim}
		if len(res.Similar) < listed {
			res.Similar = append(res.Similar, h)
		}
		if cs.Status == kp.StatusResolved && cs.MergedInto == 0 && len(res.Answered) < listed {
			res.Answered = append(res.Answered, h)
		}
		if res.Voters >= o.Neighbours || cs.MergedInto != 0 || (cs.Team == "" && cs.Assignee == "") || c.score < minShare*best {
			continue
		}
		// The nearest cases count most.
		w := sim * sim
		res.Voters++
		sum += w
		if cs.Team != "" {
			add(teams, cs.Team, w, c.id)
		}
		if cs.Assignee != "" {
			add(people, kp.NormAddr(cs.Assignee), w, c.id)
		}
	}
	if sum == 0 {
		return res, nil
	}
	for k, v := range teams {
		res.Suggestions = append(res.Suggestions, Suggestion{Team: k, Score: v.weight / sum, Votes: v.votes, Similar: v.cases})
	}
	for k, v := range people {
		res.Suggestions = append(res.Suggestions, Suggestion{Assignee: k, Score: v.weight / sum, Votes: v.votes, Similar: v.cases})
	}
	slices.SortFunc(res.Suggestions, func(a, b Suggestion) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(b.Votes, a.Votes),
			cmp.Compare(a.Assignee, b.Assignee), cmp.Compare(a.Team, b.Team))
	})
	return res, nil
}

// scratch is the per-query working memory of Rank, pooled.
type scratch struct {
	scores  []float32
	touched []kp.CaseID
	cands   []cand
	top     []cand
}

// cand is a case sharing terms with the query, and its score.
type cand struct {
	id    kp.CaseID
	score float64
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// release zeroes the scores touched and returns sc to the pool.
func (sc *scratch) release() {
	for _, id := range sc.touched {
		sc.scores[id] = 0
	}
	sc.touched = sc.touched[:0]
	scratchPool.Put(sc)
}

// better orders candidates: higher score first, then higher id.
func (a cand) better(b cand) bool {
	return a.score > b.score || (a.score == b.score && a.id > b.id)
}

func compareCands(a, b cand) int {
	return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(b.id, a.id))
}

// topCands returns the n best candidates of s, best first; s is
// reordered, and *buf holds the result when s is much longer than n.
func topCands(s []cand, n int, buf *[]cand) []cand {
	if len(s) <= 4*n {
		slices.SortFunc(s, compareCands)
		return s[:min(n, len(s))]
	}
	// A bounded insertion keeps the best n without sorting them all.
	out := (*buf)[:0]
	defer func() { *buf = out }()
	for _, x := range s {
		if len(out) == n && !x.better(out[n-1]) {
			continue
		}
		i := len(out)
		for i > 0 && x.better(out[i-1]) {
			i--
		}
		if len(out) < n {
			out = append(out, cand{})
		}
		copy(out[i+1:], out[i:len(out)-1])
		out[i] = x
	}
	return out
}

// letters are the letters tried when respelling a term.
const letters = "abcdefghijklmnopqrstuvwxyzæøå"

// respell returns the known term one edit (a letter deleted, inserted,
// replaced, or two swapped) from t that the most cases have, and that
// count; "", 0 when none is known. Short terms are not respelt: one edit
// from a short word is another word.
func respell(ix Index, t string) (string, int) {
	if utf8.RuneCountInString(t) < 5 || !utf8.ValidString(t) {
		return "", 0
	}
	r := []rune(t)
	best, bestDF := "", 0
	try := func(c []rune) {
		s := string(c)
		if df := ix.TermCases(s); df > bestDF || (df == bestDF && df > 0 && s < best) {
			best, bestDF = s, df
		}
	}
	buf := make([]rune, 0, len(r)+1)
	for i := range r {
		try(append(append(buf[:0], r[:i]...), r[i+1:]...))
		if i+1 < len(r) {
			buf = append(append(buf[:0], r[:i]...), r[i+1], r[i])
			try(append(buf, r[i+2:]...))
		}
	}
	for i := 0; i <= len(r); i++ {
		for _, l := range letters {
			if i < len(r) && l != r[i] {
				try(append(append(append(buf[:0], r[:i]...), l), r[i+1:]...))
			}
			try(append(append(append(buf[:0], r[:i]...), l), r[i:]...))
		}
	}
	return best, bestDF
}

// CaseIndex is an Index that also holds each case's indexed terms and
// its messages.
type CaseIndex interface {
	Index
	// CaseTerms returns the terms indexed for a case, nil for none.
	CaseTerms(id kp.CaseID) (map[string]int, error)
	// CaseMessages returns a case's messages in order.
	CaseMessages(id kp.CaseID) ([]kp.Message, error)
}

// TermsOf returns the terms of case c: those indexed when it opened, else
// (a case from before the index) from its subject and the request that
// opened it.
func TermsOf(ix CaseIndex, c *kp.Case) (map[string]int, error) {
	terms, err := ix.CaseTerms(c.ID)
	if err != nil || terms != nil {
		return terms, err
	}
	msgs, err := ix.CaseMessages(c.ID)
	if err != nil {
		return nil, err
	}
	text := ""
	for _, m := range msgs {
		if m.Kind == "request" {
			text = m.Text
			break
		}
	}
	return CaseTerms(c.Subject, text, VocabOf(ix)), nil
}

// ForCase ranks teams and people for case id by the other cases, and
// lists the most similar ones (those resolved in Answered).
func ForCase(ix CaseIndex, id kp.CaseID) (*Result, error) {
	c, err := ix.Case(id)
	if err != nil {
		return nil, err
	}
	terms, err := TermsOf(ix, c)
	if err != nil {
		return nil, err
	}
	return Rank(ix, terms, Options{Exclude: id})
}
