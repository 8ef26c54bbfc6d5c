package mailmsg

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/emersion/go-message/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
)

// Charsets: decoding text in a declared charset, leniently (ISO-8859-1
// read as windows-1252, an unknown charset as UTF-8 if valid, else as
// windows-1252).

// latin1AsWindows1252 relabels encoded words in ISO-8859-1 as
// windows-1252, which mime.WordDecoder would otherwise decode itself, to
// C1 controls where Outlook meant quotes and euro signs.
func latin1AsWindows1252(v string) string {
	const label = "=?iso-8859-1?"
	var b strings.Builder
	last := 0
	for i := 0; i+len(label) <= len(v); {
		k := strings.Index(v[i:], "=?")
		if k < 0 {
			break
		}
		i += k
		if i+len(label) <= len(v) && strings.EqualFold(v[i:i+len(label)], label) {
			b.WriteString(v[last:i])
			b.WriteString("=?windows-1252?")
			i += len(label)
			last = i
			continue
		}
		i += 2
	}
	if last == 0 {
		return v
	}
	b.WriteString(v[last:])
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// decodeCharset converts b from the named charset to UTF-8. ok is false
// when the charset is unknown; s is then b read as UTF-8 if valid, else as
// windows-1252, so the text is still readable.
func decodeCharset(cs string, b []byte) (s string, ok bool) {
	cs = strings.ToLower(strings.Trim(strings.TrimSpace(cs), `"'`))
	switch cs {
	case "", "utf-8", "utf8", "us-ascii", "ascii", "us_ascii", "7bit", "8bit", "unicode-1-1-utf-8":
		if utf8.Valid(b) {
			return string(b), true
		}
		// Mislabelled: most such text is windows-1252 in practice.
		return windows1252(b), true
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "l1", "iso-ir-100", "cp819", "ibm819",
		"windows-1252", "cp1252", "x-cp1252":
		// Like browsers (WHATWG), read ISO-8859-1 as windows-1252: Outlook
		// labels text ISO-8859-1 and writes windows-1252 quotes and euro
		// signs, and the C1 controls of real ISO-8859-1 are never meant.
		return windows1252(b), true
	}
	if enc := lookupCharset(cs); enc != nil {
		if isASCII(unsafeString(b)) && asciiCompatible(cs) {
			return string(b), true
		}
		out, err := enc.NewDecoder().Bytes(b)
		if err == nil {
			return strings.ToValidUTF8(unsafeString(out), "\uFFFD"), true
		}
	}
	// Whatever go-message's charset package knows beyond the indexes
	// (its quirks table and registered encodings).
	if r, err := charset.Reader(cs, bytes.NewReader(b)); err == nil {
		out, err := io.ReadAll(r)
		if err == nil || len(out) > 0 {
			return strings.ToValidUTF8(string(out), "\uFFFD"), true
		}
	}
	if utf8.Valid(b) {
		return string(b), false
	}
	return windows1252(b), false
}

// asciiCompatible reports charsets in which ASCII bytes mean ASCII, so
// ASCII-only input needs no decoding (not UTF-16, UTF-7, ISO-2022 or EBCDIC).
func asciiCompatible(cs string) bool {
	return !strings.Contains(cs, "16") && !strings.Contains(cs, "32") && !strings.Contains(cs, "utf-7") &&
		!strings.Contains(cs, "2022") && !strings.Contains(cs, "ebcdic") && !strings.HasPrefix(cs, "ibm0") &&
		!strings.HasPrefix(cs, "cp0") && !strings.Contains(cs, "hz")
}

func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// cp1252High maps windows-1252 bytes 0x80-0x9F; the rest of the code page
// is ISO-8859-1, the first 256 code points. The five undefined bytes map to
// their C1 code points, as WHATWG does.
var cp1252High = [32]rune{
	'€', 0x81, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0x8d, 'Ž', 0x8f,
	0x90, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0x9d, 'ž', 'Ÿ',
}

// windows1252 decodes windows-1252 (and so ISO-8859-1) to UTF-8, copying
// runs of ASCII at once.
func windows1252(b []byte) string {
	out := make([]byte, 0, len(b)+len(b)/8+4)
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] < 0x80 {
			i++
		}
		out = append(out, b[:i]...)
		if i == len(b) {
			break
		}
		if c := b[i]; c < 0xa0 {
			out = utf8.AppendRune(out, cp1252High[c-0x80])
		} else {
			out = append(out, 0xc0|c>>6, 0x80|c&0x3f)
		}
		b = b[i+1:]
	}
	return unsafeString(out)
}

// charsets caches charset lookups by lower-case name (nil: unknown). Names
// come from untrusted mail, so the cache stops growing at maxCharsets.
var (
	charsetMu    sync.RWMutex
	charsetCache = map[string]encoding.Encoding{}
)

const maxCharsets = 512

// lookupCharset finds an encoding the way go-message's charset package
// does (IANA MIME names, "cs" aliases, WHATWG labels), cached.
func lookupCharset(cs string) encoding.Encoding {
	charsetMu.RLock()
	enc, ok := charsetCache[cs]
	charsetMu.RUnlock()
	if ok {
		return enc
	}
	enc, _ = ianaindex.MIME.Encoding(cs)
	if enc == nil {
		enc, _ = ianaindex.MIME.Encoding("cs" + cs)
	}
	if enc == nil {
		enc, _ = htmlindex.Get(cs)
	}
	charsetMu.Lock()
	if len(charsetCache) < maxCharsets {
		charsetCache[cs] = enc
	}
	charsetMu.Unlock()
	return enc
}

// lenientCharsetReader never fails: an unknown charset is read as is.
func lenientCharsetReader(cs string, r io.Reader) (io.Reader, error) {
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, err
	}
	s, _ := decodeCharset(cs, b)
	return strings.NewReader(s), nil
}
