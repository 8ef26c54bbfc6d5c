package routing

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	kp "kontaktpunkt"
)

// memIndex is an in-memory Index: message ids to cases, cases, referenced
// ids to cases and normalised subjects to cases.
type memIndex struct {
	ids      map[string]kp.CaseID
	cases    map[kp.CaseID]*kp.Case
	refs     map[string][]kp.CaseID
	subjects map[string][]kp.CaseID
}

func (m *memIndex) ReferencedBy(id string) []kp.CaseID { return m.refs[id] }

func (m *memIndex) SubjectCases(s string) []kp.CaseID { return m.subjects[s] }

func (m *memIndex) LookupID(id string) (kp.CaseID, bool) {
	c, ok := m.ids[id]
	return c, ok
}

func (m *memIndex) Case(id kp.CaseID) (*kp.Case, bool) {
	c, ok := m.cases[id]
	return c, ok
}

var threadNow = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// threadIndex holds:
//
//	case 1 open:      ids a1@x (request), o1@uio.no (our acknowledgement)
//	case 2 open:      ids a2@x, o2@uio.no
//	case 3 resolved 3 days ago:  ids a3@x, o3@uio.no
//	case 4 resolved 30 days ago: ids a4@x, o4@uio.no
//	unfiled:          u@x (case 0)
func threadIndex() *memIndex {
	return &memIndex{
		ids: map[string]kp.CaseID{
			"a1@x": 1, "o1@uio.no": 1,
			"a2@x": 2, "o2@uio.no": 2,
			"a3@x": 3, "o3@uio.no": 3,
			"a4@x": 4, "o4@uio.no": 4,
			"u@x":      0,
			"orphan@x": 99, // points at a case that does not exist
		},
		cases: map[kp.CaseID]*kp.Case{
			1: {ID: 1, Status: kp.StatusOpen},
			2: {ID: 2, Status: kp.StatusWaiting},
			3: {ID: 3, Status: kp.StatusResolved, ResolvedAt: threadNow.Add(-3 * 24 * time.Hour)},
			4: {ID: 4, Status: kp.StatusResolved, ResolvedAt: threadNow.Add(-30 * 24 * time.Hour)},
		},
	}
}

