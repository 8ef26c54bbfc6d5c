package routing

import (
	"strings"
	"testing"

	kp "kontaktpunkt"
)

// The fuzz targets cover every parser of untrusted input in this package.
// Each checks, besides "does not panic", the invariant its callers rely on.
// Run one at a time, e.g. go test -run '^$' -fuzz FuzzParseCommands -fuzztime 20s ./routing/

func FuzzParseCommands(f *testing.F) {
	for _, s := range []string{
		"", "Tilgang til FS", "Re: [INT#4] [assign:ole] [prio:hihg] [EXTERNAL] tekst",
		"[take][unassign]", "[ ASSIGN : ole ] x", "[status:WAITING]", "[close] [reopen] [note] [escalate]",
		"[remind:3d] [remind:1d4h] [remind:2026-12-01]", "[cc:kari@example.org] [requester:Per <per@example.no>]",
		"[asign:ole]", "[closed]", "[a [take] b]", "[take x", "[assign:o[take]]", "[cc:\"a b\"@c.d]",
		"[remind:99999d]", "[prio:]", "[priority:urgent]", "[[[[", "]]]]", "[ø:å]", "[note:\xff]",
	} {
		f.Add(s)
	}
	valid := map[string]func(string) bool{
		"status":    func(a string) bool { return oneOf(a, "open", "waiting", "resolved") },
		"prio":      func(a string) bool { return kp.Priority(a).Valid() },
		"remind":    func(a string) bool { _, err := ParseRemind(a); return err == nil },
		"cc":        func(a string) bool { return strings.Contains(a, "@") },
		"requester": func(a string) bool { return strings.Contains(a, "@") },
		"assign":    func(a string) bool { return a != "" },
	}
	f.Fuzz(func(t *testing.T, subject string) {
		cmds, refused, rest := ParseCommands(subject)
		if len(cmds) == 0 && len(refused) == 0 && rest != subject {
			t.Fatalf("no tags found but rest %q != subject %q", rest, subject)
		}
		if len(rest) > len(subject) {
			t.Fatalf("rest %q longer than subject %q", rest, subject)
		}
		for _, c := range cmds {
			kind, known := verbArg(c.Verb)
			if !known {
				t.Fatalf("unknown verb %q in %+v", c.Verb, c)
			}
			if !strings.Contains(subject, c.Raw) || !strings.HasPrefix(c.Raw, "[") || !strings.HasSuffix(c.Raw, "]") {
				t.Fatalf("Raw %q is not a bracketed part of %q", c.Raw, subject)
			}
			if kind == argNone && c.Arg != "" {
				t.Fatalf("%q took argument %q", c.Verb, c.Arg)
			}
			if check := valid[c.Verb]; check != nil && !check(c.Arg) {
				t.Fatalf("%q accepted invalid argument %q", c.Verb, c.Arg)
			}
		}
		for _, r := range refused {
			if r.Reason == "" || !strings.Contains(subject, r.Raw) {
				t.Fatalf("bad refusal %+v for %q", r, subject)
			}
		}
	})
}

func FuzzFindCaseTag(f *testing.F) {
	for _, s := range []string{
		"", "[INT#42] Tilgang", "Re: [INT #42] x", "[ INT#42 ] x", "INT#42", "XINT#4", "INT#4a", "INT#0",
		"INT#99999999999999999999", "INT[INT#1]#2", "Re: [INT#4] SV: x", "[EXTERNAL] Re: [INT#4] x",
		"Re[3]: Re(2): AW: x", "Re：x", "ØINT#4", "int#7ø", "[INT#1][INT#2]", "\xffINT#3\xfe",
	} {
		f.Add(s, "INT")
	}
	f.Add("[SAK#9] x", "sak")
	f.Add("[HD-IT#5] x", "HD-IT")
	f.Add("x", "")
	f.Fuzz(func(t *testing.T, subject, prefix string) {
		if len(prefix) > 16 || strings.ContainsAny(prefix, "#[]") || strings.TrimSpace(prefix) != prefix {
			return // not a prefix configuration accepts
		}
		id, ok := FindCaseTag(subject, prefix)
		if ok != (id != 0) {
			t.Fatalf("FindCaseTag(%q, %q) = %d, %v", subject, prefix, id, ok)
		}
		removed := RemoveCaseTag(subject, prefix)
		if _, still := FindCaseTag(removed, prefix); still && strings.Count(subject, "#") <= maxTagRounds {
			t.Fatalf("RemoveCaseTag(%q, %q) = %q still has a tag", subject, prefix, removed)
		}
		if !ok && removed != subject {
			t.Fatalf("RemoveCaseTag changed %q without a tag: %q", subject, removed)
		}
		p := prefix
		if strings.TrimSpace(p) == "" {
			p = DefaultTagPrefix
		}
		// Our own tag in front always wins.
		const own = kp.CaseID(4711)
		if got, ok := FindCaseTag(own.Tag(p)+" "+subject, prefix); !ok || got != own {
			t.Fatalf("FindCaseTag(own tag + %q, %q) = %d, %v", subject, prefix, got, ok)
		}
		stripped := StripReplyPrefixes(subject)
		if again := StripReplyPrefixes(stripped); again != stripped {
			t.Fatalf("StripReplyPrefixes not idempotent: %q -> %q -> %q", subject, stripped, again)
		}
		cs := CaseSubject(subject, prefix)
		if _, has := FindCaseTag(cs, prefix); has {
			t.Fatalf("CaseSubject(%q) = %q keeps a tag", subject, cs)
		}
	})
}

