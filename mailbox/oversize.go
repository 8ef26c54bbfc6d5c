package mailbox

// Messages over the size limit (limits.max_message_bytes) are never held
// whole: from the IMAP intake only their header is fetched, and `ingest`
// reads past their body. What is kept of them is the header part, enough
// to name the message (Message-ID, From, Subject) in its quarantine record.

import (
	"bytes"
	"fmt"
	"io"
)

// MaxStubHeader caps the header part kept of a message over the size limit.
const MaxStubHeader = 1 << 20

// HeaderPart returns a copy of the header of raw: its bytes up to and
// including the blank line that ends the header (a header without one is
// kept whole), cut at the last line end within MaxStubHeader bytes when
// longer. The copy lets a large raw be freed.
func HeaderPart(raw []byte) []byte {
	var head []byte
	switch end := headerEnd(raw); {
	case end >= 0 && end <= MaxStubHeader:
		head = raw[:end]
	case len(raw) < MaxStubHeader:
		head = raw
	default:
		head = raw[:MaxStubHeader]
		if i := bytes.LastIndexByte(head, '\n'); i >= 0 {
			head = head[:i+1]
		}
	}
	return bytes.Clone(head)
}

// headerEnd returns the offset just past the blank line that ends the
// header of raw (LF or CRLF line ends), or -1 when there is none. A blank
// first line ends an empty header.
func headerEnd(raw []byte) int {
	for i := 0; i < len(raw); {
		j := bytes.IndexByte(raw[i:], '\n')
		if j < 0 {
			return -1
		}
		line := raw[i : i+j+1]
		i += j + 1
		if len(line) == 1 || len(line) == 2 && line[0] == '\r' {
			return i
		}
	}
	return -1
}

// readPast reads r to its end and returns the header part of a message
// whose first bytes, got, have been read already, and the message's size.
// Only the header (at most MaxStubHeader bytes) is held.
func readPast(r io.Reader, got []byte) (head []byte, size int64, err error) {
	size = int64(len(got))
	head = got
	if headerEnd(head) < 0 && len(head) < MaxStubHeader {
		head = bytes.Clone(head)
		buf := make([]byte, 32<<10)
		for headerEnd(head) < 0 && len(head) < MaxStubHeader {
			n, err := r.Read(buf)
			head = append(head, buf[:n]...)
			size += int64(n)
			if err == io.EOF {
				return HeaderPart(head), size, nil
			}
			if err != nil {
				return nil, size, err
			}
		}
	}
	head = HeaderPart(head)
	n, err := io.Copy(io.Discard, r)
	return head, size + n, err
}

// readUpTo reads the rest of a message whose first bytes, got, have been
// read; hint is its expected size, 0 when unknown. When limit > 0 and the
// message is larger than limit bytes, the rest is read past: raw is then
// only the header part and oversize the whole size.
func readUpTo(r io.Reader, got []byte, hint, limit int64) (raw []byte, oversize int64, err error) {
	if limit > 0 && int64(len(got)) > limit {
		return readPast(r, got)
	}
	if limit > 0 && hint > limit {
		head, size, err := readPast(r, got)
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
				prefix = append(prefix, c[:min(len(c), MaxStubHeader-len(prefix))]...)
			}
			chunks = nil
			head, size, err := readPast(r, prefix)
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
			return readPast(r, buf)
		}
	}
}
