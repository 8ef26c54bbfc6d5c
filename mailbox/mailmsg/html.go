package mailmsg

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlToText renders HTML as readable plain text: paragraphs and headings
// become blank-line separated, <br> and list items start new lines, links
// keep their target ("text <https://…>"), scripts, styles and the head are
// dropped, and white space is collapsed except inside <pre>. The output is
// capped at maxText bytes.
func htmlToText(src string) string {
	z := html.NewTokenizer(strings.NewReader(src))
	z.SetMaxBuf(0)
	t := &textOut{}
	t.b.Grow(len(src) / 2)
	skip := 0 // depth inside script, style, head, title, template
	pre := 0
	type link struct {
		href  string
		start int
	}
	var links []link
	for t.b.Len() < maxText {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return t.String()
		case html.TextToken:
			if skip > 0 {
				continue
			}
			t.text(string(z.Text()), pre > 0)
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			end := tt == html.EndTagToken
			switch a {
			case atom.Script, atom.Style, atom.Head, atom.Title, atom.Template, atom.Noscript:
				if tt == html.SelfClosingTagToken {
					continue
				}
				if end {
					if skip > 0 {
						skip--
					}
				} else {
					skip++
				}
				continue
			}
			if skip > 0 {
				continue
			}
			switch a {
			case atom.Br:
				t.br()
			case atom.P, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6,
				atom.Blockquote, atom.Table, atom.Ul, atom.Ol, atom.Dl, atom.Hr, atom.Address:
				t.newline(2)
			case atom.Pre:
				t.newline(2)
				if end {
					if pre > 0 {
						pre--
					}
				} else if tt == html.StartTagToken {
					pre++
				}
			case atom.Div, atom.Tr, atom.Dt, atom.Dd, atom.Section, atom.Article, atom.Header,
				atom.Footer, atom.Form, atom.Center, atom.Main, atom.Nav, atom.Aside, atom.Caption:
				t.newline(1)
			case atom.Li:
				t.newline(1)
				if !end {
					t.raw("- ")
				}
			case atom.Td, atom.Th:
				if !end {
					t.space()
				}
			case atom.A:
				if end {
					if n := len(links); n > 0 {
						l := links[n-1]
						links = links[:n-1]
						t.linkEnd(l.href, l.start)
					}
				} else if tt == html.StartTagToken {
					href := ""
					for hasAttr {
						var k, v []byte
						k, v, hasAttr = z.TagAttr()
						if string(k) == "href" {
							href = strings.TrimSpace(string(v))
						}
					}
					if len(links) < 64 {
						links = append(links, link{href: href, start: t.b.Len()})
					}
				}
			case atom.Img:
				for hasAttr {
					var k, v []byte
					k, v, hasAttr = z.TagAttr()
					if string(k) == "alt" && len(bytes.TrimSpace(v)) > 0 {
						t.text("["+string(bytes.TrimSpace(v))+"]", false)
					}
				}
			}
		}
	}
	return t.String()
}

// textOut accumulates rendered text with collapsed white space.
type textOut struct {
	b        strings.Builder
	nl       int  // line breaks at the end of b
	pendSp   bool // a space is owed before the next text
	anything bool
}

func (t *textOut) text(s string, pre bool) {
	if pre {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		if s == "" {
			return
		}
		t.flushSpace()
		t.b.WriteString(s)
		t.anything = true
		t.nl = 0
		for i := len(s) - 1; i >= 0 && s[i] == '\n'; i-- {
			t.nl++
		}
		return
	}
	for len(s) > 0 {
		i := strings.IndexFunc(s, isHTMLSpace)
		if i < 0 {
			i = len(s)
		}
		if i > 0 {
			t.flushSpace()
			t.b.WriteString(s[:i])
			t.anything = true
			t.nl = 0
			s = s[i:]
			continue
		}
		// Skip the run of white space, owing one space.
		j := strings.IndexFunc(s, func(r rune) bool { return !isHTMLSpace(r) })
		if j < 0 {
			j = len(s)
		}
		s = s[j:]
		if t.anything && t.nl == 0 {
			t.pendSp = true
		}
	}
}

func isHTMLSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\u00a0'
}

func (t *textOut) flushSpace() {
	if t.pendSp && t.nl == 0 {
		t.b.WriteByte(' ')
	}
	t.pendSp = false
}

func (t *textOut) space() {
	if t.anything && t.nl == 0 {
		t.pendSp = true
	}
}

func (t *textOut) raw(s string) {
	t.pendSp = false
	t.b.WriteString(s)
	t.anything = true
	t.nl = 0
}

// br adds a line break; unlike newline it always does, so that an empty
// line written as <div><br></div> (Gmail, Outlook) survives.
func (t *textOut) br() {
	t.pendSp = false
	if !t.anything {
		return
	}
	t.b.WriteByte('\n')
	t.nl++
}

// newline makes sure the text ends in at least n line breaks (n is 1 or 2).
func (t *textOut) newline(n int) {
	t.pendSp = false
	if !t.anything {
		return
	}
	for t.nl < n {
		t.b.WriteByte('\n')
		t.nl++
	}
}

// linkEnd appends a link's target unless the link text already shows it.
func (t *textOut) linkEnd(href string, start int) {
	if href == "" || strings.HasPrefix(href, "#") || strings.HasPrefix(strings.ToLower(href), "javascript:") {
		return
	}
	s := t.b.String()
	if start > len(s) {
		return
	}
	shown := strings.TrimSpace(s[start:])
	target := href
	if strings.HasPrefix(strings.ToLower(target), "mailto:") {
		target = target[len("mailto:"):]
	}
	if shown == "" {
		t.text(target, false)
		return
	}
	if strings.EqualFold(strings.TrimRight(shown, "/"), strings.TrimRight(target, "/")) ||
		strings.EqualFold(strings.TrimRight(shown, "/"), strings.TrimRight(href, "/")) ||
		strings.Contains(target, shown) && strings.Contains(shown, ".") {
		return
	}
	t.flushSpace()
	t.b.WriteString(" <" + target + ">")
	t.nl = 0
}

// String returns the text with trailing spaces on lines removed and runs of
// blank lines squeezed to one.
func (t *textOut) String() string {
	s := t.b.String()
	if !strings.Contains(s, " \n") && !strings.Contains(s, "\n\n\n") {
		return strings.TrimSpace(s)
	}
	lines := strings.Split(s, "\n")
	var b strings.Builder
	b.Grow(len(s))
	blank := 0
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			blank++
			continue
		}
		if b.Len() > 0 {
			if blank > 0 {
				b.WriteString("\n\n")
			} else {
				b.WriteByte('\n')
			}
		}
		blank = 0
		b.WriteString(l)
	}
	return b.String()
}

// sniffHTMLCharset finds a <meta charset> declaration near the start of an
// HTML body that has no charset parameter.
func sniffHTMLCharset(b []byte) string {
	if len(b) > 2048 {
		b = b[:2048]
	}
	i := bytes.Index(bytes.ToLower(b), []byte("charset="))
	if i < 0 {
		return ""
	}
	rest := b[i+len("charset="):]
	rest = bytes.TrimLeft(rest, `"' `)
	end := bytes.IndexAny(rest, `"'; />`)
	if end < 0 {
		end = len(rest)
	}
	if end > 40 {
		return ""
	}
	return string(rest[:end])
}
