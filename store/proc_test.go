package store

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	kp "kontaktpunkt"
)

// helperCommand re-runs this test binary as a helper process that runs
// only the named test, with KP_STORE_HELPER set to mode.
func helperCommand(t *testing.T, test, mode, path string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), "KP_STORE_HELPER="+mode, "KP_STORE_PATH="+path)
	cmd.Stderr = os.Stderr
	return cmd
}

// lineWaiter hands the first line written to it to ch.
type lineWaiter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	ch   chan string
	sent bool
}

func (w *lineWaiter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if i := bytes.IndexByte(w.buf.Bytes(), '\n'); i >= 0 && !w.sent {
		w.sent = true
		w.ch <- string(w.buf.Bytes()[:i])
	}
	return len(p), nil
}

// largeSize is the raw size of the large-message test: the biggest mail a
// typical relay accepts.
const largeSize = 25 << 20

// TestLargeMessageMemory stores and reads back a 25 MB message in a fresh
// process and requires the peak RSS of that whole process (Go runtime,
// generating the message, storing, reading back) to stay under 128 MiB.
func TestLargeMessageMemory(t *testing.T) {
	if os.Getenv("KP_STORE_HELPER") == "large" {
		largeMessage()
		return
	}
	if testing.Short() {
		t.Skip("short mode")
	}
	if raceEnabled {
		t.Skip("the race detector multiplies memory use")
	}
	path := filepath.Join(t.TempDir(), "kp.db")
	out, err := helperCommand(t, "TestLargeMessageMemory", "large", path).Output()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	var hwm, file int64
	if _, err := fmt.Sscanf(string(out), "ok peak_rss_kib=%d file=%d", &hwm, &file); err != nil {
		t.Fatalf("helper said %q: %v", out, err)
	}
	t.Logf("25 MiB message: peak RSS %.1f MiB, store file %.1f MiB", float64(hwm)/1024, float64(file)/(1<<20))
	if hwm > 128*1024 {
		t.Errorf("peak RSS %d KiB over 128 MiB", hwm)
	}
	s := reopen(t, path)
	_ = s
}

// largeMessage is the helper: a mail with a 25 MB base64 attachment of
// incompressible data (the worst case for size and memory).
func largeMessage() {
	fail := func(err error) {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	var b bytes.Buffer
	b.Grow(largeSize + 4096)
	b.WriteString("From: kari@example.no\r\nTo: integrasjon@uio.no\r\nSubject: stor fil\r\nMessage-ID: <large@example.no>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSe vedlegg.\r\n" +
		"--b\r\nContent-Type: application/octet-stream; name=dump.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	rnd := rand.New(rand.NewPCG(1, 2))
	line := make([]byte, 78)
	line[76], line[77] = '\r', '\n'
	for b.Len() < largeSize-100 {
		for i := 0; i < 76; i++ {
			line[i] = alphabet[rnd.IntN(64)]
		}
		b.Write(line)
	}
	b.WriteString("--b--\r\n")
	raw := b.Bytes()
	s, err := Open(os.Getenv("KP_STORE_PATH"), Options{})
	if err != nil {
		fail(err)
	}
	m := &kp.Message{ID: "large@example.no", Case: 1, Subject: "stor fil", Text: "Se vedlegg.",
		Attachments: []kp.Attachment{{Name: "dump.bin", ContentType: "application/octet-stream", Size: int64(len(raw)) * 3 / 4}}, Size: int64(len(raw))}
	if err := s.Update(func(tx *Tx) error { return tx.PutMessage(m, raw) }); err != nil {
		fail(err)
	}
	if err := s.View(func(tx *Tx) error {
		got, err := tx.Raw(m.ID)
		if err == nil && !bytes.Equal(got, raw) {
			err = fmt.Errorf("raw differs (%d bytes, want %d)", len(got), len(raw))
		}
		return err
	}); err != nil {
		fail(err)
	}
	if err := s.Check(); err != nil {
		fail(err)
	}
	if err := s.Close(); err != nil {
		fail(err)
	}
	fi, err := os.Stat(os.Getenv("KP_STORE_PATH"))
	if err != nil {
		fail(err)
	}
	fmt.Printf("ok peak_rss_kib=%d file=%d\n", peakRSS(), fi.Size())
	os.Exit(0)
}

// peakRSS returns VmHWM of this process in KiB.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return -1
}
