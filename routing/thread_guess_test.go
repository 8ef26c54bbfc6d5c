package routing

import (
	"testing"
	"time"

	kp "kontaktpunkt"
)

// guessIndex holds the cases the rules after the header rules decide
// between:
//
//	10 open      ann@x requests, bob@y Cc'd   "Tilgang til FS"   referenced ghost@x, late@x
//	11 open      cat@z                        "Tilgang"          referenced ghost2@x
//	12 open      dan@z                        "Tilgang"          referenced ghost2@x
//	13 resolved 3 days ago  eve@q             "Rapport"
//	14 resolved 30 days ago eve@q             "Gammel sak"
//	15 merged into 10                         "Tilgang til FS"   referenced late15@x
//	16, 17 open  fay@w in both                "Felles"
func guessIndex() *memIndex {
	cases := map[kp.CaseID]*kp.Case{
		10: {ID: 10, Subject: "Tilgang til FS", Status: kp.StatusOpen, Requester: kp.Address{Addr: "ann@x"}, Participants: []string{"bob@y"}},
		11: {ID: 11, Subject: "Tilgang", Status: kp.StatusOpen, Requester: kp.Address{Addr: "cat@z"}},
		12: {ID: 12, Subject: "Tilgang", Status: kp.StatusWaiting, Requester: kp.Address{Addr: "dan@z"}},
		13: {ID: 13, Subject: "Rapport", Status: kp.StatusResolved, Requester: kp.Address{Addr: "eve@q"}, ResolvedAt: threadNow.Add(-3 * 24 * time.Hour)},
		14: {ID: 14, Subject: "Gammel sak", Status: kp.StatusResolved, Requester: kp.Address{Addr: "eve@q"}, ResolvedAt: threadNow.Add(-30 * 24 * time.Hour)},
		15: {ID: 15, Subject: "Tilgang til FS", Status: kp.StatusResolved, Requester: kp.Address{Addr: "ann@x"}, MergedInto: 10},
		16: {ID: 16, Subject: "Felles", Status: kp.StatusOpen, Requester: kp.Address{Addr: "fay@w"}},
		17: {ID: 17, Subject: "Felles", Status: kp.StatusOpen, Requester: kp.Address{Addr: "gus@w"}, Participants: []string{"fay@w"}},
	}
	return &memIndex{
		ids:   map[string]kp.CaseID{"a10@x": 10, "a11@x": 11},
		cases: cases,
		refs: map[string][]kp.CaseID{
			"ghost@x": {10}, "late@x": {10}, "ghost2@x": {11, 12}, "late15@x": {15},
		},
		subjects: map[string][]kp.CaseID{
			"tilgang til fs": {15, 10}, "tilgang": {12, 11}, "rapport": {13}, "gammel sak": {14}, "felles": {17, 16},
		},
	}
}

