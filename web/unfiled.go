package web

import (
	"net/http"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
)

// unfiledShown bounds the unfiled list: the newest messages of no case.
const unfiledShown = 200

// unfiledRow is one message of no case.
type unfiledRow struct {
	ID      string
	Time    string
	From    string
	Subject string
	// Kind is "quarantined", "spam" or "unfiled"; Reason says why.
	Kind   string
	Reason string
	Text   string
}

// unfiledPage is the data of the unfiled template.
type unfiledPage struct {
	page
	Tabs  []tab
	Rows  []unfiledRow
	Empty string
	More  bool
}

// unfiledKind sorts a message of no case into the view's tabs.
func unfiledKind(m *kp.Message) string {
	switch {
	case m.Quarantine != "":
		return "quarantined"
	case m.Class == kp.ClassSpam:
		return "spam"
	}
	return "unfiled"
}

// unfiled lists the newest messages that became no case (unmatched
// machine mail, spam, quarantined mail), with the actions that file one
// into a case or open a case from it.
func (d *dashboard) unfiled(w http.ResponseWriter, r *http.Request) {
	now := d.s.now()
	want := r.URL.Query().Get("f")
	if want != "quarantined" && want != "spam" && want != "unfiled" {
		want = ""
	}
	var msgs []kp.Message
	if err := d.s.o.Store.View(func(tx *store.Tx) error {
		var err error
		msgs, err = tx.Unfiled(unfiledShown + 1)
		return err
	}); err != nil {
		d.s.log.Error("unfiled list", "err", err)
		http.Error(w, "the store cannot be read", http.StatusInternalServerError)
		return
	}
	p := unfiledPage{page: d.page(r, d.tr(r, "Not filed"), now)}
	if len(msgs) > unfiledShown {
		msgs, p.More = msgs[:unfiledShown], true
	}
	for _, t := range []struct{ f, label string }{{"", "All"}, {"quarantined", "Quarantined"}, {"spam", "Spam"}, {"unfiled", "Unfiled"}} {
		href := "/unfiled"
		if t.f != "" {
			href += "?f=" + t.f
		}
		p.Tabs = append(p.Tabs, tab{Label: d.tr(r, t.label), Href: href, Active: t.f == want})
	}
	for i := range msgs {
		m := &msgs[i]
		k := unfiledKind(m)
		if want != "" && k != want {
			continue
		}
		t := m.Date
		if t.IsZero() {
			t = m.Received
		}
		row := unfiledRow{ID: m.ID, Time: d.fmtTime(t), From: m.From.String(), Subject: m.Subject, Kind: k, Reason: m.Quarantine}
		if row.Reason == "" {
			row.Reason = string(m.Class)
		}
		row.Text = m.Text
		if len(row.Text) > 600 {
			row.Text = cutText(row.Text, 600) + " …"
		}
		p.Rows = append(p.Rows, row)
	}
	if len(p.Rows) == 0 {
		p.Empty = d.tr(r, "Nothing here.")
	}
	d.render(w, r, "unfiled", p)
}

// cutText cuts s to at most n bytes at a character boundary.
func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
