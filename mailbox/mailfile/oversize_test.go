package mailfile

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kontaktpunkt/mailbox/mailmsg"
)

// sizedMessage returns a message of exactly size bytes, ending in a line
// end, whose header names id.
func sizedMessage(id string, size int) []byte {
	head := fmt.Sprintf("From: Kari <kari@example.org>\r\nSubject: Message %s\r\nMessage-ID: <%s@example.org>\r\n\r\n", id, id)
	b := []byte(head)
	line := "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n"
	for len(b) < size {
		b = append(b, line...)
	}
	return append(b[:size-2], "\r\n"...)
}

func headerOf(raw []byte) []byte {
	i := bytes.Index(raw, []byte("\r\n\r\n"))
	return raw[:i+4]
}

// readLimited runs ReadSourcesLimit and returns what fn saw.
func readLimited(t *testing.T, paths []string, stdin io.Reader, limit int64) []Source {
	t.Helper()
	var got []Source
	if err := ReadSourcesLimit(paths, stdin, limit, func(s Source) error {
		got = append(got, s)
		return nil
	}); err != nil {
		t.Fatalf("ReadSourcesLimit: %v", err)
	}
	return got
}

func wantOversize(t *testing.T, s Source, raw []byte) {
	t.Helper()
	if s.Oversize != int64(len(raw)) {
		t.Errorf("%s: Oversize %d, want %d", s.Name, s.Oversize, len(raw))
	}
	if !bytes.Equal(s.Raw, headerOf(raw)) {
		t.Errorf("%s: Raw is %d bytes %q…, want the header only", s.Name, len(s.Raw), s.Raw[:min(len(s.Raw), 80)])
	}
}

func wantWhole(t *testing.T, s Source, raw []byte) {
	t.Helper()
	if s.Oversize != 0 || !bytes.Equal(s.Raw, raw) {
		t.Errorf("%s: Oversize %d, Raw %d bytes; want the whole %d-byte message", s.Name, s.Oversize, len(s.Raw), len(raw))
	}
}

// TestReadSourcesLimitCutsLargeMessages reads a 300 KB message with a
// 100 KB limit from a file, from standard input redirected from a file,
// from a pipe and from inside an mbox and a Maildir: each time only its
// header is kept, its size is reported, and the mail around it is whole.
func TestReadSourcesLimitCutsLargeMessages(t *testing.T) {
	const limit = 100_000
	big := sizedMessage("big", 300_000)
	small := sizedMessage("small", 2_000)
	exact := sizedMessage("exact", limit)
	dir := t.TempDir()
	bigPath := filepath.Join(dir, "big.eml")
	writeFile(t, bigPath, string(big))
	exactPath := filepath.Join(dir, "exact.eml")
	writeFile(t, exactPath, string(exact))

	t.Run("files", func(t *testing.T) {
		got := readLimited(t, []string{bigPath, exactPath}, nil, limit)
		if len(got) != 2 {
			t.Fatalf("got %d messages, want 2", len(got))
		}
		wantOversize(t, got[0], big)
		wantWhole(t, got[1], exact)
	})
	t.Run("stdin file", func(t *testing.T) {
		f, err := os.Open(bigPath)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		got := readLimited(t, []string{"-"}, f, limit)
		wantOversize(t, got[0], big)
	})
	t.Run("stdin pipe", func(t *testing.T) {
		for _, raw := range [][]byte{big, exact, sizedMessage("one-over", limit+1)} {
			got := readLimited(t, []string{"-"}, struct{ io.Reader }{bytes.NewReader(raw)}, limit)
			if len(raw) > limit {
				wantOversize(t, got[0], raw)
			} else {
				wantWhole(t, got[0], raw)
			}
		}
	})
	t.Run("stdin pipe, megabytes", func(t *testing.T) {
		huge := sizedMessage("huge", 3_000_000)
		pipe := func() io.Reader { return struct{ io.Reader }{bytes.NewReader(huge)} }
		wantOversize(t, readLimited(t, []string{"-"}, pipe(), 2_000_000)[0], huge)
		wantWhole(t, readLimited(t, []string{"-"}, pipe(), 3_000_000)[0], huge)
		wantWhole(t, readLimited(t, []string{"-"}, pipe(), 0)[0], huge)
	})
	t.Run("mbox", func(t *testing.T) {
		var b bytes.Buffer
		for _, m := range [][]byte{small, big, exact, small} {
			b.WriteString("From kari@example.org Mon Nov 30 10:00:00 2026\n")
			b.Write(m)
			b.WriteString("\n")
		}
		got := readLimited(t, []string{"-"}, &b, limit)
		if len(got) != 4 {
			t.Fatalf("got %d messages, want 4", len(got))
		}
		wantWhole(t, got[0], small)
		wantOversize(t, got[1], big)
		wantWhole(t, got[2], exact)
		wantWhole(t, got[3], small)
	})
	t.Run("maildir", func(t *testing.T) {
		md := filepath.Join(t.TempDir(), "md")
		writeFile(t, filepath.Join(md, "cur", "1"), string(small))
		writeFile(t, filepath.Join(md, "new", "2"), string(big))
		writeFile(t, filepath.Join(md, "new", "3"), string(small))
		got := readLimited(t, []string{md}, nil, limit)
		if len(got) != 3 {
			t.Fatalf("got %d messages, want 3", len(got))
		}
		wantWhole(t, got[0], small)
		wantOversize(t, got[1], big)
		wantWhole(t, got[2], small)
	})
}