func TestThreadMessage(t *testing.T) {
	type msg struct {
		id, subject       string
		inReplyTo, refs   []string
		embedded          []string
		class             kp.Class
		token             kp.CaseID
		reopenWithin      time.Duration
		resolvedAtMissing bool
	}
	tests := []struct {
		name string
		m    msg
		want Thread
	}{
		// Rule 1: duplicates.
		{"duplicate of a case message", msg{id: "a1@x", subject: "[INT#2] x", inReplyTo: []string{"o2@uio.no"}},
			Thread{MatchedBy: kp.MatchDuplicate, Case: 1, Duplicate: true}},
		{"duplicate of an unfiled message", msg{id: "u@x", class: kp.ClassBulk},
			Thread{MatchedBy: kp.MatchDuplicate, Case: 0, Duplicate: true}},
		{"duplicate of our own outbound", msg{id: "o2@uio.no"},
			Thread{MatchedBy: kp.MatchDuplicate, Case: 2, Duplicate: true}},

		// Rule 2: reply token.
		{"reply token", msg{id: "n@x", subject: "changed subject", token: 2},
			Thread{MatchedBy: kp.MatchReplyToken, Case: 2}},
		{"reply token beats headers", msg{id: "n@x", token: 2, inReplyTo: []string{"o1@uio.no"}},
			Thread{MatchedBy: kp.MatchReplyToken, Case: 2}},
		{"reply token beats subject tag", msg{id: "n@x", token: 2, subject: "[INT#1] x"},
			Thread{MatchedBy: kp.MatchReplyToken, Case: 2}},
		{"reply token of a missing case is ignored", msg{id: "n@x", token: 77, inReplyTo: []string{"o1@uio.no"}},
			Thread{MatchedBy: kp.MatchInReplyTo, Case: 1}},

		// Rule 3: In-Reply-To, References.
		{"in-reply-to only, subject changed", msg{id: "n@x", subject: "something else", inReplyTo: []string{"o1@uio.no"}},
			Thread{MatchedBy: kp.MatchInReplyTo, Case: 1}},
		{"in-reply-to to an inbound message", msg{id: "n@x", inReplyTo: []string{"a2@x"}},
			Thread{MatchedBy: kp.MatchInReplyTo, Case: 2}},
		{"in-reply-to: first known id", msg{id: "n@x", inReplyTo: []string{"unknown@x", "o2@uio.no", "o1@uio.no"}},
			Thread{MatchedBy: kp.MatchInReplyTo, Case: 2}},
		{"references only", msg{id: "n@x", refs: []string{"o1@uio.no"}},
			Thread{MatchedBy: kp.MatchReferences, Case: 1}},
		{"references newest first", msg{id: "n@x", refs: []string{"o1@uio.no", "o2@uio.no", "unknown@x"}},
			Thread{MatchedBy: kp.MatchReferences, Case: 2}},
		{"in-reply-to and references disagree: in-reply-to wins", msg{id: "n@x", inReplyTo: []string{"o1@uio.no"}, refs: []string{"o2@uio.no"}},
			Thread{MatchedBy: kp.MatchInReplyTo, Case: 1}},
		{"unknown in-reply-to falls back to references", msg{id: "n@x", inReplyTo: []string{"unknown@x"}, refs: []string{"o2@uio.no"}},
			Thread{MatchedBy: kp.MatchReferences, Case: 2}},
		{"unfiled id does not match", msg{id: "n@x", inReplyTo: []string{"u@x"}, refs: []string{"u@x"}},
			Thread{MatchedBy: kp.MatchNew, NewCase: true}},
		{"id of a missing case does not match", msg{id: "n@x", inReplyTo: []string{"orphan@x"}},
			Thread{MatchedBy: kp.MatchNew, NewCase: true}},

		// Rule 4: subject tag.
		{"subject tag only", msg{id: "n@x", subject: "Re: [INT#2] x"},
			Thread{MatchedBy: kp.MatchSubjectTag, Case: 2}},
		{"subject tag lower case, no brackets", msg{id: "n@x", subject: "Sv: int#2 x"},
			Thread{MatchedBy: kp.MatchSubjectTag, Case: 2}},
		{"tag wins over disagreeing in-reply-to", msg{id: "n@x", subject: "[INT#2] x", inReplyTo: []string{"o1@uio.no"}},
			Thread{MatchedBy: kp.MatchSubjectTag, Case: 2}},
		{"tag wins over disagreeing references", msg{id: "n@x", subject: "[INT#2] x", refs: []string{"o1@uio.no"}},
			Thread{MatchedBy: kp.MatchSubjectTag, Case: 2}},
		{"tag agreeing with headers keeps the header rule", msg{id: "n@x", subject: "[INT#1] x", inReplyTo: []string{"o1@uio.no"}},
			Thread{MatchedBy: kp.MatchInReplyTo, Case: 1}},
		{"tag of a missing case is ignored", msg{id: "n@x", subject: "[INT#77] x", inReplyTo: []string{"o1@uio.no"}},
			Thread{MatchedBy: kp.MatchInReplyTo, Case: 1}},
		{"tag of a missing case alone: new", msg{id: "n@x", subject: "[INT#77] x"},
			Thread{MatchedBy: kp.MatchNew, NewCase: true}},
		{"tag with other prefix is no tag", msg{id: "n@x", subject: "[SAK#1] x"},
			Thread{MatchedBy: kp.MatchNew, NewCase: true}},

		// Rule 5: bounces.
		{"bounce by embedded id", msg{id: "n@x", class: kp.ClassBounce, embedded: []string{"unknown@x", "o2@uio.no"}},
			Thread{MatchedBy: kp.MatchBounce, Case: 2}},
		{"auto-reply by embedded id", msg{id: "n@x", class: kp.ClassAutoReply, embedded: []string{"o1@uio.no"}},
			Thread{MatchedBy: kp.MatchBounce, Case: 1}},
		{"bounce: headers first", msg{id: "n@x", class: kp.ClassBounce, inReplyTo: []string{"o1@uio.no"}, embedded: []string{"o2@uio.no"}},
			Thread{MatchedBy: kp.MatchInReplyTo, Case: 1}},
		{"embedded ids ignored for human mail", msg{id: "n@x", embedded: []string{"o1@uio.no"}},
			Thread{MatchedBy: kp.MatchNew, NewCase: true}},
		{"embedded ids ignored for bulk mail", msg{id: "n@x", class: kp.ClassBulk, embedded: []string{"o1@uio.no"}},
			Thread{MatchedBy: kp.MatchNone, Unfiled: true}},
		{"bounce with unknown ids: unfiled", msg{id: "n@x", class: kp.ClassBounce, embedded: []string{"unknown@x"}},
			Thread{MatchedBy: kp.MatchNone, Unfiled: true}},

		// Rule 6: new or unfiled.
		{"human, nothing matches: new", msg{id: "n@x", subject: "Tilgang til FS"},
			Thread{MatchedBy: kp.MatchNew, NewCase: true}},
		{"human without message-id: new", msg{subject: "x"},
			Thread{MatchedBy: kp.MatchNew, NewCase: true}},
		{"auto-reply unmatched: unfiled", msg{id: "n@x", class: kp.ClassAutoReply},
			Thread{MatchedBy: kp.MatchNone, Unfiled: true}},
		{"loop unmatched: unfiled", msg{id: "n@x", class: kp.ClassLoop},
			Thread{MatchedBy: kp.MatchNone, Unfiled: true}},
		{"machine mail attaches to an open case", msg{id: "n@x", class: kp.ClassAutoReply, subject: "Fravær: [INT#1] x"},
			Thread{MatchedBy: kp.MatchSubjectTag, Case: 1}},

		// Resolved cases.
		{"human reply within reopen window: reopen", msg{id: "n@x", inReplyTo: []string{"o3@uio.no"}},
			Thread{MatchedBy: kp.MatchInReplyTo, Case: 3, Reopen: true}},
		{"human reply by tag within window: reopen", msg{id: "n@x", subject: "[INT#3] x"},
			Thread{MatchedBy: kp.MatchSubjectTag, Case: 3, Reopen: true}},
		{"human reply after the window: new case with previous", msg{id: "n@x", inReplyTo: []string{"o4@uio.no"}},
			Thread{MatchedBy: kp.MatchNew, NewCase: true, Previous: 4}},
		{"token to a case resolved long ago: new case with previous", msg{id: "n@x", token: 4},
			Thread{MatchedBy: kp.MatchNew, NewCase: true, Previous: 4}},
		{"shorter window makes it new", msg{id: "n@x", inReplyTo: []string{"o3@uio.no"}, reopenWithin: 48 * time.Hour},
			Thread{MatchedBy: kp.MatchNew, NewCase: true, Previous: 3}},
		{"longer window reopens", msg{id: "n@x", inReplyTo: []string{"o4@uio.no"}, reopenWithin: 60 * 24 * time.Hour},
			Thread{MatchedBy: kp.MatchInReplyTo, Case: 4, Reopen: true}},
		{"negative window never reopens", msg{id: "n@x", inReplyTo: []string{"o3@uio.no"}, reopenWithin: -1},
			Thread{MatchedBy: kp.MatchNew, NewCase: true, Previous: 3}},
		{"exactly at the window edge reopens", msg{id: "n@x", inReplyTo: []string{"o3@uio.no"}, reopenWithin: 3 * 24 * time.Hour},
			Thread{MatchedBy: kp.MatchInReplyTo, Case: 3, Reopen: true}},
		{"machine mail to a resolved case attaches without reopening", msg{id: "n@x", class: kp.ClassAutoReply, inReplyTo: []string{"o3@uio.no"}},
			Thread{MatchedBy: kp.MatchInReplyTo, Case: 3}},
		{"bounce to a case resolved long ago attaches", msg{id: "n@x", class: kp.ClassBounce, embedded: []string{"o4@uio.no"}},
			Thread{MatchedBy: kp.MatchBounce, Case: 4}},
		{"resolved without ResolvedAt: reopen", msg{id: "n@x", inReplyTo: []string{"o4@uio.no"}, resolvedAtMissing: true},
			Thread{MatchedBy: kp.MatchInReplyTo, Case: 4, Reopen: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx := threadIndex()
			if tt.m.resolvedAtMissing {
				idx.cases[4].ResolvedAt = time.Time{}
			}
			class := tt.m.class
			if class == "" {
				class = kp.ClassHuman
			}
			in := ThreadInput{
				Parsed: &kp.Parsed{
					MessageID: tt.m.id, Subject: tt.m.subject,
					InReplyTo: tt.m.inReplyTo, References: tt.m.refs, EmbeddedIDs: tt.m.embedded,
				},
				Class: class, TagPrefix: "INT", TokenCase: tt.m.token,
				ReopenWithin: tt.m.reopenWithin, Now: threadNow,
			}
			if got := ThreadMessage(in, idx); got != tt.want {
				t.Errorf("ThreadMessage = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestThreadMessageNilParsed(t *testing.T) {
	got := ThreadMessage(ThreadInput{Class: kp.ClassHuman, Now: threadNow}, threadIndex())
	if want := (Thread{MatchedBy: kp.MatchNew, NewCase: true}); got != want {
		t.Errorf("ThreadMessage(nil Parsed) = %+v, want %+v", got, want)
	}
}

// TestRoutingStaysPure asserts the import graph: decisions never reach
// mailbox, store, the network or the third-party mail and storage packages,
// not even indirectly.
func TestRoutingStaysPure(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("go tool not found: %v", err)
		}
		t.Skipf("go tool not found: %v", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	forbidden := []string{
		"kontaktpunkt/", "github.com/emersion/", "github.com/wneessen/", "go.etcd.io/",
		"net/http", "net/smtp", "os/exec", "database/",
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "kontaktpunkt/routing" {
			continue
		}
		for _, f := range forbidden {
			if dep == f || strings.HasSuffix(f, "/") && strings.HasPrefix(dep, f) {
				t.Errorf("routing depends on %s", dep)
			}
		}
	}
}

func BenchmarkThreadMessage(b *testing.B) {
	idx := threadIndex()
	in := ThreadInput{
		Parsed: &kp.Parsed{
			MessageID: "n@x", Subject: "SV: Re: [INT#2] Tilgang til FS",
			InReplyTo: []string{"unknown@x"}, References: []string{"a1@x", "o1@uio.no", "unknown@x"},
		},
		Class: kp.ClassHuman, TagPrefix: "INT", Now: threadNow,
	}
	for b.Loop() {
		ThreadMessage(in, idx)
	}
}
