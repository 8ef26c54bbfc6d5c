package mailmsg

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"strings"

	"github.com/emersion/go-message"

	kp "kontaktpunkt"
)

// Attachments returns the attachments of raw with their decoded bytes, for
// relaying, in the order they appear: parts with a filename or marked as
// attachments, not the text the message is read by. It takes at most max
// bytes in all; when more are there, omitted names them. Broken MIME gives
// what could be read.
func Attachments(raw []byte, max int64) (list []Attached, omitted []string) {
	defer func() {
		if r := recover(); r != nil {
			list, omitted = nil, nil
		}
	}()
	e, err := message.Read(bytes.NewReader(raw))
	if e == nil || (err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err)) {
		return nil, nil
	}
	var total int64
	_ = e.Walk(func(path []int, part *message.Entity, err error) error {
		if err != nil || part == nil || len(path) > maxDepth {
			return nil
		}
		if part.MultipartReader() != nil {
			return nil
		}
		name, isAttachment := attachmentName(part.Header)
		if !isAttachment {
			return nil
		}
		ct, _, _ := part.Header.ContentType()
		data, err := io.ReadAll(io.LimitReader(part.Body, max-total+1))
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		if total+int64(len(data)) > max {
			omitted = append(omitted, name)
			_, _ = io.Copy(io.Discard, part.Body)
			return nil
		}
		total += int64(len(data))
		list = append(list, Attached{Name: name, ContentType: ct, Data: data})
		return nil
	})
	return list, omitted
}

// attachmentName says whether a part is an attachment, and its name.
func attachmentName(h message.Header) (string, bool) {
	disp, dparams, _ := h.ContentDisposition()
	ct, cparams, _ := h.ContentType()
	name := dparams["filename"]
	if name == "" {
		name = cparams["name"]
	}
	if name != "" {
		if dec, err := new(mime.WordDecoder).DecodeHeader(name); err == nil {
			name = dec
		}
	}
	switch {
	case strings.EqualFold(disp, "attachment"):
		return name, true
	case name != "":
		return name, true
	case ct != "" && !strings.HasPrefix(ct, "text/") && !strings.HasPrefix(ct, "multipart/") && !strings.HasPrefix(ct, "message/"):
		return "", true
	}
	return "", false
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

// Attachments seen by Parse.

func (w *walker) attach(name, media string, size int64) {
	w.p.Attachments = append(w.p.Attachments, kp.Attachment{Name: name, ContentType: media, Size: size})
}
