package mailfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// collect runs ReadSources and returns what fn saw.
func collect(t *testing.T, paths []string, stdin io.Reader) []Source {
	t.Helper()
	var got []Source
	if err := ReadSources(paths, stdin, func(s Source) error {
		got = append(got, s)
		return nil
	}); err != nil {
		t.Fatalf("ReadSources: %v", err)
	}
	return got
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func wantSources(t *testing.T, got []Source, want ...Source) {
	t.Helper()
	if len(got) != len(want) {
		names := make([]string, len(got))
		for i, s := range got {
			names[i] = s.Name
		}
		t.Fatalf("got %d messages %q, want %d", len(got), names, len(want))
	}
	for i := range want {
		if got[i].Name != want[i].Name {
			t.Errorf("message %d: name %q, want %q", i, got[i].Name, want[i].Name)
		}
		if !bytes.Equal(got[i].Raw, want[i].Raw) {
			t.Errorf("message %d (%s):\n got %q\nwant %q", i, want[i].Name, got[i].Raw, want[i].Raw)
		}
	}
}

const (
	msgA = "From: kari@uio.no\r\nSubject: A\r\n\r\nFrom here on, hello.\r\n"
	msgB = "From: per@uio.no\nSubject: B\n\nbody\n>From the quoted line\n>>From twice quoted\n"
)

func TestReadSourcesEMLKeepsBytes(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.eml")
	raw := msgA + "no newline at end"
	writeFile(t, p, raw)
	wantSources(t, collect(t, []string{p}, nil), Source{Name: p, Raw: []byte(raw)})

	// Lines that merely look like quoting or separators stay untouched in a
	// plain message.
	q := filepath.Join(dir, "b.eml")
	writeFile(t, q, msgB+"\nFrom someone Mon Jan  1 10:00:00 2024\n")
	wantSources(t, collect(t, []string{q}, nil), Source{Name: q, Raw: []byte(msgB + "\nFrom someone Mon Jan  1 10:00:00 2024\n")})
}

func TestReadSourcesSingleFromLineIsStripped(t *testing.T) {
	p := filepath.Join(t.TempDir(), "saved.eml")
	writeFile(t, p, "From kari@uio.no Tue Nov 24 10:00:00 2026\n"+msgB)
	wantSources(t, collect(t, []string{p}, nil),
		Source{Name: p, Raw: []byte("From: per@uio.no\nSubject: B\n\nbody\nFrom the quoted line\n>From twice quoted\n")})
}

func TestReadSourcesMbox(t *testing.T) {
	p := filepath.Join(t.TempDir(), "archive.mbox")
	mbox := "From kari@uio.no Tue Nov 24 10:00:00 2026\n" + msgB + "\n" +
		// A body line "From ..." without a date after a blank line is text.
		"From MAILER-DAEMON Wed Nov 25 11:00:00 2026\nFrom: daemon@uio.no\nSubject: C\n\nFrom me to you\n\n" +
		"From - Thu Nov 26 12:00:00 2026\r\nFrom: x@uio.no\r\nSubject: D\r\n\r\nlast\r\n\r\n"
	writeFile(t, p, mbox)
	wantSources(t, collect(t, []string{p}, nil),
		Source{Name: p + "#1", Raw: []byte("From: per@uio.no\nSubject: B\n\nbody\nFrom the quoted line\n>From twice quoted\n")},
		Source{Name: p + "#2", Raw: []byte("From: daemon@uio.no\nSubject: C\n\nFrom me to you\n")},
		Source{Name: p + "#3", Raw: []byte("From: x@uio.no\r\nSubject: D\r\n\r\nlast\r\n")},
	)
}

func TestReadSourcesMaildir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Maildir")
	writeFile(t, filepath.Join(dir, "cur", "1700000002.M1P1.host:2,S"), "cur 2\n")
	writeFile(t, filepath.Join(dir, "new", "1700000001.M1P1.host"), "new 1\n")
	writeFile(t, filepath.Join(dir, "new", "1700000003.M1P1.host"), "new 3\n")
	writeFile(t, filepath.Join(dir, "tmp", "1700000000.M1P1.host"), "being delivered\n")
	writeFile(t, filepath.Join(dir, "cur", ".hidden"), "dotfile\n")
	writeFile(t, filepath.Join(dir, ".Sent", "cur", "1600000000.x"), "subfolder\n")
	writeFile(t, filepath.Join(dir, "dovecot-uidlist"), "not mail\n")
	wantSources(t, collect(t, []string{dir}, nil),
		Source{Name: filepath.Join(dir, "new", "1700000001.M1P1.host"), Raw: []byte("new 1\n")},
		Source{Name: filepath.Join(dir, "cur", "1700000002.M1P1.host:2,S"), Raw: []byte("cur 2\n")},
		Source{Name: filepath.Join(dir, "new", "1700000003.M1P1.host"), Raw: []byte("new 3\n")},
	)
}

