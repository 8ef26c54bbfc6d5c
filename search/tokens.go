// Package search turns text into the tokens of the full-text index and
// reads search queries. It is pure: the store keeps the index, and the
// dashboard and the command line ask it.
//
// Tokens are Norwegian-aware: case is folded, æ, ø and å stay letters of
// their own, and other diacritics fold to their base letter (é → e,
// ü → u, ö → o), so "Bjørn Müller" is found by "bjørn" and "muller" but
// "bjorn" finds nobody called Bjørn.
package search

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxToken is the longest token in bytes; a longer word is indexed by its
// first MaxToken bytes, which prefix search still finds.
const MaxToken = 32

// fold maps a lower-case letter with a diacritic to its base letters.
// æ, ø and å are missing on purpose: they are letters of their own.
var fold = map[rune]string{
	'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'ä': "a", 'ā': "a", 'ă': "a", 'ą': "a",
	'ç': "c", 'ć': "c", 'ĉ': "c", 'ċ': "c", 'č': "c",
	'ď': "d", 'đ': "d", 'ð': "d",
	'è': "e", 'é': "e", 'ê': "e", 'ë': "e", 'ē': "e", 'ĕ': "e", 'ė': "e", 'ę': "e", 'ě': "e",
	'ĝ': "g", 'ğ': "g", 'ġ': "g", 'ģ': "g",
	'ĥ': "h", 'ħ': "h",
	'ì': "i", 'í': "i", 'î': "i", 'ï': "i", 'ĩ': "i", 'ī': "i", 'ĭ': "i", 'į': "i", 'ı': "i",
	'ĵ': "j", 'ķ': "k",
	'ĺ': "l", 'ļ': "l", 'ľ': "l", 'ŀ': "l", 'ł': "l",
	'ñ': "n", 'ń': "n", 'ņ': "n", 'ň': "n",
	'ò': "o", 'ó': "o", 'ô': "o", 'õ': "o", 'ö': "o", 'ō': "o", 'ŏ': "o", 'ő': "o",
	'œ': "oe",
	'ŕ': "r", 'ŗ': "r", 'ř': "r",
	'ś': "s", 'ŝ': "s", 'ş': "s", 'š': "s", 'ß': "ss",
	'ţ': "t", 'ť': "t", 'ŧ': "t", 'þ': "th",
	'ù': "u", 'ú': "u", 'û': "u", 'ü': "u", 'ũ': "u", 'ū': "u", 'ŭ': "u", 'ů': "u", 'ű': "u", 'ų': "u",
	'ŵ': "w", 'ý': "y", 'ÿ': "y", 'ŷ': "y",
	'ź': "z", 'ż': "z", 'ž': "z",
}

// Fold returns r lower-cased with its diacritic removed (æ, ø, å kept),
// or "" when r is no letter or digit and so separates words.
func Fold(r rune) string {
	if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
		return ""
	}
	r = unicode.ToLower(r)
	if f, ok := fold[r]; ok {
		return f
	}
	if unicode.Is(unicode.Mn, r) {
		return ""
	}
	return string(r)
}

// Tokens splits s into folded words (letters and digits), in order, with
// repeats. Invalid UTF-8 separates words. Combining marks are dropped
// (a decomposed "é" is "e"), except the ring of a decomposed "å".
func Tokens(s string) []string {
	var out []string
	EachToken(s, func(tok []byte) { out = append(out, string(tok)) })
	return out
}

// EachToken calls fn with each token of s, as Tokens returns them; tok
// is only valid during the call.
func EachToken(s string, fn func(tok []byte)) {
	eachToken(s, func(tok []byte, _ int) bool { fn(tok); return true })
}

