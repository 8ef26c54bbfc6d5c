package mailmsg

import (
	"bytes"
	"io"
	"strings"
	"sync"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// The body walk: one MIME entity at a time, reading text parts (transfer
// decoded, capped) and counting the rest as attachments. Multiparts are
// in multipart.go.

// role says where an entity sits, which decides whether a text part is
// body text or an attachment.
type role int

const (
	roleTop  role = iota // the message itself: a text body is the text, whatever its disposition
	roleBody             // no text found yet: a named text part without disposition is body text
	rolePart             // text already found: only unnamed inline text parts are body text
)

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

// measure counts a part's decoded size, streaming. blank tells whether it
// held nothing but white space.
func (w *walker) measure(cte string, body io.Reader) (size int64, blank bool) {
	c := &counter{blank: true}
	err := copyPooled(c, decoded(cte, body))
	w.bodyError(err)
	// A body that does not decode is not empty.
	return c.n, c.blank && err == nil
}

// copyPooled is io.Copy with its 32 KB buffer taken from copyBuffers
// rather than allocated: the same reads and writes, in the same sizes.
func copyPooled(dst io.Writer, src io.Reader) error {
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	buf := *bp
	if l, ok := src.(*io.LimitedReader); ok && int64(len(buf)) > l.N {
		buf = buf[:max(l.N, 1)]
	}
	_, err := io.CopyBuffer(dst, src, buf)
	return err
}

// copyBuffers holds io.Copy-sized buffers for copyPooled.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

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
