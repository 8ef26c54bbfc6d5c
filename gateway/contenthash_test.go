package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kontaktpunkt/internal/benchmail"
	"kontaktpunkt/internal/testcorpus"
)

// contentHashByLine is contentHash hashing line by line, the reference
// contentHash must match.
func contentHashByLine(raw []byte) uint64 {
	body := raw
	for i := 0; i < len(raw); {
		j := bytes.IndexByte(raw[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
		if i < len(raw) && raw[i] == '\n' {
			body = raw[i+1:]
			break
		}
		if i+1 < len(raw) && raw[i] == '\r' && raw[i+1] == '\n' {
			body = raw[i+2:]
			break
		}
	}
	h := sha256.New()
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		h.Write(bytes.TrimRight(line, " \t\r"))
		h.Write([]byte{'\n'})
	}
	var sum [sha256.Size]byte
	v := binary.BigEndian.Uint64(h.Sum(sum[:0]))
	if v == 0 {
		v = 1
	}
	return v
}

func TestContentHashAsByLine(t *testing.T) {
	check := func(name string, raw []byte) {
		t.Helper()
		if got, want := contentHash(raw), contentHashByLine(raw); got != want {
			t.Errorf("%s: contentHash %x, by line %x", name, got, want)
		}
	}
	long := strings.Repeat("a line of body text  \r\n", 10000)
	for name, raw := range map[string]string{
		"empty":         "",
		"header only":   "Subject: x\r\n",
		"no newline":    "Subject: x\n\nbody",
		"crlf":          "Subject: x\r\n\r\nHei  \r\nLine\r\n\r\n",
		"bare cr":       "Subject: x\n\nA\rB \r\r\n",
		"long body":     "Subject: x\n\n" + long,
		"long line":     "Subject: x\n\n" + strings.Repeat("x", 3*hashBlock+7) + " \n",
		"blank at once": "\n\nbody\n",
	} {
		check(name, []byte(raw))
	}
	for _, raw := range benchmail.Generate(5, 300) {
		check("benchmail", raw)
	}
	for _, raw := range benchMails(0, 100) {
		check("benchMail", raw)
	}
	err := filepath.WalkDir(testcorpus.Dir(t), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		if err == nil {
			check(path, raw)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