// eachToken calls fn with each token of s and the byte offset where its
// word starts, until fn returns false.
func eachToken(s string, fn func(tok []byte, start int) bool) {
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
				// The rest of a run of such bytes goes in at once.
				j := i
				for j < len(s) && ('a' <= s[j] && s[j] <= 'z' || '0' <= s[j] && s[j] <= '9') {
					j++
				}
				b = append(b, s[i-1:j]...)
				i = j
			case 'A' <= c && c <= 'Z':
				b = append(b, c+'a'-'A')
			default:
				flush()
			}
			continue
		}
		if c >= 0xc2 && c < 0xc6 && i+1 < len(s) && s[i+1]&0xc0 == 0x80 {
			// U+0080 to U+017F (Latin-1 and Latin Extended-A, where
			// Norwegian and most European letters are): from the table.
			r := rune(c&0x1f)<<6 | rune(s[i+1]&0x3f)
			i += 2
			f := latinFold[r-0x80]
			if f == "" {
				flush()
				continue
			}
			if len(b)+len(f) > cap(b) {
				continue // past MaxToken anyway
			}
			b = append(b, f...)
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if r == '\u030a' && len(b) > 0 && b[len(b)-1] == 'a' {
			// "a" + combining ring: the letter å.
			b = append(b[:len(b)-1], "å"...)
			continue
		}
		if r >= firstMn && unicode.Is(unicode.Mn, r) {
			continue
		}
		// What Fold does, without a string for each letter.
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush()
			continue
		}
		r = unicode.ToLower(r)
		if f := foldLatin(r); f != "" {
			if len(b)+len(f) <= cap(b) {
				b = append(b, f...)
			}
			continue
		}
		if len(b)+utf8.RuneLen(r) > cap(b) {
			continue // past MaxToken anyway
		}
		b = utf8.AppendRune(b, r)
	}
	flush()
}

// foldTable is fold indexed by rune from foldFirst: every letter it
// folds is in Latin-1 Supplement or Latin Extended-A.
const foldFirst, foldEnd = 0xc0, 0x180

var foldTable = func() (t [foldEnd - foldFirst]string) {
	for r, f := range fold {
		t[r-foldFirst] = f
	}
	return t
}()

// latinFold is Fold of U+0080 to U+017F, looked up without a map.
var latinFold = func() (t [0x100]string) {
	for r := rune(0x80); r < 0x180; r++ {
		t[r-0x80] = Fold(r)
	}
	return t
}()

// firstMn is the first nonspacing mark (combining grave accent): no rune
// below it is in unicode.Mn.
const firstMn = 0x300

// foldLatin is fold[r] without a map lookup.
func foldLatin(r rune) string {
	if r < foldFirst || r >= foldEnd {
		return ""
	}
	return foldTable[r-foldFirst]
}

// truncateBytes cuts a token to MaxToken bytes at a character boundary.
func truncateBytes(t []byte) []byte {
	if len(t) <= MaxToken {
		return t
	}
	n := MaxToken
	for n > 0 && !utf8.RuneStart(t[n]) {
		n--
	}
	return t[:n]
}

// AddressTokens returns the tokens that find an address as a whole: the
// address itself and "@domain" for its domain and each parent domain of
// two labels or more ("ola@hf.uib.no" gives "ola@hf.uib.no",
// "@hf.uib.no", "@uib.no"). The words of the address come from Tokens.
func AddressTokens(addr string) []string {
	addr = strings.ToLower(strings.TrimSpace(addr))
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 || !validAddrToken(addr) {
		return nil
	}
	out := []string{addr}
	domain := addr[at+1:]
	for strings.Count(domain, ".") >= 1 {
		out = append(out, "@"+domain)
		domain = domain[strings.IndexByte(domain, '.')+1:]
	}
	return out
}

// FromTokens are AddressTokens marked as the sender's, for from: filters.
func FromTokens(addr string) []string {
	t := AddressTokens(addr)
	for i := range t {
		t[i] = "from:" + t[i]
	}
	return t
}

// validAddrToken keeps address tokens printable, bounded and free of the
// byte that separates a token from its case number in the index.
func validAddrToken(s string) bool {
	if len(s) > 254 || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// Snippet returns about width bytes of text around the first word that
// one of words is a prefix of (as folded tokens), on one line, and
// whether one was found.
func Snippet(text string, words []string, width int) (string, bool) {
	if len(words) == 0 || text == "" {
		return "", false
	}
	at := -1
	eachToken(text, func(tok []byte, start int) bool {
		for _, w := range words {
			if len(tok) >= len(w) && string(tok[:len(w)]) == w {
				at = start
				return false
			}
		}
		return true
	})
	if at < 0 {
		return "", false
	}
	// Cut at character boundaries, looking a few bytes at most: text
	// that is no UTF-8 has none.
	from := max(at-width/3, 0)
	for i := 0; i < utf8.UTFMax && from > 0 && !utf8.RuneStart(text[from]); i++ {
		from--
	}
	to := max(min(from+width, len(text)), at)
	for i := 0; i < utf8.UTFMax && to < len(text) && !utf8.RuneStart(text[to]); i++ {
		to++
	}
	s := strings.Join(strings.Fields(strings.ToValidUTF8(text[from:to], "")), " ")
	if from > 0 {
		s = "…" + s
	}
	if to < len(text) {
		s += "…"
	}
	return s, true
}
