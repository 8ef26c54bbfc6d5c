package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"kontaktpunkt/internal/benchmail"
	"kontaktpunkt/internal/dovecottest"
	"kontaktpunkt/internal/smtptest"
)

// env is one run: a work folder, the built program, and the servers
// started on first use.
type env struct {
	o        options
	dir      string // work folder
	bin      string // the built kontaktpunkt
	progress io.Writer
	t        *tb // owner of the servers started through the test helpers
	dc       *dovecottest.Server
	seq      int // names folders and stores
}

func newEnv(o options, progress io.Writer) (*env, error) {
	dir, err := os.MkdirTemp("", "kontaktpunkt-bench-")
	if err != nil {
		return nil, err
	}
	e := &env{o: o, dir: dir, progress: progress}
	e.t = &tb{dir: dir, logf: e.logf}
	e.bin = filepath.Join(dir, "kontaktpunkt")
	e.logf("building ./cmd/kontaktpunkt")
	cmd := exec.Command("go", "build", "-o", e.bin, "./cmd/kontaktpunkt")
	cmd.Dir, err = repoRoot()
	if err != nil {
		e.close()
		return nil, err
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		e.close()
		return nil, fmt.Errorf("go build ./cmd/kontaktpunkt: %w\n%s", err, out)
	}
	return e, nil
}

func (e *env) close() {
	e.t.cleanup()
	if !e.o.keep {
		os.RemoveAll(e.dir)
	}
}

func (e *env) logf(format string, args ...any) {
	if e.o.verbose {
		fmt.Fprintf(e.progress, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
}

// fresh returns a new, empty folder in the work folder.
func (e *env) fresh(name string) string {
	e.seq++
	d := filepath.Join(e.dir, fmt.Sprintf("%02d-%s", e.seq, name))
	if err := os.MkdirAll(d, 0o755); err != nil {
		panic(err)
	}
	return d
}

// dovecot starts Dovecot on first use.
func (e *env) dovecot() (s *dovecottest.Server, err error) {
	if e.dc != nil {
		return e.dc, nil
	}
	if err := e.t.try(func() { s = dovecottest.Start(e.t) }); err != nil {
		return nil, err
	}
	e.dc = s
	return s, nil
}

// sink starts an SMTP sink that lives until the run ends.
func (e *env) sink() (s *smtptest.Server, err error) {
	err = e.t.try(func() { s = smtptest.Start(e.t) })
	return s, err
}

// repoRoot is the folder holding go.mod, from the working directory up.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run bench inside the repository (no go.mod above the working directory)")
		}
		dir = parent
	}
}

// proc is what one run of the program cost.
type proc struct {
	wall   time.Duration
	cpu    time.Duration // user + system
	maxRSS int64         // bytes
	stdout string
}

// kp runs the program to completion; a non-zero exit is an error.
func (e *env) kp(args ...string) (proc, error) {
	var out, errb bytes.Buffer
	cmd := exec.Command(e.bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	p := procOf(cmd, time.Since(start))
	p.stdout = out.String()
	if err != nil {
		return p, fmt.Errorf("kontaktpunkt %s: %w\n%s", strings.Join(args, " "), err, lastLines(errb.String(), 20))
	}
	return p, nil
}

// add sums two runs' costs (for alternating rounds).
func (p proc) add(q proc) proc {
	return proc{wall: p.wall + q.wall, cpu: p.cpu + q.cpu, maxRSS: max(p.maxRSS, q.maxRSS)}
}

func procOf(cmd *exec.Cmd, wall time.Duration) proc {
	p := proc{wall: wall}
	if ps := cmd.ProcessState; ps != nil {
		p.cpu = ps.UserTime() + ps.SystemTime()
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			p.maxRSS = ru.Maxrss * 1024 // kilobytes on Linux
		}
	}
	return p
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// selfCPU is this process's CPU time so far (user + system).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// writeMaildir writes msgs as a Maildir under dir, in order (ingest reads
// a Maildir sorted by file name), and returns their total size.
func writeMaildir(dir string, msgs [][]byte) (int64, error) {
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return 0, err
		}
	}
	var total int64
	for i, m := range msgs {
		if err := os.WriteFile(filepath.Join(dir, "new", fmt.Sprintf("%010d.bench:2,", i)), m, 0o644); err != nil {
			return 0, err
		}
		total += int64(len(m))
	}
	return total, nil
}

// servers are the addresses serve is configured with; empty for the
// offline commands.
type servers struct {
	dc   *dovecottest.Server
	smtp string // host:port
}

