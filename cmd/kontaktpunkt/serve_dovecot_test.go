package main

// End-to-end tests of the built program against a real Dovecot: the binary
// is built once per test run, `kontaktpunkt serve` runs as a subprocess
// with a YAML configuration such as an operator writes from
// config.example.yaml, mail is put in the mailbox by another IMAP client,
// and the outcome is read back with the program's own `cases` and `case
// show` commands and over IMAP. The shared helpers of fault_test.go live
// here.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"kontaktpunkt/internal/dovecottest"
	"kontaktpunkt/internal/smtptest"
)

// The program under test is built once per test run, on first use, into a
// temporary folder that TestMain removes.
var (
	kpBuildOnce sync.Once
	kpBuildDir  string
	kpBuildPath string
	kpBuildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if kpBuildDir != "" {
		os.RemoveAll(kpBuildDir)
	}
	os.Exit(code)
}

// kpBinary returns the path of the freshly built kontaktpunkt binary.
func kpBinary(t testing.TB) string {
	t.Helper()
	kpBuildOnce.Do(func() {
		root, err := kpRepoRoot()
		if err != nil {
			kpBuildErr = err
			return
		}
		kpBuildDir, err = os.MkdirTemp("", "kontaktpunkt-bin-")
		if err != nil {
			kpBuildErr = err
			return
		}
		gobin, err := exec.LookPath("go")
		if err != nil {
			gobin = "/usr/local/go/bin/go"
		}
		kpBuildPath = filepath.Join(kpBuildDir, "kontaktpunkt")
		cmd := exec.Command(gobin, "build", "-o", kpBuildPath, "./cmd/kontaktpunkt")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
		if out, err := cmd.CombinedOutput(); err != nil {
			kpBuildErr = fmt.Errorf("go build ./cmd/kontaktpunkt: %w\n%s", err, out)
		}
	})
	if kpBuildErr != nil {
		t.Fatalf("building the program: %v", kpBuildErr)
	}
	return kpBuildPath
}

// kpRepoRoot is the folder holding go.mod, found from the package folder.
func kpRepoRoot() (string, error) {
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
			return "", errors.New("no go.mod above the test's folder")
		}
		dir = parent
	}
}

// kpExec runs one command of the built program to completion.
func kpExec(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	stdout, stderr, code, err := kpRun(kpBinary(t), args...)
	if err != nil {
		t.Fatal(err)
	}
	return stdout, stderr, code
}

// kpRun runs bin with args; err is set only when it could not run or
// was killed, not for a non-zero exit status. It is safe in any goroutine.
func kpRun(bin string, args ...string) (stdout, stderr string, code int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.Exited() {
		return out.String(), errb.String(), ee.ExitCode(), nil
	}
	if err != nil {
		return out.String(), errb.String(), -1, fmt.Errorf("running kontaktpunkt %s: %w", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), 0, nil
}

// kpCase is what the tests read of `cases -json` and `case show N -json`.
type kpCase struct {
	ID        int    `json:"id"`
	Tag       string `json:"tag"`
	Subject   string `json:"subject"`
	Status    string `json:"status"`
	Requester string `json:"requester"`
	// Messages is a count in `cases -json`, a list in `case show -json`.
	Messages json.RawMessage `json:"messages"`
}

type kpCaseMessage struct {
	MessageID string `json:"message_id"`
	From      string `json:"from"`
	Direction string `json:"direction"`
	Class     string `json:"class"`
	MatchedBy string `json:"matched_by"`
	Kind      string `json:"kind"`
}

// kpCases runs `cases -json` with the given store flags (-db FILE or -config FILE).
func kpCases(t testing.TB, storeFlags ...string) []kpCase {
	t.Helper()
	out, errOut, code := kpExec(t, append([]string{"cases", "-json"}, storeFlags...)...)
	if code != 0 {
		t.Fatalf("cases -json: exit %d: %s", code, errOut)
	}
	var cases []kpCase
	if err := json.Unmarshal([]byte(out), &cases); err != nil {
		t.Fatalf("cases -json: %v\n%s", err, out)
	}
	return cases
}

// kpCaseMessages runs `case show N -json` and returns the case's
// messages. It is safe in any goroutine (bin from kpBinary).
func kpCaseMessages(bin string, id int, storeFlags ...string) ([]kpCaseMessage, error) {
	out, errOut, code, err := kpRun(bin, append([]string{"case", "show", strconv.Itoa(id), "-json"}, storeFlags...)...)
	if err != nil {
		return nil, err
	}
	if code != 0 {
		return nil, fmt.Errorf("case show %d -json: exit %d: %s", id, code, errOut)
	}
	var c struct {
		Messages []kpCaseMessage `json:"messages"`
	}
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		return nil, fmt.Errorf("case show %d -json: %w", id, err)
	}
	return c.Messages, nil
}

