package config

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// repoRoot walks up from the package folder to the folder holding go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test folder")
		}
		dir = parent
	}
}

func TestExampleConfigValidates(t *testing.T) {
	path := filepath.Join(repoRoot(t), "config.example.yaml")
	c, err := Load(path)
	if err != nil {
		t.Fatalf("config.example.yaml does not load:\n%v", err)
	}
	if c.Contact.Address != "integrasjon@uio.no" || c.ContactDomain() != "uio.no" {
		t.Errorf("contact address %q, domain %q", c.Contact.Address, c.ContactDomain())
	}
	if c.TeamByName("FS") == nil || c.TeamByName("fs").Escalation == "" {
		t.Errorf("team fs with escalation contact missing: %+v", c.Teams)
	}
	if len(c.Routing) == 0 {
		t.Error("example has no routing rule")
	}
	if !c.RequireAuth() || !c.FollowUpEnabled() || !c.HTTPEnabled() {
		t.Error("example should keep authentication, follow-up and HTTP on")
	}
}

// TestExampleDocumentsEveryKey walks the Config type and requires every
// yaml key to appear in config.example.yaml, commented or not, so the
// example cannot drift from the code.
func TestExampleDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	var walk func(reflect.Type, string)
	walk = func(ty reflect.Type, prefix string) {
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice || ty.Kind() == reflect.Map {
			ty = ty.Elem()
		}
		if ty.Kind() != reflect.Struct || ty == reflect.TypeOf(Secret{}) {
			return
		}
		for i := 0; i < ty.NumField(); i++ {
			f := ty.Field(i)
			key := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if key == "" {
				t.Errorf("%s%s has no yaml tag", prefix, f.Name)
				continue
			}
			keys = append(keys, prefix+key)
			walk(f.Type, prefix+key+".")
		}
	}
	walk(reflect.TypeOf(Config{}), "")
	for _, k := range keys {
		leaf := k[strings.LastIndexByte(k, '.')+1:]
		re := regexp.MustCompile(`(?m)^[ #\-]*` + regexp.QuoteMeta(leaf) + `:`)
		if !re.Match(data) {
			t.Errorf("config.example.yaml does not document %s", k)
		}
	}
	if t.Failed() {
		return
	}
	// Secrets only by reference: no "password: something" inline.
	if m := regexp.MustCompile(`(?m)^\s*#?\s*(password|secret|client_secret|refresh_token):\s*[^{\s].*$`).Find(data); m != nil {
		t.Errorf("example writes a secret inline: %q", m)
	}
}

func TestDefaultValidates(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default() does not validate: %v", err)
	}
	if c.Contact.Address != "integrasjon@example.org" || c.Store.Path != "kontaktpunkt.db" {
		t.Errorf("defaults: %q %q", c.Contact.Address, c.Store.Path)
	}
	if c.Contact.ReopenWithin.D() != 14*24*time.Hour || c.IMAP.Port != 993 || c.SMTP.Port != 587 ||
		c.Limits.PerHour != 10 || c.Limits.PerDay != 40 || c.Limits.MaxMessageBytes != 50<<20 ||
		c.HTTP.Listen != "127.0.0.1:8025" || c.FollowUp.TriageWithin != "4h" || c.FollowUp.Timezone != "Europe/Oslo" {
		t.Errorf("unexpected defaults: %+v", c)
	}
}

