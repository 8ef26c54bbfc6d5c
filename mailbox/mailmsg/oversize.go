package mailmsg

// Messages over the size limit (limits.max_message_bytes) are never held
// whole: from the IMAP intake only their header is fetched, and `ingest`
// reads past their body. What is kept of them is the header part, enough
// to name the message (Message-ID, From, Subject) in its quarantine record.

import (
	"bytes"
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

// ReadPast reads r to its end and returns the header part of a message
// whose first bytes, got, have been read already, and the message's size.
// Only the header (at most MaxStubHeader bytes) is held.
func ReadPast(r io.Reader, got []byte) (head []byte, size int64, err error) {
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