// serveSetup describes the configuration written for one serve.
type serveSetup struct {
	dc       *dovecottest.Server
	smtp     *smtptest.Server
	security string // imap.security: plain or starttls
	http     string // http.listen
	staff    string // the one staff member
}

// writeServeConfig writes a configuration as an operator would write it
// from config.example.yaml, with the password in a file of its own, and
// returns its path and the store's path.
func writeServeConfig(t testing.TB, dir string, s serveSetup) (cfgPath, dbPath string) {
	t.Helper()
	pwFile := filepath.Join(dir, "imap-password")
	if err := os.WriteFile(pwFile, []byte(s.dc.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, err := net.SplitHostPort(s.dc.Addr)
	if err != nil {
		t.Fatal(err)
	}
	smtpHost, smtpPort, err := net.SplitHostPort(s.smtp.Addr)
	if err != nil {
		t.Fatal(err)
	}
	caFile := ""
	if s.security != "plain" {
		caFile = filepath.Join(s.dc.Dir, "cert.pem")
	}
	dbPath = filepath.Join(dir, "kontaktpunkt.db")
	cfg := fmt.Sprintf(`# Contact point of the test institution.
contact:
  address: integrasjon@example.org
  name: "Integrasjon"
  tag_prefix: INT

store:
  path: %q

imap:
  host: %s
  port: %s
  security: %s
  username: %s
  password: {file: %q}
  mailbox: INBOX
  processed: Processed
  quarantine: Quarantine
  batch_size: 50
  ca_file: %q

smtp:
  host: %s
  port: %s
  security: plain
  helo_name: kontaktpunkt.example.org
  timeout: 10s

staff:
  members:
    - name: Kari Nordmann
      address: %s
  lead: %s
  require_authenticated: false

http:
  listen: %q

log:
  format: text
  level: info
`, dbPath, host, port, s.security, s.dc.Username, pwFile, caFile, smtpHost, smtpPort, s.staff, s.staff, s.http)
	cfgPath = filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := kpExec(t, "check-config", "-config", cfgPath); code != 0 {
		t.Fatalf("check-config: exit %d: %s%s", code, out, errOut)
	}
	return cfgPath, dbPath
}

// serveProc is one running `kontaktpunkt serve`.
type serveProc struct {
	cmd    *exec.Cmd
	log    string // file holding its stdout and stderr
	exited chan struct{}
}

// startServe starts `kontaktpunkt serve -config cfgPath` with its output
// in logPath. The process is killed if the test ends first.
func startServe(t testing.TB, cfgPath, logPath string) *serveProc {
	t.Helper()
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(kpBinary(t), "serve", "-config", cfgPath)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("starting serve: %v", err)
	}
	p := &serveProc{cmd: cmd, log: logPath, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		f.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// kill ends the process with SIGKILL, as a crash or the OOM killer would.
func (p *serveProc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// waitServing waits until serve logged that every part runs, which is
// after it handles SIGTERM (a signal before that ends any Go program).
func (p *serveProc) waitServing(t testing.TB) {
	t.Helper()
	if !waitUntil(20*time.Second, func() bool { return strings.Contains(p.logText(), "msg=serving") }) {
		t.Fatalf("serve did not log msg=serving within 20s:\n%s", p.logText())
	}
}

// stop sends SIGTERM and returns the exit status, or -1 when the process
// died of a signal or did not stop within the timeout.
func (p *serveProc) stop(timeout time.Duration) int {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(timeout):
		p.cmd.Process.Kill()
		<-p.exited
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// logText returns the process's output so far.
func (p *serveProc) logText() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// waitUntil polls cond with backoff (2 ms doubling to 100 ms) until it holds
// or the deadline passes; it reports whether cond held.
func waitUntil(deadline time.Duration, cond func() bool) bool {
	end := time.Now().Add(deadline)
	delay := 2 * time.Millisecond
	for {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
		time.Sleep(delay)
		delay = min(delay*2, 100*time.Millisecond)
	}
}

// dcClient is the "other client" that fills and inspects the mailbox.
type dcClient struct {
	t testing.TB
	c *imapclient.Client
}

func dialDC(t testing.TB, dc *dovecottest.Server) *dcClient {
	t.Helper()
	c, err := imapclient.DialTLS(dc.TLSAddr, &imapclient.Options{TLSConfig: dc.TLSConfig()})
	if err != nil {
		t.Fatalf("dialling dovecot: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(dc.Username, dc.Password).Wait(); err != nil {
		t.Fatalf("dovecot login: %v", err)
	}
	return &dcClient{t: t, c: c}
}

// appendMsgs APPENDs the messages in order, so their UIDs follow that
// order. The commands are pipelined (Dovecot has LITERAL+) and their
// results collected after the last one is written.
func (d *dcClient) appendMsgs(mailbox string, msgs ...[]byte) {
	d.t.Helper()
	cmds := make([]*imapclient.AppendCommand, 0, len(msgs))
	for _, raw := range msgs {
		cmd := d.c.Append(mailbox, int64(len(raw)), nil)
		if _, err := cmd.Write(raw); err != nil {
			d.t.Fatalf("append: %v", err)
		}
		if err := cmd.Close(); err != nil {
			d.t.Fatalf("append: %v", err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if _, err := cmd.Wait(); err != nil {
			d.t.Fatalf("append: %v", err)
		}
	}
}

// count returns the number of messages in mailbox, or -1 if it does not exist.
func (d *dcClient) count(mailbox string) int {
	st, err := d.c.Status(mailbox, &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || st.NumMessages == nil {
		return -1
	}
	return int(*st.NumMessages)
}

// headers returns the Message-ID and X-Test-Id of every message in mailbox
// (in sequence order; a missing header reads as "").
func (d *dcClient) headers(mailbox string) (msgIDs, testIDs []string) {
	d.t.Helper()
	sel, err := d.c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		d.t.Fatalf("select %s: %v", mailbox, err)
	}
	if sel.NumMessages == 0 {
		return nil, nil
	}
	section := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Message-ID", "X-Test-Id"}, Peek: true}
	var all imap.SeqSet
	all.AddRange(1, sel.NumMessages)
	msgs, err := d.c.Fetch(all, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		d.t.Fatalf("fetch %s: %v", mailbox, err)
	}
	for _, m := range msgs {
		hdr := m.FindBodySection(section)
		mm, err := mail.ReadMessage(bufio.NewReader(bytes.NewReader(append(bytes.TrimRight(hdr, "\r\n"), "\r\n\r\n"...))))
		if err != nil {
			msgIDs, testIDs = append(msgIDs, ""), append(testIDs, "")
			continue
		}
		msgIDs = append(msgIDs, canonicalMsgID(mm.Header.Get("Message-ID")))
		testIDs = append(testIDs, strings.TrimSpace(mm.Header.Get("X-Test-Id")))
	}
	if err := d.c.Unselect().Wait(); err != nil {
		d.t.Fatalf("unselect: %v", err)
	}
	return msgIDs, testIDs
}

// raws returns the full raw bytes of every message in mailbox.
func (d *dcClient) raws(mailbox string) [][]byte {
	d.t.Helper()
	sel, err := d.c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		d.t.Fatalf("select %s: %v", mailbox, err)
	}
	defer func() { d.c.Unselect().Wait() }()
	if sel.NumMessages == 0 {
		return nil
	}
	section := &imap.FetchItemBodySection{Peek: true}
	var all imap.SeqSet
	all.AddRange(1, sel.NumMessages)
	msgs, err := d.c.Fetch(all, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		d.t.Fatalf("fetch %s: %v", mailbox, err)
	}
	out := make([][]byte, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, m.FindBodySection(section))
	}
	return out
}

// canonicalMsgID is the form of docs/behaviour.md, Reading a message: no angle brackets, domain lower-cased.
func canonicalMsgID(s string) string {
	s = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "<"), ">")
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		s = s[:at] + strings.ToLower(s[at:])
	}
	return s
}

// TestServeDovecotNewMailBecomesCase: while serve idles on a real Dovecot
// (STARTTLS, the harness's CA in ca_file), a message APPENDed by another
// client becomes a case and is moved to Processed; SIGTERM then stops
// serve with exit status 0.
func TestServeDovecotNewMailBecomesCase(t *testing.T) {
	dc := dovecottest.Start(t)
	kpBinary(t)
	relay := smtptest.Start(t)
	dir := t.TempDir()
	cfgPath, _ := writeServeConfig(t, dir, serveSetup{dc: dc, smtp: relay, security: "starttls", http: "127.0.0.1:0", staff: "kari@example.org"})
	cl := dialDC(t, dc)
	proc := startServe(t, cfgPath, filepath.Join(dir, "serve.log"))
	// Until serve has opened (and so created) the store, `cases` rightly
	// says there is none.
	proc.waitServing(t)

	caseOf := func(requester string) *kpCase {
		for _, c := range kpCases(t, "-config", cfgPath) {
			if c.Requester == requester {
				return &c
			}
		}
		return nil
	}
	const rounds = 5
	var lat []time.Duration
	for i := range rounds {
		requester := fmt.Sprintf("idle%d@example.net", i)
		msg := []byte(fmt.Sprintf("From: Idle Requester <%s>\r\nTo: integrasjon@example.org\r\n"+
			"Subject: Sporsmal nummer %d\r\nDate: Wed, 25 Nov 2026 10:00:00 +0100\r\n"+
			"Message-ID: <idle%d@example.net>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
			"Hei, dette er en melding mens serve venter.\r\n", requester, i, i))
		start := time.Now()
		cl.appendMsgs("INBOX", msg)
		var got *kpCase
		if !waitUntil(20*time.Second, func() bool { got = caseOf(requester); return got != nil }) {
			t.Fatalf("message %d appended while serve runs: no case after 20s\nserve log:\n%s", i, proc.logText())
		}
		lat = append(lat, time.Since(start))
		if !strings.HasPrefix(got.Subject, "Sporsmal nummer") || got.Status != "open" {
			t.Errorf("case %d = %+v, want an open case with the mail's subject", got.ID, got)
		}
		// The first one also proves the first sync; the rest arrive while idle.
		if !waitUntil(20*time.Second, func() bool { return cl.count("INBOX") == 0 && cl.count("Processed") == i+1 }) {
			t.Fatalf("message %d not moved: INBOX %d, Processed %d", i, cl.count("INBOX"), cl.count("Processed"))
		}
	}
	t.Logf("APPEND until the case shows in `cases -json` (polled): %v just after start, then while idle %v", lat[0], lat[1:])
	idle := slices.Clone(lat[1:])
	slices.Sort(idle)
	t.Logf("idle latency median %v, max %v", idle[len(idle)/2], idle[len(idle)-1])

	// Each requester gets its acknowledgement with the case tag.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		msgs := relay.Messages()
		acks := acksByRequester(msgs)
		if len(acks) == rounds {
			break
		}
		if _, err := relay.WaitFor(ctx, len(msgs)+1); err != nil {
			t.Fatalf("acknowledgements: have %d of %d: %v", len(acks), rounds, err)
		}
	}

	// /healthz on the HTTP address serve logged.
	if addr := loggedHTTPAddr(proc.logText()); addr == "" {
		t.Errorf("serve did not log its HTTP address:\n%s", proc.logText())
	} else if resp, err := http.Get("http://" + addr + "/healthz"); err != nil {
		t.Errorf("GET /healthz: %v", err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /healthz: %s", resp.Status)
		}
	}

	proc.waitServing(t)
	if code := proc.stop(30 * time.Second); code != 0 {
		t.Fatalf("serve after SIGTERM: exit %d, want 0\n%s", code, proc.logText())
	}
	if !strings.Contains(proc.logText(), "msg=stopped") {
		t.Errorf("serve did not log a clean stop:\n%s", proc.logText())
	}
	if _, err := os.Stat(filepath.Join(dir, "kontaktpunkt.db.sock")); err == nil {
		t.Errorf("admin socket left behind after a clean stop")
	}
}

// loggedHTTPAddr finds the address in serve's "http listening" log line.
func loggedHTTPAddr(log string) string {
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, "http listening") {
			continue
		}
		for _, f := range strings.Fields(line) {
			if a, ok := strings.CutPrefix(f, "addr="); ok {
				return a
			}
		}
	}
	return ""
}

// acksByRequester counts, per recipient, the acknowledgements received:
// automatic replies (Auto-Submitted: auto-replied) carrying a case tag.
func acksByRequester(msgs []smtptest.Message) map[string]int {
	n := map[string]int{}
	for _, m := range msgs {
		mm, err := mail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			continue
		}
		subject, err := new(mime.WordDecoder).DecodeHeader(mm.Header.Get("Subject"))
		if err != nil {
			subject = mm.Header.Get("Subject")
		}
		if !strings.EqualFold(mm.Header.Get("Auto-Submitted"), "auto-replied") || !strings.Contains(subject, "[INT#") {
			continue
		}
		for _, rcpt := range m.To {
			n[strings.ToLower(rcpt)]++
		}
	}
	return n
}
