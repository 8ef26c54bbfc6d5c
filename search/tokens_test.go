package search

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestTokens(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"Integrasjonen mot Canvas", []string{"integrasjonen", "mot", "canvas"}},
		{"BJØRN Ærlig på Åsen", []string{"bjørn", "ærlig", "på", "åsen"}},
		{"Café Müller, Göteborg – señor", []string{"cafe", "muller", "goteborg", "senor"}},
		{"Straße", []string{"strasse"}},
		{"a\u030as", []string{"ås"}},       // decomposed å stays å
		{"e\u0301tude", []string{"etude"}}, // decomposed é folds
		{"ola.nordmann@uib.no", []string{"ola", "nordmann", "uib", "no"}},
		{"INC0012345 [rt.uio.no #4711]", []string{"inc0012345", "rt", "uio", "no", "4711"}},
		{"", nil},
		{"  -- !! ", nil},
		{"bad\xffutf8", []string{"bad", "utf8"}},
		{strings.Repeat("x", 40), []string{strings.Repeat("x", MaxToken)}},
		{strings.Repeat("ø", 20), []string{strings.Repeat("ø", MaxToken/2)}},
	} {
		if got := Tokens(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Tokens(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAddressTokens(t *testing.T) {
	if got, want := AddressTokens("Ola@HF.UiB.no"), []string{"ola@hf.uib.no", "@hf.uib.no", "@uib.no"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, bad := range []string{"", "no-at", "@uib.no", "ola@", "ola@uib.no\x00x", "a b@c.d"} {
		if got := AddressTokens(bad); got != nil {
			t.Errorf("AddressTokens(%q) = %q", bad, got)
		}
	}
	if got := FromTokens("per@uio.no"); !slices.Equal(got, []string{"from:per@uio.no", "from:@uio.no"}) {
		t.Errorf("FromTokens = %q", got)
	}
}

func TestParseQuery(t *testing.T) {
	q := ParseQuery("Canvas status:open team:FS from:@uib.no after:2026-03-01 before:2026-07-01 integr Canvas")
	if !slices.Equal(q.Words, []string{"canvas", "integr"}) || q.Status != "open" || q.Team != "fs" ||
		!slices.Equal(q.From, []string{"from:@uib.no"}) || !q.After.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) ||
		!q.Before.Equal(time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)) || len(q.Bad) != 0 {
		t.Fatalf("query = %+v", q)
	}
	q = ParseQuery("from:Ola@UiB.no after:yesterday subject:eksamen")
	if !slices.Equal(q.From, []string{"from:ola@uib.no"}) || !slices.Equal(q.Bad, []string{"after:yesterday"}) ||
		!slices.Equal(q.Words, []string{"subject", "eksamen"}) {
		t.Fatalf("query = %+v", q)
	}
	if !ParseQuery("  ").Empty() || ParseQuery("status:open").Empty() {
		t.Fatal("Empty is wrong")
	}
}

func FuzzTokens(f *testing.F) {
	for _, s := range []string{"Integrasjonen på Åsen", "a\u030a", "ola@uib.no", "\xff\xfe", "Straße Müller", "status:open from:@x.no"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, tok := range Tokens(s) {
			if tok == "" || len(tok) > MaxToken || !utf8.ValidString(tok) || strings.ContainsRune(tok, 0) {
				t.Fatalf("bad token %q from %q", tok, s)
			}
			if again := Tokens(tok); len(again) != 1 || again[0] != tok {
				t.Fatalf("token %q is not stable: %q", tok, again)
			}
		}
		for _, tok := range AddressTokens(s) {
			if strings.ContainsRune(tok, 0) || !utf8.ValidString(tok) {
				t.Fatalf("bad address token %q", tok)
			}
		}
		if toks := Tokens(s); len(toks) > 0 {
			sn, ok := Snippet(s, toks[len(toks)-1:], 40)
			if !ok || !utf8.ValidString(sn) {
				t.Fatalf("snippet of %q for its own token: %q %v", s, sn, ok)
			}
		}
		q := ParseQuery(s)
		if len(q.Words) > maxQueryWords {
			t.Fatalf("%d words", len(q.Words))
		}
	})
}

// TestTokensLatinTableAgreesWithFold: the letters of U+0080 to U+017F
// (looked up in a table) fold in words as Fold says.
func TestTokensLatinTableAgreesWithFold(t *testing.T) {
	for r := rune(0x80); r < 0x180; r++ {
		got := Tokens("x" + string(r) + "y")
		want := []string{"x", "y"}
		if f := Fold(r); f != "" {
			want = []string{"x" + f + "y"}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%U: %q, want %q", r, got, want)
		}
	}
}