func TestParseMinimalAppliesDefaults(t *testing.T) {
	c, err := Parse([]byte("contact: {address: integrasjon@uio.no}\nimap: {security: starttls}\nsmtp: {security: tls}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.IMAP.Port != 143 || c.SMTP.Port != 465 || c.Contact.TagPrefix != "INT" || c.IMAP.Mailbox != "INBOX" {
		t.Errorf("defaults not applied: imap %d smtp %d prefix %q", c.IMAP.Port, c.SMTP.Port, c.Contact.TagPrefix)
	}
}

// TestParseReportsEveryProblem feeds configs with several mistakes each and
// requires every expected message, proving validation does not stop early.
func TestParseReportsEveryProblem(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "empty file",
			yaml: "",
			want: []string{"contact.address: required"},
		},
		{
			name: "contact and limits",
			yaml: `
contact: {address: "Integrasjon <integrasjon@uio.no>", tag_prefix: "1NT"}
limits: {per_hour: 50, per_day: 20, max_message_bytes: -1}
log: {format: xml, level: loud}
templates: {language: de}
`,
			want: []string{
				`contact.address: "Integrasjon <integrasjon@uio.no>" is not a mail address`,
				`contact.tag_prefix: "1NT"`,
				"limits.per_day: 20 must not be below limits.per_hour (50)",
				"limits.max_message_bytes: must be at least 1024",
				`log.format: must be text or json, not "xml"`,
				`log.level: must be debug`,
				`templates.language: must be nb or en`,
			},
		},
		{
			name: "imap",
			yaml: `
contact: {address: integrasjon@uio.no}
staff: {members: [{address: a@uio.no}], require_authenticated: false}
imap:
  host: imap.uio.no
  port: 70000
  security: plain
  processed: inbox
  idle_restart: 45m
  batch_size: 0
  oauth2: {token_url: "http://login.example.com/token", mechanism: plain}
`,
			want: []string{
				"imap.port: must be 1-65535, not 70000 (line 6)",
				"imap.security: plain is allowed only to a loopback address",
				"imap.username: required",
				"imap.oauth2.token_url: must be https",
				"imap.oauth2.client_id: required",
				"imap.oauth2.client_secret: required without refresh_token",
				`imap.oauth2.mechanism: must be xoauth2 or oauthbearer, not "plain"`,
				`imap.processed: "inbox" is already used by imap.mailbox`,
				"imap.idle_restart: must be 1m-29m",
			},
		},
		{
			name: "imap credentials",
			yaml: `
contact: {address: integrasjon@uio.no}
imap:
  host: 127.0.0.1
  security: plain
  username: u
  password: {file: pw, env: PW}
  oauth2: {token_url: "https://login.example.com/token", client_id: x, refresh_token: {env: "BAD-NAME"}}
`,
			want: []string{
				"imap.password: set either password or oauth2, not both",
				"imap.password: set file or env, not both",
				`imap.oauth2.refresh_token.env: "BAD-NAME" is not an environment variable name`,
				"staff.members: at least one member is required when imap.host is set",
			},
		},
		{
			name: "smtp",
			yaml: `
contact: {address: integrasjon@uio.no}
smtp: {host: smtp.uio.no, security: plain, username: u, timeout: 1x}
`,
			want: []string{
				"smtp.password: required when smtp.username is set",
				"smtp.security: plain would send the password unencrypted",
				`line 3: invalid duration "1x"`,
			},
		},
		{
			name: "staff and teams",
			yaml: `
contact: {address: integrasjon@uio.no}
staff:
  members: [{address: kari@uio.no}, {address: KARI@uio.no}, {address: nobody}]
  lead: "not an address"
  manager: "x@"
teams:
  - name: fs
    members: [fs@uio.no, fs@uio.no, "bad address"]
    escalation: nope
    ticket_system: "rt queue"
  - name: FS
    ticket_system: "*@rt[.uio.no"
  - name: "team fs"
    members: [a@uio.no]
    ticket_system: "*@rt.uio.no"
  - name: lms
    members: [b@uio.no]
    ticket_system: "@"
`,
			want: []string{
				`staff.members[1].address: "KARI@uio.no" is already staff.members[0]`,
				`staff.members[2].address: "nobody" is not a mail address`,
				`staff.lead: "not an address" is not a mail address`,
				`staff.manager: "x@" is not a mail address`,
				"staff.trusted_authserv_ids: required while require_authenticated is true",
				`teams[0].members[1]: "fs@uio.no" is listed twice`,
				`teams[0].members[2]: "bad address" is not a mail address`,
				`teams[0].escalation: "nope" is not a mail address`,
				`teams[0].ticket_system: "rt queue" is not an address, @domain or pattern`,
				`teams[1].name: "FS" is already the name of teams[0]`,
				`teams[1].ticket_system: "*@rt[.uio.no" is not an address`,
				`teams[3].ticket_system: "@" is not an address`,
				"teams[1].members: at least one member is required",
				`teams[2].name: "team fs" must be letters`,
			},
		},
		{
			name: "routing",
			yaml: `
contact: {address: integrasjon@uio.no}
staff: {members: [{address: kari@uio.no}], trusted_authserv_ids: [mx.uio.no]}
teams: [{name: fs, members: [kari@fs.uio.no]}]
routing:
  - {subject: "(unclosed", team: fs}
  - {from: x}
  - {team: fs, assignee: kari@uio.no}
  - {team: lms}
  - {assignee: kari}
  - {assignee: per@uio.no}
  - {assignee: kari@uio.no, body: "(?i)fs"}
`,
			want: []string{
				"routing[0].subject: invalid regular expression",
				"routing[1]: set team or assignee (line 7)",
				"routing[2]: set team or assignee, not both",
				`routing[3].team: "lms" is not a configured team`,
				`routing[4].assignee: "kari" is not exactly one staff or team member`,
				`routing[5].assignee: "per@uio.no" is not exactly one`,
			},
		},
		{
			name: "followup",
			yaml: `
contact: {address: integrasjon@uio.no}
teams: [{name: fs, members: [fs@uio.no]}]
followup:
  timezone: Europe/Bergen
  work_hours: "16:00-08:00"
  workdays: [mon, tirsdag, mon]
  closed_days: ["2026-13-01"]
  triage_within: 4 hours
  respond_within: 0d
  escalate_after: 10d
  escalate2_after: 5d
  digest: {at: "25:00"}
  teams:
    fs: {respond_within: 1w}
    lms: {}
`,
			want: []string{
				`followup.timezone: "Europe/Bergen" is not an IANA time zone`,
				`followup.work_hours: "16:00-08:00" must end after it starts`,
				`followup.workdays[1]: "tirsdag" must be one of`,
				`followup.workdays[2]: "mon" is listed twice`,
				`followup.closed_days[0]: "2026-13-01" must be a date`,
				`followup.triage_within: "4 hours" must be a business duration`,
				"followup.respond_within: must be more than zero",
				"followup.escalate2_after: 5d must be later than escalate_after (10d)",
				`followup.digest.at: "25:00" must be a time`,
				`followup.teams.fs.respond_within: "1w" must be a business duration`,
				`followup.teams.lms: "lms" is not a configured team`,
			},
		},
		{
			name: "http",
			yaml: `
contact: {address: integrasjon@uio.no}
http: {listen: ":8025", trusted_header: "X Remote"}
`,
			want: []string{
				`http.trusted_header: "X Remote" is not a header name`,
			},
		},
		{
			name: "http open",
			yaml: `
contact: {address: integrasjon@uio.no}
http: {listen: "0.0.0.0:8025"}
reply: yes
`,
			want: []string{
				`http.listen: "0.0.0.0:8025" is reachable beyond this machine`,
				`line 4: unknown key "reply"`,
			},
		},
		{
			name: "reply token without secret",
			yaml: `
contact: {address: integrasjon@uio.no, reply_token: {enabled: true}}
`,
			want: []string{"contact.reply_token.secret: required when reply_token.enabled is true"},
		},
		{
			name: "token in From without tokens",
			yaml: `
contact: {address: integrasjon@uio.no, reply_token: {in_from: true}}
`,
			want: []string{"contact.reply_token.in_from: needs reply_token.enabled: true"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatal("Parse accepted a bad config")
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("missing problem %q in:\n%s", w, msg)
				}
			}
			if t.Failed() {
				return
			}
			// Validation problems are reachable as *Problem.
			var p *Problem
			if !errors.As(err, &p) || p.Path == "" {
				t.Errorf("no *Problem in %v", err)
			}
		})
	}
}

