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
	"bytes"
	"errors"
	"fmt"
	"mime"
	"strings"

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
