package main

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
)

// operateSetup ingests one request into a store under a configuration with
// staff and a team, and returns the configuration file.
func operateSetup(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfg := writeFile(t, dir, "kp.yaml", `contact:
  address: integrasjon@example.org
store:
  path: kp.db
staff:
  members:
    - {name: Kari, address: kari@example.org}
  require_authenticated: false
teams:
  - name: fs
    members: [per@example.org]
    escalation: fs-leder@example.org
http:
  listen: "off"
`)
	mail := writeFile(t, dir, "1.eml", request1)
	if _, errOut, code := run(t, "", "ingest", "-config", cfg, mail); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errOut)
	}
	return cfg
}

type shownCase struct {
	Status   string `json:"status"`
	Assignee string `json:"assignee"`
	Messages []struct {
		Kind string `json:"kind"`
		Text string `json:"text"`
	} `json:"messages"`
}

func showJSON(t *testing.T, cfg string) shownCase {
	t.Helper()
	out, errOut, code := run(t, "", "case", "show", "1", "-json", "-config", cfg)
	if code != 0 {
		t.Fatalf("case show: exit %d: %s", code, errOut)
	}
	var c shownCase
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("case show -json: %v\n%s", err, out)
	}
	return c
}

type outJSON struct {
	ID    uint64   `json:"id"`
	Kind  string   `json:"kind"`
	To    []string `json:"to"`
	State string   `json:"state"`
}

func outboxJSON(t *testing.T, cfg string) []outJSON {
	t.Helper()
	out, errOut, code := run(t, "", "outbox", "-json", "-config", cfg)
	if code != 0 {
		t.Fatalf("outbox: exit %d: %s", code, errOut)
	}
	var list []outJSON
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("outbox -json: %v\n%s", err, out)
	}
	return list
}

func queuedTo(list []outJSON, kind, addr string) bool {
	for _, o := range list {
		if o.Kind == kind && strings.Contains(strings.Join(o.To, ","), addr) {
			return true
		}
	}
	return false
}

func TestCaseAssignStatusNote(t *testing.T) {
	cfg := operateSetup(t)

	out, errOut, code := run(t, "", "case", "assign", "1", "per", "-config", cfg)
	if code != 0 || !strings.HasPrefix(out, "case 1: ") {
		t.Fatalf("case assign: exit %d: %s%s", code, out, errOut)
	}
	if c := showJSON(t, cfg); c.Assignee != "per@example.org" {
		t.Errorf("assignee %q, want per@example.org", c.Assignee)
	}
	if !queuedTo(outboxJSON(t, cfg), "assign", "per@example.org") {
		t.Error("no assignment mail queued to the assignee")
	}

	if _, errOut, code := run(t, "", "case", "status", "1", "waiting", "-config", cfg); code != 0 {
		t.Fatalf("case status: exit %d: %s", code, errOut)
	}
	if c := showJSON(t, cfg); c.Status != "waiting" {
		t.Errorf("status %q, want waiting", c.Status)
	}

	const note = "Ringte Ola; venter på eksporten"
	if _, errOut, code := run(t, "", "case", "note", "1", "Ringte", "Ola;", "venter", "på", "eksporten", "-config", cfg); code != 0 {
		t.Fatalf("case note: exit %d: %s", code, errOut)
	}
	c := showJSON(t, cfg)
	found := false
	for _, m := range c.Messages {
		found = found || (m.Kind == "note" && strings.Contains(m.Text, note))
	}
	if !found {
		t.Errorf("the note is not on the case: %+v", c.Messages)
	}
	list := outboxJSON(t, cfg)
	if !queuedTo(list, "note", "kari@example.org") {
		t.Error("the note was not sent to staff")
	}
	if queuedTo(list, "note", "ola@example.org") {
		t.Error("the note went to the requester")
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"case", "assign", "1", "nobody"}, "nothing applied"},
		{[]string{"case", "status", "1", "done"}, "usage: case status N open|waiting|resolved"},
		{[]string{"case", "assign", "99", "per"}, "no case 99"},
		{[]string{"case", "note", "1"}, "usage: case note N TEXT"},
	} {
		_, errOut, code := run(t, "", append(tc.args, "-config", cfg)...)
		if code != exitUser || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q; want exit 1 with %q", tc.args, code, errOut, tc.want)
		}
	}
}

func TestOutboxRetry(t *testing.T) {
	cfg := operateSetup(t)
	list := outboxJSON(t, cfg)
	if len(list) == 0 {
		t.Fatal("nothing queued by ingest")
	}
	id := list[0].ID
	db := filepath.Join(filepath.Dir(cfg), "kp.db")
	setState := func(state kp.OutState) {
		t.Helper()
		st, err := store.Open(db, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		err = st.Update(func(tx *store.Tx) error {
			o, err := tx.Outbound(id)
			if err != nil {
				return err
			}
			o.State, o.NextTry, o.LastError = state, time.Now().Add(time.Hour), "550 5.1.1 no such user"
			if state == kp.OutSent {
				o.Sent = time.Now()
			}
			return tx.PutOutbound(o)
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	setState(kp.OutFailed)
	out, errOut, code := run(t, "", "outbox", "retry", strconv.FormatUint(id, 10), "-config", cfg)
	if code != 0 || !strings.Contains(out, "queued for a new attempt") {
		t.Fatalf("outbox retry: exit %d: %s%s", code, out, errOut)
	}
	for _, o := range outboxJSON(t, cfg) {
		if o.ID == id && o.State != "queued" {
			t.Errorf("after retry the message is %s, want queued", o.State)
		}
	}

	setState(kp.OutSent)
	_, errOut, code = run(t, "", "outbox", "retry", strconv.FormatUint(id, 10), "-config", cfg)
	if code != exitUser || !strings.Contains(errOut, "already sent") {
		t.Errorf("retry of a sent message: exit %d, %q", code, errOut)
	}
	_, errOut, code = run(t, "", "outbox", "retry", "9999", "-config", cfg)
	if code != exitUser || !strings.Contains(errOut, "no outbound message 9999") {
		t.Errorf("retry of a missing message: exit %d, %q", code, errOut)
	}
	_, errOut, code = run(t, "", "outbox", "retry", "x", "-config", cfg)
	if code != exitUser || !strings.Contains(errOut, "needs a message number") {
		t.Errorf("retry x: exit %d, %q", code, errOut)
	}
}
