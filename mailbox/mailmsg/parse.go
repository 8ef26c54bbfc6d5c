// Parsing: raw mail into kp.Parsed (docs/behaviour.md, Reading a message). The package comment
// is in doc.go; these are the parser's invariants.
//
//   - Parse never panics and never hangs on untrusted input: MIME nesting is
//     limited to maxDepth levels and maxParts parts, every loop consumes input,
//     and a recover at the top turns a bug into a defect and an error.
//   - Parse always returns a non-nil *kp.Parsed whose MessageID is set
//     (canonical, or synthetic from the SHA-256 of the raw bytes) and whose
//     Size is len(raw). It returns an error (wrapping ErrUnusable) only when
//     neither a sender nor a subject nor any text came out; the error text is
//     the quarantine reason a person reads.
//   - Attachment bodies are streamed and counted (io.Copy to io.Discard),
//     never held; only text bodies (capped at maxDecodeText) are read into
//     memory.
//
// go-message parses the MIME: textproto.ReadHeader reads every header block
// (the message's, each part's, those inside message/rfc822,
// text/rfc822-headers and message/delivery-status parts),
// textproto.MultipartReader splits multiparts, and message.New undoes the
// transfer encoding. Charsets are converted with the encodings go-message's
// charset package knows (IANA and WHATWG names), ISO-8859-1 read as
// windows-1252 as browsers do, and an unknown charset kept as UTF-8 if valid,
// else windows-1252.
//
// go-message is strict where mail in the wild is not, so leniency comes from
// repairing bytes and parsing again, never from walking MIME ourselves:
//
//   - a UTF-8 byte order mark and a leading mbox "From " line are cut off
//     (neither is a header field);
//   - CR-only line endings (old Mac mail) and a mix of CRLF and LF become LF,
//     because the multipart reader fixes its line ending on the first
//     boundary line and would miss boundaries written with the other;
//   - when ReadHeader fails on a malformed line, the header is repaired line
//     by line (repairHeader) and read again: leading white space on the first
//     line is cut; a line with a bad field name ("Content Type: …") is
//     dropped; an unindented line after a field ending in ";" (a parameter
//     on its own line) or with a field within the next two lines (an
//     unindented continuation) becomes a continuation line; before any other
//     line a blank line is put, so the rest is the body;
//   - a header of more than maxFields lines loses its non-essential lines
//     past the cap before it is read, so a flood of junk fields costs no
//     memory;
//   - when a multipart's NextPart fails on a part header, the part headers
//     are repaired the same way and the multipart parsed again: always when
//     no part was read, and for the top level (whose body is in memory) also
//     after some were; in a nested multipart the parts read are kept;
//   - a missing final boundary keeps every part read, the last one as far
//     as it goes;
//   - a declared boundary that is never used: the boundary the body does use
//     ("--x" followed by a header line) is taken and the body parsed again;
//     with none, the body is one text part;
//   - base64 that go-message's decoder refuses is reduced to its alphabet
//     and padded, and quoted-printable holding raw control bytes (ISO-2022-JP
//     written unencoded) has them escaped; either is then decoded again.
//
// RFC 2047 encoded words are decoded by mime.WordDecoder; where it keeps a
// word as written (bad base64, say) or the value is too long for its
// quadratic scan, decodeWords decodes what it can. Parameters that
// mime.ParseMediaType refuses are read by lenientMediaType.
//
// Every repair is recorded as a defect.

package mailmsg

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	nettextproto "net/textproto"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"

	kp "kontaktpunkt"
)

// ErrUnusable is wrapped by Parse's error when nothing usable came out of a
// message; such a message is quarantined with the error text as reason.
var ErrUnusable = errors.New("mailbox: unusable message")

const (
	maxDepth      = 20        // MIME nesting levels followed
	maxParts      = 2000      // MIME parts looked at per message
	maxText       = 1 << 20   // bytes of Text kept
	maxDecodeText = 4 << 20   // bytes of one text part read
	maxDefects    = 32        // defects recorded
	maxHeaderAddr = 256 << 10 // bytes of an address header parsed
	maxEmbedded   = 100       // embedded ids kept
	maxRecipients = 100       // bounce recipients kept
	maxScanText   = 256 << 10 // bytes of bounce text scanned for ids and recipients
	maxFields     = 5000      // header fields kept per header
	maxFieldLen   = 1 << 20   // bytes of one header field kept
)

// Parse extracts everything kontaktpunkt needs from one raw message. See
// the package comment for its guarantees.
func Parse(raw []byte) (p *kp.Parsed, err error) {
	p = &kp.Parsed{Size: int64(len(raw))}
	w := &walker{p: p}
	defer func() {
		if r := recover(); r != nil {
			w.defect(fmt.Sprintf("internal parser failure: %v", r))
			if p.MessageID == "" {
				p.MessageID = SyntheticID(raw)
				p.SyntheticID = true
			}
			err = fmt.Errorf("%w: internal parser failure (%v)", ErrUnusable, r)
		}
	}()
	w.parse(raw)
	if p.From.Addr == "" && p.Sender.Addr == "" && strings.TrimSpace(p.Subject) == "" && strings.TrimSpace(p.Text) == "" {
		reason := "no sender, no subject and no readable text"
		if len(raw) == 0 {
			reason = "empty message"
		}
		if len(p.Defects) > 0 {
			reason += " (" + strings.Join(p.Defects, "; ") + ")"
		}
		return p, fmt.Errorf("%w: %s", ErrUnusable, reason)
	}
	return p, nil
}