func TestReadSourcesNestedFolders(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "b", "z.eml"), "z\n")
	writeFile(t, filepath.Join(root, "b", "a", "deep.eml"), "deep\n")
	writeFile(t, filepath.Join(root, "a.mbox"), "From a Mon Jan  1 10:00:00 2024\none\n\nFrom b Mon Jan  1 10:00:01 2024\ntwo\n")
	writeFile(t, filepath.Join(root, ".git", "config"), "skipped\n")
	writeFile(t, filepath.Join(root, ".skip.eml"), "skipped\n")
	writeFile(t, filepath.Join(root, "c", "md", "new", "1"), "maildir new\n")
	if err := os.MkdirAll(filepath.Join(root, "c", "md", "cur"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(root, filepath.Join(root, "d-loop")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "b", "z.eml"), filepath.Join(root, "e-link.eml")); err != nil {
		t.Fatal(err)
	}
	wantSources(t, collect(t, []string{root}, nil),
		Source{Name: filepath.Join(root, "a.mbox#1"), Raw: []byte("one\n")},
		Source{Name: filepath.Join(root, "a.mbox#2"), Raw: []byte("two\n")},
		Source{Name: filepath.Join(root, "b", "a", "deep.eml"), Raw: []byte("deep\n")},
		Source{Name: filepath.Join(root, "b", "z.eml"), Raw: []byte("z\n")},
		Source{Name: filepath.Join(root, "c", "md", "new", "1"), Raw: []byte("maildir new\n")},
		Source{Name: filepath.Join(root, "e-link.eml"), Raw: []byte("z\n")},
	)
}

func TestReadSourcesStdin(t *testing.T) {
	wantSources(t, collect(t, []string{"-"}, strings.NewReader(msgA)), Source{Name: "-", Raw: []byte(msgA)})

	mbox := "From a Mon Jan  1 10:00:00 2024\none\n\nFrom b Mon Jan  1 10:00:01 2024\ntwo\n"
	wantSources(t, collect(t, []string{"-"}, strings.NewReader(mbox)),
		Source{Name: "-#1", Raw: []byte("one\n")}, Source{Name: "-#2", Raw: []byte("two\n")})

	// Files and stdin mix, in argument order.
	p := filepath.Join(t.TempDir(), "x.eml")
	writeFile(t, p, "x\n")
	wantSources(t, collect(t, []string{p, "-"}, strings.NewReader("y\n")), Source{Name: p, Raw: []byte("x\n")}, Source{Name: "-", Raw: []byte("y\n")})

	if err := ReadSources([]string{"-"}, nil, func(Source) error { return nil }); err == nil {
		t.Error("\"-\" without stdin accepted")
	}
}

func TestReadSourcesEmptyInputIsOneEmptyMessage(t *testing.T) {
	// An empty message is handed on (ingest quarantines it with a reason)
	// rather than silently dropped.
	wantSources(t, collect(t, []string{"-"}, strings.NewReader("")), Source{Name: "-", Raw: []byte{}})
}

