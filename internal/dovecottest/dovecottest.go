// Package dovecottest starts a real Dovecot IMAP server for tests, with a
// throwaway configuration in t.TempDir().
//
// The server listens on 127.0.0.1 only: a plain listener that offers
// STARTTLS and an implicit-TLS listener, both with a self-signed certificate
// made in Go. One user (passwd-file) with a maildir under the temp dir.
// Dovecot runs in the foreground as a child of the test and is stopped at
// Cleanup.
//
// Ports: Dovecot cannot be told to listen on port 0, so free ports are found
// by binding 127.0.0.1:0 and closing the listener before Dovecot binds them.
// Another process could take a port in between; Start then retries with new
// ports (a few times) rather than failing the test.
//
// When /usr/sbin/dovecot is missing the test is skipped with a message, or
// fails when CI=true (CI must run these tests).
package dovecottest

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"kontaktpunkt/internal/imaptest"
)

// Binary is where Dovecot is expected (Debian's dovecot-core).
const Binary = "/usr/sbin/dovecot"

// Server is a running Dovecot.
type Server struct {
	// Addr is the plain listener (STARTTLS offered), TLSAddr the implicit-TLS one.
	Addr, TLSAddr string
	// Username and Password of the one user.
	Username, Password string
	// RootCAs trusts the server certificate (issued for 127.0.0.1 and localhost).
	RootCAs *x509.CertPool
	// Dir is the temp dir holding config, logs and mail.
	Dir string

	mailDir  string // the user's maildir (INBOX)
	uid, gid int    // owner of mail files
	cmd      *exec.Cmd
	seq      atomic.Uint64
}

// TLSConfig returns a client TLS config that trusts the server.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.RootCAs, ServerName: "127.0.0.1"}
}

// Require skips the test when Dovecot is not installed, or fails it under CI=true.
func Require(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("dovecot is required under CI=true but %s is missing (apt-get install dovecot-imapd): %v", Binary, err)
		}
		t.Skipf("dovecot not installed (%s missing; apt-get install dovecot-imapd); skipping real-server test", Binary)
	}
}

// Start runs Dovecot until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	Require(t)
	var lastErr error
	for range 3 {
		s, err := start(t)
		if err == nil {
			return s
		}
		lastErr = err
	}
	t.Fatalf("dovecottest: %v", lastErr)
	return nil
}

func start(t testing.TB) (*Server, error) {
	dir := t.TempDir()
	s := &Server{Dir: dir, Username: "kontakt", Password: "test-password-1"}
	loginUser, internalUser := "dovenull", "root"
	s.uid, s.gid = os.Getuid(), os.Getgid()
	if s.uid == 0 {
		// Dovecot refuses uid 0 for mail: the mail processes run as nobody,
		// so the temp dirs must be traversable.
		u, err := user.Lookup("nobody")
		if err != nil {
			return nil, fmt.Errorf("looking up user nobody: %w", err)
		}
		s.uid, _ = strconv.Atoi(u.Uid)
		s.gid, _ = strconv.Atoi(u.Gid)
		for d := dir; d != "/" && d != os.TempDir() && d != "."; d = filepath.Dir(d) {
			if err := os.Chmod(d, 0o711); err != nil {
				return nil, err
			}
		}
		if _, err := user.Lookup(loginUser); err != nil {
			loginUser = "nobody"
		}
	} else {
		cur, err := user.Current()
		if err != nil {
			return nil, err
		}
		loginUser, internalUser = cur.Username, cur.Username
	}

	certPEM, keyPEM := imaptest.SelfSignedPEM(t, "127.0.0.1", "localhost")
	s.RootCAs = x509.NewCertPool()
	s.RootCAs.AppendCertsFromPEM(certPEM)
	for name, data := range map[string][]byte{
		"cert.pem": certPEM,
		"key.pem":  keyPEM,
		"passwd":   []byte(s.Username + ":{PLAIN}" + s.Password + "::::::\n"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return nil, err
		}
	}
	for _, d := range []string{"run", "state", "mail"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	mailRoot := filepath.Join(dir, "mail")
	if err := os.Chown(mailRoot, s.uid, s.gid); err != nil {
		return nil, err
	}
	s.mailDir = filepath.Join(mailRoot, s.Username)
	if err := s.makeMaildir(s.mailDir); err != nil {
		return nil, err
	}

	imapPort, err := freePort()
	if err != nil {
		return nil, err
	}
	imapsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(imapPort))
	s.TLSAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(imapsPort))

	conf := fmt.Sprintf(configTemplate, dir, loginUser, internalUser, s.uid, s.gid, imapPort, imapsPort)
	confPath := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	out, err := os.Create(filepath.Join(dir, "dovecot.out"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(Binary, "-F", "-c", confPath)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("starting dovecot: %w", err)
	}
	s.cmd = cmd
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); out.Close() }()
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	if err := s.waitReady(exited); err != nil {
		stop()
		return nil, fmt.Errorf("%w\n%s", err, s.Logs())
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("dovecot log:\n%s", s.Logs())
		}
	})
	return s, nil
}

