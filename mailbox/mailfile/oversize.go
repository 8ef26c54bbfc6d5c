package mailfile

import (
	"bytes"
	"fmt"
	"io"

	"kontaktpunkt/mailbox/mailmsg"
)

// readUpTo reads the rest of a message whose first bytes, got, have been
// read; hint is its expected size, 0 when unknown. When limit > 0 and the
// message is larger than limit bytes, the rest is read past: raw is then
// only the header part and oversize the whole size.
func readUpTo(r io.Reader, got []byte, hint, limit int64) (raw []byte, oversize int64, err error) {
	if limit > 0 && int64(len(got)) > limit {
		return mailmsg.ReadPast(r, got)
	}
	if limit > 0 && hint > limit {
		head, size, err := mailmsg.ReadPast(r, got)
		if err == nil && size <= limit {
			// The file shrank while it was read, and its body is gone.
			err = fmt.Errorf("size changed while reading: %d bytes, %d expected", size, hint)
		}
		return head, size, err
	}
	if hint > int64(len(got)) {
		return readSized(r, got, hint, limit)
	}
	// Size unknown (a pipe): read in chunks, so that neither a growing
	// buffer's old copies nor a message over the limit is ever held twice,
	// and join them at the end.
	chunks := [][]byte{got}
	total := int64(len(got))
	next := 64 << 10
	for {
		if limit > 0 && total > limit {
			var prefix []byte
			for _, c := range chunks {
				prefix = append(prefix, c[:min(len(c), mailmsg.MaxStubHeader-len(prefix))]...)
			}
			chunks = nil
			head, size, err := mailmsg.ReadPast(r, prefix)
			return head, size - int64(len(prefix)) + total, err
		}
		c := make([]byte, next)
		if limit > 0 {
			c = c[:min(int64(next), limit+1-total)]
		}
		n, err := io.ReadFull(r, c)
		chunks = append(chunks, c[:n])
		total += int64(n)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return bytes.Join(chunks, nil), 0, nil
		}
		if err != nil {
			return nil, 0, err
		}
		next = min(next*2, 4<<20)
	}
}

// readSized is readUpTo for a message of about hint bytes: one buffer of
// capacity hint+1 (at most limit+1), grown only if the message is longer.
func readSized(r io.Reader, got []byte, hint, limit int64) (raw []byte, oversize int64, err error) {
	capacity := hint + 1
	if limit > 0 {
		capacity = min(capacity, limit+1)
	}
	buf := make([]byte, len(got), capacity)
	copy(buf, got)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		room := buf[len(buf):cap(buf)]
		if limit > 0 {
			room = room[:min(int64(len(room)), limit+1-int64(len(buf)))]
		}
		n, err := r.Read(room)
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, 0, nil
		}
		if err != nil {
			return nil, 0, err
		}
		if limit > 0 && int64(len(buf)) > limit {
			return mailmsg.ReadPast(r, buf)
		}
	}
}
