// Package export writes the archive and access-request exports: every
// message as an .eml file (the bytes as received; a message whose raw
// bytes are not kept, such as our own sent mail or purged mail, is
// rebuilt from its record and says so in an X-Kontaktpunkt-Rebuilt
// header), JSON metadata and a self-contained HTML page (no scripts, no
// external resources), fit for an archive's PDF/A conversion or for a
// person to read. It reads the store in the caller's transaction and
// hands each file to a Put, so the command line writes a folder and the
// dashboard a zip file of the same content.
package export

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"strings"
	"sync"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
)

// Put receives one file of an export: its slash-separated name inside
// the export and its bytes.
type Put func(name string, data []byte) error

// Message is one message in an export's JSON.
type Message struct {
	File      string       `json:"file"`
	MessageID string       `json:"message_id"`
	Case      kp.CaseID    `json:"case,omitempty"`
	Direction kp.Direction `json:"direction"`
	Kind      string       `json:"kind"`
	From      string       `json:"from"`
	To        []string     `json:"to,omitempty"`
	Cc        []string     `json:"cc,omitempty"`
	Subject   string       `json:"subject"`
	Date      time.Time    `json:"date"`
	Rebuilt   bool         `json:"rebuilt,omitempty"`
	Text      string       `json:"text"`
}

func addrList(as []kp.Address) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.String())
	}
	return out
}

// rebuildEML renders a message record as a minimal mail.
func rebuildEML(m *kp.Message) []byte {
	var b strings.Builder
	hdr := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\r\n", k, strings.NewReplacer("\r", " ", "\n", " ").Replace(v))
		}
	}
	hdr("From", m.From.String())
	hdr("To", strings.Join(addrList(m.To), ", "))
	hdr("Cc", strings.Join(addrList(m.Cc), ", "))
	hdr("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	date := m.Date
	if date.IsZero() {
		date = m.Received
	}
	hdr("Date", date.Format(time.RFC1123Z))
	hdr("Message-ID", "<"+m.ID+">")
	hdr("X-Kontaktpunkt-Rebuilt", "yes; the original bytes are not kept, this is the stored record")
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(m.Text, "\r\n", "\n"), "\n", "\r\n"))
	b.WriteString("\r\n")
	return []byte(b.String())
}

// messages puts msgs as messages/NNN-direction.eml and returns their
// JSON descriptions.
func messages(tx *store.Tx, msgs []kp.Message, put Put) ([]Message, error) {
	var out []Message
	for i := range msgs {
		m := &msgs[i]
		raw, err := tx.Raw(m.ID)
		rebuilt := false
		if errors.Is(err, store.ErrNotFound) {
			raw, rebuilt, err = rebuildEML(m), true, nil
		}
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("messages/%03d-%s.eml", i+1, m.Direction)
		if err := put(name, raw); err != nil {
			return nil, err
		}
		date := m.Date
		if date.IsZero() {
			date = m.Received
		}
		out = append(out, Message{
			File: name, MessageID: m.ID, Case: m.Case, Direction: m.Direction, Kind: m.Kind,
			From: m.From.String(), To: addrList(m.To), Cc: addrList(m.Cc), Subject: m.Subject, Date: date,
			Rebuilt: rebuilt, Text: m.Text,
		})
	}
	return out, nil
}

// Case is case.json of a case export.
type Case struct {
	Case          kp.CaseID           `json:"case"`
	Tag           string              `json:"tag"`
	Subject       string              `json:"subject"`
	Status        kp.Status           `json:"status"`
	Requester     string              `json:"requester"`
	Participants  []string            `json:"participants,omitempty"`
	Assignee      string              `json:"assignee,omitempty"`
	Team          string              `json:"team,omitempty"`
	Created       time.Time           `json:"created"`
	Updated       time.Time           `json:"updated"`
	Resolved      time.Time           `json:"resolved,omitzero"`
	Archived      string              `json:"archive_reference,omitempty"`
	Counterparts  []kp.CounterpartRef `json:"counterpart_refs,omitempty"`
	Messages      []Message           `json:"messages"`
	Audit         []store.AuditEntry  `json:"audit,omitempty"`
	Exported      time.Time           `json:"exported"`
	ContactPoint  string              `json:"contact_point"`
	Purged        *store.Tombstone    `json:"purged,omitempty"`
	PreviousCase  kp.CaseID           `json:"previous_case,omitempty"`
	LinkedCases   []kp.CaseID         `json:"linked_cases,omitempty"`
	MergedInto    kp.CaseID           `json:"merged_into,omitempty"`
	MessageNumber int                 `json:"message_count"`
}

