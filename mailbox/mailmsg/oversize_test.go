package mailmsg

import (
	"bytes"
	"testing"
)

func TestHeaderPart(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"A: 1\r\nB: 2\r\n\r\nbody\r\n\r\nmore", "A: 1\r\nB: 2\r\n\r\n"},
		{"A: 1\nB: 2\n\nbody", "A: 1\nB: 2\n\n"},
		{"\r\nbody", "\r\n"},
		{"A: 1\r\nno end", "A: 1\r\nno end"},
		{"", ""},
	} {
		if got := HeaderPart([]byte(tc.raw)); string(got) != tc.want {
			t.Errorf("HeaderPart(%q) = %q, want %q", tc.raw, got, tc.want)
		}
	}
}

func FuzzHeaderPart(f *testing.F) {
	f.Add([]byte("A: 1\r\nB: 2\r\n\r\nbody"))
	f.Add([]byte("A: 1\n\n"))
	f.Add([]byte("\n"))
	f.Add([]byte("A: 1\r\n \r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		h := HeaderPart(raw)
		if !bytes.HasPrefix(raw, h) || len(h) > MaxStubHeader {
			t.Fatalf("HeaderPart returned %d bytes that are not a prefix within the cap", len(h))
		}
		if e := headerEnd(h); e >= 0 && e != len(h) {
			t.Fatalf("the header part holds a blank line at %d before its end %d", e, len(h))
		}
	})
}
