package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// threadingConfig has one staff member and one team member, so mail from
// the staff side can be told from a requester's.
const threadingConfig = `contact:
  address: integrasjon@example.org
  name: Integrasjon
store:
  path: %DB%
imap:
  host: imap.example.org
  username: integrasjon
  password: {file: %PW%}
staff:
  members:
    - {name: Kari, address: kari@example.org}
  require_authenticated: false
teams:
  - name: arkiv
    members: [per@example.org]
    escalation: leder@example.org
`

type threadCase struct {
	ID        int      `json:"id"`
	Subject   string   `json:"subject"`
	Requester string   `json:"requester"`
	Cc        []string `json:"participants"`
	OpenedBy  string   `json:"opened_by"`
	// Inbound counts the ingested messages stored on the case.
	Inbound int `json:"-"`
}

// ingestShape ingests testdata/threading/NAME with the threading config,
// compares `ingest -json` with testdata/threading/NAME.golden.jsonl and
// returns the cases, oldest first, and the config path.
// Regenerate with: go test ./cmd/kontaktpunkt -run ThreadingGolden -update
func ingestShape(t *testing.T, name string) ([]threadCase, string) {
	t.Helper()
	dir := t.TempDir()
	pw := writeFile(t, dir, "pw", "x")
	cfg := writeFile(t, dir, "kp.yaml", strings.NewReplacer("%DB%", filepath.Join(dir, "kp.db"), "%PW%", pw).Replace(threadingConfig))
	out, errOut, code := run(t, "", "ingest", "-config", cfg, "-json", filepath.Join("testdata", "threading", name))
	if code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errOut)
	}
	golden := filepath.Join("testdata", "threading", name+".golden.jsonl")
	if *update {
		if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Errorf("ingest -json differs from %s:\ngot:\n%s\nwant:\n%s", golden, out, want)
	}
	out, errOut, code = run(t, "", "cases", "-config", cfg, "-json")
	if code != 0 {
		t.Fatalf("cases: exit %d: %s", code, errOut)
	}
	var cases []threadCase
	if err := json.Unmarshal([]byte(out), &cases); err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(cases)-1; i < j; i, j = i+1, j-1 {
		cases[i], cases[j] = cases[j], cases[i]
	}
	for _, line := range strings.Split(strings.TrimSpace(string(want)), "\n") {
		var r struct {
			Case   int    `json:"case"`
			Status string `json:"status"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		for i := range cases {
			if cases[i].ID == r.Case && r.Status == "stored" {
				cases[i].Inbound++
			}
		}
	}
	return cases, cfg
}

// wantCases checks the number of cases and how many ingested messages each
// holds.
func wantCases(t *testing.T, cases []threadCase, messages ...int) {
	t.Helper()
	got := make([]int, len(cases))
	for i, c := range cases {
		got[i] = c.Inbound
	}
	if len(got) != len(messages) {
		t.Fatalf("cases hold %v messages, want %v: %+v", got, messages, cases)
	}
	for i := range got {
		if got[i] != messages[i] {
			t.Fatalf("cases hold %v messages, want %v: %+v", got, messages, cases)
		}
	}
}

func TestThreadingGoldenSentFolderExchange(t *testing.T) {
	// Nine mails between two people, every reply with RE:/SV:/AW:/VS:/Re[2]:
	// and no In-Reply-To, References or tag: one case.
	cases, _ := ingestShape(t, "sent-folder-exchange")
	wantCases(t, cases, 9)
}

func TestThreadingGoldenLateParent(t *testing.T) {
	// The reply arrives first and opens the case; the parent joins it, the
	// case keeps its requester and the parent's writer becomes a participant.
	cases, _ := ingestShape(t, "late-parent")
	wantCases(t, cases, 3)
	if c := cases[0]; c.Requester != "nils.berg@ntnu.example" || !containsStr(c.Cc, "sara.lie@ntnu.example") {
		t.Errorf("case = %+v, want requester Nils and Sara a participant", c)
	}
}

func TestThreadingGoldenGhostParent(t *testing.T) {
	// Two reply-alls to a mail the contact address never got: one case; a
	// stranger answering the same lost mail shares nobody: a case of their own.
	cases, _ := ingestShape(t, "ghost-parent")
	wantCases(t, cases, 2, 1)
}

func TestThreadingGoldenSameSubjectDifferentPeople(t *testing.T) {
	// "Tilgang" from two people and a stranger's "RE: Tilgang": three cases,
	// each follow-up in its writer's case.
	cases, _ := ingestShape(t, "same-subject-different-people")
	wantCases(t, cases, 2, 2, 1)
	if cases[0].Requester != "hanne@uib.example" || cases[1].Requester != "jonas@uit.example" {
		t.Errorf("cases = %+v", cases)
	}
}

func TestThreadingGoldenReusedMessageID(t *testing.T) {
	// Two different letters with one Message-ID are two cases; the first
	// letter delivered again is a duplicate; case show says the id collided.
	cases, cfg := ingestShape(t, "reused-message-id")
	wantCases(t, cases, 1, 1)
	out, errOut, code := run(t, "", "case", "show", "2", "-config", cfg)
	if code != 0 || !strings.Contains(out, "collided") || !strings.Contains(out, "P360-0001@kommune.example") {
		t.Errorf("case show 2: exit %d: %s%s", code, out, errOut)
	}
	out, _, _ = run(t, "", "case", "show", "2", "-config", cfg, "-json")
	var c struct {
		Messages []struct {
			MessageID  string `json:"message_id"`
			CollidedID string `json:"collided_id"`
		} `json:"messages"`
	}
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Messages) == 0 || c.Messages[0].CollidedID != "P360-0001@kommune.example" || c.Messages[0].MessageID == c.Messages[0].CollidedID {
		t.Errorf("case show 2 -json messages = %+v", c.Messages)
	}
}

func TestThreadingGoldenReferenceInText(t *testing.T) {
	// A caseworker and a team member answer with new mail and "Deres ref.:
	// INT#1" / "Your ref: INT#1": both on case 1; the caseworker is flagged
	// an outsider, the team member's answer goes to the requester and
	// nobody but the requester is acknowledged. A tag only in quoted text
	// opens a new case.
	cases, cfg := ingestShape(t, "reference-in-text")
	wantCases(t, cases, 3, 1)
	out, _, _ := run(t, "", "case", "show", "1", "-config", cfg, "-json")
	var c struct {
		Messages []struct {
			From      string `json:"from"`
			Direction string `json:"direction"`
			Kind      string `json:"kind"`
			Outsider  bool   `json:"outsider"`
			To        []string
		} `json:"messages"`
	}
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Messages {
		switch {
		case m.From == "saksbehandler@arkiv.example" && !m.Outsider:
			t.Errorf("caseworker not flagged outsider: %+v", m)
		case m.From == "per@example.org" && (m.Outsider || m.Kind != "reply"):
			t.Errorf("team member's answer: %+v", m)
		}
	}
	out, _, _ = run(t, "", "outbox", "-config", cfg, "-json")
	var queued []struct {
		Kind string   `json:"kind"`
		To   []string `json:"to"`
	}
	if err := json.Unmarshal([]byte(out), &queued); err != nil {
		t.Fatal(err)
	}
	relayed := false
	for _, q := range queued {
		if q.Kind == "ack" && !containsStr(q.To, "ola@nmbu.example") && !containsStr(q.To, "ukjent@annet.example") {
			t.Errorf("acknowledgement to %v", q.To)
		}
		if q.Kind == "relay" && containsStr(q.To, "ola@nmbu.example") {
			relayed = true
		}
	}
	if !relayed {
		t.Errorf("the team member's answer was not relayed to the requester: %+v", queued)
	}
}

func containsStr(ss []string, s string) bool {
	for _, x := range ss {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func TestThreadingGoldenStaffForwards(t *testing.T) {
	// Staff forward mail to the contact address from Outlook (nb, en),
	// Gmail and as an attachment: each case is the original sender's, the
	// acknowledgement goes to them and a receipt to the staff member. A
	// requester forwarding a colleague's mail stays the requester.
	cases, cfg := ingestShape(t, "staff-forwards")
	wantCases(t, cases, 1, 1, 1, 1, 1)
	want := []string{"bjorn.eriksen@kommune.example", "grace@partner.example", "ali.khan@gmail.example", "oystein@leverandor.example", "ida@kunde.example"}
	for i, c := range cases {
		if c.Requester != want[i] {
			t.Errorf("case %d requester %q, want %q", c.ID, c.Requester, want[i])
		}
		if by := map[bool]string{true: "kari@example.org"}[i < 4]; c.OpenedBy != by {
			t.Errorf("case %d opened_by %q, want %q", c.ID, c.OpenedBy, by)
		}
		if containsStr(c.Cc, "kari@example.org") {
			t.Errorf("case %d has the staff member as a participant: %v", c.ID, c.Cc)
		}
	}
	out, _, _ := run(t, "", "outbox", "-config", cfg, "-json")
	var queued []struct {
		Case int      `json:"case"`
		Kind string   `json:"kind"`
		To   []string `json:"to"`
	}
	if err := json.Unmarshal([]byte(out), &queued); err != nil {
		t.Fatal(err)
	}
	acks, receipts := map[int][]string{}, map[int][]string{}
	for _, q := range queued {
		switch q.Kind {
		case "ack":
			acks[q.Case] = append(acks[q.Case], q.To...)
		case "receipt":
			receipts[q.Case] = append(receipts[q.Case], q.To...)
		}
	}
	for i, c := range cases {
		if got := acks[c.ID]; len(got) != 1 || !strings.EqualFold(got[0], want[i]) {
			t.Errorf("case %d acknowledged %v, want %s", c.ID, got, want[i])
		}
		if i < 4 && !containsStr(receipts[c.ID], "kari@example.org") {
			t.Errorf("case %d: no receipt to the staff member: %v", c.ID, receipts[c.ID])
		}
	}
	show, _, _ := run(t, "", "case", "show", "1", "-config", cfg)
	if !strings.Contains(show, "opened by:  kari@example.org") {
		t.Errorf("case show 1 does not say who opened it:\n%s", show)
	}
}

func TestCaseRepairs(t *testing.T) {
	// Three cases (Hanne's, Jonas's, Mette's). Mette's is folded into
	// Hanne's from the command line; mail tagged for Mette's case then goes
	// to Hanne's. A misfiled message is moved; staff link and merge by tag.
	cases, cfg := ingestShape(t, "same-subject-different-people")
	wantCases(t, cases, 2, 2, 1)
	if out, errOut, code := run(t, "", "case", "merge", "3", "1", "-config", cfg); code != 0 || !strings.Contains(out, "[INT#3] merged into [INT#1]") {
		t.Fatalf("case merge: exit %d: %s%s", code, out, errOut)
	}
	if _, errOut, code := run(t, "", "case", "merge", "3", "2", "-config", cfg); code != 1 || !strings.Contains(errOut, "already merged") {
		t.Errorf("merging a merged case again: exit %d: %s", code, errOut)
	}
	show := func(n string) (string, caseShow) {
		t.Helper()
		text, _, _ := run(t, "", "case", "show", n, "-config", cfg)
		js, errOut, code := run(t, "", "case", "show", n, "-config", cfg, "-json")
		if code != 0 {
			t.Fatalf("case show %s: exit %d: %s", n, code, errOut)
		}
		var c caseShow
		if err := json.Unmarshal([]byte(js), &c); err != nil {
			t.Fatal(err)
		}
		return text, c
	}
	text, c3 := show("3")
	if c3.MergedInto != 1 || !strings.Contains(text, "merged into: [INT#1]") || len(c3.Messages) != 0 {
		t.Errorf("case 3 after the merge: %+v\n%s", c3, text)
	}
	_, c1 := show("1")
	if !containsStr(c1.Cc, "mette@nord.example") || !c1.has("m1@nord.example") {
		t.Errorf("case 1 after the merge lacks Mette or her mail: %+v", c1)
	}

	dir := t.TempDir()
	tagged := writeFile(t, dir, "tagged.eml", "From: Mette Berg <mette@nord.example>\nTo: integrasjon@example.org\nSubject: Re: [INT#3] Tilgang\nMessage-ID: <m2@nord.example>\n\nEn ting til.\n")
	if out, _, _ := run(t, "", "ingest", "-config", cfg, "-json", tagged); !strings.Contains(out, `"case":1,"matched_by":"subject-tag"`) {
		t.Errorf("mail for the merged case: %s", out)
	}

	if out, errOut, code := run(t, "", "case", "move", "<h2@uib.example>", "2", "-config", cfg); code != 0 || !strings.Contains(out, "moved from [INT#1] to [INT#2]") {
		t.Fatalf("case move: exit %d: %s%s", code, out, errOut)
	}
	if _, c2 := show("2"); !c2.has("h2@uib.example") {
		t.Errorf("case 2 lacks the moved message: %+v", c2)
	}
	if _, errOut, code := run(t, "", "case", "move", "nosuch@x", "2", "-config", cfg); code != 1 {
		t.Errorf("moving an unknown message: exit %d: %s", code, errOut)
	}

	link := writeFile(t, dir, "link.eml", "From: Kari Staff <kari@example.org>\nTo: integrasjon@example.org\nSubject: [INT#1] [link:INT#2] Tilgang\nMessage-ID: <k1@example.org>\n\nSamme system.\n")
	merge := writeFile(t, dir, "merge.eml", "From: Kari Staff <kari@example.org>\nTo: integrasjon@example.org\nSubject: [merge:INT#1] [INT#2] Tilgang\nMessage-ID: <k2@example.org>\n\nDette er samme sak.\n")
	if out, errOut, code := run(t, "", "ingest", "-config", cfg, "-json", link, merge); code != 0 || strings.Count(out, `"status":"stored"`) != 2 {
		t.Fatalf("staff repair mails: exit %d: %s%s", code, out, errOut)
	}
	_, c1 = show("1")
	text, c2 := show("2")
	if !containsCase(c1.Links, 2) || !containsCase(c2.Links, 1) || !strings.Contains(text, "related:") {
		t.Errorf("links: case 1 %v, case 2 %v\n%s", c1.Links, c2.Links, text)
	}
	if c2.MergedInto != 1 || !c1.has("j1@uit.example") || !c1.has("k2@example.org") {
		t.Errorf("[merge:INT#1] on case 2: case 2 merged into %d; case 1 messages %+v", c2.MergedInto, c1.Messages)
	}
	// Only staff wrote to Jonas's case after his own mail, and only with
	// repair tags: nothing may have been relayed to him.
	out, _, _ := run(t, "", "outbox", "-config", cfg, "-json")
	var queued []struct {
		Kind string   `json:"kind"`
		To   []string `json:"to"`
	}
	if err := json.Unmarshal([]byte(out), &queued); err != nil {
		t.Fatal(err)
	}
	for _, q := range queued {
		if q.Kind == "relay" && containsStr(q.To, "jonas@uit.example") {
			t.Errorf("a repair mail was relayed to a requester: %+v", q)
		}
	}
}

type caseShow struct {
	MergedInto int      `json:"merged_into"`
	Links      []int    `json:"links"`
	Cc         []string `json:"participants"`
	Messages   []struct {
		MessageID string `json:"message_id"`
	} `json:"messages"`
}

func (c caseShow) has(id string) bool {
	for _, m := range c.Messages {
		if m.MessageID == id {
			return true
		}
	}
	return false
}

func containsCase(list []int, n int) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}