const configTemplate = `# throwaway test configuration
base_dir = %[1]s/run
state_dir = %[1]s/state
instance_name = kontaktpunkt-test
log_path = %[1]s/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <%[1]s/cert.pem
ssl_key = <%[1]s/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_login_user = %[2]s
default_internal_user = %[3]s
first_valid_uid = 1
mail_location = maildir:%[1]s/mail/%%u
mailbox_idle_check_interval = 1 secs
imap_idle_notify_interval = 2 mins
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/passwd
}
userdb {
  driver = static
  args = uid=%[4]d gid=%[5]d home=%[1]s/mail/%%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[6]d
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = %[7]d
    ssl = yes
  }
}
service anvil {
  chroot =
}
`

// freePort finds a port free right now (see the package comment for the race).
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitReady dials both listeners until each greets with "* OK", with
// backoff, bounded to 20 s; it gives up at once if Dovecot exits.
func (s *Server) waitReady(exited <-chan error) error {
	deadline := time.Now().Add(20 * time.Second)
	delay := 5 * time.Millisecond
	for _, addr := range []string{s.Addr, s.TLSAddr} {
		for {
			err := greets(addr, addr == s.TLSAddr, s.TLSConfig())
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("dovecot not ready on %s: %w", addr, err)
			}
			select {
			case werr := <-exited:
				return fmt.Errorf("dovecot exited: %v", werr)
			case <-time.After(delay):
			}
			delay = min(delay*2, 200*time.Millisecond)
		}
	}
	return nil
}

func greets(addr string, useTLS bool, cfg *tls.Config) error {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	var c net.Conn = conn
	if useTLS {
		c = tls.Client(conn, cfg)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "* OK") {
		return fmt.Errorf("unexpected greeting %q", line)
	}
	return nil
}

// Logs returns Dovecot's log so far.
func (s *Server) Logs() string {
	var b strings.Builder
	for _, f := range []string{"dovecot.out", "dovecot.log"} {
		data, _ := os.ReadFile(filepath.Join(s.Dir, f))
		b.Write(data)
	}
	return b.String()
}

func (s *Server) makeMaildir(dir string) error {
	for _, d := range []string{dir, filepath.Join(dir, "cur"), filepath.Join(dir, "new"), filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		if err := os.Chown(d, s.uid, s.gid); err != nil {
			return err
		}
	}
	return nil
}

// WriteMaildir drops messages straight into a folder's maildir "new"
// directory ("INBOX" or another folder name), the fastest way to build a
// large backlog. Dovecot assigns UIDs when it next looks at the folder.
func (s *Server) WriteMaildir(t testing.TB, folder string, msgs [][]byte) {
	t.Helper()
	dir := s.mailDir
	if !strings.EqualFold(folder, "INBOX") {
		dir = filepath.Join(s.mailDir, "."+folder)
		if _, err := os.Stat(dir); os.IsNotExist(err) {
			if err := s.makeMaildir(dir); err != nil {
				t.Fatalf("dovecottest: %v", err)
			}
			mf := filepath.Join(dir, "maildirfolder")
			if err := os.WriteFile(mf, nil, 0o600); err != nil {
				t.Fatalf("dovecottest: %v", err)
			}
			os.Chown(mf, s.uid, s.gid)
		}
	}
	now := time.Now().Unix()
	for _, m := range msgs {
		name := fmt.Sprintf("%d.M%dP%d.kontaktpunkt-test,S=%d", now, s.seq.Add(1), os.Getpid(), len(m))
		tmp := filepath.Join(dir, "tmp", name)
		if err := os.WriteFile(tmp, m, 0o600); err != nil {
			t.Fatalf("dovecottest: %v", err)
		}
		if err := os.Chown(tmp, s.uid, s.gid); err != nil {
			t.Fatalf("dovecottest: %v", err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "new", name)); err != nil {
			t.Fatalf("dovecottest: %v", err)
		}
	}
}