// writeConfig writes a configuration for the program: benchmail's
// contact address, staff and team, the store at dbPath, and when given
// the IMAP and SMTP servers. It returns the file's path.
func writeConfig(dir, dbPath string, s servers) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, `contact:
  address: %s
  name: "Integrasjonskontakten"
  tag_prefix: %s

store:
  path: %q

staff:
  members:
`, benchmail.Contact, benchmail.ContactTag, dbPath)
	for _, m := range benchmail.Staff {
		fmt.Fprintf(&b, "    - name: %q\n      address: %s\n", m[0], m[1])
	}
	fmt.Fprintf(&b, `  lead: %s
  trusted_authserv_ids: [%s]

teams:
  - name: fs
    members: [%s]

log:
  format: text
  level: warn
`, benchmail.Staff[0][1], benchmail.AuthServID, benchmail.TeamMember)
	if s.dc != nil {
		pw := filepath.Join(dir, "imap-password")
		if err := os.WriteFile(pw, []byte(s.dc.Password+"\n"), 0o600); err != nil {
			return "", err
		}
		host, port, _ := net.SplitHostPort(s.dc.Addr)
		smtpHost, smtpPort, _ := net.SplitHostPort(s.smtp)
		fmt.Fprintf(&b, `
imap:
  host: %s
  port: %s
  security: plain
  username: %s
  password: {file: %q}
  mailbox: INBOX
  processed: Processed
  quarantine: Quarantine

smtp:
  host: %s
  port: %s
  security: plain
  helo_name: kontaktpunkt.example.org
  timeout: 30s

http:
  listen: "off"
`, host, port, s.dc.Username, pw, smtpHost, smtpPort)
	}
	path := filepath.Join(dir, "config.yaml")
	return path, os.WriteFile(path, []byte(b.String()), 0o600)
}

// serveProc is a running `kontaktpunkt serve`.
type serveProc struct {
	cmd    *exec.Cmd
	log    string
	start  time.Time
	exited chan struct{}
}

func (e *env) startServe(cfgPath, logPath string) (*serveProc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(e.bin, "serve", "-config", cfgPath)
	cmd.Stdout, cmd.Stderr = f, f
	p := &serveProc{cmd: cmd, log: logPath, exited: make(chan struct{}), start: time.Now()}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	go func() { cmd.Wait(); f.Close(); close(p.exited) }()
	return p, nil
}

// stop ends serve with SIGTERM and returns what it cost from its start.
func (p *serveProc) stop() proc {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
	return procOf(p.cmd, time.Since(p.start))
}

func (p *serveProc) logTail() string {
	b, _ := os.ReadFile(p.log)
	return lastLines(string(b), 20)
}

// waitFor polls cond with backoff (2 ms doubling to 50 ms) until it holds,
// serve exits or the timeout passes.
func waitFor(timeout time.Duration, exited <-chan struct{}, cond func() (bool, error)) error {
	end := time.Now().Add(timeout)
	delay := 2 * time.Millisecond
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(end) {
			return fmt.Errorf("not done within %v", timeout)
		}
		select {
		case <-exited:
			return errors.New("serve exited")
		case <-time.After(delay):
		}
		delay = min(delay*2, 50*time.Millisecond)
	}
}

// tb lets the harness start servers through the test helpers
// (dovecottest, smtptest), which take a testing.TB. Only the methods
// those helpers call are implemented; Fatalf and Skipf abort the call in
// progress (see try).
type tb struct {
	testing.TB // nil: any other method panics
	dir        string
	logf       func(string, ...any)
	cleanups   []func()
	failed     bool
}

type tbAbort struct{ msg string }

func (t *tb) Helper()                    {}
func (t *tb) Failed() bool               { return t.failed }
func (t *tb) Cleanup(f func())           { t.cleanups = append(t.cleanups, f) }
func (t *tb) Logf(f string, args ...any) { t.logf(f, args...) }
func (t *tb) Fatalf(f string, args ...any) {
	t.failed = true
	panic(tbAbort{fmt.Sprintf(f, args...)})
}
func (t *tb) Skipf(f string, args ...any) { panic(tbAbort{fmt.Sprintf(f, args...)}) }
func (t *tb) TempDir() string {
	d, err := os.MkdirTemp(t.dir, "srv-")
	if err != nil {
		t.Fatalf("%v", err)
	}
	return d
}

// try runs f, turning a Fatalf or Skipf inside it into an error.
func (t *tb) try(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			a, ok := r.(tbAbort)
			if !ok {
				panic(r)
			}
			err = errors.New(a.msg)
		}
	}()
	f()
	return nil
}

func (t *tb) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.try(t.cleanups[i])
	}
	t.cleanups = nil
}

// scanLines calls fn for each line of r until it returns false.
func scanLines(r io.Reader, fn func(string) bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if !fn(sc.Text()) {
			break
		}
	}
	io.Copy(io.Discard, r)
}
