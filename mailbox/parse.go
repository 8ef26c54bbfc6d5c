// Parsing: raw mail into kp.Parsed (DESIGN section 4). The package comment
// lives in imap.go; these are the parser's invariants.
//
//   - Parse never panics and never hangs on untrusted input: MIME nesting is
//     limited to maxDepth levels and maxParts parts, every loop consumes input,
//     and a recover at the top turns a bug into a defect and an error.
//   - Parse always returns a non-nil *kp.Parsed whose MessageID is set
//     (canonical, or synthetic from the SHA-256 of the raw bytes) and whose
//     Size is len(raw). It returns an error (wrapping ErrUnusable) only when
//     neither a sender nor a subject nor any text came out; the error text is
//     the quarantine reason a person reads.
//   - Parse works on the raw bytes in place: parts are sub-slices, attachment
//     bodies are measured, never decoded into memory; only text bodies (capped
//     at maxText) are decoded.
//
// The MIME structure is walked by this package over the byte slice rather
// than with go-message's streaming reader. The whole message is in memory
// already (it is stored byte for byte), so sub-slicing costs nothing and an
// attachment's size is counted from its encoded bytes without decoding it;
// and the walker can be lenient where go-message is strict: its
// textproto.ReadHeader gives up on a malformed line or a missing blank line,
// and its MultipartReader stops at junk between parts, a mixed CRLF/LF
// message or a boundary that is declared but not used. Charsets come from
// go-message's charset package (the same names it knows), addresses and
// dates from net/mail, HTML from golang.org/x/net/html.

package mailbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"net/textproto"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/emersion/go-message/charset"
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
	maxDecodeText = 4 << 20   // encoded bytes of one text part decoded
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
	// spare is the first text/plain attachment, read as the text when the
	// message has no other (sisimai lhost-mcafee-05).
	spare struct {
		body    []byte
		cte, cs string
	}
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

	// Field names are canonical already (internName). One backing array
	// holds the values; a key's first value is a capped slice of it, so a
	// repeated key appends to its own copy.
	p.Header = make(map[string][]string, len(fields))
	vals := make([]string, len(fields))
	for i, f := range fields {
		vals[i] = w.headerText(f.value)
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

	text, _ := w.entity(partHeader(fields), body, 0, "text/plain", true, roleTop)
	if strings.TrimSpace(text) == "" && w.spare.body != nil {
		s, _ := decodeCharset(w.spare.cs, w.decodeBody(w.spare.body, w.spare.cte, maxDecodeText))
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
}

// fixLineEndings turns CR-only line endings (old Mac mail, sisimai
// maildir-mac-cr) into LF. Mixed CRLF and LF are handled where lines are read.
func (w *walker) fixLineEndings(data []byte) []byte {
	head := data
	if len(head) > 64<<10 {
		head = head[:64<<10]
	}
	if bytes.IndexByte(head, '\r') < 0 {
		return data
	}
	lf := bytes.Count(head, []byte{'\n'})
	cr := bytes.Count(head, []byte{'\r'})
	crlf := bytes.Count(head, []byte("\r\n"))
	if cr-crlf <= lf || cr-crlf < 2 {
		return data
	}
	w.defect("CR line endings")
	out := make([]byte, 0, len(data))
	for i := 0; i < len(data); i++ {
		c := data[i]
		if c == '\r' {
			out = append(out, '\n')
			if i+1 < len(data) && data[i+1] == '\n' {
				i++
			}
			continue
		}
		out = append(out, c)
	}
	return out
}

// field is one header field as read: name as written, value unfolded but
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

// fieldName returns the length of the field name if line looks like a
// header field ("Name: value"), or -1. Names may hold spaces (seen in the
// wild), but not start with one, and a space before the colon is allowed.
func fieldName(line []byte) int {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || colon > 76 {
		return -1
	}
	name := bytes.TrimRight(line[:colon], " \t")
	if len(name) == 0 {
		return -1
	}
	for _, c := range name {
		if c < '!' && c != ' ' || c > '~' {
			return -1
		}
	}
	return len(name)
}

// readHeader splits data into header fields and body. It is lenient: a
// missing blank line ends the header at the first line that is not a field,
// a stray line inside the header followed by a field is taken as a badly
// folded continuation, and leading white space on the first field is ignored.
func (w *walker) readHeader(data []byte, top bool) ([]field, []byte) {
	fs := make([]field, 0, 16)
	var first []byte // value on the field's first line
	var cur []byte   // the value with continuation lines, once there are any
	folded := false
	var curName string
	flush := func() {
		if curName != "" && len(fs) >= maxFields && (len(fs) >= 2*maxFields || !essential(curName)) {
			// Past the cap only the fields parsing and classification need
			// are kept, so a flood of junk fields costs no memory.
			w.defect("too many header fields")
		} else if curName != "" {
			v := first
			if folded {
				v = cur
			}
			v = bytes.TrimSpace(v)
			if len(v) > maxFieldLen {
				v = v[:maxFieldLen]
				w.defect("header field truncated")
			}
			fs = append(fs, field{name: curName, value: string(v)})
		}
		curName, first, folded = "", nil, false
	}
	fold := func(line []byte) {
		if !folded {
			cur = append(cur[:0], first...)
			folded = true
		}
		cur = appendFolded(cur, line)
	}
	i := 0
	for i < len(data) {
		line, next := nextLine(data, i)
		if len(bytes.TrimRight(line, " \t")) == 0 {
			// The separator; a line of white space only ends the header too.
			flush()
			return fs, data[next:]
		}
		if line[0] == ' ' || line[0] == '\t' {
			if curName != "" {
				fold(line)
				i = next
				continue
			}
			line = bytes.TrimLeft(line, " \t")
			w.defect("header starts with white space")
		}
		if n := fieldName(line); n > 0 {
			flush()
			curName = internName(line[:n])
			first = line[bytes.IndexByte(line, ':')+1:]
			i = next
			continue
		}
		if curName != "" && next < len(data) {
			nl, _ := nextLine(data, next)
			if fieldName(nl) > 0 {
				w.defect("badly folded header")
				fold(line)
				i = next
				continue
			}
		}
		// Not a header line: the header/body separator is missing.
		if len(fs) > 0 || curName != "" {
			w.defect("missing header/body separator")
		} else if top {
			w.defect("no header")
		}
		flush()
		return fs, data[i:]
	}
	flush()
	return fs, nil
}

// essential reports the canonical field names kept even in a header that
// has too many fields.
func essential(name string) bool {
	switch name {
	case "From", "Sender", "Reply-To", "To", "Cc", "Subject", "Date", "Message-Id", "In-Reply-To",
		"References", "Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "Return-Path",
		"Auto-Submitted", "Precedence", "List-Id", "List-Unsubscribe", "X-Failed-Recipients",
		"Authentication-Results", "X-Kontaktpunkt-Loop", "X-Autoreply", "X-Autorespond":
		return true
	}
	return false
}

// commonNames maps field names as commonly written to their canonical
// form, so the common case costs no allocation.
var commonNames = func() map[string]string {
	m := map[string]string{}
	for _, n := range []string{
		"Received", "Return-Path", "Delivered-To", "From", "To", "Cc", "CC", "Bcc", "Subject", "Date",
		"Message-ID", "Message-Id", "In-Reply-To", "References", "Reply-To", "Sender",
		"MIME-Version", "Mime-Version", "Content-Type", "Content-type", "Content-Transfer-Encoding",
		"Content-Disposition", "Content-Description", "Content-ID", "Content-Id", "Content-Language",
		"Accept-Language", "DKIM-Signature", "Authentication-Results", "ARC-Seal", "ARC-Message-Signature",
		"ARC-Authentication-Results", "Received-SPF", "X-Received", "X-Google-DKIM-Signature",
		"X-Gm-Message-State", "X-Google-Smtp-Source", "X-Mailer", "User-Agent", "Thread-Topic", "Thread-Index",
		"X-MS-Has-Attach", "X-MS-TNEF-Correlator", "X-Originating-IP", "Auto-Submitted", "Precedence",
		"List-Id", "List-Unsubscribe", "List-Unsubscribe-Post", "X-Auto-Response-Suppress", "Importance",
		"X-Priority", "X-Spam-Status", "X-Spam-Score", "X-Spam-Flag", "Organization", "X-Failed-Recipients",
		"Feedback-ID", "X-MS-Exchange-Organization-AuthAs", "X-MS-Exchange-Organization-AuthSource",
		"X-MS-Exchange-Organization-SCL", "X-Forefront-Antispam-Report", "X-Microsoft-Antispam",
		"X-MS-Exchange-CrossTenant-OriginalArrivalTime", "X-MS-Exchange-CrossTenant-Id",
		"Final-Recipient", "Original-Recipient", "Action", "Status", "Diagnostic-Code", "Reporting-MTA",
		"Remote-MTA", "Arrival-Date", "X-Kontaktpunkt-Loop",
	} {
		m[n] = textproto.CanonicalMIMEHeaderKey(n)
	}
	return m
}()

// internName returns the canonical key for a field name.
func internName(b []byte) string {
	if s, ok := commonNames[string(b)]; ok {
		return s
	}
	return textproto.CanonicalMIMEHeaderKey(string(b))
}

func appendFolded(cur, line []byte) []byte {
	cur = append(cur, ' ')
	return append(cur, bytes.TrimLeft(line, " \t")...)
}

// headerText decodes a raw header value to readable UTF-8: raw 8-bit bytes
// (UTF-8 if valid, else the fallback charset) and RFC 2047 encoded words.
func (w *walker) headerText(v string) string {
	v = w.utf8Header(v)
	if strings.Contains(v, "=?") {
		var bad string
		v, bad = decodeWords(v)
		if bad != "" {
			w.defect("unknown charset " + bad)
		}
	}
	if strings.IndexByte(v, 0) >= 0 {
		v = strings.ReplaceAll(v, "\x00", "")
		w.defect("NUL in header")
	}
	return v
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
		dec = decodeBase64([]byte(text), nil)
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

var b64 = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alpha); i++ {
		t[alpha[i]] = byte(i)
	}
	t['-'] = 62 // URL-safe alphabet, seen in broken mailers
	t['_'] = 63
	return t
}()

