package web

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"kontaktpunkt/search"
	"kontaktpunkt/store"
)

const (
	// searchShown is how many cases the results page shows.
	searchShown = 100
	// maxQuery bounds the query a request may send.
	maxQuery = 500
)

// searchRow is one case found.
type searchRow struct {
	caseRow
	Snippet string
}

// searchPage is the data of the search template.
type searchPage struct {
	page
	Query   string
	Rows    []searchRow
	Note    string
	Empty   string
	Help    bool
	Partial string
}

// search renders the results of GET /search?q=…: the newest matching
// cases first, each with text around a matching word.
func (d *dashboard) search(w http.ResponseWriter, r *http.Request) {
	now := d.s.now()
	qs := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(qs) > maxQuery || !utf8.ValidString(qs) {
		http.Error(w, "query too long", http.StatusBadRequest)
		return
	}
	p := searchPage{page: d.page(r, d.tr(r, "Search"), now), Query: qs}
	p.page.Query = qs
	q := search.ParseQuery(qs)
	if q.Empty() {
		p.Help = true
		d.render(w, r, "search", p)
		return
	}
	if len(q.Bad) > 0 {
		p.Note = d.tr(r, "Not understood:") + " " + strings.Join(q.Bad, ", ")
	}
	var res store.SearchResult
	if err := d.s.o.Store.View(func(tx *store.Tx) error {
		var err error
		res, err = tx.Search(q, d.s.loc, searchShown)
		return err
	}); err != nil {
		d.s.log.Error("search", "err", err)
		http.Error(w, "the store cannot be read", http.StatusInternalServerError)
		return
	}
	for i := range res.Hits {
		p.Rows = append(p.Rows, searchRow{caseRow: d.row(&res.Hits[i].Case, now), Snippet: res.Hits[i].Snippet})
	}
	p.Partial = res.Partial
	if res.More {
		p.Partial = strings.TrimSpace(p.Partial + " " + d.tr(r, "Only the newest matching cases are shown; add words to narrow the search."))
	}
	if len(p.Rows) == 0 {
		p.Empty = d.tr(r, "No case matches.")
	}
	d.render(w, r, "search", p)
}