func TestUnknownKeyRejectedWithLine(t *testing.T) {
	yaml := "contact:\n  address: integrasjon@uio.no\nimap:\n  host: imap.uio.no\n  pasword: {file: x}\n  polling: 5m\n"
	_, err := Parse([]byte(yaml))
	if err == nil {
		t.Fatal("unknown keys accepted")
	}
	for _, w := range []string{`line 5: unknown key "pasword"`, `line 6: unknown key "polling"`, "imap.username: required"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("want %q in:\n%v", w, err)
		}
	}
}

func TestLoadNamesFileAndResolvesPaths(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kp.yaml")
	data := "contact: {address: integrasjon@uio.no}\nstore: {path: data/kp.db}\nsmtp: {host: localhost, security: plain, username: u, password: {file: smtp.pw}}\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.Path != filepath.Join(dir, "data", "kp.db") || c.SMTP.Password.File != filepath.Join(dir, "smtp.pw") {
		t.Errorf("relative paths not resolved: %q %q", c.Store.Path, c.SMTP.Password.File)
	}
	// CheckFiles finds the missing secret file and store folder.
	err = c.CheckFiles()
	for _, w := range []string{"smtp.password: config: secret unavailable", "store.path: folder"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("CheckFiles: want %q in %v", w, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "smtp.pw"), []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckFiles(); err != nil {
		t.Errorf("CheckFiles after fixing: %v", err)
	}

	if err := os.WriteFile(path, []byte("contact: {address: x}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `contact.address: "x" is not a mail address`) || !strings.HasSuffix(err.Error(), "(line 1)") {
		t.Errorf("Load error should name the file and problem: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestSyntaxErrorReported(t *testing.T) {
	_, err := Parse([]byte("contact:\n  address: [unclosed\n"))
	if err == nil || !strings.Contains(err.Error(), "line") {
		t.Errorf("syntax error: %v", err)
	}
	_, err = Parse([]byte("contact: {address: a@b.no}\n---\ncontact: {address: c@d.no}\n"))
	if err == nil || !strings.Contains(err.Error(), "more than one YAML document") {
		t.Errorf("second document: %v", err)
	}
}

// TestSecretNeverPrinted loads a config whose secrets hold a known value and
// checks that neither fmt nor slog ever shows it, while Value returns it.
func TestSecretNeverPrinted(t *testing.T) {
	const value = "hunter2-hemmelig"
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "imap.pw"), []byte(value+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KP_TEST_SMTP_PW", value)
	path := filepath.Join(dir, "kp.yaml")
	data := `
contact: {address: integrasjon@uio.no}
staff: {members: [{address: kari@uio.no}], trusted_authserv_ids: [mx.uio.no]}
imap: {host: imap.uio.no, username: u, password: {file: imap.pw}}
smtp: {host: smtp.uio.no, username: u, password: {env: KP_TEST_SMTP_PW}}
`
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []Secret{c.IMAP.Password, c.SMTP.Password} {
		v, err := s.Value()
		if err != nil || v != value {
			t.Fatalf("Value() = %q, %v", v, err)
		}
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "%v %+v %#v %s %v %#v\n", c, c, c, c.IMAP.Password, c.SMTP.Password, c.SMTP)
	slog.New(slog.NewTextHandler(&out, nil)).Info("config", "config", c, "imap", c.IMAP, "secret", c.IMAP.Password)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("config", "config", c, "secret", c.SMTP.Password)
	if strings.Contains(out.String(), value) {
		t.Fatalf("secret value printed:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "env:KP_TEST_SMTP_PW") {
		t.Errorf("secret source not shown:\n%s", out.String())
	}
}

func TestInlineSecretRejected(t *testing.T) {
	const value = "hunter2-inline"
	_, err := Parse([]byte("contact: {address: integrasjon@uio.no}\nsmtp:\n  host: smtp.uio.no\n  username: u\n  password: " + value + "\n"))
	if err == nil || !strings.Contains(err.Error(), "line 5: a secret must be {file: PATH} or {env: VARIABLE}") {
		t.Fatalf("inline secret: %v", err)
	}
	if strings.Contains(err.Error(), value) {
		t.Errorf("error repeats the inline secret: %v", err)
	}
}

func TestSecretValueErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KP_TEST_EMPTY", "")
	for _, s := range []Secret{
		{}, {File: empty}, {File: filepath.Join(dir, "missing")}, {Env: "KP_TEST_UNSET_VARIABLE"}, {Env: "KP_TEST_EMPTY"},
		{File: empty, Env: "KP_TEST_EMPTY"},
	} {
		if _, err := s.Value(); !errors.Is(err, ErrSecret) {
			t.Errorf("%v: Value() error %v, want ErrSecret", s, err)
		}
	}
	if (Secret{}).IsSet() || !(Secret{Env: "X"}).IsSet() {
		t.Error("IsSet")
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"30s": 30 * time.Second, "5m": 5 * time.Minute, "1h30m": 90 * time.Minute,
		"14d": 14 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "1d12h": 36 * time.Hour, "1w1d": 8 * 24 * time.Hour,
	} {
		got, err := ParseDuration(in)
		if err != nil || got.D() != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
		back, err := ParseDuration(got.String())
		if err != nil || back != got {
			t.Errorf("%q does not round-trip via %q", in, got.String())
		}
	}
	for _, in := range []string{"", "60", "-5m", "5x", "d", "1.5d", "99999999999999999999d"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) accepted", in)
		}
	}
}

func TestParseBusinessDuration(t *testing.T) {
	for in, want := range map[string]BusinessDuration{
		"4h": {Time: 4 * time.Hour}, "2d": {Days: 2}, "1d4h30m": {Days: 1, Time: 4*time.Hour + 30*time.Minute}, "30m": {Time: 30 * time.Minute},
	} {
		got, err := ParseBusinessDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseBusinessDuration(%q) = %+v, %v", in, got, err)
		}
		if got.String() != in {
			t.Errorf("String() = %q, want %q", got.String(), in)
		}
	}
	for _, in := range []string{"", "4", "1w", "4h2d", "1 d", "-1d"} {
		if _, err := ParseBusinessDuration(in); err == nil {
			t.Errorf("ParseBusinessDuration(%q) accepted", in)
		}
	}
}