func TestThreadMessageGuesses(t *testing.T) {
	type msg struct {
		id, from, subject, own string
		to                     []string
		inReplyTo, refs        []string
		class                  kp.Class
	}
	addrs := func(ss []string) []kp.Address {
		var out []kp.Address
		for _, s := range ss {
			out = append(out, kp.Address{Addr: s})
		}
		return out
	}
	newCase := Thread{MatchedBy: kp.MatchNew, NewCase: true}
	tests := []struct {
		name string
		m    msg
		want Thread
	}{
		// referenced-by: the parent arrives after its reply.
		{"late parent joins its reply's case", msg{id: "late@x", from: "zed@n", subject: "Spørsmål"},
			Thread{MatchedBy: kp.MatchReferencedBy, Case: 10, AddParticipant: true}},
		{"late parent of a merged case goes to the survivor", msg{id: "late15@x", from: "ann@x"},
			Thread{MatchedBy: kp.MatchReferencedBy, Case: 10, AddParticipant: true}},
		{"header match beats referenced-by", msg{id: "late@x", from: "cat@z", inReplyTo: []string{"a11@x"}},
			Thread{MatchedBy: kp.MatchInReplyTo, Case: 11}},

		// shared-parent: replies to a parent we never got.
		{"second reply-all by a participant", msg{id: "n@x", from: "bob@y", inReplyTo: []string{"ghost@x"}},
			Thread{MatchedBy: kp.MatchSharedParent, Case: 10, AddParticipant: true}},
		{"second reply-all to the requester", msg{id: "n@x", from: "new@n", to: []string{"ann@x"}, refs: []string{"ghost@x"}},
			Thread{MatchedBy: kp.MatchSharedParent, Case: 10, AddParticipant: true}},
		{"same parent, nobody shared: new", msg{id: "n@x", from: "new@n", to: []string{"other@n"}, inReplyTo: []string{"ghost@x"}},
			newCase},
		{"parent of two cases, one shares the sender", msg{id: "n@x", from: "cat@z", inReplyTo: []string{"ghost2@x"}},
			Thread{MatchedBy: kp.MatchSharedParent, Case: 11, AddParticipant: true}},
		{"parent of two cases, both share: new", msg{id: "n@x", from: "new@n", to: []string{"cat@z", "dan@z"}, inReplyTo: []string{"ghost2@x"}},
			newCase},

		// subject and participants.
		{"RE: from the requester", msg{id: "n@x", from: "ann@x", subject: "RE: Tilgang til FS"},
			Thread{MatchedBy: kp.MatchSubject, Case: 10}},
		{"SV: from a Cc participant, other case", msg{id: "n@x", from: "BOB@y", subject: "SV: tilgang til fs"},
			Thread{MatchedBy: kp.MatchSubject, Case: 10}},
		{"stacked prefixes", msg{id: "n@x", from: "ann@x", subject: "Sv: RE: AW: Fwd: Tilgang til  FS"},
			Thread{MatchedBy: kp.MatchSubject, Case: 10}},
		{"counted prefix", msg{id: "n@x", from: "ann@x", subject: "Re[2]: Tilgang til FS"},
			Thread{MatchedBy: kp.MatchSubject, Case: 10}},
		{"Outlook Italian R:", msg{id: "n@x", from: "ann@x", subject: "R: I: Tilgang til FS"},
			Thread{MatchedBy: kp.MatchSubject, Case: 10}},
		{"a stranger with the same subject: new", msg{id: "n@x", from: "new@n", subject: "RE: Tilgang til FS"},
			newCase},
		{"no prefix: new", msg{id: "n@x", from: "ann@x", subject: "Tilgang til FS"},
			newCase},
		{"same subject, two people: each their own", msg{id: "n@x", from: "dan@z", subject: "Re: Tilgang"},
			Thread{MatchedBy: kp.MatchSubject, Case: 12}},
		{"two candidate cases: new", msg{id: "n@x", from: "fay@w", subject: "Re: Felles"},
			newCase},
		{"resolved within the window reopens", msg{id: "n@x", from: "eve@q", subject: "Antw: Rapport"},
			Thread{MatchedBy: kp.MatchSubject, Case: 13, Reopen: true}},
		{"resolved long ago: new, no link", msg{id: "n@x", from: "eve@q", subject: "Odp: Gammel sak"},
			newCase},
		{"machine mail is not guessed by subject", msg{id: "n@x", from: "ann@x", subject: "AW: Tilgang til FS", class: kp.ClassAutoReply},
			Thread{MatchedBy: kp.MatchNone, Unfiled: true}},

		// body tag.
		{"Deres ref. in own text", msg{id: "n@x", from: "case@worker", subject: "Svar fra arkivet", own: "Hei\n\nDeres ref.: INT#11\n"},
			Thread{MatchedBy: kp.MatchBodyTag, Case: 11}},
		{"Your ref", msg{id: "n@x", from: "case@worker", subject: "Answer", own: "Your ref: [INT#12]"},
			Thread{MatchedBy: kp.MatchBodyTag, Case: 12}},
		{"tag of a merged case", msg{id: "n@x", from: "case@worker", own: "INT#15"},
			Thread{MatchedBy: kp.MatchBodyTag, Case: 10}},
		{"two cases named: new", msg{id: "n@x", from: "case@worker", own: "INT#11 og INT#12"},
			newCase},
		{"unknown case: new", msg{id: "n@x", from: "case@worker", own: "INT#99"},
			newCase},
		{"a word that only looks like a tag: new", msg{id: "n@x", from: "case@worker", own: "XINT#11"},
			newCase},
		{"subject beats body tag", msg{id: "n@x", from: "cat@z", subject: "Re: Tilgang", own: "INT#10"},
			Thread{MatchedBy: kp.MatchSubject, Case: 11}},
		{"subject tag of a merged case goes to the survivor", msg{id: "n@x", from: "ann@x", subject: "[INT#15] x"},
			Thread{MatchedBy: kp.MatchSubjectTag, Case: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			class := tt.m.class
			if class == "" {
				class = kp.ClassHuman
			}
			in := ThreadInput{
				Parsed: &kp.Parsed{
					MessageID: tt.m.id, Subject: tt.m.subject, From: kp.Address{Addr: tt.m.from},
					To: addrs(append([]string{"integrasjon@uio.no"}, tt.m.to...)), InReplyTo: tt.m.inReplyTo, References: tt.m.refs,
				},
				Class: class, TagPrefix: "INT", Now: threadNow, OwnText: tt.m.own,
			}
			if got := ThreadMessage(in, guessIndex()); got != tt.want {
				t.Errorf("ThreadMessage = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNormalSubject(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		prefixed bool
	}{
		{"Tilgang til FS", "tilgang til fs", false},
		{"RE: Tilgang til FS", "tilgang til fs", true},
		{"SV: VS: AW: WG: Antw: Odp: TR: Fwd: FW: x", "x", true},
		{"Re^2: x", "x", true},
		{"Antwort: Wtrlt: VL: x", "x", true},
		{"Svar: søknad", "svar: søknad", false},
		{"Antworten: x", "antworten: x", false},
		{"Re[3]: [INT#4] x", "x", true},
		{"[INT#4] Re: x", "x", true},
		{"[INT#4] x", "x", false},
		{"Report", "report", false},
		{"Resultat: x", "resultat: x", false},
		{"  Sv:   Møte   i morgen ", "møte i morgen", true},
	} {
		if got := NormalSubject(tt.in, "INT"); got != tt.want {
			t.Errorf("NormalSubject(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := HasReplyPrefix(tt.in, "INT"); got != tt.prefixed {
			t.Errorf("HasReplyPrefix(%q) = %v, want %v", tt.in, got, tt.prefixed)
		}
	}
}