// walker carries the state of one Parse call.
type walker struct {
	p        *kp.Parsed
	parts    int
	fallback string // charset for raw 8-bit headers that are not UTF-8
	bounce   bool   // the top-level header looks like a bounce
	embedded map[string]bool
	rcpts    map[string]bool
	dsnSeen  bool // a delivery-status part was found
	// dsn holds what delivery-status parts said per failed recipient
	// (normalised address), for Parsed.BounceDetails.
	dsn map[string]kp.BounceDetail
	// spare is the decoded first text/plain attachment, read as the text
	// when the message has no other (sisimai lhost-mcafee-05).
	spare struct {
		body []byte
		cs   string
		set  bool
	}
	words *mime.WordDecoder
}

func (w *walker) defect(d string) {
	for _, x := range w.p.Defects {
		if x == d {
			return
		}
	}
	if len(w.p.Defects) < maxDefects {
		w.p.Defects = append(w.p.Defects, d)
	}
}

func (w *walker) parse(raw []byte) {
	p := w.p
	data := raw
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		data = data[3:]
		w.defect("byte order mark")
	}
	if bytes.HasPrefix(data, []byte("From ")) {
		// An mbox separator line, not a header field.
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		} else if i := bytes.IndexByte(data, '\r'); i >= 0 {
			data = data[i+1:]
		} else {
			data = nil
		}
	}
	data = w.fixLineEndings(data)

	fields, body := w.readHeader(data, true)
	ctRaw := lookup(fields, "Content-Type")
	media, params := w.mediaType(ctRaw, "text/plain")
	w.fallback = "windows-1252"
	if cs := strings.ToLower(params["charset"]); cs != "" && cs != "utf-8" && cs != "us-ascii" && cs != "utf8" {
		// Raw 8-bit header bytes are most often in the body's charset
		// (mimekit raw-koi8r-header), else in windows-1252.
		if _, ok := decodeCharset(cs, []byte("a")); ok && asciiCompatible(cs) {
			w.fallback = cs
		}
	}

	// One backing array holds the values; a key's first value is a capped
	// slice of it, so a repeated key appends to its own copy.
	p.Header = make(map[string][]string, len(fields))
	vals := make([]string, len(fields))
	for i, f := range fields {
		vals[i] = w.headerText(f.value)
		if f.name == "Received" || f.name == "Authentication-Results" {
			p.Trace = append(p.Trace, kp.HeaderField{Name: f.name, Value: vals[i]})
		}
		if prev, ok := p.Header[f.name]; ok {
			p.Header[f.name] = append(prev, vals[i])
		} else {
			p.Header[f.name] = vals[i : i+1 : i+1]
		}
	}
	p.ContentType = media
	if media == "multipart/report" {
		p.ReportType = strings.ToLower(params["report-type"])
	}
	p.Subject = strings.TrimSpace(p.Get("Subject"))

	w.addresses(fields)

	if d := lookup(fields, "Date"); d != "" {
		t, ok := parseDate(w.headerText(d))
		if ok {
			p.Date = t
		} else {
			w.defect("unparsable date")
		}
	}

	p.MessageID = CanonicalID(lookup(fields, "Message-Id"))
	if p.MessageID == "" {
		p.MessageID = SyntheticID(raw)
		p.SyntheticID = true
		w.defect("no message-id")
	}
	p.InReplyTo = ParseIDList(joinValues(fields, "In-Reply-To"))
	p.References = ParseIDList(joinValues(fields, "References"))

	w.bounce = looksLikeBounce(p)
	if xf := p.Header["X-Failed-Recipients"]; len(xf) > 0 {
		for _, v := range xf {
			for _, a := range strings.Split(v, ",") {
				w.addRecipient(a)
			}
		}
		if len(w.rcpts) > 0 {
			p.BouncePermanent = true
		}
	}

	text, _ := w.entity(partHeader(fields), bytes.NewReader(body), body, 0, "text/plain", true, roleTop)
	if strings.TrimSpace(text) == "" && w.spare.set {
		s, _ := decodeCharset(w.spare.cs, w.spare.body)
		if strings.TrimSpace(s) != "" {
			text = s
			w.defect("text taken from an attachment")
		}
	}
	p.Text = finishText(text)
	if len(text) > maxText {
		w.defect("text truncated")
	}

	if w.bounce {
		w.scanBounceText(p.Text)
	}
	w.bounceDetails(p.Text)
}

// fixLineEndings turns CR-only line endings (old Mac mail, sisimai
// maildir-mac-cr) and a mix of CRLF and LF into LF: go-message's multipart
// reader takes its line ending from the first boundary line and finds no
// boundary written with the other. A message in one style is left as is.
func (w *walker) fixLineEndings(data []byte) []byte {
	cr := bytes.Count(data, []byte{'\r'})
	if cr == 0 {
		return data
	}
	lf := bytes.Count(data, []byte{'\n'})
	if cr == lf {
		return data // CRLF throughout; counting the pairs costs more
	}
	crlf := bytes.Count(data, []byte("\r\n"))
	switch {
	case cr == crlf && lf == crlf:
		return data // all CRLF
	case cr-crlf > lf && cr-crlf >= 2:
		w.defect("CR line endings")
	case lf > crlf && crlf > 0:
		w.defect("mixed line endings")
	default:
		return data // stray CRs inside lines
	}
	out := make([]byte, 0, len(data))
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\r')
		if i < 0 {
			out = append(out, data...)
			break
		}
		out = append(out, data[:i]...)
		out = append(out, '\n')
		data = data[i+1:]
		if len(data) > 0 && data[0] == '\n' {
			data = data[1:]
		}
	}
	return out
}

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

// transferEncoding returns the normalised Content-Transfer-Encoding.
func (w *walker) transferEncoding(h partHeader) string {
	cte := strings.ToLower(strings.TrimSpace(lookup(h, "Content-Transfer-Encoding")))
	if i := strings.IndexAny(cte, " ;("); i >= 0 {
		cte = cte[:i]
	}
	cte = strings.Trim(cte, `"'`)
	switch cte {
	case "", "7bit", "8bit", "binary", "base64", "quoted-printable":
		return cte
	case "x-uuencode", "uuencode", "x-uue":
		w.defect("uuencoded part")
		return cte
	}
	if strings.Contains(cte, "base64") {
		return "base64"
	}
	if strings.Contains(cte, "quoted") {
		return "quoted-printable"
	}
	w.defect("unknown transfer encoding")
	return ""
}