// TestReadSourcesLimitHeaderOnly: a message over the limit that is all
// header (no blank line) keeps at most MaxStubHeader bytes of it.
func TestReadSourcesLimitHeaderOnly(t *testing.T) {
	raw := []byte("From: kari@example.org\r\n" + strings.Repeat("X-Filler: "+strings.Repeat("x", 60)+"\r\n", 30_000))
	got := readLimited(t, []string{"-"}, bytes.NewReader(raw), 100_000)
	if got[0].Oversize != int64(len(raw)) {
		t.Errorf("Oversize %d, want %d", got[0].Oversize, len(raw))
	}
	if len(got[0].Raw) > mailmsg.MaxStubHeader || !bytes.HasPrefix(raw, got[0].Raw) || !bytes.HasSuffix(got[0].Raw, []byte("\r\n")) {
		t.Errorf("Raw is %d bytes, want a prefix of whole lines within %d", len(got[0].Raw), mailmsg.MaxStubHeader)
	}
}

// FuzzReadSourcesLimit: whatever the input and limit, every message is
// either whole and within the limit, or over it with only a prefix kept,
// and a plain message keeps its bytes or its size.
func FuzzReadSourcesLimit(f *testing.F) {
	f.Add([]byte(msgA), uint16(10))
	f.Add([]byte("From a Mon Jan  1 10:00:00 2024\nA: 1\n\nlong body\n\nFrom b Mon Jan  1 10:00:01 2024\nB: 2\n\nx\n"), uint16(12))
	f.Add([]byte("A: 1\r\n\r\n"), uint16(8))
	f.Fuzz(func(t *testing.T, data []byte, l uint16) {
		limit := int64(l) + 1
		var got []Source
		if err := ReadSourcesLimit([]string{"-"}, bytes.NewReader(data), limit, func(s Source) error {
			got = append(got, s)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for _, s := range got {
			if s.Oversize == 0 && int64(len(s.Raw)) > limit {
				t.Fatalf("%s: %d bytes held, limit %d", s.Name, len(s.Raw), limit)
			}
			if s.Oversize != 0 && s.Oversize <= limit {
				t.Fatalf("%s: Oversize %d within the limit %d", s.Name, s.Oversize, limit)
			}
		}
		if !isMboxFromLine(data) {
			s := got[0]
			if s.Oversize == 0 && !bytes.Equal(s.Raw, data) || s.Oversize != 0 && (s.Oversize != int64(len(data)) || !bytes.HasPrefix(data, s.Raw)) {
				t.Fatalf("plain message: Oversize %d, %d bytes kept of %d", s.Oversize, len(s.Raw), len(data))
			}
		}
	})
}