// decodeBase64 decodes what decodes: characters outside the alphabet are
// skipped, decoding stops at padding, a dangling group is decoded as far
// as it goes. It appends to dst.
func decodeBase64(src, dst []byte) []byte {
	if dst == nil {
		dst = make([]byte, 0, len(src)*3/4+3)
	}
	var acc uint32
	n := 0
	for _, c := range src {
		v := b64[c]
		if v == 0xff {
			if c == '=' && n >= 2 {
				break
			}
			continue
		}
		acc = acc<<6 | uint32(v)
		n++
		if n == 4 {
			dst = append(dst, byte(acc>>16), byte(acc>>8), byte(acc))
			acc, n = 0, 0
		}
	}
	switch n {
	case 2:
		dst = append(dst, byte(acc>>4))
	case 3:
		dst = append(dst, byte(acc>>10), byte(acc>>2))
	}
	return dst
}

// base64Len is the decoded length of src, computed without decoding, and
// whether src held characters other than the alphabet, padding and white
// space.
func base64Len(src []byte) (n int64, junk bool) {
	var k int64
	for _, c := range src {
		if b64[c] != 0xff {
			k++
			continue
		}
		switch c {
		case '=', '\r', '\n', ' ', '\t':
		default:
			junk = true
		}
	}
	n = k / 4 * 3
	switch k % 4 {
	case 2:
		n++
	case 3:
		n += 2
	}
	return n, junk
}

// decodeQP decodes quoted-printable leniently: soft line breaks are removed,
// invalid escapes are kept as written. If dst is nil only the length is
// counted (so attachment sizes need no memory).
func decodeQP(src []byte, dst []byte, count bool) ([]byte, int64) {
	var n int64
	for len(src) > 0 {
		k := bytes.IndexByte(src, '=')
		if k < 0 {
			k = len(src)
		}
		n += int64(k)
		if !count {
			dst = append(dst, src[:k]...)
		}
		if k == len(src) {
			break
		}
		src = src[k:] // at "="
		if len(src) >= 3 && isHex(src[1]) && isHex(src[2]) {
			n++
			if !count {
				dst = append(dst, unhex(src[1])<<4|unhex(src[2]))
			}
			src = src[3:]
			continue
		}
		// Soft line break: "=", optional white space, end of line.
		j := 1
		for j < len(src) && (src[j] == ' ' || src[j] == '\t') {
			j++
		}
		switch {
		case j == len(src):
			src = nil
		case src[j] == '\n':
			src = src[j+1:]
		case src[j] == '\r' && j+1 < len(src) && src[j+1] == '\n':
			src = src[j+2:]
		default:
			// Not an escape: keep the "=" as written.
			n++
			if !count {
				dst = append(dst, '=')
			}
			src = src[1:]
		}
	}
	return dst, n
}

// decodeBody decodes a transfer encoding, at most limit encoded bytes.
func (w *walker) decodeBody(body []byte, cte string, limit int) []byte {
	if len(body) > limit {
		body = body[:limit]
	}
	switch cte {
	case "base64":
		if _, junk := base64Len(body); junk {
			w.defect("bad base64")
		}
		return decodeBase64(body, nil)
	case "quoted-printable":
		out, _ := decodeQP(body, make([]byte, 0, len(body)), false)
		return out
	}
	return body
}

