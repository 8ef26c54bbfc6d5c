package main

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
)

// Exports write a folder: every message as an .eml file (the bytes as
// received; a message whose raw bytes are not kept, such as our own sent
// mail or purged mail, is rebuilt from its record and says so in an
// X-Kontaktpunkt-Rebuilt header), JSON metadata and a self-contained
// HTML page (no scripts, no external resources), fit for an archive's
// PDF/A conversion or for a person to read.

// exportMessage is one message in an export's JSON.
type exportMessage struct {
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
	hdr("Subject", mimeWord(m.Subject))
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

// writeMessages writes msgs as .eml files into dir and returns their
// JSON descriptions.
func writeMessages(tx *store.Tx, dir string, msgs []kp.Message) ([]exportMessage, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var out []exportMessage
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
		name := fmt.Sprintf("%03d-%s.eml", i+1, m.Direction)
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o600); err != nil {
			return nil, err
		}
		date := m.Date
		if date.IsZero() {
			date = m.Received
		}
		out = append(out, exportMessage{
			File: filepath.Base(dir) + "/" + name, MessageID: m.ID, Case: m.Case, Direction: m.Direction, Kind: m.Kind,
			From: m.From.String(), To: addrList(m.To), Cc: addrList(m.Cc), Subject: m.Subject, Date: date,
			Rebuilt: rebuilt, Text: m.Text,
		})
	}
	return out, nil
}

// newExportDir makes OUT, which must not exist or be empty.
func newExportDir(out string) error {
	if ents, err := os.ReadDir(out); err == nil && len(ents) > 0 {
		return usageErr("%s is not empty; give a new folder", out)
	}
	return os.MkdirAll(out, 0o700)
}

// caseExport is the JSON metadata of an exported case.
type caseExport struct {
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
	Messages      []exportMessage     `json:"messages"`
	Audit         []store.AuditEntry  `json:"audit,omitempty"`
	Exported      time.Time           `json:"exported"`
	ContactPoint  string              `json:"contact_point"`
	Purged        *store.Tombstone    `json:"purged,omitempty"`
	PreviousCase  kp.CaseID           `json:"previous_case,omitempty"`
	LinkedCases   []kp.CaseID         `json:"linked_cases,omitempty"`
	MergedInto    kp.CaseID           `json:"merged_into,omitempty"`
	MessageNumber int                 `json:"message_count"`
}