func TestReadSourcesCallbackErrorStops(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.mbox")
	writeFile(t, p, "From a Mon Jan  1 10:00:00 2024\none\n\nFrom b Mon Jan  1 10:00:01 2024\ntwo\n\nFrom c Mon Jan  1 10:00:02 2024\nthree\n")
	stop := errors.New("stop")
	var seen []string
	err := ReadSources([]string{p, p}, nil, func(s Source) error {
		seen = append(seen, s.Name)
		if len(seen) == 2 {
			return stop
		}
		return nil
	})
	if err != stop { //nolint:errorlint // fn's error must come back as it is
		t.Errorf("ReadSources returned %v, want fn's error itself", err)
	}
	if len(seen) != 2 || seen[1] != p+"#2" {
		t.Errorf("walk went on after the error: %q", seen)
	}
}

func TestReadSourcesMissingPath(t *testing.T) {
	called := false
	err := ReadSources([]string{filepath.Join(t.TempDir(), "nope.eml")}, nil, func(Source) error { called = true; return nil })
	if !errors.Is(err, os.ErrNotExist) || called {
		t.Errorf("missing path: err %v, fn called %v", err, called)
	}
}

// countingReader counts bytes handed out.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestReadSourcesMboxStreams checks that a message is handed on before the
// rest of a large mbox has been read.
func TestReadSourcesMboxStreams(t *testing.T) {
	var b bytes.Buffer
	body := strings.Repeat("line of text in a long message body\n", 300) // ~11 KB
	for i := range 100 {
		fmt.Fprintf(&b, "From a%d Mon Jan  1 10:00:00 2024\nSubject: %d\n\n%s\n", i, i, body)
	}
	total := b.Len()
	cr := &countingReader{r: &b}
	var readAtSecond, count int
	if err := ReadSources([]string{"-"}, cr, func(s Source) error {
		count++
		if count == 2 {
			readAtSecond = cr.n
		}
		if want := fmt.Sprintf("Subject: %d\n\n%s", count-1, body); string(s.Raw) != want {
			t.Fatalf("%s: wrong content (%d bytes)", s.Name, len(s.Raw))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if count != 100 {
		t.Fatalf("got %d messages, want 100", count)
	}
	if readAtSecond >= total/2 {
		t.Errorf("%d of %d bytes were read before the second message was handed on", readAtSecond, total)
	}
}

func FuzzReadSourcesStdin(f *testing.F) {
	f.Add([]byte(msgA))
	f.Add([]byte("From kari@uio.no Tue Nov 24 10:00:00 2026\n" + msgB))
	f.Add([]byte("From a Mon Jan  1 10:00:00 2024\none\n\nFrom b Mon Jan  1 10:00:01 2024\n>From x\n\n"))
	f.Add([]byte("From a Mon Jan  1 10:00:00 2024\r\n\r\nFrom b Mon Jan  1 10:00:01 2024"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var got []Source
		if err := ReadSources([]string{"-"}, bytes.NewReader(data), func(s Source) error {
			got = append(got, s)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			t.Fatal("no message")
		}
		if !isMboxFromLine(data) {
			if len(got) != 1 || !bytes.Equal(got[0].Raw, data) {
				t.Fatal("a plain message was changed")
			}
			return
		}
		size := 0
		for _, s := range got {
			size += len(s.Raw)
		}
		if size > len(data) {
			t.Fatalf("mbox messages hold %d bytes, input %d", size, len(data))
		}
	})
}

// BenchmarkReadSourcesMbox measures splitting an mbox of 1000 messages of
// about 11 KB each.
func BenchmarkReadSourcesMbox(b *testing.B) {
	var buf bytes.Buffer
	body := strings.Repeat("line of text in a long message body\n>From quoted\n", 200)
	for i := range 1000 {
		fmt.Fprintf(&buf, "From a%d Mon Jan  1 10:00:00 2024\nSubject: %d\n\n%s\n", i, i, body)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		n := 0
		if err := ReadSources([]string{"-"}, bytes.NewReader(data), func(Source) error { n++; return nil }); err != nil || n != 1000 {
			b.Fatalf("%d messages, %v", n, err)
		}
	}
}