func TestHTTPListen(t *testing.T) {
	for listen, ok := range map[string]bool{
		"127.0.0.1:8025": true, "[::1]:8025": true, "localhost:0": true, "off": true,
		":8025": false, "0.0.0.0:8025": false, "192.0.2.1:80": false, "8025": false,
	} {
		c := Default()
		c.HTTP.Listen = listen
		if err := c.Validate(); (err == nil) != ok {
			t.Errorf("listen %q: %v", listen, err)
		}
		c.HTTP.TrustedHeader = "X-Remote-User"
		c.HTTP.TrustedProxies = []string{"127.0.0.1/32"}
		if err := c.Validate(); (err == nil) != (ok || listen != "8025") {
			t.Errorf("listen %q with trusted header: %v", listen, err)
		}
	}
}

func TestTrustedHeaderNeedsProxies(t *testing.T) {
	c := Default()
	c.HTTP.TrustedHeader = "X-Remote-User"
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "http.trusted_header") || !strings.Contains(err.Error(), "trusted_proxies") {
		t.Errorf("trusted_header without trusted_proxies: %v", err)
	}
	c.HTTP.TrustedProxies = []string{"10.0.0.5", "fd00::/8", "10.0.0.0/33", "proxy.example.org"}
	err = c.Validate()
	if err == nil || !strings.Contains(err.Error(), "http.trusted_proxies[2]") || !strings.Contains(err.Error(), "http.trusted_proxies[3]") ||
		strings.Contains(err.Error(), "trusted_proxies[0]") || strings.Contains(err.Error(), "trusted_proxies[1]") {
		t.Errorf("bad entries not reported one by one: %v", err)
	}
	c.HTTP.TrustedProxies = []string{"10.0.0.5", "fd00::/8"}
	if err := c.Validate(); err != nil {
		t.Errorf("valid proxies refused: %v", err)
	}
}