// exportCase writes case id into the folder out and records the export.
func exportCase(e *env, id kp.CaseID, out string, stdout io.Writer) error {
	if err := newExportDir(out); err != nil {
		return err
	}
	var ce caseExport
	err := e.st.View(func(tx *store.Tx) error {
		c, err := tx.Case(id)
		if err != nil {
			return err
		}
		msgs, err := tx.CaseMessages(id)
		if err != nil {
			return err
		}
		ce = caseExport{
			Case: c.ID, Tag: c.ID.Tag(e.cfg.Contact.TagPrefix), Subject: c.Subject, Status: c.Status,
			Requester: c.Requester.String(), Participants: c.Participants, Assignee: c.Assignee, Team: c.Team,
			Created: c.Created, Updated: c.Updated, Resolved: c.ResolvedAt, Archived: c.Archived,
			Counterparts: c.Counterparts, Exported: time.Now().UTC(), ContactPoint: e.cfg.Contact.Address,
			PreviousCase: c.PreviousCase, LinkedCases: c.Links, MergedInto: c.MergedInto, MessageNumber: c.Messages,
		}
		if t, ok, err := tx.Tombstone(id); err != nil {
			return err
		} else if ok {
			ce.Purged = &t
		}
		if ce.Audit, err = tx.Audit(id); err != nil {
			return err
		}
		ce.Messages, err = writeMessages(tx, filepath.Join(out, "messages"), msgs)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return usageErr("no case %d", id)
	}
	if err != nil {
		return err
	}
	if err := writeJSONFile(filepath.Join(out, "case.json"), ce); err != nil {
		return err
	}
	if err := writeHTMLFile(filepath.Join(out, "timeline.html"), caseHTML(), ce); err != nil {
		return err
	}
	if err := e.st.Update(func(tx *store.Tx) error {
		return tx.AddAudit(&store.AuditEntry{At: time.Now(), Actor: "operator " + operatorAddr(), Channel: "cli", Action: "export", Case: id,
			Detail: fmt.Sprintf("case exported, %d messages", len(ce.Messages))})
	}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "case %d exported to %s: %d messages (messages/*.eml), case.json, timeline.html\n", id, out, len(ce.Messages))
	return nil
}

// personExport is summary.json of an access request.
type personExport struct {
	Address  string          `json:"address"`
	Exported time.Time       `json:"exported"`
	Contact  string          `json:"contact_point"`
	Cases    []personCase    `json:"cases"`
	Messages []exportMessage `json:"messages"`
}

type personCase struct {
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

// exportPerson writes every case and message that involve addr into out.
func exportPerson(e *env, addr, out string, stdout io.Writer) error {
	a := kp.NormAddr(addr)
	if !strings.Contains(a, "@") {
		return usageErr("%q is not an address", addr)
	}
	if err := newExportDir(out); err != nil {
		return err
	}
	pe := personExport{Address: a, Exported: time.Now().UTC(), Contact: e.cfg.Contact.Address}
	involves := func(as ...kp.Address) bool {
		for _, x := range as {
			if kp.NormAddr(x.Addr) == a {
				return true
			}
		}
		return false
	}
	err := e.st.View(func(tx *store.Tx) error {
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
			return err
		}
		all, err := tx.Cases(store.CaseFilter{})
		if err != nil {
			return err
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
			pe.Cases = append(pe.Cases, personCase{Case: c.ID, Tag: c.ID.Tag(e.cfg.Contact.TagPrefix), Subject: c.Subject,
				Status: c.Status, Role: role, Created: c.Created, Resolved: c.ResolvedAt, Requester: c.Requester.String(), Assignee: c.Assignee})
		}
		pe.Messages, err = writeMessages(tx, filepath.Join(out, "messages"), msgs)
		return err
	})
	if err != nil {
		return err
	}
	if err := writeJSONFile(filepath.Join(out, "summary.json"), pe); err != nil {
		return err
	}
	if err := writeHTMLFile(filepath.Join(out, "summary.html"), personHTML(), pe); err != nil {
		return err
	}
	if err := e.st.Update(func(tx *store.Tx) error {
		return tx.AddAudit(&store.AuditEntry{At: time.Now(), Actor: "operator " + operatorAddr(), Channel: "cli", Action: "export-person",
			Detail: fmt.Sprintf("%s: %d cases, %d messages", a, len(pe.Cases), len(pe.Messages))})
	}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d cases and %d messages exported to %s (messages/*.eml, summary.json, summary.html)\n", a, len(pe.Cases), len(pe.Messages), out)
	return nil
}

func writeJSONFile(path string, v any) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := writeJSON(f, v); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeHTMLFile(path string, t *template.Template, v any) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := t.Execute(f, v); err != nil {
		f.Close()
		return err
	}
	return f.Close()
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

// absLastPositional makes the last positional argument (an output
// folder) an absolute path.
func absLastPositional(args []string) []string {
	out := make([]string, len(args))
	copy(out, args)
	last := -1
	for i := 0; i < len(out); i++ {
		if strings.HasPrefix(out[i], "-") {
			if !strings.Contains(out[i], "=") && out[i] != "-json" && out[i] != "--json" && out[i] != "-dry-run" && out[i] != "--dry-run" {
				i++
			}
			continue
		}
		last = i
	}
	if last >= 0 {
		if abs, err := filepath.Abs(out[last]); err == nil {
			out[last] = abs
		}
	}
	return out
}
