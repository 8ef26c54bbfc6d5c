package routing

import (
	"strings"
	"testing"

	kp "kontaktpunkt"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

func TestReplyTokenRoundTrip(t *testing.T) {
	for _, id := range []kp.CaseID{1, 42, 127, 128, 1 << 32, 1<<64 - 1} {
		tok := ReplyToken(testSecret, id)
		if tok == "" || tok != strings.ToLower(tok) {
			t.Fatalf("ReplyToken(%d) = %q, want non-empty lower case", id, tok)
		}
		for _, c := range tok {
			if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
				t.Fatalf("ReplyToken(%d) = %q has %q, not safe in a local part", id, tok, c)
			}
		}
		for _, spelt := range []string{tok, strings.ToUpper(tok)} {
			got, ok := CheckReplyToken(testSecret, spelt)
			if !ok || got != id {
				t.Errorf("CheckReplyToken(%q) = %d, %v; want %d", spelt, got, ok, id)
			}
		}
	}
}

func TestReplyTokenLength(t *testing.T) {
	// 1-byte varint + 80-bit MAC = 11 bytes = 18 base32 characters.
	if tok := ReplyToken(testSecret, 42); len(tok) != 18 {
		t.Errorf("ReplyToken(42) = %q (%d chars), want 18", tok, len(tok))
	}
}

func TestReplyTokenRejects(t *testing.T) {
	tok := ReplyToken(testSecret, 42)
	other := ReplyToken(testSecret, 43)
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	tests := []struct {
		name   string
		secret []byte
		token  string
	}{
		{"wrong secret", []byte("another secret"), tok},
		{"empty secret", nil, tok},
		{"empty token", testSecret, ""},
		{"first char changed", testSecret, flip(tok, 0)},
		{"last char changed", testSecret, flip(tok, len(tok)-1)},
		{"truncated", testSecret, tok[:len(tok)-1]},
		{"extended", testSecret, tok + "a"},
		{"mac of another case", testSecret, tok[:2] + other[2:]},
		{"not base32", testSecret, "hello-world!"},
		{"padding", testSecret, tok + "======"},
		{"too long", testSecret, strings.Repeat("a", 100)},
		{"case zero", testSecret, ReplyToken(testSecret, 0)},
	}
	for _, tt := range tests {
		if id, ok := CheckReplyToken(tt.secret, tt.token); ok {
			t.Errorf("%s: CheckReplyToken(%q) = %d, true; want false", tt.name, tt.token, id)
		}
	}
}

// TestReplyTokenNonCanonical checks that trailing bits and overlong varints
// do not give a second valid spelling.
func TestReplyTokenNonCanonical(t *testing.T) {
	tok := ReplyToken(testSecret, 42)
	raw, err := tokenEncoding.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	// 11 bytes = 88 bits in 18 chars (90 bits): the last char carries 2
	// unused bits. Setting them must not verify.
	last := tok[len(tok)-1]
	idx := strings.IndexByte("abcdefghijklmnopqrstuvwxyz234567", last)
	for extra := 1; extra < 4; extra++ {
		alt := tok[:len(tok)-1] + string("abcdefghijklmnopqrstuvwxyz234567"[idx|extra])
		if alt == tok {
			continue
		}
		if b, err := tokenEncoding.DecodeString(alt); err == nil && string(b) == string(raw) {
			if _, ok := CheckReplyToken(testSecret, alt); ok {
				t.Errorf("non-canonical spelling %q of %q verifies", alt, tok)
			}
		}
	}
	// Overlong varint for 42: 0xaa 0x00, with a MAC over those bytes.
	idBytes := []byte{0xaa, 0x00}
	forged := tokenEncoding.EncodeToString(append(idBytes, tokenMAC(testSecret, idBytes)...))
	if id, ok := CheckReplyToken(testSecret, forged); ok {
		t.Errorf("overlong varint token %q verifies as %d", forged, id)
	}
}

func TestTokenAddress(t *testing.T) {
	tests := []struct{ contact, token, want string }{
		{"integrasjon@uio.no", "abc", "integrasjon+abc@uio.no"},
		{"integrasjon@uio.no", "", "integrasjon@uio.no"},
		{"nodomain", "abc", "nodomain"},
		{"@uio.no", "abc", "@uio.no"},
	}
	for _, tt := range tests {
		if got := TokenAddress(tt.contact, tt.token); got != tt.want {
			t.Errorf("TokenAddress(%q, %q) = %q, want %q", tt.contact, tt.token, got, tt.want)
		}
	}
}

func TestFindReplyToken(t *testing.T) {
	const contact = "integrasjon@uio.no"
	tok := ReplyToken(testSecret, 42)
	tests := []struct {
		name   string
		secret []byte
		rcpts  []string
		want   kp.CaseID
		ok     bool
	}{
		{"plain", testSecret, []string{"integrasjon+" + tok + "@uio.no"}, 42, true},
		{"case-folded by the MTA", testSecret, []string{strings.ToUpper("integrasjon+" + tok + "@uio.no")}, 42, true},
		{"angle brackets and space", testSecret, []string{" <integrasjon+" + tok + "@uio.no> "}, 42, true},
		{"among others", testSecret, []string{"ola@uio.no", "integrasjon@uio.no", "integrasjon+" + tok + "@uio.no"}, 42, true},
		{"first valid wins", testSecret, []string{"integrasjon+" + ReplyToken(testSecret, 7) + "@uio.no", "integrasjon+" + tok + "@uio.no"}, 7, true},
		{"invalid then valid", testSecret, []string{"integrasjon+bogus@uio.no", "integrasjon+" + tok + "@uio.no"}, 42, true},
		{"other domain", testSecret, []string{"integrasjon+" + tok + "@evil.example"}, 0, false},
		{"other local part", testSecret, []string{"support+" + tok + "@uio.no"}, 0, false},
		{"local part prefix only", testSecret, []string{"integrasjonx+" + tok + "@uio.no"}, 0, false},
		{"bare contact", testSecret, []string{"integrasjon@uio.no"}, 0, false},
		{"empty token", testSecret, []string{"integrasjon+@uio.no"}, 0, false},
		{"disabled", nil, []string{"integrasjon+" + tok + "@uio.no"}, 0, false},
		{"none", testSecret, nil, 0, false},
	}
	for _, tt := range tests {
		got, ok := FindReplyToken(tt.secret, contact, tt.rcpts)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: FindReplyToken = %d, %v; want %d, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
	if _, ok := FindReplyToken(testSecret, "nodomain", []string{"nodomain+" + tok + "@uio.no"}); ok {
		t.Error("FindReplyToken with a contact without domain matched")
	}
}

func BenchmarkCheckReplyToken(b *testing.B) {
	tok := ReplyToken(testSecret, 4242)
	for b.Loop() {
		CheckReplyToken(testSecret, tok)
	}
}