func FuzzParseAuthResults(f *testing.F) {
	for _, s := range []string{
		arGmail, arM365, arM365Fail, arUiO, arKernelDKIM, arKernelDMARC, arRFCNone, arRFCExample,
		"", ";", "mx;", "mx; none", "mx 1; dkim/1=pass", `"q\"id"; dkim=pass reason="a\"b"`,
		"mx; dkim=pass (a (b) c", "mx; dmarc=pass header.from=", "(((((", "mx; a=b=c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		id, results, err := ParseAuthResults(v)
		if err != nil {
			if results != nil {
				t.Fatalf("error %v with results %#v", err, results)
			}
			return
		}
		for _, r := range results {
			if r.Method == "" || r.Result == "" || r.Props == nil {
				t.Fatalf("incomplete result %#v from %q", r, v)
			}
			if r.Method != strings.ToLower(r.Method) || r.Result != strings.ToLower(r.Result) {
				t.Fatalf("result not lower-cased: %#v", r)
			}
		}
		// A header from an untrusted id never authenticates.
		if id != "evil" && Authenticated([]string{v}, []string{"evil"}, "a@uio.no") {
			t.Fatalf("header %q with id %q authenticated under trusted id evil", v, id)
		}
	})
}

func FuzzCheckReplyToken(f *testing.F) {
	for _, id := range []kp.CaseID{1, 42, 128, 1<<64 - 1} {
		tok := ReplyToken(testSecret, id)
		f.Add(tok)
		f.Add(strings.ToUpper(tok))
		f.Add(tok[:len(tok)-1])
	}
	for _, s := range []string{"", "a", "aaaaaaaaaaaaaaaaaa", "77777777777777777777777777777777", "ab=", "\xff\xfe", "integrasjon"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		id, ok := CheckReplyToken(testSecret, token)
		if !ok {
			if id != 0 {
				t.Fatalf("rejected %q but returned case %d", token, id)
			}
			return
		}
		// The only valid spelling of a case's token is the one we issue.
		if want := ReplyToken(testSecret, id); strings.ToLower(token) != want {
			t.Fatalf("CheckReplyToken accepted %q for case %d; issued token is %q", token, id, want)
		}
		if got, ok := FindReplyToken(testSecret, "integrasjon@uio.no", []string{TokenAddress("integrasjon@uio.no", token)}); !ok || got != id {
			t.Fatalf("FindReplyToken on the token address = %d, %v; want %d", got, ok, id)
		}
	})
}

func FuzzOwnAuthResults(f *testing.F) {
	f.Add("from a by mx.uio.no (Postfix) with ESMTP", "mx.uio.no; dmarc=pass header.from=uio.no", "by (x")
	f.Add("by", "", "(((")
	f.Fuzz(func(t *testing.T, received, ar, other string) {
		trace := []kp.HeaderField{
			{Name: "Authentication-Results", Value: ar},
			{Name: "Received", Value: received},
			{Name: "Authentication-Results", Value: other},
			{Name: "Received", Value: other},
		}
		trusted := []string{"mx.uio.no"}
		got := OwnAuthResults(trace, trusted)
		if len(got) > 2 {
			t.Fatalf("more results than headers: %q", got)
		}
		for _, v := range got {
			if id, _, err := ParseAuthResults(v); err != nil || !trustedID(id, trusted) {
				t.Fatalf("untrusted or malformed header %q counted", v)
			}
		}
		if by := ReceivedBy(received); by != "" && by == "mx.uio.no" && len(got) > 1 {
			t.Fatalf("a header below the border hop counted: %q", got)
		}
	})
}

func FuzzForwardedFrom(f *testing.F) {
	for _, b := range forwardBlocks {
		f.Add(b.text)
	}
	f.Add("> > Fra: <@>\n> Sendt:\n> Til:\n")
	f.Fuzz(func(t *testing.T, text string) {
		a, ok := ForwardedFrom(text)
		if ok && !strings.Contains(a.Addr, "@") {
			t.Errorf("ForwardedFrom(%q) = %+v without an address", text, a)
		}
		HasForwardPrefix(text, "INT")
	})
}

// FuzzThreadSubject covers what the subject rule reads from a subject: a
// normalised subject is stable (normalising it again changes nothing, so
// the index key of a case and of a reply to it agree), and removing
// [merge:…]/[link:…] tags never adds a case tag.
func FuzzThreadSubject(f *testing.F) {
	for _, s := range []string{"RE: Tilgang", "Sv: SV: AW: Re[2]: x", "[INT#4] Re: x", "[merge:INT#5] [INT#7] x", "Re^2: [link:3] y", "R: I: TR: Odp: z", "[", "[merge"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalSubject(s, "INT")
		if again := NormalSubject(n, "INT"); again != n {
			t.Errorf("NormalSubject(%q) = %q, but again %q", s, n, again)
		}
		HasReplyPrefix(s, "INT")
		if _, had := FindCaseTag(s, "INT"); !had {
			if id, ok := FindCaseTag(withoutCaseRefs(s), "INT"); ok {
				t.Errorf("withoutCaseRefs(%q) made tag %d", s, id)
			}
		}
	})
}
