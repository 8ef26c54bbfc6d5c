package gateway

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
)

// assertNothingInternalReachedOutside runs after every test that uses the
// harness, so every conversation the suite plays is checked: no mail to
// anyone outside the contact point's own people carries a line of an
// internal mail, an internal note or an internal template, unless the
// requester side wrote that line itself.
func (h *harness) assertNothingInternalReachedOutside() {
	t := h.t
	if t.Failed() {
		return
	}
	own := func(addr string) bool {
		return h.g.Dir.IsStaff(addr) || h.g.Dir.IsResponsible(addr) || kp.SameAddr(addr, h.g.Dir.Manager) || kp.SameAddr(addr, h.g.Dir.Lead)
	}
	frags := h.g.Templates.internalFragments()
	err := h.st.View(func(tx *store.Tx) error {
		cases, err := tx.Cases(store.CaseFilter{})
		if err != nil {
			return err
		}
		for _, c := range cases {
			msgs, err := tx.CaseMessages(c.ID)
			if err != nil {
				return err
			}
			internal, public := map[string]bool{}, map[string]bool{}
			lines := func(set map[string]bool, text string) {
				for _, l := range strings.Split(text, "\n") {
					if n := normLine(l); utf8.RuneCountInString(n) >= minInternalLine {
						set[n] = true
					}
				}
			}
			for _, m := range msgs {
				switch {
				case m.Direction == kp.Out && IsInternalKind(m.Kind):
					lines(internal, m.Text)
				case m.Direction == kp.In && (m.Kind == "note" || m.Kind == KindNotAuthenticated):
					lines(internal, m.Text)
				case m.Direction == kp.In && !own(m.From.Addr):
					lines(public, m.Text)
				case m.Direction == kp.In && m.Kind == "reply":
					lines(public, OwnText(m.Text)) // staff words meant for the requester
				}
			}
			for _, m := range msgs {
				if m.Direction != kp.Out || IsInternalKind(m.Kind) || m.Kind == KindEvent {
					continue
				}
				outside := false
				for _, a := range append(append([]kp.Address{}, m.To...), m.Cc...) {
					outside = outside || !own(a.Addr)
				}
				if !outside {
					continue
				}
				for _, l := range strings.Split(m.Text, "\n") {
					n := normLine(l)
					if utf8.RuneCountInString(n) < minInternalLine || public[n] {
						continue
					}
					if internal[n] || containsAnyFragment(n, frags) {
						t.Errorf("case %d: %s mail to %v carries internal text %q", c.ID, m.Kind, m.To, l)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Errorf("checking for internal text: %v", err)
	}
}

func TestAssignmentWithASentenceGoesToTheAssignee(t *testing.T) {
	for _, tag := range []string{"[assign:per.hansen]", "[assign:fs]", "[assign:per.hansen] [prio:high]"} {
		t.Run(tag, func(t *testing.T) {
			h := newHarness(t, nil)
			id := caseNo(t, h.one(request("req1@example.org")))
			notify := h.mailsTo(kari, "notify")[0]
			h.one(msg([]string{
				"From: Kari Integrasjon <" + kari + ">", "To: " + contact, trustedAR,
				"Subject: SV: " + tag + " " + notify.Subject, "Message-ID: <kari1@uio.no>",
				"In-Reply-To: <" + notify.MessageID + ">",
			}, "Per, kan du ta denne? Ola venter på svar før fredag.\n\nKari\n"))
			if n := len(h.mailsTo(ola, "")); n != 1 { // the acknowledgement only
				t.Fatalf("mails to the requester = %d, want 1 (the acknowledgement)", n)
			}
			assign := h.mailsTo(per, "assign")
			if len(assign) != 1 {
				t.Fatalf("assignment mails to per = %d, want 1", len(assign))
			}
			if !strings.Contains(textOf(t, assign[0]), "Per, kan du ta denne?") {
				t.Errorf("the assignment does not carry the sentence:\n%s", textOf(t, assign[0]))
			}
			c := h.caseOf(id)
			if c.Status != kp.StatusOpen || c.Next == nil || c.Next.Kind != kp.FollowRespond {
				t.Errorf("case %s next %+v, want open with the respond follow-up", c.Status, c.Next)
			}
		})
	}
}

func TestStatusTagWithTextIsAReplyToTheRequester(t *testing.T) {
	h := newHarness(t, nil)
	id := caseNo(t, h.one(request("req1@example.org")))
	h.one(msg([]string{
		"From: Kari Integrasjon <" + kari + ">", "To: " + contact, trustedAR,
		"Subject: [status:waiting] Re: [INT#1] Tilgang", "Message-ID: <kari1@uio.no>",
	}, "Kan du sende oss navnet på prosjektet?\n"))
	relays := h.mailsTo(ola, "relay")
	if len(relays) != 1 || !strings.Contains(textOf(t, relays[0]), "navnet på prosjektet") {
		t.Fatalf("relays to ola = %d", len(relays))
	}
	if c := h.caseOf(id); c.Status != kp.StatusWaiting {
		t.Errorf("status = %s", c.Status)
	}
}

// TestQuotedInternalMailNeverReachesTheRequester: the assignee answers the
// assignment mail in Outlook (the whole assignment quoted without '>' under
// a header block) and pastes a line of an earlier internal note; the
// requester gets the answer without any of it.
func TestQuotedInternalMailNeverReachesTheRequester(t *testing.T) {
	h := newHarness(t, nil)
	id := caseNo(t, h.one(request("req1@example.org")))
	h.one(msg([]string{
		"From: Kari Integrasjon <" + kari + ">", "To: " + contact, trustedAR,
		"Subject: [note] [INT#1] Tilgang", "Message-ID: <note1@uio.no>",
	}, "Dette prosjektet har ikke budsjett før neste år, ikke lov noe.\n"))
	h.one(msg([]string{
		"From: Kari Integrasjon <" + kari + ">", "To: " + contact, trustedAR,
		"Subject: [assign:per.hansen] [INT#1] Tilgang", "Message-ID: <kari2@uio.no>",
	}, ""))
	assign := h.mailsTo(per, "assign")[0]
	body := "Hei Ola,\n\ndere får tilgang når avtalen er signert.\n" +
		"Dette prosjektet har ikke budsjett før neste år, ikke lov noe.\n\nPer\n\n" +
		"Fra: Integrasjonskontakt <" + contact + ">\nSendt: mandag 23. november 2026 09:05\nTil: Per Hansen <" + per + ">\nEmne: " + assign.Subject + "\n\n" +
		textOf(t, assign)
	h.one(msg([]string{
		"From: Per Hansen <" + per + ">", "To: " + contact, trustedAR,
		"Subject: SV: " + assign.Subject, "Message-ID: <per1@uio.no>", "In-Reply-To: <" + assign.MessageID + ">",
	}, body))
	relays := h.mailsTo(ola, "relay")
	if len(relays) != 1 {
		t.Fatalf("relays to ola = %d", len(relays))
	}
	txt := textOf(t, relays[0])
	if !strings.Contains(txt, "avtalen er signert") {
		t.Errorf("the answer itself is missing:\n%s", txt)
	}
	for _, bad := range []string{"budsjett", "Skriv [note]", "er tildelt deg"} {
		if strings.Contains(txt, bad) {
			t.Errorf("internal text %q reached the requester:\n%s", bad, txt)
		}
	}
	if ev := strings.Join(h.events(id), "\n"); !strings.Contains(ev, "internal text withheld") {
		t.Errorf("no event records the withheld lines: %q", ev)
	}
}

// TestSqueezeSpaceIsRegexp: squeezeSpace makes each run of \s one space,
// as regexp `\s+` replaced with " " does, white space outside ASCII kept.
func TestSqueezeSpaceIsRegexp(t *testing.T) {
	re := regexp.MustCompile(`\s+`)
	parts := []string{"", " ", "  ", "\t", "\r\n", "\f", "\v", "\u00a0", "\u2003", "a", "Hei", "ø", "> ", "x y"}
	var check func(prefix string, depth int)
	check = func(prefix string, depth int) {
		if got, want := squeezeSpace(prefix), re.ReplaceAllString(prefix, " "); got != want {
			t.Fatalf("squeezeSpace(%q) = %q, want %q", prefix, got, want)
		}
		if depth == 0 {
			return
		}
		for _, p := range parts {
			check(prefix+p, depth-1)
		}
	}
	check("", 4)
}
