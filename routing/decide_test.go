package routing

import (
	"reflect"
	"testing"
	"time"

	kp "kontaktpunkt"
)

var decideArrived = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// newRequest is human mail from a requester that threading found no case
// for.
func newRequest() Facts {
	return Facts{
		ParsedClass: kp.ClassHuman, Class: kp.ClassHuman, Sender: "kari@example.org",
		Thread:  Thread{MatchedBy: kp.MatchNew, NewCase: true},
		Subject: "Tilgang til FS", Text: "Hei, jeg får ikke logget inn.",
		RequireAuth: true, At: decideArrived, Arrived: decideArrived,
	}
}

// replyTo7 is human mail that threading found case 7 for, by In-Reply-To.
func replyTo7(sender string) Facts {
	f := newRequest()
	f.Sender = sender
	f.Thread = Thread{MatchedBy: kp.MatchInReplyTo, Case: 7}
	f.Subject, f.Text = "Re: [INT#7] Tilgang til FS", "Takk, det virker nå."
	return f
}

// fromStaff makes f come from a staff member, authenticated or not.
func fromStaff(f Facts, authenticated bool) Facts {
	f.Sender, f.Staff, f.Authenticated = "ole@uio.no", true, authenticated
	return f
}

// refusedIn is how ParseCommands refuses the tags of subject.
func refusedIn(subject string) []Refused {
	_, refused, _ := ParseCommands(subject)
	return refused
}

