package mailmsg

import (
	"bytes"
	"io"
	"strings"

	"github.com/emersion/go-message"

	kp "kontaktpunkt"
)

// maxForwardedBytes bounds how much of an attached message is read to find
// its sender.
const maxForwardedBytes = 1 << 20

// AttachedSender returns the From and Subject of the first message
// attached to raw as message/rfc822 (a mail forwarded "as attachment"), or
// false when there is none or it names no address. Broken MIME gives
// false, never a panic.
func AttachedSender(raw []byte) (from kp.Address, subject string, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			from, subject, ok = kp.Address{}, "", false
		}
	}()
	e, err := message.Read(bytes.NewReader(raw))
	if e == nil || (err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err)) {
		return kp.Address{}, "", false
	}
	parts := 0
	_ = e.Walk(func(path []int, part *message.Entity, err error) error {
		parts++
		if ok || err != nil || part == nil || len(path) > maxDepth || parts > maxParts {
			return nil
		}
		ct, _, _ := part.Header.ContentType()
		if !strings.EqualFold(ct, "message/rfc822") && !strings.EqualFold(ct, "message/global") {
			return nil
		}
		data, err := io.ReadAll(io.LimitReader(part.Body, maxForwardedBytes))
		if err != nil && len(data) == 0 {
			return nil
		}
		p, _ := Parse(data)
		if p != nil && p.From.Addr != "" {
			from, subject, ok = p.From, p.Subject, true
		}
		return nil
	})
	return from, subject, ok
}
