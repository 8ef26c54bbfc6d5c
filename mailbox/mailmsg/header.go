package mailmsg

import (
	"bufio"
	"bytes"
	"net/mail"
	nettextproto "net/textproto"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-message/textproto"
)

// Header fields: reading a header block with go-message's textproto
// reader, repairing a malformed one line by line, capping a flood of
// fields, and the Date field.

// field is one header field as read: canonical name, value unfolded but
// otherwise raw (8-bit bytes, encoded words and all).
type field struct {
	name  string
	value string
}

// partHeader is the header of one MIME entity.
type partHeader []field

func lookup(fs []field, name string) string {
	for _, f := range fs {
		if strings.EqualFold(f.name, name) {
			return f.value
		}
	}
	return ""
}

func joinValues(fs []field, name string) string {
	var s string
	for _, f := range fs {
		if strings.EqualFold(f.name, name) {
			if s != "" {
				s += " "
			}
			s += f.value
		}
	}
	return s
}

// nextLine returns the line at data[i:] without its line ending, and the
// index of the following line.
func nextLine(data []byte, i int) (line []byte, next int) {
	j := bytes.IndexByte(data[i:], '\n')
	if j < 0 {
		line, next = data[i:], len(data)
	} else {
		line, next = data[i:i+j], i+j+1
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, next
}

// isField reports whether line is a header field go-message's ReadHeader
// accepts: a name of printable ASCII other than ":" (white space around it
// allowed), a colon.
func isField(line []byte) bool {
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return false
	}
	name := bytes.Trim(line[:colon], " \t")
	if len(name) == 0 {
		return false
	}
	for _, c := range name {
		if c < '!' || c > '~' {
			return false
		}
	}
	return true
}

// looksLikeField is isField, also allowing spaces inside the name, as some
// mailers write them ("Content Type: …"); such a line is dropped, not taken
// as the start of the body.
func looksLikeField(line []byte) bool {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || colon > 76 || line[0] == ' ' || line[0] == '\t' {
		return false
	}
	for _, c := range bytes.TrimRight(line[:colon], " \t") {
		if c < '!' && c != ' ' || c > '~' {
			return false
		}
	}
	return true
}

// readHeader reads the header block at the start of data with go-message's
// textproto.ReadHeader and returns its fields and the body after it. When
// ReadHeader fails on a malformed line, the header is repaired
// (repairHeader) and read again.
func (w *walker) readHeader(data []byte, top bool) ([]field, []byte) {
	data = w.capHeaderLines(data)
	h, n, err := readTextprotoHeader(data)
	if err == nil {
		return w.fieldsOf(h), data[n:]
	}
	fixed, bodyAt := w.repairHeader(data, top)
	h, _, err = readTextprotoHeader(fixed)
	if err != nil {
		// Not expected after the repair; keep the fields read so far.
		w.defect("malformed header")
	}
	return w.fieldsOf(h), data[bodyAt:]
}

// readTextprotoHeader reads one header block from data and returns the
// number of bytes it took (up to and including the blank line).
func readTextprotoHeader(data []byte) (textproto.Header, int, error) {
	r := bytes.NewReader(data)
	br := headerReaders.Get().(*bufio.Reader)
	br.Reset(r)
	h, err := textproto.ReadHeader(br)
	n := len(data) - r.Len() - br.Buffered()
	br.Reset(nil)
	headerReaders.Put(br)
	return h, n, err
}

// headerReaders holds the bufio.Readers ReadHeader reads through; header
// values are copied out, so a reader is free again once it returns.
var headerReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// fieldsOf lists a header's fields in order, keeping at most maxFields
// (past that only the essential ones) and maxFieldLen bytes of each value.
func (w *walker) fieldsOf(h textproto.Header) []field {
	fs := make([]field, 0, h.Len())
	for it := h.Fields(); it.Next(); {
		name := it.Key()
		if len(fs) >= maxFields && (len(fs) >= 2*maxFields || !essential(name)) {
			w.defect("too many header fields")
			continue
		}
		v := it.Value()
		if len(v) > maxFieldLen {
			v = v[:maxFieldLen]
			w.defect("header field truncated")
		}
		fs = append(fs, field{name: name, value: v})
	}
	return fs
}

