package mailmsg

import (
	"encoding/base64"
	"io"
	"mime"
	"strings"
	"unicode/utf8"
)

// RFC 2047 encoded words and raw 8-bit bytes in header values.

// headerText decodes a raw header value to readable UTF-8: raw 8-bit bytes
// (UTF-8 if valid, else the fallback charset) and RFC 2047 encoded words.
func (w *walker) headerText(v string) string {
	v = w.utf8Header(v)
	if strings.Contains(v, "=?") {
		v = w.decodeHeader(v)
	}
	if strings.IndexByte(v, 0) >= 0 {
		v = strings.ReplaceAll(v, "\x00", "")
		w.defect("NUL in header")
	}
	return v
}

// maxWordHeader is the longest header value given to mime.WordDecoder,
// whose scan for the end of an encoded word starts over at every "=?"
// (quadratic in a hostile header); longer values go to decodeWords.
const maxWordHeader = 2 << 10

// decodeHeader decodes RFC 2047 encoded words with mime.WordDecoder and
// the charsets decodeCharset knows. Where it gives up (a malformed word, a
// value too long for it), decodeWords decodes what it can.
func (w *walker) decodeHeader(v string) string {
	if len(v) <= maxWordHeader {
		if w.words == nil {
			w.words = &mime.WordDecoder{CharsetReader: func(cs string, r io.Reader) (io.Reader, error) {
				b, err := io.ReadAll(io.LimitReader(r, maxFieldLen))
				if err != nil {
					return nil, err
				}
				if k := strings.IndexByte(cs, '*'); k >= 0 { // RFC 2231 language suffix
					cs = cs[:k]
				}
				s, ok := decodeCharset(cs, b)
				if !ok {
					w.defect("unknown charset " + cs)
				}
				return strings.NewReader(s), nil
			}}
		}
		// A word it cannot decode (bad base64, say) it keeps as written;
		// decodeWords then decodes what it can.
		if s, err := w.words.DecodeHeader(latin1AsWindows1252(v)); err == nil && !strings.Contains(s, "=?") {
			return s
		}
	}
	s, bad := decodeWords(v)
	if bad != "" {
		w.defect("unknown charset " + bad)
	}
	return s
}

// utf8Header turns raw 8-bit header bytes into UTF-8.
func (w *walker) utf8Header(v string) string {
	if isASCII(v) || utf8.ValidString(v) {
		return v
	}
	w.defect("raw 8-bit header")
	if s, ok := decodeCharset(w.fallback, []byte(v)); ok {
		return s
	}
	s, _ := decodeCharset("windows-1252", []byte(v))
	return s
}

// decodeWords decodes RFC 2047 encoded words anywhere in s (also inside
// quoted strings and glued to other text, as broken mailers write them).
// White space between adjacent encoded words is dropped, and adjacent words
// in the same charset are joined before conversion so that a character split
// across two words survives. bad names an unknown charset, if one was met;
// such words are kept decoded best effort.
func decodeWords(s string) (out, bad string) {
	var b strings.Builder
	var pend []byte // decoded bytes of adjacent words not yet converted
	var pendCS string
	flushPend := func() {
		if len(pend) == 0 {
			return
		}
		t, ok := decodeCharset(pendCS, pend)
		if !ok && bad == "" {
			bad = pendCS
		}
		b.WriteString(t)
		pend = pend[:0]
	}
	// nextEnd caches the first "?=" at or after the last place looked,
	// so that text full of "=?" but short of "?=" costs linear time.
	nextEnd := -2 // unknown; -1: there is none
	findEnd := func(from int) int {
		if nextEnd == -1 || nextEnd >= from {
			return nextEnd
		}
		k := strings.Index(s[from:], "?=")
		if k < 0 {
			nextEnd = -1
		} else {
			nextEnd = from + k
		}
		return nextEnd
	}
	lastWasWord := false
	i := 0
	for i < len(s) {
		j := strings.Index(s[i:], "=?")
		if j < 0 || findEnd(i+j+2) < 0 {
			flushPend()
			b.WriteString(s[i:])
			break
		}
		gap := s[i : i+j]
		cs, dec, n, ok := encodedWord(s, i+j, findEnd)
		if !ok {
			flushPend()
			b.WriteString(s[i : i+j+2])
			i += j + 2
			lastWasWord = false
			continue
		}
		if !(lastWasWord && strings.TrimLeft(gap, " \t\r\n") == "") {
			flushPend()
			b.WriteString(gap)
		}
		if len(pend) > 0 && !strings.EqualFold(cs, pendCS) {
			flushPend()
		}
		pendCS = cs
		pend = append(pend, dec...)
		i += j + n
		lastWasWord = true
	}
	flushPend()
	return b.String(), bad
}

// maxWord bounds one encoded word (RFC 2047 says 75 characters; broken
// mailers write longer ones, but not this long).
const maxWord = 4096

// encodedWord parses one "=?charset?enc?text?=" at s[at:]; findEnd returns
// the first "?=" at or after an index, or -1. n is the length consumed.
func encodedWord(s string, at int, findEnd func(int) int) (cs string, dec []byte, n int, ok bool) {
	w := s[at:]
	if len(w) < 8 || w[0] != '=' || w[1] != '?' {
		return "", nil, 0, false
	}
	q1 := strings.IndexByte(w[2:min(len(w), 2+76)], '?')
	if q1 <= 0 {
		return "", nil, 0, false
	}
	cs = w[2 : 2+q1]
	if k := strings.IndexByte(cs, '*'); k >= 0 { // RFC 2231 language suffix
		cs = cs[:k]
	}
	rest := w[2+q1+1:]
	if len(rest) < 3 || rest[1] != '?' {
		return "", nil, 0, false
	}
	enc := rest[0] | 0x20
	textAt := at + 2 + q1 + 1 + 2
	end := findEnd(textAt)
	if end < 0 || end-textAt > maxWord {
		return "", nil, 0, false
	}
	text := s[textAt:end]
	n = end + 2 - at
	switch enc {
	case 'b':
		dec, _ = base64.StdEncoding.DecodeString(unsafeString(repairBase64([]byte(text))))
	case 'q':
		dec = make([]byte, 0, len(text))
		for k := 0; k < len(text); k++ {
			c := text[k]
			switch {
			case c == '_':
				dec = append(dec, ' ')
			case c == '=' && k+2 < len(text) && isHex(text[k+1]) && isHex(text[k+2]):
				dec = append(dec, unhex(text[k+1])<<4|unhex(text[k+2]))
				k += 2
			default:
				dec = append(dec, c)
			}
		}
	default:
		return "", nil, 0, false
	}
	return cs, dec, n, true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 0
}
