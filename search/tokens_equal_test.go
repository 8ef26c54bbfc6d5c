package search

import (
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"kontaktpunkt/internal/benchmail"
	"kontaktpunkt/internal/testcorpus"
)

// eachTokenFold is eachToken as it was with a Fold call for each
// non-ASCII letter: the reference eachToken must match.
func eachTokenFold(s string, fn func(tok []byte, start int) bool) {
	var buf [4 * MaxToken]byte
	b := buf[:0]
	start := 0
	stop := false
	flush := func() {
		if len(b) > 0 && !stop {
			stop = !fn(truncateBytes(b), start)
		}
		b = b[:0]
	}
	for i := 0; i < len(s) && !stop; {
		if len(b) == 0 {
			start = i
		}
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case 'a' <= c && c <= 'z' || '0' <= c && c <= '9':
				b = append(b, c)
			case 'A' <= c && c <= 'Z':
				b = append(b, c+'a'-'A')
			default:
				flush()
			}
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if r == '\u030a' && len(b) > 0 && b[len(b)-1] == 'a' {
			// "a" + combining ring: the letter å.
			b = append(b[:len(b)-1], "å"...)
			continue
		}
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		f := Fold(r)
		if f == "" {
			flush()
			continue
		}
		if len(b)+len(f) > cap(b) {
			continue // past MaxToken anyway
		}
		b = append(b, f...)
	}
	flush()
}

type tokenAt struct {
	tok   string
	start int
}

func tokensWith(each func(string, func([]byte, int) bool), s string) []tokenAt {
	var out []tokenAt
	each(s, func(tok []byte, start int) bool {
		out = append(out, tokenAt{string(tok), start})
		return true
	})
	return out
}

func checkEachToken(t *testing.T, name, s string) {
	t.Helper()
	if got, want := tokensWith(eachToken, s), tokensWith(eachTokenFold, s); !slices.Equal(got, want) {
		t.Errorf("%s %.80q: eachToken %.200v, with Fold %.200v", name, s, got, want)
	}
}

// TestEachTokenAsWithFoldOnEveryRune tries every code point alone, inside
// a word, after an "a", and repeated past MaxToken.
func TestEachTokenAsWithFoldOnEveryRune(t *testing.T) {
	for r := rune(0); r <= utf8.MaxRune; r++ {
		c := string(r)
		checkEachToken(t, "rune", "ab"+c+"cd "+c+" a"+c+" "+c+"x")
		if r%97 == 0 {
			checkEachToken(t, "long", strings.Repeat("ø", 15)+strings.Repeat(c, 20))
		}
		if t.Failed() {
			return
		}
	}
}

// TestEachTokenAsWithFoldOnMail compares them on the benchmark mail
// stream, the shared corpus and random bytes.
func TestEachTokenAsWithFoldOnMail(t *testing.T) {
	for _, raw := range benchmail.Generate(3, 300) {
		checkEachToken(t, "benchmail", string(raw))
	}
	err := filepath.WalkDir(testcorpus.Dir(t), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		if err == nil {
			checkEachToken(t, path, string(raw))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	letters := []rune("aåÅæÆøØeéÉßœŒþ İıǅΣσςЖж東 .,-\u030a\u0301\ufffd")
	for range 20000 {
		var b strings.Builder
		for range r.IntN(80) {
			if r.IntN(10) == 0 {
				b.WriteByte(byte(r.IntN(256)))
			} else {
				b.WriteRune(letters[r.IntN(len(letters))])
			}
		}
		checkEachToken(t, "random", b.String())
	}
}

func TestFirstMnIsTheFirstMark(t *testing.T) {
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if r < firstMn && unicode.Is(unicode.Mn, r) {
			t.Fatalf("%U is in Mn, below firstMn", r)
		}
	}
}

func FuzzEachTokenAsWithFold(f *testing.F) {
	for _, s := range []string{"Bjørn Müller", "a\u030as e\u0301", "Straße ŒUVRE İı", "\xff\xfeabc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkEachToken(t, "fuzz", s) })
}