// repairHeader rewrites the header lines at the start of data so that
// ReadHeader accepts them, and returns them with the index in data where
// the body starts. See the file comment for the repairs.
func (w *walker) repairHeader(data []byte, top bool) (fixed []byte, bodyAt int) {
	out := make([]byte, 0, 1024)
	inField := false
	i := 0
	for i < len(data) {
		line, next := nextLine(data, i)
		if len(bytes.TrimRight(line, " \t")) == 0 {
			// The separator; a line of white space only ends the header too.
			return append(out, '\n'), next
		}
		if line[0] == ' ' || line[0] == '\t' {
			if inField {
				out = append(append(out, line...), '\n')
				i = next
				continue
			}
			line = bytes.TrimLeft(line, " \t")
			w.defect("header starts with white space")
		}
		if isField(line) {
			out = append(append(out, line...), '\n')
			inField = true
			i = next
			continue
		}
		if looksLikeField(line) {
			w.defect("malformed header field")
			i = next
			continue
		}
		if inField && fieldAhead(data, next) {
			// A stray line (an unindented continuation, most often) with
			// a field after it: fold it into the field before.
			w.defect("badly folded header")
			out = append(append(append(out, ' '), line...), '\n')
			i = next
			continue
		}
		if inField && bytes.HasSuffix(bytes.TrimRight(out, " \t\n"), []byte(";")) {
			// A parameter on a line of its own, unindented
			// ("boundary=…" after "Content-Type: …;").
			w.defect("badly folded header")
			out = append(append(append(out, ' '), line...), '\n')
			i = next
			continue
		}
		// Not a header line: the header/body separator is missing.
		if inField {
			w.defect("missing header/body separator")
		} else if top {
			w.defect("no header")
		}
		return append(out, '\n'), i
	}
	return append(out, '\n'), len(data)
}

// fieldAhead reports whether one of the two lines at data[i:] is a header
// field, with no blank line before it.
func fieldAhead(data []byte, i int) bool {
	for k := 0; k < 2 && i < len(data); k++ {
		line, next := nextLine(data, i)
		if len(bytes.TrimSpace(line)) == 0 {
			return false
		}
		if isField(line) {
			return true
		}
		i = next
	}
	return false
}

// capHeaderLines drops the non-essential lines past maxFields of a header
// that has too many, before ReadHeader would hold them all (a million
// junk fields are cheap to send).
func (w *walker) capHeaderLines(data []byte) []byte {
	if len(data) < maxFields*8 {
		return data
	}
	end := len(data)
	if k := bytes.Index(data, []byte("\n\n")); k >= 0 {
		end = k + 1
	}
	if k := bytes.Index(data[:end], []byte("\n\r\n")); k >= 0 {
		end = k + 1
	}
	if bytes.Count(data[:end], []byte{'\n'}) <= maxFields {
		return data
	}
	w.defect("too many header fields")
	out := make([]byte, 0, 64<<10)
	n, keep := 0, true
	for i := 0; i < end; {
		line, next := nextLine(data, i)
		if len(line) > 0 && line[0] != ' ' && line[0] != '\t' {
			n++
			keep = n <= maxFields
			if !keep {
				if c := bytes.IndexByte(line, ':'); c > 0 {
					keep = essential(textprotoKey(line[:c]))
				}
			}
		}
		if keep {
			out = append(out, data[i:next]...)
		}
		i = next
	}
	return append(out, data[end:]...)
}

// textprotoKey is the canonical form of a raw field name, as ReadHeader
// makes it.
func textprotoKey(b []byte) string {
	return nettextproto.CanonicalMIMEHeaderKey(string(bytes.TrimSpace(b)))
}

// essential reports the canonical field names kept even in a header that
// has too many fields.
func essential(name string) bool {
	switch name {
	case "From", "Sender", "Reply-To", "To", "Cc", "Subject", "Date", "Message-Id", "In-Reply-To",
		"References", "Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "Return-Path",
		"Auto-Submitted", "Precedence", "List-Id", "List-Unsubscribe", "X-Failed-Recipients",
		"Authentication-Results", "Received", "X-Kontaktpunkt-Loop", "X-Autoreply", "X-Autorespond":
		return true
	}
	return false
}

var dateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04 -0700",
	"Mon, 2 Jan 06 15:04:05 -0700",
	"Mon Jan 2 15:04:05 2006",
	"Mon Jan 2 15:04:05 MST 2006",
	"Mon, 2 Jan 2006 15:04:05",
	"2006-01-02 15:04:05 -0700",
	time.RFC3339,
}

// parseDate parses a Date header, best effort.
func parseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	// The common form first: net/mail tries several layouts and pays for
	// an error value on each miss.
	if t, err := time.Parse("Mon, 2 Jan 2006 15:04:05 -0700", s); err == nil {
		return t, true
	}
	if t, err := mail.ParseDate(s); err == nil {
		return t, true
	}
	// Drop a trailing comment and squeeze white space, then try layouts.
	if i := strings.IndexByte(s, '('); i > 0 {
		s = strings.TrimSpace(s[:i])
	}
	s = strings.Join(strings.Fields(s), " ")
	s = strings.Replace(s, ",", ", ", 1)
	s = strings.Join(strings.Fields(s), " ")
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
