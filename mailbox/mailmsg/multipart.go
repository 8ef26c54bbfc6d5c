package mailmsg

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"github.com/emersion/go-message/textproto"

	kp "kontaktpunkt"
)

// Multiparts: splitting a body into parts with go-message's multipart
// reader, and what to do when the boundaries are broken or missing.

// capture is an io.Reader that keeps a copy of what it reads, up to limit
// bytes, until stopped: the bytes a failed multipart reader consumed, to
// parse again with a guessed boundary or read as text.
type capture struct {
	r       io.Reader
	buf     []byte
	limit   int
	full    bool // more than limit bytes went by
	stopped bool
}

func (c *capture) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if !c.stopped && n > 0 {
		if len(c.buf)+n > c.limit {
			c.full = true
			c.stopped = true
		} else {
			c.buf = append(c.buf, p[:n]...)
		}
	}
	return n, err
}

// partFunc is called with each part of a multipart, in order; i counts
// from 0.
type partFunc func(i int, h partHeader, body io.Reader)

// eachPart reads the parts of a multipart body with go-message's
// textproto.MultipartReader and calls fn for each. It returns the number
// of parts and the preamble. When NextPart fails, the parts read are kept
// and a defect recorded.
func (w *walker) eachPart(body io.Reader, boundary string, fn partFunc) (n int, preamble []byte, consumed []byte, complete, malformed bool) {
	c := &capture{r: body, limit: maxDecodeText}
	mr := textproto.NewMultipartReader(c, boundary)
	for n < maxParts {
		part, err := mr.NextPart()
		if err != nil {
			if n > 0 && !errors.Is(err, io.EOF) {
				if strings.Contains(err.Error(), "EOF") {
					w.defect("missing final boundary")
				} else {
					malformed = true
				}
			}
			break
		}
		if n == 0 {
			preamble = preambleOf(c.buf, boundary)
			c.stopped = true
		}
		fn(n, w.fieldsOf(part.Header), part)
		n++
	}
	if n == 0 {
		// Nothing was found: what went by is all there is.
		io.Copy(io.Discard, c)
		return 0, nil, c.buf, !c.full, false
	}
	return n, preamble, nil, true, malformed
}

// mark is what a walk of parts has recorded so far, to go back to.
type mark struct {
	parts, att, ids, rcpts int
	perm, dsn, spare       bool
}

func (w *walker) mark() mark {
	return mark{parts: w.parts, att: len(w.p.Attachments), ids: len(w.p.EmbeddedIDs), rcpts: len(w.p.BounceRecipients),
		perm: w.p.BouncePermanent, dsn: w.dsnSeen, spare: w.spare.set}
}

// reset forgets what was recorded since m.
func (w *walker) reset(m mark) {
	w.parts = m.parts
	w.p.Attachments = w.p.Attachments[:m.att]
	w.p.EmbeddedIDs = w.p.EmbeddedIDs[:m.ids]
	w.p.BounceRecipients = w.p.BounceRecipients[:m.rcpts]
	w.p.BouncePermanent, w.dsnSeen = m.perm, m.dsn
	if !m.spare {
		w.spare.set, w.spare.body = false, nil
	}
	w.embedded, w.rcpts = nil, nil
	for _, id := range w.p.EmbeddedIDs {
		if w.embedded == nil {
			w.embedded = map[string]bool{}
		}
		w.embedded[id] = true
	}
	for _, a := range w.p.BounceRecipients {
		if w.rcpts == nil {
			w.rcpts = map[string]bool{}
		}
		w.rcpts[kp.NormAddr(a)] = true
	}
}

// repairPartHeaders rewrites the header of every part of a multipart body
// (the lines after each "--boundary" line, up to the blank line) with
// repairHeader. ok is false when no delimiter line was found.
func (w *walker) repairPartHeaders(body []byte, boundary string) (fixed []byte, ok bool) {
	delim := []byte("--" + boundary)
	out := make([]byte, 0, len(body)+64)
	for i := 0; i < len(body); {
		line, next := nextLine(body, i)
		out = append(out, body[i:next]...)
		i = next
		if !bytes.Equal(bytes.TrimRight(line, " \t"), delim) {
			continue
		}
		ok = true
		h, at := w.repairHeader(body[i:], false)
		out = append(out, h...)
		i += at
	}
	return out, ok
}

// preambleOf returns the bytes before the first "--boundary" line.
func preambleOf(b []byte, boundary string) []byte {
	delim := []byte("--" + boundary)
	for i := 0; i < len(b); {
		if bytes.HasPrefix(b[i:], delim) {
			return b[:i]
		}
		k := bytes.IndexByte(b[i:], '\n')
		if k < 0 {
			break
		}
		i += k + 1
	}
	return nil
}