// crlfToLF turns CRLF into LF in place.
func crlfToLF(b []byte) []byte {
	i := bytes.Index(b, []byte("\r\n"))
	if i < 0 {
		return b
	}
	j := i
	for i < len(b) {
		// Copy up to the next CR, then drop it if an LF follows.
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

// decodedSize measures a body's decoded size without keeping it.
func decodedSize(body []byte, cte string) int64 {
	switch cte {
	case "base64":
		n, _ := base64Len(body)
		return n
	case "quoted-printable":
		_, n := decodeQP(body, nil, true)
		return n
	}
	return int64(len(body))
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
// Attachments, embedded ids and bounce data are recorded on the way.
func (w *walker) entity(h partHeader, body []byte, depth int, def string, want bool, r role) (text string, plain bool) {
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
		return w.multipart(media, params, body, depth, want)

	case media == "message/rfc822" || media == "message/global":
		// Only the header is needed; a base64 message/rfc822 (not allowed,
		// but seen) is decoded no further than that.
		inner := w.decodeBody(body, cte, maxScanText)
		w.embeddedMessage(inner)
		if name == "" {
			name = w.innerSubject(inner)
		}
		w.attach(name, media, decodedSize(body, cte))
		return "", false

	case media == "text/rfc822-headers" || media == "message/rfc822-headers":
		w.embeddedMessage(w.decodeBody(body, cte, maxScanText))
		return "", false

	case media == "message/delivery-status" || media == "message/global-delivery-status":
		w.deliveryStatus(w.decodeBody(body, cte, maxScanText))
		return "", false

	case media == "message/disposition-notification" || media == "message/feedback-report" ||
		media == "message/global-disposition-notification":
		return "", false
	}

	isHTML := media == "text/html"
	isText := media == "text/plain" || media == "text/enriched" || media == "text/richtext"
	if (isHTML || isText) && (r == roleTop || !attach && (name == "" || r == roleBody && disp == "")) {
		if attach {
			w.attach(name, media, decodedSize(body, cte))
		}
		if !want {
			return "", false
		}
		dec := w.decodeBody(body, cte, maxDecodeText)
		if cte == "base64" || cte == "quoted-printable" {
			dec = crlfToLF(dec) // the buffer is ours
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

	// Everything else is an attachment.
	if media == "text/plain" && w.spare.body == nil {
		w.spare.body, w.spare.cte, w.spare.cs = body, cte, params["charset"]
	}
	if w.bounce && strings.HasPrefix(media, "text/") {
		dec := w.decodeBody(body, cte, maxScanText)
		s, _ := decodeCharset(params["charset"], dec)
		w.scanBounceIDs(s)
	}
	if name == "" && r == roleTop && len(bytes.TrimSpace(body)) == 0 {
		return "", false
	}
	w.attach(name, media, decodedSize(body, cte))
	return "", false
}

func (w *walker) attach(name, media string, size int64) {
	w.p.Attachments = append(w.p.Attachments, kp.Attachment{Name: name, ContentType: media, Size: size})
}

// multipart walks the children of a multipart entity.
func (w *walker) multipart(media string, params map[string]string, body []byte, depth int, want bool) (string, bool) {
	parts, ok := splitMultipart(body, params["boundary"])
	if !ok {
		if b := guessBoundary(body); b != "" {
			w.defect("wrong multipart boundary")
			parts, ok = splitMultipart(body, b)
		}
	}
	if !ok {
		// No parts at all: read the body as plain text, best effort.
		w.defect("multipart without parts")
		if !want {
			return "", false
		}
		s, _ := decodeCharset("", body)
		return s, true
	}
	if parts.unclosed {
		w.defect("missing final boundary")
	}
	def := "text/plain"
	if media == "multipart/digest" {
		def = "message/rfc822"
	}
	sub := strings.TrimPrefix(media, "multipart/")
	var b strings.Builder
	plainAll := true
	switch sub {
	case "alternative":
		// Prefer text/plain; else the first alternative that has text.
		n := len(parts.bodies)
		hdrs := make([]partHeader, n)
		bodies := make([][]byte, n)
		for i, pb := range parts.bodies {
			hdrs[i], bodies[i] = w.readHeader(pb, false)
		}
		done := make([]bool, n)
		var best string
		var bestPlain bool
		if want {
			found := false
			for i := 0; i < n && !found; i++ {
				if mt, _ := w.mediaType(lookup(hdrs[i], "Content-Type"), def); mt != "text/plain" {
					continue
				}
				done[i] = true
				t, p := w.entity(hdrs[i], bodies[i], depth+1, def, true, roleBody)
				if strings.TrimSpace(t) != "" {
					best, bestPlain, found = t, p, true
				}
			}
			for i := 0; i < n && !found; i++ {
				if done[i] {
					continue
				}
				done[i] = true
				t, p := w.entity(hdrs[i], bodies[i], depth+1, def, true, roleBody)
				if strings.TrimSpace(t) != "" {
					best, bestPlain, found = t, p, true
				}
			}
		}
		for i := 0; i < n; i++ {
			if !done[i] {
				w.entity(hdrs[i], bodies[i], depth+1, def, false, rolePart)
			}
		}
		return best, bestPlain
	case "related":
		// The root is the body and the rest are its resources. The root is
		// the first part (RFC 2387), but when it holds no text the first
		// part that does is taken (mimekit multipart-related-mhtml).
		var text string
		var plain bool
		for _, pb := range parts.bodies {
			h, bd := w.readHeader(pb, false)
			found := strings.TrimSpace(text) != ""
			rl := roleBody
			if found {
				rl = rolePart
			}
			t, p := w.entity(h, bd, depth+1, def, want && !found, rl)
			if !found {
				text, plain = t, p
			}
		}
		return w.orPreamble(text, plain, parts.preamble, want)
	case "report":
		// The first part is the human-readable explanation.
		var text string
		var plain bool
		for i, pb := range parts.bodies {
			h, bd := w.readHeader(pb, false)
			rl := rolePart
			if i == 0 {
				rl = roleBody
			}
			t, p := w.entity(h, bd, depth+1, def, want && i == 0, rl)
			if i == 0 {
				text, plain = t, p
			}
		}
		return w.orPreamble(text, plain, parts.preamble, want)
	}
	// mixed, signed, digest, parallel and unknown subtypes: every inline
	// text part is body text, the rest are attachments.
	for _, pb := range parts.bodies {
		h, bd := w.readHeader(pb, false)
		rl := rolePart
		if b.Len() == 0 {
			rl = roleBody
		}
		t, p := w.entity(h, bd, depth+1, def, want && b.Len() < maxText, rl)
		if strings.TrimSpace(t) == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(t)
		plainAll = plainAll && p
	}
	return w.orPreamble(b.String(), plainAll && b.Len() > 0, parts.preamble, want)
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

// mparts is a split multipart body.
type mparts struct {
	preamble []byte
	bodies   [][]byte
	unclosed bool
}

// splitMultipart finds the parts between "--boundary" delimiter lines. ok
// is false when no delimiter line was found.
func splitMultipart(body []byte, boundary string) (mparts, bool) {
	var res mparts
	if boundary == "" || len(boundary) > 200 {
		return res, false
	}
	delim := []byte("--" + boundary)
	start := -1 // start of the current part's content
	i := 0
	for i <= len(body) {
		k := bytes.Index(body[i:], delim)
		if k < 0 {
			break
		}
		at := i + k
		if at > 0 && body[at-1] != '\n' {
			i = at + len(delim)
			continue
		}
		after := at + len(delim)
		closing := bytes.HasPrefix(body[after:], []byte("--"))
		rest := after
		if closing {
			rest += 2
		}
		// The delimiter must be followed by white space or the end of line.
		line, next := nextLine(body, rest)
		if len(bytes.TrimLeft(line, " \t")) != 0 && !closing {
			i = after
			continue
		}
		if start < 0 {
			res.preamble = body[:at]
		} else {
			res.bodies = append(res.bodies, trimEOL(body[start:at]))
			if len(res.bodies) >= maxParts {
				return res, true
			}
		}
		if closing {
			return res, true
		}
		start = next
		i = next
		if next >= len(body) {
			break
		}
	}
	if start < 0 {
		return res, false
	}
	if start <= len(body) {
		res.bodies = append(res.bodies, body[start:])
	}
	res.unclosed = true
	return res, true
}

// trimEOL removes the line break that belongs to the next delimiter.
func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
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
			if len(nl) == 0 || fieldName(nl) > 0 {
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
	type rcpt struct{ final, orig, action, status string }
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
		body := l[q:]
		if strings.HasPrefix(body, " ") {
			body = body[1:] // space stuffing
		}
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