// Options say where an export comes from.
type Options struct {
	// TagPrefix is contact.tag_prefix, for the case tags.
	TagPrefix string
	// ContactPoint is the contact address.
	ContactPoint string
	// Now is the export time.
	Now time.Time
}

// WriteCase exports case id: messages/*.eml, case.json and
// timeline.html, each handed to put. It reads in tx; store.ErrNotFound
// means no such case. Recording the export in the audit trail is the
// caller's, who knows the actor and the channel.
func WriteCase(tx *store.Tx, id kp.CaseID, o Options, put Put) (*Case, error) {
	c, err := tx.Case(id)
	if err != nil {
		return nil, err
	}
	msgs, err := tx.CaseMessages(id)
	if err != nil {
		return nil, err
	}
	ce := &Case{
		Case: c.ID, Tag: c.ID.Tag(o.TagPrefix), Subject: c.Subject, Status: c.Status,
		Requester: c.Requester.String(), Participants: c.Participants, Assignee: c.Assignee, Team: c.Team,
		Created: c.Created, Updated: c.Updated, Resolved: c.ResolvedAt, Archived: c.Archived,
		Counterparts: c.Counterparts, Exported: o.Now.UTC(), ContactPoint: o.ContactPoint,
		PreviousCase: c.PreviousCase, LinkedCases: c.Links, MergedInto: c.MergedInto, MessageNumber: c.Messages,
	}
	if t, ok, err := tx.Tombstone(id); err != nil {
		return nil, err
	} else if ok {
		ce.Purged = &t
	}
	if ce.Audit, err = tx.Audit(id); err != nil {
		return nil, err
	}
	if ce.Messages, err = messages(tx, msgs, put); err != nil {
		return nil, err
	}
	if err := putJSON(put, "case.json", ce); err != nil {
		return nil, err
	}
	return ce, putHTML(put, "timeline.html", caseHTML(), ce)
}

// Person is summary.json of an access request.
type Person struct {
	Address  string       `json:"address"`
	Exported time.Time    `json:"exported"`
	Contact  string       `json:"contact_point"`
	Cases    []PersonCase `json:"cases"`
	Messages []Message    `json:"messages"`
}

// PersonCase is one case of an access request and the person's role on it.
type PersonCase struct {
	Case      kp.CaseID `json:"case"`
	Tag       string    `json:"tag"`
	Subject   string    `json:"subject"`
	Status    kp.Status `json:"status"`
	Role      string    `json:"role"`
	Created   time.Time `json:"created"`
	Resolved  time.Time `json:"resolved,omitzero"`
	Requester string    `json:"requester"`
	Assignee  string    `json:"assignee,omitempty"`
}

