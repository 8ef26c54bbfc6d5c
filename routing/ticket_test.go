package routing

import (
	"net/textproto"
	"reflect"
	"strings"
	"testing"

	kp "kontaktpunkt"
)

// tmsg is msg with header keys in canonical form, as mailmsg.Parse gives them.
func tmsg(subject, from string, kv ...string) *kp.Parsed {
	for i := 0; i < len(kv); i += 2 {
		kv[i] = textproto.CanonicalMIMEHeaderKey(kv[i])
	}
	return msg(subject, from, kv...)
}

func TestDetectTicket(t *testing.T) {
	tests := []struct {
		name string
		p    *kp.Parsed
		want TicketRef
		ok   bool
	}{
		{"rt by RT-Ticket", tmsg("[rt.uio.no #4711] Tilgang", "fs@usit.uio.no", "RT-Ticket", "rt.uio.no #4711", "Precedence", "bulk"),
			TicketRef{TicketRT, "[rt.uio.no #4711]"}, true},
		{"rt ticket header wins over subject", tmsg("[other #1] [rt.uio.no #4711] x", "fs@usit.uio.no", "RT-Ticket", "rt.uio.no #4711"),
			TicketRef{TicketRT, "[rt.uio.no #4711]"}, true},
		{"rt by loop prevention picks its own tag", tmsg("[INT#4] [rt.uio.no #12] Svar", "rt@uio.no", "X-RT-Loop-Prevention", "rt.uio.no"),
			TicketRef{TicketRT, "[rt.uio.no #12]"}, true},
		{"rt originator only", tmsg("[rt.example #9] x", "rt@rt.example", "RT-Originator", "per@uio.no"),
			TicketRef{TicketRT, "[rt.example #9]"}, true},
		{"rt managed-by without a tag", tmsg("Tilgang", "rt@rt.example", "Managed-By", "RT 5.0.5 (http://www.bestpractical.com/rt/)"),
			TicketRef{TicketRT, ""}, true},
		{"rt autoreply", tmsg("AutoReply: [rt.example #123] [INT#4] Tilgang", "fs@rt.example", "RT-Ticket", "rt.example #123"),
			TicketRef{TicketRT, "[rt.example #123]"}, true},
		{"jira by fingerprint", tmsg("[JIRA] (FS-1234) Eksport feiler", "jira@jira.uio.no", "X-JIRA-FingerPrint", "abc123", "Auto-Submitted", "auto-generated"),
			TicketRef{TicketJira, "FS-1234"}, true},
		{"jira by subject", tmsg("[JIRA] Created: (LMS-77) Canvas-synk", "jira@jira.uio.no"),
			TicketRef{TicketJira, "LMS-77"}, true},
		{"jira subject from a person", tmsg("[JIRA] (LMS-77) hva betyr dette?", "kari@uio.no"), TicketRef{}, false},
		{"servicenow with watermark", with(tmsg("INC0012345 er oppdatert", "servicenow@vendor.example"), func(p *kp.Parsed) {
			p.Text = "Hei,\n\nsaken er oppdatert.\n\nRef:MSG0456789"
		}), TicketRef{TicketServiceNow, "INC0012345"}, true},
		{"servicenow number without watermark is nothing", tmsg("INC0012345 er oppdatert", "kari@vendor.example"), TicketRef{}, false},
		{"znuny", tmsg("[Ticket#2026120210000012] Tilgang", "support@vendor.example", "X-OTRS-Loop", "no"),
			TicketRef{TicketOTRS, "[Ticket#2026120210000012]"}, true},
		{"znuny header", tmsg("RE: [Ticket#2026120210000012] Tilgang", "support@vendor.example", "X-Znuny-Version", "7"),
			TicketRef{TicketOTRS, "[Ticket#2026120210000012]"}, true},
		{"zammad", tmsg("[Ticket#31001] Tilgang", "support@zammad.example", "X-Zammad-Ticket-Id", "12"),
			TicketRef{TicketZammad, "[Ticket#31001]"}, true},
		{"topdesk", tmsg("Melding I 2312 045 er registrert", "servicedesk@uni.example", "X-Mailer", "TOPdesk"),
			TicketRef{TicketTOPdesk, "I 2312 045"}, true},
		{"person writing a ticket number", tmsg("Om sak [rt.uio.no #4711]", "kari@uio.no"), TicketRef{}, false},
		{"plain mail", tmsg("Tilgang til FS", "ola@example.org"), TicketRef{}, false},
		{"nil", nil, TicketRef{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := DetectTicket(tt.p)
			if got != tt.want || ok != tt.ok {
				t.Errorf("DetectTicket = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestTicketHeaders(t *testing.T) {
	for _, tt := range []struct {
		name string
		p    *kp.Parsed
		want bool
	}{
		{"rt", tmsg("x", "rt@uio.no", "RT-Ticket", "rt.uio.no #1"), true},
		{"znuny", tmsg("x", "s@v.example", "X-OTRS-Loop", "no"), true},
		{"zammad", tmsg("x", "s@v.example", "X-Zammad-Ticket-Id", "1"), true},
		{"topdesk", tmsg("x", "s@v.example", "X-Mailer", "TOPdesk 11"), true},
		{"a person quoting servicenow", with(tmsg("SV: INC0012345 oppdatert", "kari@uio.no"), func(p *kp.Parsed) {
			p.Text = "[note] Se under.\n\n> Ref:MSG0456789"
		}), false},
		{"a person writing a jira subject", tmsg("[JIRA] (FS-1) x", "kari@uio.no"), false},
		{"nil", nil, false},
	} {
		if got := TicketHeaders(tt.p); got != tt.want {
			t.Errorf("%s: TicketHeaders = %v", tt.name, got)
		}
	}
}

func TestSubjectTicketRef(t *testing.T) {
	for subject, want := range map[string]string{
		"[rt.uio.no #4711] [INT#4] Tilgang":       "[rt.uio.no #4711]",
		"[INT #4] Tilgang":                        "",
		"Re: [INT#4] [Ticket#2026120210000012] x": "[Ticket#2026120210000012]",
		"RITM0012345 Tilgang":                     "RITM0012345",
		"(FS-1234) Eksport":                       "FS-1234",
		"INT-12 is our prefix":                    "",
		"Tilgang til FS":                          "",
	} {
		if got := SubjectTicketRef(subject, "INT"); got != want {
			t.Errorf("SubjectTicketRef(%q) = %q, want %q", subject, got, want)
		}
	}
}

func TestTicketRefKeys(t *testing.T) {
	got := TicketRefKeys("[rt.uio.no #4711] Re: [RT.UIO.NO  #4711] FS-12 INC0012345 [Ticket#99999] I 2312 045")
	want := []string{"rt.uio.no #4711", "ticket#99999", "inc0012345", "fs-12", "i 2312 045"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("TicketRefKeys = %q, want %q", got, want)
	}
	if k := TicketRefKey(" [RT.uio.no   #4711] "); k != "rt.uio.no #4711" {
		t.Errorf("TicketRefKey = %q", k)
	}
}

func TestWithCounterpartRefs(t *testing.T) {
	for _, tt := range []struct {
		subject string
		refs    []string
		want    string
	}{
		{"[INT#42] Tilgang", []string{"[rt.uio.no #4711]"}, "[INT#42] [rt.uio.no #4711] Tilgang"},
		{"[INT#42] [note] Tilgang", []string{"FS-12"}, "[INT#42] FS-12 [note] Tilgang"},
		{"[INT#42] [rt.uio.no #4711] Tilgang", []string{"[RT.uio.no #4711]"}, "[INT#42] [rt.uio.no #4711] Tilgang"},
		{"[INT#42] Tilgang", nil, "[INT#42] Tilgang"},
		{"[INT#42] Tilgang", []string{"INC0012345", "[rt.x #1]"}, "[INT#42] INC0012345 [rt.x #1] Tilgang"},
	} {
		if got := WithCounterpartRefs(tt.subject, "[INT#42]", tt.refs); got != tt.want {
			t.Errorf("WithCounterpartRefs(%q, %q) = %q, want %q", tt.subject, tt.refs, got, tt.want)
		}
	}
}

func TestAddCounterpartRef(t *testing.T) {
	c := &kp.Case{}
	if !AddCounterpartRef(c, kp.CounterpartRef{Team: "fs", Addr: "RT@uio.no", System: "rt", Ref: "[rt.uio.no #1]"}) {
		t.Fatal("first reference not added")
	}
	if AddCounterpartRef(c, kp.CounterpartRef{Team: "fs", Addr: "per@uio.no", System: "rt", Ref: "[RT.uio.no #1]"}) {
		t.Fatal("the same reference from another address of the team counted as new")
	}
	if !AddCounterpartRef(c, kp.CounterpartRef{Addr: "sn@vendor.example", System: "servicenow", Ref: "INC0000001"}) {
		t.Fatal("a second counterpart not added")
	}
	if !AddCounterpartRef(c, kp.CounterpartRef{Team: "fs", Addr: "rt@uio.no", System: "rt", Ref: "[rt.uio.no #2]"}) {
		t.Fatal("a changed reference not taken")
	}
	if AddCounterpartRef(c, kp.CounterpartRef{Addr: "x@y.example", Ref: ""}) {
		t.Fatal("an empty reference added")
	}
	want := []kp.CounterpartRef{
		{Team: "fs", Addr: "rt@uio.no", System: "rt", Ref: "[rt.uio.no #2]"},
		{Addr: "sn@vendor.example", System: "servicenow", Ref: "INC0000001"},
	}
	if !reflect.DeepEqual(c.Counterparts, want) {
		t.Fatalf("Counterparts = %+v", c.Counterparts)
	}
}

func TestMatchAddrPattern(t *testing.T) {
	for _, tt := range []struct {
		pattern, addr string
		want          bool
	}{
		{"rt@uio.no", "RT@UIO.no", true},
		{"rt@uio.no", "rt2@uio.no", false},
		{"@rt.uio.no", "fs@rt.uio.no", true},
		{"@rt.uio.no", "fs@queue.rt.uio.no", true},
		{"@rt.uio.no", "fs@xrt.uio.no", false},
		{"rt.uio.no", "fs@rt.uio.no", true},
		{"*-rt@uio.no", "fs-rt@uio.no", true},
		{"*-rt@uio.no", "fs@uio.no", false},
		{"", "fs@uio.no", false},
		{"@rt.uio.no", "", false},
	} {
		if got := MatchAddrPattern(tt.pattern, tt.addr); got != tt.want {
			t.Errorf("MatchAddrPattern(%q, %q) = %v", tt.pattern, tt.addr, got)
		}
	}
}

func TestDirectoryTicketSystems(t *testing.T) {
	d := &Directory{Teams: []Team{
		{Name: "fs", Members: []string{"per@uio.no"}, TicketSystem: "@rt.uio.no"},
		{Name: "lms", Members: []string{"per@uio.no"}, Escalation: "lms-leder@uio.no"},
	}}
	if !d.IsTicketSystem("fs@rt.uio.no") || d.IsTicketSystem("per@uio.no") {
		t.Error("IsTicketSystem")
	}
	if !d.IsResponsible("fs@rt.uio.no") {
		t.Error("a team's ticket system is not a responsible party")
	}
	if got := d.TeamsOf("per@uio.no"); !reflect.DeepEqual(got, []string{"fs", "lms"}) {
		t.Errorf("TeamsOf(per) = %v", got)
	}
	if got := d.TeamsOf("fs@rt.uio.no"); !reflect.DeepEqual(got, []string{"fs"}) {
		t.Errorf("TeamsOf(rt) = %v", got)
	}
	if !d.InTeam("team-lms", "lms-leder@uio.no") || d.InTeam("fs", "lms-leder@uio.no") || d.InTeam("nope", "per@uio.no") {
		t.Error("InTeam")
	}
}

// refIndex is memIndex with the counterpart reference index.
type refIndex struct {
	*memIndex
	refs map[string][]kp.CaseID
}

func (r refIndex) CounterpartCases(key string) []kp.CaseID { return r.refs[key] }

func TestThreadCounterpartRef(t *testing.T) {
	idx := refIndex{memIndex: threadIndex(), refs: map[string][]kp.CaseID{
		"rt.uio.no #4711": {2},
		"inc0012345":      {1, 2},
	}}
	idx.cases[2].Counterparts = []kp.CounterpartRef{{Team: "fs", Addr: "rt@uio.no", System: "rt", Ref: "[rt.uio.no #4711]"}}
	idx.cases[1].Counterparts = []kp.CounterpartRef{{Addr: "sn@vendor.example", System: "servicenow", Ref: "INC0012345"}}
	idx.cases[2].Counterparts = append(idx.cases[2].Counterparts, kp.CounterpartRef{Addr: "other@vendor.example", Ref: "INC0012345"})
	tests := []struct {
		name, subject, sender string
		teams                 []string
		inReplyTo             []string
		class                 kp.Class
		want                  Thread
	}{
		{"team ticket system", "[rt.uio.no #4711] Svar", "rt@uio.no", []string{"fs"}, nil, kp.ClassHuman,
			Thread{MatchedBy: kp.MatchCounterpartRef, Case: 2}},
		{"another address of the team", "Re: [RT.uio.no #4711] Svar", "per@uio.no", []string{"fs"}, nil, kp.ClassHuman,
			Thread{MatchedBy: kp.MatchCounterpartRef, Case: 2}},
		{"auto-reply of the team", "AutoReply: [rt.uio.no #4711] Svar", "rt@uio.no", []string{"fs"}, nil, kp.ClassAutoReply,
			Thread{MatchedBy: kp.MatchCounterpartRef, Case: 2}},
		{"a stranger with the reference", "[rt.uio.no #4711] Svar", "ola@example.org", nil, nil, kp.ClassHuman,
			Thread{MatchedBy: kp.MatchNew, NewCase: true}},
		{"another team", "[rt.uio.no #4711] Svar", "lms@uio.no", []string{"lms"}, nil, kp.ClassHuman,
			Thread{MatchedBy: kp.MatchNew, NewCase: true}},
		{"address counterpart picks its own case", "INC0012345 oppdatert", "SN@vendor.example", nil, nil, kp.ClassHuman,
			Thread{MatchedBy: kp.MatchCounterpartRef, Case: 1}},
		{"same number from another counterpart", "INC0012345 oppdatert", "other@vendor.example", nil, nil, kp.ClassHuman,
			Thread{MatchedBy: kp.MatchCounterpartRef, Case: 2}},
		{"headers come first", "[rt.uio.no #4711] Svar", "rt@uio.no", []string{"fs"}, []string{"o1@uio.no"}, kp.ClassHuman,
			Thread{MatchedBy: kp.MatchInReplyTo, Case: 1}},
		{"our tag comes first", "[INT#1] [rt.uio.no #4711] Svar", "rt@uio.no", []string{"fs"}, nil, kp.ClassHuman,
			Thread{MatchedBy: kp.MatchSubjectTag, Case: 1}},
		{"an unknown reference", "[rt.uio.no #1] Svar", "rt@uio.no", []string{"fs"}, nil, kp.ClassHuman,
			Thread{MatchedBy: kp.MatchNew, NewCase: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &kp.Parsed{MessageID: "new@x", Subject: tt.subject, From: kp.Address{Addr: tt.sender}, InReplyTo: tt.inReplyTo}
			got := ThreadMessage(ThreadInput{Parsed: p, Class: tt.class, Now: threadNow, Sender: tt.sender, SenderTeams: tt.teams}, idx)
			if got != tt.want {
				t.Errorf("ThreadMessage = %+v, want %+v", got, tt.want)
			}
		})
	}
	// An Index without the reference index never matches by reference.
	p := &kp.Parsed{MessageID: "new@x", Subject: "[rt.uio.no #4711] Svar"}
	if got := ThreadMessage(ThreadInput{Parsed: p, Class: kp.ClassHuman, Now: threadNow, Sender: "rt@uio.no", SenderTeams: []string{"fs"}}, idx.memIndex); got.MatchedBy != kp.MatchNew {
		t.Errorf("plain Index: %+v", got)
	}
}

func TestThreadSpamIsUnfiled(t *testing.T) {
	p := &kp.Parsed{MessageID: "spam@x", Subject: "[INT#1] Billig", InReplyTo: []string{"o1@uio.no"}}
	got := ThreadMessage(ThreadInput{Parsed: p, Class: kp.ClassSpam, Now: threadNow}, threadIndex())
	if got != (Thread{MatchedBy: kp.MatchNone, Unfiled: true}) {
		t.Fatalf("spam = %+v", got)
	}
	// A duplicate is still a duplicate.
	p.MessageID = "a1@x"
	if got := ThreadMessage(ThreadInput{Parsed: p, Class: kp.ClassSpam, Now: threadNow}, threadIndex()); !got.Duplicate {
		t.Fatalf("spam duplicate = %+v", got)
	}
}

// FuzzTicketRefs feeds subjects and RT-Ticket values to the reference
// parsers: keys are normal and bounded, a reference found in a subject is
// part of it, and a reference put beside a tag is in the result.
func FuzzTicketRefs(f *testing.F) {
	for _, s := range []string{
		"[rt.uio.no #4711] [INT#4] Tilgang", "AutoReply: [rt.example #123] x", "[JIRA] (FS-1234) y", "INC0012345 z",
		"[Ticket#2026120210000012] RE: x", "I 2312 045", "[ #1]", "[a #]", "[[[[ #1]]]]", "FS-0", "\xff[\xfe #1]", "",
	} {
		f.Add(s, "rt.uio.no #4711")
	}
	f.Fuzz(func(t *testing.T, subject, rtTicket string) {
		keys := TicketRefKeys(subject)
		if len(keys) > 16 {
			t.Fatalf("%d keys", len(keys))
		}
		for _, k := range keys {
			if k == "" || TicketRefKey(k) != k {
				t.Fatalf("key %q is not normal", k)
			}
		}
		if r := SubjectTicketRef(subject, "INT"); r != "" && !strings.Contains(subject, r) {
			t.Fatalf("SubjectTicketRef(%q) = %q, not part of it", subject, r)
		}
		p := tmsg(subject, "rt@uio.no", "RT-Ticket", rtTicket)
		if tr, ok := DetectTicket(p); !ok || tr.System != TicketRT {
			t.Fatalf("RT-Ticket header not detected: %+v", tr)
		} else if tr.Ref != "" && TicketRefKey(tr.Ref) == "" {
			t.Fatalf("reference %q has no key", tr.Ref)
		}
		if got := WithCounterpartRefs("[INT#1] "+subject, "[INT#1]", []string{"[rt.x #1]"}); !strings.Contains(strings.ToLower(got), "[rt.x #1]") {
			t.Fatalf("reference missing from %q", got)
		}
	})
}