func TestDecide(t *testing.T) {
	tests := []struct {
		name string
		f    Facts
		want Decision
	}{
		{
			name: "a copy of a stored message is a duplicate",
			f:    func() Facts { f := newRequest(); f.StoredCopy, f.ParseError = true, "broken MIME"; return f }(),
			want: Decision{Disposition: Duplicate, Class: kp.ClassHuman, MatchedBy: kp.MatchDuplicate},
		},
		{
			name: "threading finding the message stored makes a duplicate",
			f: func() Facts {
				f := replyTo7("kari@example.org")
				f.Thread = Thread{MatchedBy: kp.MatchDuplicate, Case: 7, Duplicate: true}
				return f
			}(),
			want: Decision{Disposition: Duplicate, Class: kp.ClassHuman, MatchedBy: kp.MatchDuplicate},
		},
		{
			name: "a parse error quarantines",
			f: func() Facts {
				f := newRequest()
				f.ParseError, f.ParsedClass, f.Thread, f.Class = "parser failure: boom", kp.ClassBulk, Thread{}, ""
				return f
			}(),
			want: Decision{Disposition: Quarantined, Reason: "parser failure: boom", Class: kp.ClassBulk, MatchedBy: kp.MatchNone},
		},
		{
			name: "human mail without a sender is quarantined",
			f:    func() Facts { f := newRequest(); f.Sender = ""; return f }(),
			want: Decision{Disposition: Quarantined, Reason: ReasonNoSender, Class: kp.ClassHuman, MatchedBy: kp.MatchNone},
		},
		{
			name: "machine mail without a sender is threaded",
			f: func() Facts {
				f := newRequest()
				f.Sender, f.ParsedClass, f.Class = "", kp.ClassAutoReply, kp.ClassAutoReply
				f.Thread = Thread{MatchedBy: kp.MatchNone, Unfiled: true}
				return f
			}(),
			want: Decision{Disposition: Unfiled, Reason: ReasonNoCase, Class: kp.ClassAutoReply, MatchedBy: kp.MatchNone},
		},
		{
			name: "machine mail matching no case is unfiled",
			f: func() Facts {
				f := newRequest()
				f.ParsedClass, f.Class, f.Thread = kp.ClassBulk, kp.ClassBulk, Thread{MatchedBy: kp.MatchNone, Unfiled: true}
				return f
			}(),
			want: Decision{Disposition: Unfiled, Reason: ReasonNoCase, Class: kp.ClassBulk, MatchedBy: kp.MatchNone},
		},
		{
			name: "a reply to the digest is unfiled",
			f:    func() Facts { f := newRequest(); f.AnswersLooseMail = true; return f }(),
			want: Decision{Disposition: Unfiled, Reason: ReasonLooseMail, Class: kp.ClassHuman, MatchedBy: kp.MatchNone},
		},
		{
			name: "a new request over the sender's limit is unfiled with a defect",
			f:    func() Facts { f := newRequest(); f.OverNewCaseLimit = true; return f }(),
			want: Decision{Disposition: Unfiled, Reason: ReasonOverLimit, Defect: ReasonOverLimit, Class: kp.ClassHuman, MatchedBy: kp.MatchNone},
		},
		{
			name: "a new request opens a case and asks for the limit",
			f:    newRequest(),
			want: Decision{
				Disposition: Filed, Class: kp.ClassHuman, MatchedBy: kp.MatchNew, CheckNewCaseLimit: true,
				NewCase: true, Role: SenderRequester, Subject: "Tilgang til FS", Kind: "request",
				Continues: true, RecordCounterpart: true,
			},
		},
		{
			name: "a new request after a long-resolved case follows it",
			f:    func() Facts { f := newRequest(); f.Thread.Previous = 3; return f }(),
			want: Decision{
				Disposition: Filed, Class: kp.ClassHuman, MatchedBy: kp.MatchNew, CheckNewCaseLimit: true,
				NewCase: true, Previous: 3, Role: SenderRequester, Subject: "Tilgang til FS", Kind: "request",
				Continues: true, RecordCounterpart: true,
			},
		},
		{
			name: "staff forwarding someone's mail open the case on their behalf",
			f: func() Facts {
				f := fromStaff(newRequest(), true)
				f.Subject = "Fwd: [prio:high] Tilgang til FS"
				f.ForwardOf = kp.Address{Name: "Kari Nordmann", Addr: "Kari@Example.org"}
				return f
			}(),
			want: Decision{
				Disposition: Filed, Class: kp.ClassHuman, MatchedBy: kp.MatchNew,
				NewCase: true, Role: SenderStaff, Subject: "Fwd: Tilgang til FS",
				Commands: []Command{
					{Verb: "prio", Arg: "high", Raw: "[prio:high]"},
					{Verb: "requester", Arg: `"Kari Nordmann" <kari@example.org>`, Raw: "(forwarded mail from kari@example.org)"},
				},
				OpenedBy: "ole@uio.no", Kind: "request", Continues: true, RecordCounterpart: true,
			},
		},
		{
			name: "a [requester:] staff wrote wins over the forward",
			f: func() Facts {
				f := fromStaff(newRequest(), true)
				f.Subject = "Fwd: [requester:per@example.no] Tilgang"
				f.ForwardOf = kp.Address{Addr: "kari@example.org"}
				return f
			}(),
			want: Decision{
				Disposition: Filed, Class: kp.ClassHuman, MatchedBy: kp.MatchNew,
				NewCase: true, Role: SenderStaff, Subject: "Fwd: Tilgang",
				Commands: []Command{{Verb: "requester", Arg: "per@example.no", Raw: "[requester:per@example.no]"}},
				Kind:     "request", Continues: true, RecordCounterpart: true,
			},
		},
		{
			name: "a requester's reply goes on the case",
			f:    func() Facts { f := replyTo7("kari@example.org"); f.Participant = true; return f }(),
			want: Decision{
				Disposition: Filed, Class: kp.ClassHuman, MatchedBy: kp.MatchInReplyTo, Case: 7,
				Role: SenderRequester, Subject: "Re: [INT#7] Tilgang til FS", Kind: "reply",
				Continues: true, RecordCounterpart: true,
			},
		},
		{
			name: "a requester's reply reopens a resolved case",
			f: func() Facts {
				f := replyTo7("kari@example.org")
				f.Participant, f.Thread.Reopen = true, true
				return f
			}(),
			want: Decision{
				Disposition: Filed, Class: kp.ClassHuman, MatchedBy: kp.MatchInReplyTo, Case: 7,
				Role: SenderRequester, Subject: "Re: [INT#7] Tilgang til FS", Kind: "reply",
				Reopen: true, Continues: true, RecordCounterpart: true,
			},
		},
		{
			name: "an outsider's reply neither reopens nor continues the thread",
			f:    func() Facts { f := replyTo7("noen@example.com"); f.Thread.Reopen = true; return f }(),
			want: Decision{
				Disposition: Filed, Class: kp.ClassHuman, MatchedBy: kp.MatchInReplyTo, Case: 7,
				Role: SenderOutsider, Subject: "Re: [INT#7] Tilgang til FS", Kind: "reply", Outsider: true,
			},
		},
		{
			name: "an unauthenticated staff address's tags stay text and earn a receipt",
			f: func() Facts {
				f := fromStaff(replyTo7(""), false)
				f.Subject = "[close] Re: [INT#7] Tilgang til FS"
				f.TicketSystem = false
				return f
			}(),
			want: Decision{
				Disposition: Filed, Class: kp.ClassHuman, MatchedBy: kp.MatchInReplyTo, Case: 7,
				Role: SenderUnauthenticated, Subject: "[close] Re: [INT#7] Tilgang til FS", Kind: KindNotAuthenticated,
				UnauthenticatedTags: []string{"[close]"}, UnauthenticatedReceipt: true,
			},
		},
		{
			name: "an unauthenticated staff address on a case it takes part in is a requester",
			f: func() Facts {
				f := fromStaff(replyTo7(""), false)
				f.Subject, f.Participant = "[close] Re: [INT#7] x", true
				return f
			}(),
			want: Decision{
				Disposition: Filed, Class: kp.ClassHuman, MatchedBy: kp.MatchInReplyTo, Case: 7,
				Role: SenderRequester, Subject: "[close] Re: [INT#7] x", Kind: "reply",
				Continues: true, RecordCounterpart: true,
				UnauthenticatedTags: []string{"[close]"}, UnauthenticatedReceipt: true,
			},
		},
		{
			name: "a ticket system in a team's name gets no receipt",
			f: func() Facts {
				f := fromStaff(replyTo7(""), false)
				f.TicketSystem = true
				return f
			}(),
			want: Decision{
				Disposition: Filed, Class: kp.ClassHuman, MatchedBy: kp.MatchInReplyTo, Case: 7,
				Role: SenderUnauthenticated, Subject: "Re: [INT#7] Tilgang til FS", Kind: KindNotAuthenticated,
			},
		},
		{
			name: "staff without required authentication speak for the contact point",
			f: func() Facts {
				f := fromStaff(replyTo7(""), false)
				f.RequireAuth, f.Subject = false, "[status:waiting] Re: [INT#7] x"
				return f
			}(),
			want: Decision{
				Disposition: Filed, Class: kp.ClassHuman, MatchedBy: kp.MatchInReplyTo, Case: 7,
				Role: SenderStaff, Subject: "Re: [INT#7] x", Kind: "reply",
				Commands:  []Command{{Verb: "status", Arg: "waiting", Raw: "[status:waiting]"}},
				Continues: true, RecordCounterpart: true,
			},
		},
		{
			name: "authenticated staff give commands",
			f: func() Facts {
				f := fromStaff(replyTo7(""), true)
				f.Subject, f.Text = "[assign:per] [prio:hihg] Re: [INT#7] x", ""
				return f
			}(),
			want: Decision{
				Disposition: Filed, Class: kp.ClassHuman, MatchedBy: kp.MatchInReplyTo, Case: 7,
				Role: SenderStaff, Subject: "Re: [INT#7] x", Kind: "command",
				Commands:  []Command{{Verb: "assign", Arg: "per", Raw: "[assign:per]"}},
				Refused:   refusedIn("[prio:hihg]"),
				Continues: true, RecordCounterpart: true,
			},
		},
		{
			name: "staff assigning with words write a note to the colleague",
			f: func() Facts {
				f := fromStaff(replyTo7(""), true)
				f.Subject, f.Text = "[assign:per] Re: [INT#7] x", "Per, kan du ta denne?"
				return f
			}(),
			want: Decision{
				Disposition: Filed, Class: kp.ClassHuman, MatchedBy: kp.MatchInReplyTo, Case: 7,
				Role: SenderStaff, Subject: "Re: [INT#7] x", Kind: "note",
				Commands:  []Command{{Verb: "assign", Arg: "per", Raw: "[assign:per]"}},
				Continues: true, RecordCounterpart: true,
			},
		},
		{
			name: "a ticket system's subject gives no commands",
			f: func() Facts {
				f := fromStaff(replyTo7(""), true)
				f.Subject, f.TicketSystem = "[close] Re: [INT#7] x", true
				return f
			}(),
			want: Decision{
				Disposition: Filed, Class: kp.ClassHuman, MatchedBy: kp.MatchInReplyTo, Case: 7,
				Role: SenderStaff, Subject: "[close] Re: [INT#7] x", Kind: "reply",
				Continues: true, RecordCounterpart: true,
			},
		},
		{
			name: "a staff reply to an internal note becomes a note",
			f:    func() Facts { f := fromStaff(replyTo7(""), true); f.AnswersInternalMail = true; return f }(),
			want: Decision{
				Disposition: Filed, Class: kp.ClassHuman, MatchedBy: kp.MatchInReplyTo, Case: 7,
				Role: SenderStaff, Subject: "Re: [INT#7] Tilgang til FS", Kind: "note",
				Commands:  []Command{{Verb: "note", Raw: "(reply to an internal mail)"}},
				Continues: true, RecordCounterpart: true,
			},
		},
		{
			name: "a requester's reply to an internal mail stays a reply",
			f: func() Facts {
				f := replyTo7("kari@example.org")
				f.Participant, f.AnswersInternalMail = true, true
				return f
			}(),
			want: Decision{
				Disposition: Filed, Class: kp.ClassHuman, MatchedBy: kp.MatchInReplyTo, Case: 7,
				Role: SenderRequester, Subject: "Re: [INT#7] Tilgang til FS", Kind: "reply",
				Continues: true, RecordCounterpart: true,
			},
		},
		{
			name: "a case repair is internal and acts after the case",
			f: func() Facts {
				f := fromStaff(replyTo7(""), true)
				f.Subject = "[merge:INT#5] Re: [INT#7] x"
				return f
			}(),
			want: Decision{
				Disposition: Filed, Class: kp.ClassHuman, MatchedBy: kp.MatchInReplyTo, Case: 7,
				Role: SenderStaff, Subject: "Re: [INT#7] x", Kind: "note",
				Commands:  []Command{{Verb: "note", Raw: "(a case repair is internal)"}},
				Repairs:   []Command{{Verb: "merge", Arg: "5", Raw: "[merge:INT#5]"}},
				Continues: true, RecordCounterpart: true,
			},
		},
		{
			name: "an out-of-office attaches without reopening or continuing the thread",
			f: func() Facts {
				f := replyTo7("kari@example.org")
				f.ParsedClass, f.Class, f.Participant, f.Thread.Reopen = kp.ClassAutoReply, kp.ClassAutoReply, true, true
				return f
			}(),
			want: Decision{
				Disposition: Filed, Class: kp.ClassAutoReply, MatchedBy: kp.MatchInReplyTo, Case: 7,
				Role: SenderRequester, Subject: "Re: [INT#7] Tilgang til FS", Kind: "auto-reply",
				RecordCounterpart: true,
			},
		},
		{
			name: "a bounce attaches to the case of the mail it returns",
			f: func() Facts {
				f := replyTo7("mailer-daemon@example.org")
				f.ParsedClass, f.Class, f.Thread.MatchedBy = kp.ClassBounce, kp.ClassBounce, kp.MatchBounce
				return f
			}(),
			want: Decision{
				Disposition: Filed, Class: kp.ClassBounce, MatchedBy: kp.MatchBounce, Case: 7,
				Role: SenderOutsider, Subject: "Re: [INT#7] Tilgang til FS", Kind: "bounce",
			},
		},
		{
			name: "machine mail opening a case asks for no limit",
			f: func() Facts {
				f := newRequest()
				f.ParsedClass, f.Class = kp.ClassBulk, kp.ClassBulk
				return f
			}(),
			want: Decision{
				Disposition: Filed, Class: kp.ClassBulk, MatchedBy: kp.MatchNew,
				NewCase: true, Role: SenderRequester, Subject: "Tilgang til FS", Kind: "bulk",
				RecordCounterpart: true,
			},
		},
		{
			name: "an archive import of old mail keeps the previous follow-up",
			f: func() Facts {
				f := replyTo7("kari@example.org")
				f.Participant, f.Import, f.ImportHorizon = true, true, 30*24*time.Hour
				f.At = decideArrived.AddDate(0, -2, 0)
				return f
			}(),
			want: Decision{
				Disposition: Filed, Class: kp.ClassHuman, MatchedBy: kp.MatchInReplyTo, Case: 7,
				Role: SenderRequester, Subject: "Re: [INT#7] Tilgang til FS", Kind: "reply",
				Continues: true, RecordCounterpart: true, KeepFollowUp: true,
			},
		},
		{
			name: "an archive import of recent mail schedules as live mail",
			f: func() Facts {
				f := replyTo7("kari@example.org")
				f.Participant, f.Import, f.ImportHorizon = true, true, 30*24*time.Hour
				f.At = decideArrived.AddDate(0, 0, -2)
				return f
			}(),
			want: Decision{
				Disposition: Filed, Class: kp.ClassHuman, MatchedBy: kp.MatchInReplyTo, Case: 7,
				Role: SenderRequester, Subject: "Re: [INT#7] Tilgang til FS", Kind: "reply",
				Continues: true, RecordCounterpart: true,
			},
		},
		{
			name: "old mail outside an import is live mail",
			f: func() Facts {
				f := replyTo7("kari@example.org")
				f.Participant, f.ImportHorizon = true, 30*24*time.Hour
				f.At = decideArrived.AddDate(0, -2, 0)
				return f
			}(),
			want: Decision{
				Disposition: Filed, Class: kp.ClassHuman, MatchedBy: kp.MatchInReplyTo, Case: 7,
				Role: SenderRequester, Subject: "Re: [INT#7] Tilgang til FS", Kind: "reply",
				Continues: true, RecordCounterpart: true,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Decide(tt.f); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decide:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestScreenSettlesWhatDecideDoes asserts that what Screen settles before
// threading is what Decide decides, and that it settles nothing else.
func TestScreenSettlesWhatDecideDoes(t *testing.T) {
	for _, f := range []Facts{
		{StoredCopy: true, ParsedClass: kp.ClassBounce},
		{ParseError: "bad", ParsedClass: kp.ClassHuman, Sender: "a@b"},
		{ParsedClass: kp.ClassHuman},
		{ParsedClass: kp.ClassBulk, Thread: Thread{Unfiled: true}},
		newRequest(),
	} {
		d, settled := Screen(f)
		if settled != (f.StoredCopy || f.ParseError != "" || f.ParsedClass == kp.ClassHuman && f.Sender == "") {
			t.Errorf("Screen(%+v) settled = %v", f, settled)
		}
		if settled && !reflect.DeepEqual(d, Decide(f)) {
			t.Errorf("Screen(%+v) = %+v, Decide = %+v", f, d, Decide(f))
		}
	}
}

// TestDecideOverLimitAfterCheck is the two steps of the new-case limit: a
// decision that asks for the check, then with the sender over it, the
// same message unfiled.
func TestDecideOverLimitAfterCheck(t *testing.T) {
	f := newRequest()
	if d := Decide(f); !d.CheckNewCaseLimit || d.Disposition != Filed {
		t.Fatalf("first decision = %+v, want Filed asking for the limit", d)
	}
	f.OverNewCaseLimit = true
	if d := Decide(f); d.Disposition != Unfiled || d.Defect != ReasonOverLimit {
		t.Errorf("decision over the limit = %+v, want Unfiled with the defect", d)
	}
	staff := fromStaff(newRequest(), true)
	staff.OverNewCaseLimit = true // never asked for; ignored
	if d := Decide(staff); d.CheckNewCaseLimit || d.Disposition != Filed {
		t.Errorf("staff decision = %+v, want Filed without the limit", d)
	}
}

// FuzzDecide checks the invariants carryOut relies on over any subject,
// text and combination of facts: commands come only from staff, repairs
// never stay among the commands, an outsider never reopens or continues
// the thread, and only a new case by someone not staff asks for the limit.
// Run: go test -run '^$' -fuzz FuzzDecide -fuzztime 20s ./routing/
func FuzzDecide(f *testing.F) {
	f.Add("[close] Re: [INT#7] x", "", uint16(0x0fff), uint8(0))
	f.Add("[merge:INT#5] [note] x", "tekst", uint16(0x0a5a), uint8(0))
	f.Add("Fwd: Tilgang", "hei", uint16(0x1234), uint8(2))
	f.Add("", "", uint16(0), uint8(1))
	classes := []kp.Class{kp.ClassHuman, kp.ClassBulk, kp.ClassAutoReply, kp.ClassBounce}
	f.Fuzz(func(t *testing.T, subject, text string, bits uint16, class uint8) {
		bit := func(i int) bool { return bits&(1<<i) != 0 }
		c := classes[int(class)%len(classes)]
		in := Facts{
			StoredCopy: bit(0) && bit(1) && bit(2), ParsedClass: c, Class: c, Sender: "a@example.org",
			Thread:  Thread{MatchedBy: kp.MatchInReplyTo, Case: 7, NewCase: bit(3), Reopen: bit(4), Unfiled: bit(5) && bit(6)},
			Subject: subject, Text: text, AnswersLooseMail: bit(7), Participant: bit(8), Staff: bit(9),
			Authenticated: bit(10), RequireAuth: bit(11), TicketSystem: bit(12), AnswersInternalMail: bit(13),
			OverNewCaseLimit: bit(14),
		}
		if bit(15) {
			in.ForwardOf = kp.Address{Addr: "kari@example.org"}
		}
		d := Decide(in)
		if (d.Disposition == Filed) != (d.Role != 0) {
			t.Fatalf("disposition %d with role %d", d.Disposition, d.Role)
		}
		if len(d.Commands)+len(d.Refused)+len(d.Repairs) > 0 && d.Role != SenderStaff {
			t.Fatalf("commands from role %d: %+v", d.Role, d)
		}
		if hasVerb(d.Commands, "merge", "link") {
			t.Fatalf("repair among the commands: %+v", d.Commands)
		}
		if len(d.Repairs) > 0 && d.Kind != "note" && !c.Machine() {
			t.Fatalf("repair in a %q", d.Kind)
		}
		if (d.Outsider || d.Role == SenderOutsider || d.Role == SenderUnauthenticated) && (d.Reopen || d.Continues || d.RecordCounterpart) {
			t.Fatalf("outsider or unauthenticated sender changes the thread: %+v", d)
		}
		if d.UnauthenticatedReceipt && (!in.Staff || in.TicketSystem) {
			t.Fatalf("receipt to a sender who is not staff, or to a ticket system: %+v", d)
		}
		if d.CheckNewCaseLimit && (!d.NewCase || d.Role == SenderStaff || c != kp.ClassHuman) {
			t.Fatalf("limit asked for: %+v", d)
		}
		if d.Disposition == Unfiled && d.MatchedBy != kp.MatchNone {
			t.Fatalf("unfiled matched by %q", d.MatchedBy)
		}
	})
}