// WritePerson exports every case and message that involve the
// normalised address a: messages/*.eml, summary.json and summary.html.
func WritePerson(tx *store.Tx, a string, o Options, put Put) (*Person, error) {
	pe := &Person{Address: a, Exported: o.Now.UTC(), Contact: o.ContactPoint}
	involves := func(as ...kp.Address) bool {
		for _, x := range as {
			if kp.NormAddr(x.Addr) == a {
				return true
			}
		}
		return false
	}
	cases := map[kp.CaseID]string{}
	var msgs []kp.Message
	if err := tx.ForEachMessage(false, func(m *kp.Message) error {
		if involves(append(append([]kp.Address{m.From}, m.To...), m.Cc...)...) {
			msgs = append(msgs, *m)
			if m.Case != 0 && cases[m.Case] == "" {
				cases[m.Case] = "sender or recipient"
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	all, err := tx.Cases(store.CaseFilter{})
	if err != nil {
		return nil, err
	}
	for i := range all {
		c := &all[i]
		role := cases[c.ID]
		switch {
		case kp.NormAddr(c.Requester.Addr) == a:
			role = "requester"
		case c.HasParticipant(a):
			role = "participant"
		case kp.NormAddr(c.Assignee) == a:
			role = "assignee"
		}
		if role == "" {
			continue
		}
		pe.Cases = append(pe.Cases, PersonCase{Case: c.ID, Tag: c.ID.Tag(o.TagPrefix), Subject: c.Subject,
			Status: c.Status, Role: role, Created: c.Created, Resolved: c.ResolvedAt, Requester: c.Requester.String(), Assignee: c.Assignee})
	}
	if pe.Messages, err = messages(tx, msgs, put); err != nil {
		return nil, err
	}
	if err := putJSON(put, "summary.json", pe); err != nil {
		return nil, err
	}
	return pe, putHTML(put, "summary.html", personHTML(), pe)
}

func putJSON(put Put, name string, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	return put(name, b.Bytes())
}

func putHTML(put Put, name string, t *template.Template, v any) error {
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return err
	}
	return put(name, b.Bytes())
}

// exportStyle is the pages' only styling: inline, print-friendly, fonts
// the reader has.
const exportStyle = `body{font-family:serif;max-width:50em;margin:2em auto;color:#000;background:#fff}
table{border-collapse:collapse}td,th{border:1px solid #888;padding:.2em .5em;text-align:left;vertical-align:top}
.msg{border-top:1px solid #888;margin-top:1.5em;padding-top:.5em;page-break-inside:avoid}
.meta{font-size:90%}pre{white-space:pre-wrap;font-family:monospace}`

var templateFuncs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"join": strings.Join,
}

var caseHTML = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("case").Funcs(templateFuncs).Parse(`<!DOCTYPE html>
<html lang="nb"><head><meta charset="utf-8"><title>{{.Tag}} {{.Subject}}</title><style>` + exportStyle + `</style></head>
<body><h1>{{.Tag}} {{.Subject}}</h1>
<table class="meta">
<tr><th>Case</th><td>{{.Case}}</td></tr>
<tr><th>Status</th><td>{{.Status}}</td></tr>
<tr><th>Requester</th><td>{{.Requester}}</td></tr>
{{if .Participants}}<tr><th>Participants</th><td>{{join .Participants ", "}}</td></tr>{{end}}
<tr><th>Assignee</th><td>{{.Assignee}} {{.Team}}</td></tr>
<tr><th>Created</th><td>{{date .Created}}</td></tr>
<tr><th>Resolved</th><td>{{date .Resolved}}</td></tr>
{{if .Archived}}<tr><th>Archive reference</th><td>{{.Archived}}</td></tr>{{end}}
{{range .Counterparts}}<tr><th>Counterpart reference</th><td>{{.Ref}} ({{.Addr}})</td></tr>{{end}}
<tr><th>Exported</th><td>{{date .Exported}} from {{.ContactPoint}}</td></tr>
</table>
{{if .Purged}}<p>The case's mail was purged on {{date .Purged.Purged}} under the retention rules.</p>{{end}}
<h2>Timeline</h2>
{{range .Messages}}<div class="msg"><p class="meta"><b>{{date .Date}}</b> {{if eq .Direction "out"}}sent{{else}}received{{end}} ({{.Kind}})<br>
From: {{.From}}<br>{{if .To}}To: {{join .To ", "}}<br>{{end}}{{if .Cc}}Cc: {{join .Cc ", "}}<br>{{end}}Subject: {{.Subject}}<br>
File: {{.File}}{{if .Rebuilt}} (rebuilt from the record){{end}}</p>
<pre>{{.Text}}</pre></div>
{{end}}
{{if .Audit}}<h2>Actions</h2><table class="meta"><tr><th>Time</th><th>Who</th><th>How</th><th>What</th></tr>
{{range .Audit}}<tr><td>{{date .At}}</td><td>{{.Actor}}</td><td>{{.Channel}}</td><td>{{.Detail}}</td></tr>{{end}}</table>{{end}}
</body></html>
`))
})

var personHTML = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("person").Funcs(templateFuncs).Parse(`<!DOCTYPE html>
<html lang="nb"><head><meta charset="utf-8"><title>Data about {{.Address}}</title><style>` + exportStyle + `</style></head>
<body><h1>What {{.Contact}} keeps about {{.Address}}</h1>
<p>Made {{date .Exported}}. The folder <code>messages</code> holds every message below as received (.eml, opens in a mail program).</p>
<h2>Cases ({{len .Cases}})</h2>
<table><tr><th>Case</th><th>Subject</th><th>Your role</th><th>Status</th><th>Opened</th><th>Resolved</th></tr>
{{range .Cases}}<tr><td>{{.Tag}}</td><td>{{.Subject}}</td><td>{{.Role}}</td><td>{{.Status}}</td><td>{{date .Created}}</td><td>{{date .Resolved}}</td></tr>
{{end}}</table>
<h2>Messages ({{len .Messages}})</h2>
{{range .Messages}}<div class="msg"><p class="meta"><b>{{date .Date}}</b> From: {{.From}}<br>{{if .To}}To: {{join .To ", "}}<br>{{end}}Subject: {{.Subject}}<br>File: {{.File}}</p>
<pre>{{.Text}}</pre></div>
{{end}}
</body></html>
`))
})
