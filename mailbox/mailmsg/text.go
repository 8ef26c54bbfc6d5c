package mailmsg

import (
	"strings"
	"unicode/utf8"
)

// The text of a message: line ends, format=flowed and the cap on its
// length. HTML is turned into text in html.go.

// finishText normalises line endings, drops NULs, trims blank lines at both
// ends and caps the text at maxText on a rune boundary.
func finishText(s string) string {
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	s = strings.TrimLeft(s, "\n")
	s = strings.TrimRight(s, " \t\n")
	if len(s) > maxText {
		cut := maxText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

// unflow joins the soft line breaks of format=flowed text (RFC 3676):
// a line ending in a space continues on the next line of the same quote
// depth.
func unflow(s string, delsp bool) string {
	if !strings.Contains(s, " \n") && !strings.Contains(s, " \r\n") {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(s, "\n")
	var b strings.Builder
	b.Grow(len(s))
	inPara := false // the previous line was flowed into this one
	prevQuote := 0
	for i, l := range lines {
		q := 0
		for q < len(l) && l[q] == '>' {
			q++
		}
		body := strings.TrimPrefix(l[q:], " ") // space stuffing
		if inPara && q != prevQuote {
			b.WriteByte('\n')
			inPara = false
		}
		if !inPara && q > 0 {
			b.WriteString(l[:q])
			b.WriteByte(' ')
		}
		flowed := strings.HasSuffix(body, " ") && body != "-- "
		if flowed && delsp {
			body = body[:len(body)-1]
		}
		b.WriteString(body)
		if flowed && i+1 < len(lines) {
			inPara, prevQuote = true, q
			continue
		}
		inPara = false
		if i+1 < len(lines) {
			b.WriteByte('\n')
		}
	}
	return b.String()
}