// multipart walks the children of a multipart entity.
func (w *walker) multipart(media string, params map[string]string, body io.Reader, whole []byte, depth int, want bool) (string, bool) {
	def := "text/plain"
	if media == "multipart/digest" {
		def = "message/rfc822"
	}
	sub := strings.TrimPrefix(media, "multipart/")
	var (
		text     string
		plain    bool
		found    bool // text was found (related, alternative)
		altPlain bool // the alternative found is text/plain
		b        strings.Builder
		plainAll = true
	)
	visit := func(i int, h partHeader, pb io.Reader) {
		switch sub {
		case "alternative":
			// Prefer text/plain; else the first alternative that has text.
			// Alternatives are read in order, so a later text/plain
			// replaces an HTML one found first.
			mt, _ := w.mediaType(lookup(h, "Content-Type"), def)
			read := want && (!found || !altPlain && mt == "text/plain")
			rl := rolePart
			if read {
				rl = roleBody
			}
			t, p := w.entity(h, pb, nil, depth+1, def, read, rl)
			if read && strings.TrimSpace(t) != "" {
				text, plain, found, altPlain = t, p, true, mt == "text/plain"
			}
		case "related":
			// The root is the body and the rest are its resources. The
			// root is the first part (RFC 2387), but when it holds no text
			// the first part that does is taken (mimekit
			// multipart-related-mhtml).
			rl := roleBody
			if found {
				rl = rolePart
			}
			t, p := w.entity(h, pb, nil, depth+1, def, want && !found, rl)
			if !found && strings.TrimSpace(t) != "" {
				text, plain, found = t, p, true
			}
		case "report":
			// The first part is the human-readable explanation.
			rl := rolePart
			if i == 0 {
				rl = roleBody
			}
			t, p := w.entity(h, pb, nil, depth+1, def, want && i == 0, rl)
			if i == 0 {
				text, plain = t, p
			}
		default:
			// mixed, signed, digest, parallel and unknown subtypes: every
			// inline text part is body text, the rest are attachments.
			rl := rolePart
			if b.Len() == 0 {
				rl = roleBody
			}
			t, p := w.entity(h, pb, nil, depth+1, def, want && b.Len() < maxText, rl)
			if strings.TrimSpace(t) == "" {
				return
			}
			if b.Len() > 0 {
				b.WriteString("\n\n")
			}
			b.WriteString(t)
			plainAll = plainAll && p
		}
	}

	boundary := params["boundary"]
	var n int
	var preamble, consumed []byte
	complete, malformed := true, false
	if boundary != "" && len(boundary) <= 200 {
		m := w.mark()
		n, preamble, consumed, complete, malformed = w.eachPart(body, boundary, visit)
		if malformed && whole != nil {
			// A part header ReadHeader refuses, past the first part: with
			// the body in memory, forget what the parts gave, repair the
			// part headers and parse again.
			if fixed, ok := w.repairPartHeaders(whole, boundary); ok {
				w.reset(m)
				text, plain, found, altPlain, plainAll = "", false, false, false, true
				b.Reset()
				n, preamble, _, _, malformed = w.eachPart(bytes.NewReader(fixed), boundary, visit)
			}
		}
		if malformed {
			w.defect("malformed multipart")
		}
	} else {
		consumed, _ = io.ReadAll(io.LimitReader(body, maxDecodeText))
	}
	if n == 0 && whole != nil {
		consumed, complete = whole, true
	}
	if n == 0 && complete && boundary != "" {
		// NextPart fails on a part header ReadHeader refuses: repair the
		// part headers and parse again.
		if fixed, ok := w.repairPartHeaders(consumed, boundary); ok {
			n, preamble, _, _, _ = w.eachPart(bytes.NewReader(fixed), boundary, visit)
		}
	}
	if n == 0 {
		// The declared boundary is never used (or missing): parse again
		// with the boundary the body does use.
		if b := guessBoundary(consumed); b != "" && b != boundary && complete {
			w.defect("wrong multipart boundary")
			n, preamble, _, _, _ = w.eachPart(bytes.NewReader(consumed), b, visit)
		}
	}
	if n == 0 {
		// No parts at all: read the body as plain text, best effort.
		w.defect("multipart without parts")
		if !want {
			return "", false
		}
		s, _ := decodeCharset("", consumed)
		return s, true
	}
	switch sub {
	case "alternative":
		return text, plain
	case "related", "report":
		return w.orPreamble(text, plain, preamble, want)
	}
	return w.orPreamble(b.String(), plainAll && b.Len() > 0, preamble, want)
}

// orPreamble returns text, or when that is empty the multipart preamble if
// it says more than the usual "This is a multi-part message in MIME
// format." (some bounces put their whole explanation there).
func (w *walker) orPreamble(text string, plain bool, preamble []byte, want bool) (string, bool) {
	if !want || strings.TrimSpace(text) != "" || len(bytes.TrimSpace(preamble)) == 0 {
		return text, plain
	}
	if len(preamble) > maxDecodeText {
		preamble = preamble[:maxDecodeText]
	}
	s, _ := decodeCharset("", preamble)
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		ll := strings.ToLower(l)
		if strings.Contains(ll, "mime") && (strings.Contains(ll, "format") || strings.Contains(ll, "multi")) ||
			strings.Contains(ll, "multi-part message") || strings.Contains(ll, "multipart message") {
			continue
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	if strings.TrimSpace(b.String()) == "" {
		return text, plain
	}
	w.defect("text in multipart preamble")
	return b.String(), true
}

// guessBoundary finds a plausible boundary when the declared one is missing
// or never used: the first line that starts with "--" and is followed later
// by a header-looking line.
func guessBoundary(body []byte) string {
	for i, n := 0, 0; i < len(body) && n < 200; n++ {
		line, next := nextLine(body, i)
		i = next
		if len(line) > 2 && line[0] == '-' && line[1] == '-' {
			b := strings.TrimRight(string(line[2:]), " \t")
			b = strings.TrimSuffix(b, "--")
			if b == "" || strings.ContainsAny(b, " \t") {
				continue
			}
			nl, _ := nextLine(body, next)
			if len(nl) == 0 || looksLikeField(nl) {
				return b
			}
		}
	}
	return ""
}
