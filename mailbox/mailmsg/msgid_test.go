package mailmsg

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestCanonicalID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<abc123@integrasjon.example.org>", "abc123@integrasjon.example.org"},
		{"  <abc123@Integrasjon.Example.ORG>  ", "abc123@integrasjon.example.org"},
		// Only the domain part is lower-cased; the local part is case-sensitive.
		{"<AM9PR07MB7236E1C4@AM9PR07MB7236.eurprd07.PROD.OUTLOOK.COM>", "AM9PR07MB7236E1C4@am9pr07mb7236.eurprd07.prod.outlook.com"},
		{"abc@EXAMPLE.org", "abc@example.org"},
		{"(comment) <a@b.example> (another)", "a@b.example"},
		{"a@b.example (Message from Ola)", "a@b.example"},
		{"<CAJ8yT4Hq=vW3xN0+Zk2L7p_Qm9bRfT1cE4uY6oPzA8sD5gH3jw@mail.gmail.com>", "CAJ8yT4Hq=vW3xN0+Zk2L7p_Qm9bRfT1cE4uY6oPzA8sD5gH3jw@mail.gmail.com"},
		// The domain after the last @ counts.
		{`<"a@b"@Example.COM>`, `"a@b"@example.com`},
		{"<no-at-sign>", "no-at-sign"},
		{"<unterminated@Example.org", "unterminated@example.org"},
		{"<a b@c.example>", "ab@c.example"},
		{"<a\u3000b@c.example>", "ab@c.example"},
		{"<a\u0085b@C.example>", "ab@c.example"},
		{"a@b.example\u00a0(comment)", "a@b.example"},
		{"", ""},
		{"   ", ""},
		{"<>", ""},
		{"<@>", ""},
		{"(only a comment)", ""},
		{"<" + strings.Repeat("x", 1200) + "@a.example>", ""},
	}
	for _, tt := range tests {
		if got := CanonicalID(tt.in); got != tt.want {
			t.Errorf("CanonicalID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseIDList(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"one", "<a@b.example>", []string{"a@b.example"}},
		{"space separated", "<a@b.example> <c@D.example>", []string{"a@b.example", "c@d.example"}},
		{"folded", "<a@b.example>\r\n\t<c@d.example>", []string{"a@b.example", "c@d.example"}},
		{"comma separated", "<a@b.example>,<c@d.example>", []string{"a@b.example", "c@d.example"}},
		{"no separator", "<a@b.example><c@d.example>", []string{"a@b.example", "c@d.example"}},
		{"duplicates dropped", "<a@b.example> <a@B.EXAMPLE> <c@d.example>", []string{"a@b.example", "c@d.example"}},
		{"comments ignored", "<a@b.example> (sent by <x@y.example>) <c@d.example>", []string{"a@b.example", "c@d.example"}},
		{"phrase around id", `Your message of "Mon, 3 Nov 2025 10:00" <a@b.example>`, []string{"a@b.example"}},
		{"no brackets", "a@b.example c@d.example", []string{"a@b.example", "c@d.example"}},
		{"no brackets, commas", "a@b.example, c@d.example", []string{"a@b.example", "c@d.example"}},
		{"bare words are not ids", "hello world", nil},
		{"empty brackets", "<> <a@b.example>", []string{"a@b.example"}},
		{"cut header", "<a@b.example> <c@d.exa", []string{"a@b.example", "c@d.exa"}},
		{"unicode space separates bare ids", "a@b.example\u3000c@d.example", []string{"a@b.example", "c@d.example"}},
		{"NEL separates bare ids", "0\u0085@", nil},
		{"unicode space inside brackets is dropped", "<a\u2028b@c.example>", []string{"ab@c.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseIDList(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseIDList(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseIDListIsBoundedKeepingRootAndNewest(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 500; i++ {
		fmt.Fprintf(&b, "<id%d@example.org> ", i)
	}
	got := ParseIDList(b.String())
	if len(got) != maxIDs {
		t.Fatalf("got %d ids, want %d", len(got), maxIDs)
	}
	if got[0] != "id0@example.org" || got[1] != "id401@example.org" || got[len(got)-1] != "id499@example.org" {
		t.Errorf("kept %q, %q … %q; want the root and the newest", got[0], got[1], got[len(got)-1])
	}
}

func TestSyntheticIDIsStableAndDistinct(t *testing.T) {
	a := SyntheticID([]byte("Subject: x\r\n\r\nbody"))
	if a != SyntheticID([]byte("Subject: x\r\n\r\nbody")) {
		t.Error("same bytes gave different ids")
	}
	if a == SyntheticID([]byte("Subject: y\r\n\r\nbody")) {
		t.Error("different bytes gave the same id")
	}
	if !strings.HasPrefix(a, "sha256-") || !strings.HasSuffix(a, "@synthetic.invalid") || len(a) != len("sha256-")+64+len("@synthetic.invalid") {
		t.Errorf("unexpected form %q", a)
	}
	if CanonicalID(a) != a {
		t.Errorf("synthetic id %q is not canonical", a)
	}
}