// mediaType parses a Content-Type value leniently; def applies when it is
// missing or unusable.
func (w *walker) mediaType(v, def string) (string, map[string]string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return def, map[string]string{}
	}
	mt, params, err := mime.ParseMediaType(v)
	if err != nil || params == nil || strings.Contains(v, "*=") {
		// The lenient parser also decodes RFC 2231 values in charsets
		// other than UTF-8, which mime.ParseMediaType drops.
		mt, params = lenientMediaType(v)
		if mt == "" {
			w.defect("bad content-type")
			return def, params
		}
	}
	mt = strings.ToLower(mt)
	if strings.IndexByte(mt, '/') < 0 {
		switch mt {
		case "text":
			mt = "text/plain"
		case "multipart":
			mt = "multipart/mixed"
		default:
			w.defect("bad content-type")
			return "application/octet-stream", params
		}
	}
	return mt, params
}

// lenientMediaType is the fallback for values mime.ParseMediaType refuses:
// duplicate or unquoted parameters, missing closing quotes and the like.
func lenientMediaType(v string) (string, map[string]string) {
	params := map[string]string{}
	parts := splitParams(v)
	first := strings.TrimSpace(parts[0])
	parts = parts[1:]
	if f := strings.Fields(first); len(f) > 1 {
		// "text/plain charset=us-ascii": a missing semicolon.
		first = f[0]
		parts = append([]string{strings.Join(f[1:], " ")}, parts...)
	}
	mt := strings.ToLower(first)
	if k := strings.IndexFunc(mt, func(r rune) bool { return !isTokenChar(r) && r != '/' }); k > 0 && !strings.Contains(mt, "=") {
		mt = mt[:k] // "text/plain>" (enmime ctype-invalid-characters)
	}
	if strings.ContainsAny(mt, "\"=") {
		if strings.Contains(mt, "=") {
			parts = append([]string{first}, parts...)
		}
		mt = ""
	}
	var cont = map[string][]string{}
	for _, p := range parts {
		k, val, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
			val = strings.ReplaceAll(val, `\"`, `"`)
		} else {
			val = strings.Trim(val, `"`)
		}
		if k == "" {
			continue
		}
		if base, _, isCont := strings.Cut(k, "*"); isCont {
			cont[base] = append(cont[base], k+"="+val)
			continue
		}
		if _, dup := params[k]; !dup {
			params[k] = val
		}
	}
	for base, vals := range cont {
		if _, ok := params[base]; ok {
			continue
		}
		sort.SliceStable(vals, func(i, j int) bool { return pieceIndex(vals[i]) < pieceIndex(vals[j]) })
		params[base] = rfc2231(vals)
	}
	return mt, params
}