func TestParsePrefix(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.5": "10.0.0.5/32", "10.0.0.7/24": "10.0.0.0/24", "::1": "::1/128", " fd00::/8 ": "fd00::/8",
		"::ffff:10.0.0.5": "10.0.0.5/32",
	} {
		got, err := ParsePrefix(in)
		if err != nil || got.String() != want {
			t.Errorf("ParsePrefix(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "10.0.0.0/33", "example.org", "10.0.0/8"} {
		if _, err := ParsePrefix(in); err == nil {
			t.Errorf("ParsePrefix(%q) accepted", in)
		}
	}
}

func TestAuthFile(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("riktig"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "users")
	if err := os.WriteFile(good, []byte("# staff\n\nkari:"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := ReadAuthFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Verify("kari", "riktig") || a.Verify("kari", "feil") || a.Verify("ola", "riktig") {
		t.Error("Verify gives wrong answers")
	}
	for name, content := range map[string]string{
		"plain": "kari:riktig\n", "apr1": "kari:$apr1$abc$def\n", "nocolon": "kari\n", "empty": "# none\n",
		"dup": "kari:" + string(hash) + "\nkari:" + string(hash) + "\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := ReadAuthFile(p)
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "riktig") {
			t.Errorf("%s: error shows file content: %v", name, err)
		}
	}
}

func TestResolvePerson(t *testing.T) {
	c := Default()
	c.Staff.Members = []Person{{Address: "kari@usit.uio.no"}, {Address: "ola@usit.uio.no"}}
	c.Teams = []Team{{Name: "fs", Members: []string{"per@usit.uio.no", "ola@fs.uio.no"}}}
	for who, want := range map[string]string{
		"kari": "kari@usit.uio.no", "KARI@usit.uio.no": "kari@usit.uio.no", "per": "per@usit.uio.no",
		"ola": "", "ola@fs.uio.no": "ola@fs.uio.no", "nobody": "", "": "", "nobody@uio.no": "",
	} {
		got, ok := c.ResolvePerson(who)
		if got != want || ok != (want != "") {
			t.Errorf("ResolvePerson(%q) = %q, %v; want %q", who, got, ok, want)
		}
	}
}

func TestHelpers(t *testing.T) {
	c, err := Parse([]byte("contact: {address: Integrasjon@UiO.no}\nstaff: {require_authenticated: false}\nfollowup: {enabled: false}\nhttp: {listen: \"off\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.ContactDomain() != "uio.no" || c.RequireAuth() || c.FollowUpEnabled() || c.HTTPEnabled() {
		t.Errorf("helpers: %q %v %v %v", c.ContactDomain(), c.RequireAuth(), c.FollowUpEnabled(), c.HTTPEnabled())
	}
	from, to, ok := c.FollowUp.WorkHoursSpan()
	if !ok || from != 8*time.Hour || to != 16*time.Hour {
		t.Errorf("WorkHoursSpan = %v %v %v", from, to, ok)
	}
	if d, ok := ParseWeekday("Fri"); !ok || d != time.Friday {
		t.Errorf("ParseWeekday(Fri) = %v %v", d, ok)
	}
}

func TestDuplicateKeyReported(t *testing.T) {
	_, err := Parse([]byte("contact: {address: a@uio.no}\nlog: {level: info}\nlog: {level: debug}\n"))
	if err == nil || !strings.Contains(err.Error(), `line 3: mapping key "log" already defined at line 2`) {
		t.Errorf("duplicate key: %v", err)
	}
}

// FuzzParse checks that no input makes Parse panic and that an accepted
// config validates again unchanged.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join("..", "config.example.yaml")); err == nil {
		f.Add(data)
	}
	f.Add([]byte("contact: {address: integrasjon@uio.no}\n"))
	f.Add([]byte("imap: {host: x, password: inline}\nfollowup: {teams: {fs: {}}}\nrouting: [{assignee: a}]\n"))
	f.Add([]byte("contact: {reopen_within: 1w2d3h}\nlimits: {suppress_for: -1s}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted config no longer validates: %v", err)
		}
	})
}