// pieceIndex returns the section number of an RFC 2231 piece
// ("name*2*=…" gives 2, "name*=…" gives 0).
func pieceIndex(piece string) int {
	k, _, _ := strings.Cut(piece, "=")
	_, rest, _ := strings.Cut(k, "*")
	rest = strings.TrimSuffix(rest, "*")
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// rfc2231 joins and decodes RFC 2231 parameter pieces ("name*0*=…").
func rfc2231(pieces []string) string {
	var cs string
	var buf []byte
	for i, p := range pieces {
		k, v, _ := strings.Cut(p, "=")
		enc := strings.HasSuffix(k, "*")
		if enc && i == 0 {
			if a, rest, ok := strings.Cut(v, "'"); ok {
				if _, r2, ok := strings.Cut(rest, "'"); ok {
					cs, v = a, r2
				}
			}
		}
		if enc {
			for j := 0; j < len(v); j++ {
				if v[j] == '%' && j+2 < len(v) && isHex(v[j+1]) && isHex(v[j+2]) {
					buf = append(buf, unhex(v[j+1])<<4|unhex(v[j+2]))
					j += 2
					continue
				}
				buf = append(buf, v[j])
			}
		} else {
			buf = append(buf, v...)
		}
	}
	s, _ := decodeCharset(cs, buf)
	return s
}

// isTokenChar reports whether r may appear in an RFC 2045 token.
func isTokenChar(r rune) bool {
	return r > ' ' && r < 0x7f && !strings.ContainsRune(`()<>@,;:\"/[]?=`, r)
}

// splitParams splits at ";" outside quoted strings.
func splitParams(v string) []string {
	var out []string
	quoted := false
	start := 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			quoted = !quoted
		case ';':
			if !quoted {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	return append(out, v[start:])
}

// filename returns the decoded file name of a part, if any.
func (w *walker) filename(h partHeader, params map[string]string) (disposition, name string) {
	if d := lookup(h, "Content-Disposition"); d != "" {
		dt, dp := w.dispositionParams(d)
		disposition = dt
		name = dp["filename"]
	}
	if name == "" {
		name = params["name"]
	}
	if name != "" {
		name = w.utf8Header(name)
		if strings.Contains(name, "=?") {
			name, _ = decodeWords(name)
		}
		name = strings.TrimSpace(strings.ReplaceAll(name, "\x00", ""))
	}
	return disposition, name
}

func (w *walker) dispositionParams(v string) (string, map[string]string) {
	dt, dp, err := mime.ParseMediaType(v)
	if err != nil || dp == nil || strings.Contains(v, "*=") {
		dt, dp = lenientMediaType(v)
		if dt == "" {
			if x, _, _ := strings.Cut(v, ";"); strings.TrimSpace(x) != "" {
				dt = strings.ToLower(strings.TrimSpace(x))
			}
		}
	}
	return strings.ToLower(dt), dp
}

// role says where an entity sits, which decides whether a text part is
// body text or an attachment.
type role int

const (
	roleTop  role = iota // the message itself: a text body is the text, whatever its disposition
	roleBody             // no text found yet: a named text part without disposition is body text
	rolePart             // text already found: only unnamed inline text parts are body text
)

// entity walks one MIME entity. It returns the entity's readable text
// (when want is set) and whether that text came from text/plain.

// decoded returns body with its transfer encoding undone by go-message.
// cte is already normalised (transferEncoding), so go-message knows it,
// except for uuencode, which is read as it is.
func decoded(cte string, body io.Reader) io.Reader {
	switch cte {
	case "", "7bit", "8bit", "binary":
		return body
	}
	var th textproto.Header
	if cte != "" {
		th.Set("Content-Transfer-Encoding", cte)
	}
	// Only the transfer encoding is in the header: charsets are converted
	// by decodeCharset, which is lenient where go-message is not.
	e, err := message.New(message.Header{Header: th}, body)
	if err != nil || e == nil {
		return body
	}
	return e.Body
}

// readText reads at most limit bytes of a part's body, transfer decoded.
// Base64 that go-message's decoder refuses is repaired (repairBase64) and
// decoded again from the raw bytes; a body cut short by a missing final
// boundary is kept as far as it goes.
func (w *walker) readText(cte string, body io.Reader, limit, hint int) []byte {
	if cte != "base64" && cte != "quoted-printable" {
		dec, err := readAll(io.LimitReader(body, int64(limit)), min(hint, limit))
		w.bodyError(err)
		return dec
	}
	raw, err := readAll(io.LimitReader(body, int64(limit)/3*4+4096), hint)
	w.bodyError(err)
	dec, err := readAll(decoded(cte, bytes.NewReader(raw)), len(raw))
	if err != nil {
		// Repair the bytes and let go-message decode them again.
		if cte == "base64" {
			w.defect("bad base64")
			raw = repairBase64(raw)
		} else {
			w.defect("bad quoted-printable")
			raw = repairQP(raw)
		}
		dec, _ = readAll(decoded(cte, bytes.NewReader(raw)), len(raw))
	}
	if len(dec) > limit {
		dec = dec[:limit]
	}
	return dec
}

// readAll is io.ReadAll into a buffer of hint bytes to start with (the
// body's encoded length, when known), so a text body is read in one go.
func readAll(r io.Reader, hint int) ([]byte, error) {
	if hint <= 0 {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, hint+1)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// crlfToLF turns CRLF into LF in place (the buffer is the parser's own),
// which spares finishText a copy of the text.
func crlfToLF(b []byte) []byte {
	i := bytes.Index(b, []byte("\r\n"))
	if i < 0 {
		return b
	}
	j := i
	for i < len(b) {
		k := bytes.IndexByte(b[i:], '\r')
		if k < 0 {
			j += copy(b[j:], b[i:])
			break
		}
		j += copy(b[j:], b[i:i+k])
		i += k
		if i+1 < len(b) && b[i+1] == '\n' {
			i++
			continue
		}
		b[j] = '\r'
		j++
		i++
	}
	return b[:j]
}

// bodyError records what reading a part's body ran into.
func (w *walker) bodyError(err error) {
	switch {
	case err == nil:
	case errors.Is(err, io.ErrUnexpectedEOF):
		w.defect("missing final boundary")
	case errors.As(err, new(base64.CorruptInputError)):
		w.defect("bad base64")
	default:
		w.defect("unreadable part: " + err.Error())
	}
}

// measure counts a part's decoded size, streaming. blank tells whether it
// held nothing but white space.
func (w *walker) measure(cte string, body io.Reader) (size int64, blank bool) {
	c := &counter{blank: true}
	_, err := io.Copy(c, decoded(cte, body))
	w.bodyError(err)
	// A body that does not decode is not empty.
	return c.n, c.blank && err == nil
}

// counter is an io.Writer that counts bytes and notices any that are not
// white space.
type counter struct {
	n     int64
	blank bool
}

func (c *counter) Write(b []byte) (int, error) {
	c.n += int64(len(b))
	if c.blank && len(bytes.TrimSpace(b)) > 0 {
		c.blank = false
	}
	return len(b), nil
}

// repairBase64 keeps the base64 alphabet of src (reading the URL-safe
// alphabet as the standard one), stops at padding and pads what is left to
// whole groups, so that go-message's decoder decodes what decodes.
func repairBase64(src []byte) []byte {
	out := make([]byte, 0, len(src))
	for _, c := range src {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
			out = append(out, c)
		case c == '-':
			out = append(out, '+')
		case c == '_':
			out = append(out, '/')
		case c == '=' && len(out)%4 >= 2:
			// Padding ends the data.
			return padBase64(out)
		}
	}
	return padBase64(out)
}

// repairQP escapes the bytes quoted-printable may not hold raw (control
// characters other than tab and line breaks, such as the ESC of ISO-2022-JP
// text written unencoded), which mime/quotedprintable refuses.
func repairQP(src []byte) []byte {
	const hex = "0123456789ABCDEF"
	out := make([]byte, 0, len(src)+16)
	for _, c := range src {
		if c < ' ' && c != '\t' && c != '\r' && c != '\n' || c == 0x7f {
			out = append(out, '=', hex[c>>4], hex[c&15])
			continue
		}
		out = append(out, c)
	}
	return out
}

func padBase64(b []byte) []byte {
	switch len(b) % 4 {
	case 1:
		b = b[:len(b)-1]
	case 2:
		b = append(b, '=', '=')
	case 3:
		b = append(b, '=')
	}
	return b
}

// entity walks one MIME entity: h is its header, body its transfer-encoded
// body; whole is the same body when it is in memory already (the top
// level), else nil. It returns the entity's readable text (when want is
// set) and whether that text came from text/plain. Attachments, embedded
// ids and bounce data are recorded on the way.
func (w *walker) entity(h partHeader, body io.Reader, whole []byte, depth int, def string, want bool, r role) (text string, plain bool) {
	w.parts++
	if w.parts > maxParts {
		w.defect("too many MIME parts")
		return "", false
	}
	if depth > maxDepth {
		w.defect("MIME nesting too deep")
		return "", false
	}
	ctRaw := lookup(h, "Content-Type")
	media, params := w.mediaType(ctRaw, def)
	cte := w.transferEncoding(h)
	disp, name := w.filename(h, params)
	attach := disp == "attachment"

	switch {
	case strings.HasPrefix(media, "multipart/"):
		if cte == "base64" || cte == "quoted-printable" {
			w.defect("encoded multipart")
		}
		return w.multipart(media, params, body, whole, depth, want)

	case media == "message/rfc822" || media == "message/global":
		// Only the header is needed; a base64 message/rfc822 (not allowed,
		// but seen) is decoded like any other part.
		dec := decoded(cte, body)
		inner, err := io.ReadAll(io.LimitReader(dec, maxScanText))
		w.bodyError(err)
		w.embeddedMessage(inner)
		if name == "" {
			name = w.innerSubject(inner)
		}
		rest, _ := w.measure("", dec)
		w.attach(name, media, int64(len(inner))+rest)
		return "", false

	case media == "text/rfc822-headers" || media == "message/rfc822-headers":
		w.embeddedMessage(w.readText(cte, body, maxScanText, len(whole)))
		return "", false

	case media == "message/delivery-status" || media == "message/global-delivery-status":
		w.deliveryStatus(w.readText(cte, body, maxScanText, len(whole)))
		return "", false

	case media == "message/disposition-notification" || media == "message/feedback-report" ||
		media == "message/global-disposition-notification":
		return "", false
	}

	isHTML := media == "text/html"
	isText := media == "text/plain" || media == "text/enriched" || media == "text/richtext"
	if (isHTML || isText) && (r == roleTop || !attach && (name == "" || r == roleBody && disp == "")) {
		if !want {
			size, _ := w.measure(cte, body)
			if attach {
				w.attach(name, media, size)
			}
			return "", false
		}
		dec := crlfToLF(w.readText(cte, body, maxDecodeText, len(whole)))
		if attach {
			// Text of the message itself, and an attachment too; its size
			// is known up to the cap on text read.
			w.attach(name, media, int64(len(dec)))
		}
		cs := params["charset"]
		if cs == "" && isHTML {
			cs = sniffHTMLCharset(dec)
		}
		s, ok := decodeCharset(cs, dec)
		if !ok {
			w.defect("unknown charset " + cs)
		}
		if isHTML {
			return htmlToText(s), false
		}
		if strings.EqualFold(params["format"], "flowed") {
			s = unflow(s, strings.EqualFold(params["delsp"], "yes"))
		}
		if w.bounce && r != roleTop {
			w.scanBounceIDs(s)
		}
		return s, media == "text/plain"
	}

	// Everything else is an attachment. A text attachment is read (capped)
	// when it may serve as the text or holds bounce data.
	var size int64
	blank := true
	if media == "text/plain" && !w.spare.set || w.bounce && strings.HasPrefix(media, "text/") {
		d := decoded(cte, body)
		dec, err := io.ReadAll(io.LimitReader(d, maxDecodeText))
		w.bodyError(err)
		rest, restBlank := w.measure("", d)
		size, blank = int64(len(dec))+rest, restBlank && len(bytes.TrimSpace(dec)) == 0
		if media == "text/plain" && !w.spare.set {
			w.spare.body, w.spare.cs, w.spare.set = dec, params["charset"], true
		}
		if w.bounce {
			s, _ := decodeCharset(params["charset"], dec[:min(len(dec), maxScanText)])
			w.scanBounceIDs(s)
		}
	} else {
		size, blank = w.measure(cte, body)
	}
	if name == "" && r == roleTop && blank {
		return "", false
	}
	w.attach(name, media, size)
	return "", false
}

func (w *walker) attach(name, media string, size int64) {
	w.p.Attachments = append(w.p.Attachments, kp.Attachment{Name: name, ContentType: media, Size: size})
}

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

// embeddedMessage records the ids in the header of a returned or forwarded
// message (or a text/rfc822-headers part).
func (w *walker) embeddedMessage(inner []byte) {
	if len(inner) == 0 {
		return
	}
	sub := &walker{p: &kp.Parsed{}, fallback: "windows-1252"}
	fs, _ := sub.readHeader(inner, false)
	w.addEmbedded(CanonicalID(lookup(fs, "Message-Id")))
	for _, id := range ParseIDList(joinValues(fs, "In-Reply-To")) {
		w.addEmbedded(id)
	}
	for _, id := range ParseIDList(joinValues(fs, "References")) {
		w.addEmbedded(id)
	}
}

func (w *walker) innerSubject(inner []byte) string {
	sub := &walker{p: &kp.Parsed{}, fallback: "windows-1252"}
	fs, _ := sub.readHeader(inner, false)
	s := strings.TrimSpace(sub.headerText(lookup(fs, "Subject")))
	if s == "" {
		return "message.eml"
	}
	return s + ".eml"
}

func (w *walker) addEmbedded(id string) {
	if id == "" || len(w.p.EmbeddedIDs) >= maxEmbedded {
		return
	}
	if w.embedded == nil {
		w.embedded = map[string]bool{}
	}
	if w.embedded[id] {
		return
	}
	w.embedded[id] = true
	w.p.EmbeddedIDs = append(w.p.EmbeddedIDs, id)
}

func (w *walker) addRecipient(a string) {
	a = cleanAddr(a)
	if a == "" || len(w.p.BounceRecipients) >= maxRecipients {
		return
	}
	if w.rcpts == nil {
		w.rcpts = map[string]bool{}
	}
	k := kp.NormAddr(a)
	if w.rcpts[k] {
		return
	}
	w.rcpts[k] = true
	w.p.BounceRecipients = append(w.p.BounceRecipients, a)
}

// cleanAddr extracts a bare address from DSN and bounce text:
// "rfc822; <a@b>", "<a@b>", "a@b.".
func cleanAddr(a string) string {
	a = strings.TrimSpace(a)
	if i := strings.IndexByte(a, ';'); i >= 0 {
		a = a[i+1:]
	}
	if i := strings.IndexByte(a, '<'); i >= 0 {
		a = a[i+1:]
		if j := strings.IndexByte(a, '>'); j >= 0 {
			a = a[:j]
		}
	}
	a = strings.Trim(strings.TrimSpace(a), `"'.,:;()[]`)
	if strings.HasPrefix(strings.ToLower(a), "mailto:") {
		a = a[7:]
	}
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 || strings.ContainsAny(a, " \t<>") || len(a) > 320 {
		return ""
	}
	return a
}

// deliveryStatus reads a message/delivery-status body (RFC 3464). Groups
// are told apart by blank lines where present and by a repeated recipient
// field where they are not (mimekit delivery-status-no-blank-line).
func (w *walker) deliveryStatus(body []byte) {
	w.dsnSeen = true
	type rcpt struct{ final, orig, action, status, diag string }
	var cur rcpt
	flush := func() {
		r := cur
		cur = rcpt{}
		addr := r.final
		if cleanAddr(addr) == "" {
			addr = r.orig
		}
		if addr == "" {
			return
		}
		action := strings.ToLower(strings.TrimSpace(r.action))
		if i := strings.IndexAny(action, " ("); i >= 0 {
			action = action[:i]
		}
		status := strings.TrimSpace(r.status)
		perm := strings.HasPrefix(status, "5")
		if action == "failed" || (action == "" && perm) {
			w.addRecipient(addr)
			w.noteDSN(addr, status, r.diag)
			if perm || status == "" || !strings.HasPrefix(status, "4") {
				w.p.BouncePermanent = true
			}
		}
	}
	sub := &walker{p: &kp.Parsed{}, fallback: "utf-8"}
	rest := body
	for n := 0; len(rest) > 0 && n < 1000; n++ {
		fs, next := sub.readHeader(rest, false)
		if len(fs) == 0 && len(next) == len(rest) {
			// Not a field and not blank: skip the line.
			_, k := nextLine(rest, 0)
			next = rest[k:]
		}
		for _, f := range fs {
			switch strings.ToLower(f.name) {
			case "final-recipient":
				if cur.final != "" {
					flush()
				}
				cur.final = f.value
			case "original-recipient":
				if cur.orig != "" || cur.final != "" && cur.action != "" {
					flush()
				}
				cur.orig = f.value
			case "action":
				cur.action = f.value
			case "status":
				cur.status = f.value
			case "diagnostic-code":
				cur.diag = f.value
			}
		}
		if cur.final != "" || cur.orig != "" {
			if cur.action != "" || cur.status != "" {
				flush()
			}
		}
		rest = next
	}
	flush()
}

// scanBounceIDs records "Message-ID:" lines in the text of bounce-looking
// mail that quotes the returned message inline (qmail and friends).
func (w *walker) scanBounceIDs(s string) {
	if len(s) > maxScanText {
		s = s[:maxScanText]
	}
	for len(s) > 0 {
		line := s
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		t := strings.TrimLeft(line, " \t>")
		if len(t) > 11 && strings.EqualFold(t[:11], "message-id:") {
			w.addEmbedded(CanonicalID(t[11:]))
		}
	}
}

// scanBounceText reads a bounce's readable text: Message-ID lines of the
// quoted original, and, when no delivery-status part said so, the failed
// recipients of non-standard bounces (best effort: addresses on lines that
// carry an SMTP error or that name a recipient the way Postfix, qmail,
// Exim and Sendmail bounces do).
func (w *walker) scanBounceText(text string) {
	w.scanBounceIDs(text)
	if len(w.rcpts) > 0 || w.dsnSeen {
		return
	}
	own := map[string]bool{}
	for _, a := range append(append([]kp.Address{w.p.From}, w.p.To...), w.p.Cc...) {
		own[kp.NormAddr(a.Addr)] = true
	}
	if len(text) > maxScanText {
		text = text[:maxScanText]
	}
	lines := strings.Split(text, "\n")
	perm := false
	listMode, listed, listStart := false, 0, 0
	var cand []string
	for i, line := range lines {
		l := strings.TrimSpace(line)
		ll := strings.ToLower(l)
		if isQuotedOriginalMarker(ll) {
			break
		}
		code := smtpPermanent(l)
		if code {
			perm = true
		}
		if containsAny(ll, listIntros) {
			listMode, listed, listStart = true, 0, i
		}
		if listMode && i-listStart > 8 && listed == 0 {
			listMode = false
		}
		if strings.Contains(ll, "message-id") {
			continue
		}
		addrs := addrsIn(l)
		if len(addrs) == 0 {
			if listMode && listed > 0 && l != "" {
				listMode = false
			}
			continue
		}
		if listMode && len(strings.Fields(l)) <= 2 && (l[0] == '<' || strings.HasPrefix(l, addrs[0])) {
			// A line that is just an address, in the list that follows
			// "Delivery has failed to these recipients" and the like.
			listed++
			cand = append(cand, addrs...)
			continue
		}
		nameLine := strings.HasSuffix(l, ":") && strings.HasPrefix(l, "<") || // qmail, Postfix
			len(strings.Fields(l)) == 1 && i+1 < len(lines) && strings.HasPrefix(lines[i+1], " ") // Exim
		if code || nameLine || strings.Contains(ll, "user unknown") || strings.Contains(ll, "does not exist") ||
			strings.Contains(ll, "unknown user") || strings.Contains(ll, "mailbox unavailable") ||
			strings.Contains(ll, "recipient") || strings.Contains(ll, "delivery to the following") {
			cand = append(cand, addrs...)
		}
	}
	for _, a := range cand {
		if !own[kp.NormAddr(a)] && !isDaemonAddr(a) {
			w.addRecipient(a)
		}
	}
	if perm && len(w.p.BounceRecipients) > 0 {
		w.p.BouncePermanent = true
	}
}

// listIntros are phrases that introduce a list of failed recipients.
var listIntros = []string{
	"following address", "following recipient", "these recipients", "following destination",
	"failure reason", "could not be delivered to", "permanent fatal errors",
	// Exchange's localised "Delivery has failed to these recipients or groups".
	"disse mottakerne", "følgende mottakere", "kunne ikke leveres til", "dessa mottagare",
	"följande mottagare", "disse modtagere", "følgende modtagere", "folgende empfänger",
	"diese empfänger",
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func isQuotedOriginalMarker(ll string) bool {
	for _, m := range []string{
		"below this line is a copy of the message",
		"this is a copy of the message",
		"original message follows",
		"----- original message -----",
		"original message headers",
		"unsent message below",
		"------ this is a copy",
		"return-path:",
		"received: from",
	} {
		if strings.Contains(ll, m) {
			return true
		}
	}
	return false
}

// smtpPermanent reports whether a line carries a 5xx SMTP reply or a 5.x.x
// enhanced status code.
func smtpPermanent(l string) bool {
	for i := 0; i+3 <= len(l); i++ {
		if l[i] != '5' || i > 0 && isDigitOrDot(l[i-1]) {
			continue
		}
		if i+3 <= len(l) && isDigit(l[i+1]) && isDigit(l[i+2]) && (i+3 == len(l) || l[i+3] == ' ' || l[i+3] == '-') {
			return true
		}
		if i+5 <= len(l) && l[i+1] == '.' && isDigit(l[i+2]) {
			j := i + 2
			for j < len(l) && isDigit(l[j]) {
				j++
			}
			if j+1 < len(l) && l[j] == '.' && isDigit(l[j+1]) {
				return true
			}
		}
	}
	return false
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isDigitOrDot(c byte) bool { return isDigit(c) || c == '.' }

// addrsIn returns the addresses written in a line of text.
func addrsIn(l string) []string {
	var out []string
	for _, tok := range strings.FieldsFunc(l, func(r rune) bool {
		return r == ' ' || r == '\t' || r == ',' || r == '(' || r == ')' || r == '"' || r == '\''
	}) {
		if strings.IndexByte(tok, '@') < 0 {
			continue
		}
		if a := cleanAddr(tok); a != "" {
			out = append(out, a)
		}
	}
	return out
}

func isDaemonAddr(a string) bool {
	l := strings.ToLower(a)
	return strings.HasPrefix(l, "mailer-daemon@") || strings.HasPrefix(l, "postmaster@")
}

// looksLikeBounce is the parser's own, cheap view of whether a message may
// be a bounce, to decide whether to look for bounce data in its text. The
// real classification is routing's.
func looksLikeBounce(p *kp.Parsed) bool {
	if p.ContentType == "multipart/report" || len(p.Header["X-Failed-Recipients"]) > 0 {
		return true
	}
	from := strings.ToLower(p.From.Addr)
	if strings.HasPrefix(from, "mailer-daemon@") || strings.HasPrefix(from, "postmaster@") || from == "mailer-daemon" {
		return true
	}
	if strings.TrimSpace(p.Get("Return-Path")) == "<>" {
		return true
	}
	s := strings.ToLower(p.Subject)
	for _, k := range []string{"undeliver", "delivery status notification", "delivery failure", "mail delivery failed",
		"returned mail", "failure notice", "kan ikke leveres", "delivery has failed", "non remis", "unzustellbar",
		"nondeliverable", "non-delivery", "could not be delivered", "mail system error", "delivery notification"} {
		if strings.Contains(s, k) {
			return true
		}
	}
	return false
}

// addresses fills From, Sender, Reply-To, To and Cc.
func (w *walker) addresses(fs []field) {
	p := w.p
	if l := w.addressList(lookup(fs, "From")); len(l) > 0 {
		p.From = l[0]
		if len(l) > 1 {
			w.defect("several From addresses")
		}
	}
	if l := w.addressList(lookup(fs, "Sender")); len(l) > 0 {
		p.Sender = l[0]
	}
	p.ReplyTo = w.addressList(joinList(fs, "Reply-To"))
	p.To = w.addressList(joinList(fs, "To"))
	p.Cc = w.addressList(joinList(fs, "Cc"))
	// Display names go into acknowledgements, notifications, headers and
	// the dashboard: none may carry a line break (an encoded word can
	// decode to CR LF) or another control character.
	p.From.Name, p.Sender.Name = kp.CleanName(p.From.Name), kp.CleanName(p.Sender.Name)
	for _, l := range [][]kp.Address{p.ReplyTo, p.To, p.Cc} {
		for i := range l {
			l[i].Name = kp.CleanName(l[i].Name)
		}
	}
}

func joinList(fs []field, name string) string {
	var s string
	for _, f := range fs {
		if strings.EqualFold(f.name, name) && strings.TrimSpace(f.value) != "" {
			if s != "" {
				s += ", "
			}
			s += f.value
		}
	}
	return s
}

var addrParser = &mail.AddressParser{WordDecoder: &mime.WordDecoder{CharsetReader: lenientCharsetReader}}

// lenientCharsetReader never fails: an unknown charset is read as is.
func lenientCharsetReader(cs string, r io.Reader) (io.Reader, error) {
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, err
	}
	s, _ := decodeCharset(cs, b)
	return strings.NewReader(s), nil
}

// addressList parses an address list, keeping what parses; pieces that do
// not parse fall back to the first something@something in their text.
func (w *walker) addressList(v string) []kp.Address {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	if len(v) > maxHeaderAddr {
		v = v[:maxHeaderAddr]
		w.defect("address header too long")
	}
	v = w.utf8Header(v)
	if l, ok := simpleAddrList(v); ok {
		return l
	}
	if l, err := addrParser.ParseList(v); err == nil {
		out := make([]kp.Address, 0, len(l))
		for _, a := range l {
			out = append(out, kp.Address{Name: a.Name, Addr: a.Address})
		}
		return out
	}
	var out []kp.Address
	bad := false
	for _, piece := range splitAddrs(v) {
		piece = strings.TrimSpace(piece)
		if piece == "" {
			continue
		}
		if a, err := addrParser.Parse(piece); err == nil {
			out = append(out, kp.Address{Name: a.Name, Addr: a.Address})
			continue
		}
		bad = true
		if a, ok := w.rawAddress(piece); ok {
			out = append(out, a)
		}
		if len(out) >= 1000 {
			break
		}
	}
	if bad {
		w.defect("malformed address")
	}
	return out
}

// simpleAddrList parses the common shapes of an address list without
// net/mail: comma-separated "a@b", "<a@b>", "Name <a@b>" and
// "\"Any name\" <a@b>" with plain ASCII names. Anything else (comments,
// groups, encoded words, quoted commas, non-ASCII) reports !ok and goes to
// net/mail, which gives the same result for these shapes.
func simpleAddrList(v string) ([]kp.Address, bool) {
	out := make([]kp.Address, 0, 1+strings.Count(v, ","))
	for len(v) > 0 {
		piece := v
		if i := strings.IndexByte(v, ','); i >= 0 {
			piece, v = v[:i], v[i+1:]
		} else {
			v = ""
		}
		a, ok := simpleAddr(strings.Trim(piece, " \t"))
		if !ok {
			return nil, false
		}
		out = append(out, a)
	}
	return out, len(out) > 0
}

func simpleAddr(s string) (kp.Address, bool) {
	if !strings.HasSuffix(s, ">") {
		return kp.Address{Addr: s}, simpleAddrSpec(s)
	}
	i := strings.LastIndexByte(s, '<')
	if i < 0 {
		return kp.Address{}, false
	}
	addr := s[i+1 : len(s)-1]
	if !simpleAddrSpec(addr) {
		return kp.Address{}, false
	}
	name := strings.Trim(s[:i], " \t")
	if len(name) >= 2 && name[0] == '"' && name[len(name)-1] == '"' {
		inner := name[1 : len(name)-1]
		for k := 0; k < len(inner); k++ {
			if c := inner[k]; c == '"' || c == '\\' || c < ' ' || c > '~' {
				return kp.Address{}, false
			}
		}
		if strings.Contains(inner, "=?") {
			return kp.Address{}, false
		}
		return kp.Address{Name: inner, Addr: addr}, true
	}
	for k := 0; k < len(name); k++ {
		if c := name[k]; !(isAtext(c) || c == ' ' || c == '.') {
			return kp.Address{}, false
		}
	}
	if strings.Contains(name, "=?") || strings.HasPrefix(name, ".") {
		return kp.Address{}, false
	}
	return kp.Address{Name: strings.Join(strings.Fields(name), " "), Addr: addr}, true
}

// simpleAddrSpec accepts dot-atom@domain with an ASCII domain name.
func simpleAddrSpec(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.IndexByte(s[at+1:], '@') >= 0 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") ||
		domain[0] == '.' || domain[len(domain)-1] == '.' || strings.Contains(domain, "..") {
		return false
	}
	for k := 0; k < len(local); k++ {
		if c := local[k]; !isAtext(c) && c != '.' {
			return false
		}
	}
	for k := 0; k < len(domain); k++ {
		if c := domain[k]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// isAtext reports RFC 5322 atext characters (ASCII only).
func isAtext(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// rawAddress is the last resort for one unparsable address: the first
// token that looks like something@something, the rest as display name.
func (w *walker) rawAddress(piece string) (kp.Address, bool) {
	var addr string
	rest := piece
	if i := strings.IndexByte(piece, '<'); i >= 0 {
		if j := strings.IndexByte(piece[i:], '>'); j > 0 {
			cand := cleanAddr(piece[i : i+j+1])
			if cand != "" {
				addr = cand
				rest = piece[:i] + piece[i+j+1:]
			}
		}
	}
	if addr == "" {
		for _, tok := range strings.Fields(piece) {
			if a := cleanAddr(tok); a != "" {
				addr = a
				rest = strings.Replace(piece, tok, "", 1)
				break
			}
		}
	}
	if addr == "" {
		return kp.Address{}, false
	}
	name := strings.TrimSpace(rest)
	if strings.Contains(name, "=?") {
		name, _ = decodeWords(name)
	}
	name = strings.Trim(strings.TrimSpace(name), `"' `)
	return kp.Address{Name: name, Addr: addr}, true
}

// splitAddrs splits an address list at commas outside quotes, comments and
// angle brackets.
func splitAddrs(v string) []string {
	var out []string
	quoted := false
	depth, angle := 0, 0
	start := 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\':
			i++
		case c == '"' && depth == 0:
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case c == '<' && depth == 0:
			angle++
		case c == '>' && angle > 0:
			angle--
		case (c == ',' || c == ';') && depth == 0 && angle == 0:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	if start < len(v) {
		out = append(out, v[start:])
	}
	return out
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