func TestFollowUpForTeam(t *testing.T) {
	c, err := Parse([]byte("contact: {address: a@uio.no}\nteams: [{name: fs, members: [fs@uio.no]}]\nfollowup: {respond_within: 3d, teams: {FS: {escalate_after: 2d}}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	fs := c.FollowUp.ForTeam("fs")
	if fs.EscalateAfter != "2d" || fs.RespondWithin != "3d" || fs.Escalate2After != "10d" {
		t.Errorf("ForTeam(fs) = %+v", fs)
	}
	if g := c.FollowUp.ForTeam(""); g.EscalateAfter != "5d" {
		t.Errorf("ForTeam(\"\") = %+v", g)
	}
}

func TestEmptySecretIsUnsetAndShortTokenKeyCaught(t *testing.T) {
	c, err := Parse([]byte("contact: {address: a@uio.no}\nsmtp: {password: '', host: localhost}\n"))
	if err != nil || c.SMTP.Password.IsSet() {
		t.Fatalf("empty secret: %v, %v", err, c)
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "token.key")
	if err := os.WriteFile(key, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c = Default()
	c.Store.Path = filepath.Join(dir, "kp.db")
	c.Contact.ReplyToken = ReplyToken{Enabled: true, Secret: Secret{File: key}}
	if err := c.CheckFiles(); err == nil || !strings.Contains(err.Error(), "contact.reply_token.secret: too short") {
		t.Errorf("short reply token key: %v", err)
	}
}

func TestTicketSystemPatterns(t *testing.T) {
	for p, want := range map[string]bool{
		"rt@uio.no": true, "@rt.uio.no": true, "rt.uio.no": true, "*@rt.uio.no": true, "*-rt@uio.no": true,
		"rt queue": false, "@": false, "rt": false, "*@rt[.uio.no": false, "*.uio.no": false, "a@b@c.no": false, "<rt@uio.no>": false,
	} {
		if got := validAddrPattern(p); got != want {
			t.Errorf("validAddrPattern(%q) = %v, want %v", p, got, want)
		}
	}
}
