// Package config reads and checks the kontaktpunkt configuration file
// (config.example.yaml documents every key).
//
// Invariants:
//   - Decoding is strict: an unknown key is an error naming its line.
//   - Every problem is reported at once: Load and Parse join the decoding
//     errors and every Validate problem with errors.Join, each Validate
//     problem naming its YAML path ("imap.port: must be 1-65535 (line 12)").
//   - A *Config returned without error has its defaults applied and has
//     passed Validate; code using it need not re-check values.
//   - Secrets are never held in a Config: a Secret names a file or an
//     environment variable, and its value is read on demand by Value. Inline
//     secrets are rejected, and a Secret prints only where it comes from.
//   - Validate touches neither the file system nor the environment, so a
//     config checks the same on every machine; CheckFiles does the part that
//     needs the machine (secret files and variables, CA files, folders).
//   - Load resolves relative paths in the file (store.path, secret files,
//     ca_file, templates.dir, http.auth_file) against the directory holding
//     the config file, so the service does not depend on its working
//     directory. Parse leaves paths as written.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// DefaultContactAddress is the contact address of Default, used by offline
// commands that run without a config file. A config file must name its own.
const DefaultContactAddress = "integrasjon@example.org"

// Config is the whole configuration file.
type Config struct {
	// Contact is the contact point's own address and case tagging.
	Contact Contact `yaml:"contact"`
	// Store is the bbolt database.
	Store Store `yaml:"store"`
	// IMAP is the mailbox the gateway reads; an empty Host means no intake
	// (only `ingest` feeds the store).
	IMAP IMAP `yaml:"imap"`
	// SMTP is the relay the gateway sends through; an empty Host means no
	// sending (outbound mail stays queued in the outbox).
	SMTP SMTP `yaml:"smtp"`
	// Staff are the people of the contact point itself.
	Staff Staff `yaml:"staff"`
	// Teams are the responsible parties cases are routed or assigned to.
	Teams []Team `yaml:"teams"`
	// Routing rules are tried in order for a new case; the first match
	// decides its team or assignee.
	Routing []Rule `yaml:"routing"`
	// Suggest tunes the suggestions drawn from past cases' assignments.
	Suggest Suggest `yaml:"suggest"`
	// FollowUp holds reminder and escalation policy (docs/behaviour.md, Follow-up).
	FollowUp FollowUp `yaml:"followup"`
	// Limits caps automatic mail (docs/behaviour.md, Outbound mail) and message size.
	Limits Limits `yaml:"limits"`
	// Templates selects the language and an optional override folder.
	Templates Templates `yaml:"templates"`
	// HTTP is the health, metrics, dashboard and admin endpoint.
	HTTP HTTP `yaml:"http"`
	// Log configures log/slog output.
	Log Log `yaml:"log"`
	// Reports configures the weekly report mail.
	Reports Reports `yaml:"reports"`
	// Retention purges old mail; every period is off (zero) by default.
	Retention Retention `yaml:"retention"`
}

// Contact is the contact point's address and how cases are tagged.
type Contact struct {
	// Address is the contact address, e.g. integrasjon@uio.no. Required.
	Address string `yaml:"address"`
	// Name is the display name used in From of outbound mail.
	Name string `yaml:"name"`
	// TagPrefix is the case tag prefix: "INT" gives [INT#42]. Default INT;
	// must match [A-Za-z][A-Za-z0-9-]*.
	TagPrefix string `yaml:"tag_prefix"`
	// ReopenWithin is how long after resolution a reply reopens a case
	// instead of opening a new one. Default 14d.
	ReopenWithin Duration `yaml:"reopen_within"`
	// ReplyToken enables signed plus-addresses (integrasjon+<token>@…).
	ReplyToken ReplyToken `yaml:"reply_token"`
	// AckForwarded (default true): when staff forward someone's mail to
	// the contact address as a new case, the original sender is the
	// requester and gets the acknowledgement; false acknowledges nobody
	// (the forwarding staff member still gets a receipt).
	AckForwarded *bool `yaml:"ack_forwarded"`
}

// ReplyToken configures signed reply addresses (docs/behaviour.md, Threading, rule 2).
type ReplyToken struct {
	// Enabled puts a signed token in the Reply-To of outbound mail.
	Enabled bool `yaml:"enabled"`
	// Secret is the signing key; required when Enabled.
	Secret Secret `yaml:"secret"`
	// InFrom sends mail to requesters and counterparts from the signed
	// plus-address itself (display name unchanged), for archive systems
	// and clients that answer From, not Reply-To. Needs Enabled.
	InFrom bool `yaml:"in_from"`
}

// Store locates the database.
type Store struct {
	// Path of the bbolt file. Default kontaktpunkt.db.
	Path string `yaml:"path"`
}

// IMAP is the intake mailbox (docs/behaviour.md, From mailbox to store).
type IMAP struct {
	// Host of the IMAP server; empty disables intake.
	Host string `yaml:"host"`
	// Port defaults to 993 for tls and 143 for starttls and plain.
	Port int `yaml:"port"`
	// Security is tls (default), starttls or plain; plain only to loopback.
	Security string `yaml:"security"`
	// Username to log in as; required when Host is set.
	Username string `yaml:"username"`
	// Password for PLAIN/LOGIN; exactly one of Password and OAuth2.
	Password Secret `yaml:"password"`
	// OAuth2 for XOAUTH2/OAUTHBEARER; exactly one of Password and OAuth2.
	OAuth2 *OAuth2 `yaml:"oauth2"`
	// Mailbox is read for new mail. Default INBOX.
	Mailbox string `yaml:"mailbox"`
	// Processed receives mail once it is stored. Default Processed.
	Processed string `yaml:"processed"`
	// Quarantine receives mail that could not be handled. Default Quarantine.
	Quarantine string `yaml:"quarantine"`
	// PollInterval is used when the server lacks IDLE. Default 60s.
	PollInterval Duration `yaml:"poll_interval"`
	// IdleRestart re-issues IDLE before servers drop it (RFC 2177 allows a
	// logout after 30 minutes). Default 25m, at most 29m.
	IdleRestart Duration `yaml:"idle_restart"`
	// BatchSize is how many messages are fetched and moved per round.
	// Default 100.
	BatchSize int `yaml:"batch_size"`
	// CAFile is a PEM bundle to trust instead of the system roots.
	CAFile string `yaml:"ca_file"`
	// InsecureSkipVerify disables certificate checks; for tests only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// OAuth2 obtains access tokens for IMAP or SMTP. Without RefreshToken the
// client_credentials grant is used (Microsoft 365 application access).
type OAuth2 struct {
	// TokenURL is the token endpoint; https, or http to loopback.
	TokenURL string `yaml:"token_url"`
	// ClientID of the registered application. Required.
	ClientID string `yaml:"client_id"`
	// ClientSecret of the application; required for client_credentials.
	ClientSecret Secret `yaml:"client_secret"`
	// RefreshToken selects the refresh_token grant when set.
	RefreshToken Secret `yaml:"refresh_token"`
	// Scopes requested, e.g. https://outlook.office365.com/.default.
	Scopes []string `yaml:"scopes"`
	// Mechanism is the SASL mechanism: xoauth2 (default) or oauthbearer.
	Mechanism string `yaml:"mechanism"`
}

// SMTP is the relay for outbound mail (docs/behaviour.md, Outbound mail).
type SMTP struct {
	// Host of the relay; empty disables sending.
	Host string `yaml:"host"`
	// Port defaults to 465 for tls, 587 for starttls and 25 for plain.
	Port int `yaml:"port"`
	// Security is starttls (default), tls or plain. Plain to a host that
	// is not loopback is allowed only without credentials.
	Security string `yaml:"security"`
	// Username for SMTP AUTH; empty sends without authentication.
	Username string `yaml:"username"`
	// Password for SMTP AUTH; with Username, exactly one of Password and
	// OAuth2.
	Password Secret `yaml:"password"`
	// OAuth2 for AUTH XOAUTH2/OAUTHBEARER, the same settings as
	// imap.oauth2 (Microsoft 365 smtp.office365.com:587, Google
	// smtp.gmail.com:587).
	OAuth2 *OAuth2 `yaml:"oauth2"`
	// HeloName is sent in EHLO; default is the system host name.
	HeloName string `yaml:"helo_name"`
	// CAFile is a PEM bundle to trust instead of the system roots.
	CAFile string `yaml:"ca_file"`
	// InsecureSkipVerify disables certificate checks; for tests only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// Timeout bounds one delivery attempt. Default 30s.
	Timeout Duration `yaml:"timeout"`
	// Connections is how many connections to the relay the outbox sends
	// over at once, 1 to 4. Default 2.
	Connections int `yaml:"connections"`
}

// Staff are the contact point's own people (docs/behaviour.md, Staff commands).
type Staff struct {
	// Members receive notifications of new cases and may use subject
	// commands.
	Members []Person `yaml:"members"`
	// Lead is the address that gets level-1 escalations.
	Lead string `yaml:"lead"`
	// Manager is the address that gets level-2 escalations.
	Manager string `yaml:"manager"`
	// RequireAuthenticated (default true) honours subject commands only
	// from mail that a trusted authserv-id authenticated.
	RequireAuthenticated *bool `yaml:"require_authenticated"`
	// TrustedAuthservIDs are the authserv-ids of Authentication-Results
	// headers added by our own mail system; others are ignored.
	TrustedAuthservIDs []string `yaml:"trusted_authserv_ids"`
}

// Person is a named address.
type Person struct {
	// Name is the display name.
	Name string `yaml:"name"`
	// Address is the mail address. Required.
	Address string `yaml:"address"`
}

// Team is a group of responsible parties.
type Team struct {
	// Name identifies the team in routing rules and in [assign:team-NAME];
	// letters, digits, '.', '_' and '-', unique ignoring case.
	Name string `yaml:"name"`
	// Members are the addresses of the team's people; at least one.
	Members []string `yaml:"members"`
	// Escalation is the address that gets level-1 escalations of the
	// team's cases, besides the staff lead. Optional.
	Escalation string `yaml:"escalation"`
	// TicketSystem is the address of the team's own ticket system (a
	// Request Tracker queue, Jira, ServiceNow …) when it answers from one
	// the members list does not hold: a full address ("rt@uio.no"), a
	// domain ("@rt.uio.no", also its subdomains) or a pattern with '*'
	// ("*-rt@uio.no"). Its mail is the team's answer even when it carries
	// Precedence: bulk. Optional.
	TicketSystem string `yaml:"ticket_system"`
}

// Rule routes a new case. All matchers that are set must match (regular
// expressions, RE2 syntax, unanchored; add (?i) for case-insensitive); a
// rule without matchers matches every case. Exactly one of Team and
// Assignee is set.
type Rule struct {
	// From matches the sender's address.
	From string `yaml:"from"`
	// FromDomain matches the domain of the sender's address.
	FromDomain string `yaml:"from_domain"`
	// To matches any To or Cc address.
	To string `yaml:"to"`
	// Subject matches the decoded subject.
	Subject string `yaml:"subject"`
	// Body matches the text body.
	Body string `yaml:"body"`
	// Team names a configured team.
	Team string `yaml:"team"`
	// Assignee names a staff or team member by address, or by local part
	// when that is unambiguous.
	Assignee string `yaml:"assignee"`
}

// FollowUp is the reminder and escalation policy (docs/behaviour.md, Follow-up). The
// durations are business durations: "4h", "2d", "1d4h", "30m"; a day is a
// working day, an hour a working hour.
type FollowUp struct {
	// Enabled (default true) sends reminders and escalations.
	Enabled *bool `yaml:"enabled"`
	// Timezone for working hours. Default Europe/Oslo.
	Timezone string `yaml:"timezone"`
	// WorkHours is "HH:MM-HH:MM". Default 08:00-16:00.
	WorkHours string `yaml:"work_hours"`
	// Workdays are mon…sun. Default mon, tue, wed, thu, fri.
	Workdays []string `yaml:"workdays"`
	// ClosedDays are extra closed dates (YYYY-MM-DD) besides Norwegian
	// public holidays, e.g. the days between Christmas and New Year.
	ClosedDays []string `yaml:"closed_days"`
	// TriageWithin: an unassigned case reminds staff. Default 4h.
	TriageWithin string `yaml:"triage_within"`
	// RespondWithin: an assigned case without a staff-side reply reminds
	// the assignee. Default 2d.
	RespondWithin string `yaml:"respond_within"`
	// EscalateAfter: level 1 escalation. Default 5d.
	EscalateAfter string `yaml:"escalate_after"`
	// Escalate2After: level 2 escalation to the manager. Default 10d.
	Escalate2After string `yaml:"escalate2_after"`
	// WaitingReminder: one reminder to a requester we wait for. Default 5d.
	WaitingReminder string `yaml:"waiting_reminder"`
	// AutoResolveAfter: a waiting case is resolved. Default 15d.
	AutoResolveAfter string `yaml:"auto_resolve_after"`
	// Digest is the daily overview mail to assignees.
	Digest Digest `yaml:"digest"`
	// ImportHorizon: a case imported with `ingest -quiet` whose newest
	// message is older than this gets no follow-up (the import is
	// history). Default 7d.
	ImportHorizon Duration `yaml:"import_horizon"`
	// MaxPerTick caps the follow-up mails sent at once; the rest of the
	// internal ones are folded into one mail per recipient, requester
	// reminders wait for the next round. Default 50.
	MaxPerTick int `yaml:"max_per_tick"`
	// Teams overrides durations per team; keys are configured team names.
	Teams map[string]FollowUpOverride `yaml:"teams"`
}

// FollowUpOverride overrides FollowUp durations for one team; an empty
// field inherits the global value.
type FollowUpOverride struct {
	// TriageWithin overrides FollowUp.TriageWithin.
	TriageWithin string `yaml:"triage_within"`
	// RespondWithin overrides FollowUp.RespondWithin.
	RespondWithin string `yaml:"respond_within"`
	// EscalateAfter overrides FollowUp.EscalateAfter.
	EscalateAfter string `yaml:"escalate_after"`
	// Escalate2After overrides FollowUp.Escalate2After.
	Escalate2After string `yaml:"escalate2_after"`
	// WaitingReminder overrides FollowUp.WaitingReminder.
	WaitingReminder string `yaml:"waiting_reminder"`
	// AutoResolveAfter overrides FollowUp.AutoResolveAfter.
	AutoResolveAfter string `yaml:"auto_resolve_after"`
}

// ForTeam returns the follow-up durations for a team: the team's
// overrides where set, the global values elsewhere. An unknown team (or
// "") gets the global values.
func (f FollowUp) ForTeam(team string) FollowUpOverride {
	r := FollowUpOverride{
		TriageWithin: f.TriageWithin, RespondWithin: f.RespondWithin,
		EscalateAfter: f.EscalateAfter, Escalate2After: f.Escalate2After,
		WaitingReminder: f.WaitingReminder, AutoResolveAfter: f.AutoResolveAfter,
	}
	for name, o := range f.Teams {
		if !strings.EqualFold(name, team) || team == "" {
			continue
		}
		for _, p := range []struct {
			dst *string
			v   string
		}{
			{&r.TriageWithin, o.TriageWithin}, {&r.RespondWithin, o.RespondWithin},
			{&r.EscalateAfter, o.EscalateAfter}, {&r.Escalate2After, o.Escalate2After},
			{&r.WaitingReminder, o.WaitingReminder}, {&r.AutoResolveAfter, o.AutoResolveAfter},
		} {
			if p.v != "" {
				*p.dst = p.v
			}
		}
	}
	return r
}

// Digest is the daily overview mail.
type Digest struct {
	// Enabled sends the digest on working days.
	Enabled bool `yaml:"enabled"`
	// At is the local time "HH:MM". Default 08:00.
	At string `yaml:"at"`
}

// Limits caps automatic mail and input size.
type Limits struct {
	// PerHour automatic mails per recipient. Default 10.
	PerHour int `yaml:"per_hour"`
	// PerDay automatic mails per recipient. Default 40.
	PerDay int `yaml:"per_day"`
	// SuppressFor: automatic mail to an address that bounced permanently
	// is suppressed this long. Default 30d.
	SuppressFor Duration `yaml:"suppress_for"`
	// MaxMessageBytes: larger inbound messages are quarantined. Default
	// 50 MiB.
	MaxMessageBytes int64 `yaml:"max_message_bytes"`
	// MaxParticipants caps the outside addresses of a case (requester and
	// Cc participants) and of one outgoing mail; the rest are named on the
	// case and not mailed. Default 20.
	MaxParticipants int `yaml:"max_participants"`
	// NewCasesPerSender: new cases one sender may open in an hour, counted
	// by each message's own time; further new mail from that sender is
	// stored unfiled and staff are told once. Default 10.
	NewCasesPerSender int `yaml:"new_cases_per_sender"`
	// RelaysPerCase: relayed mails on one case in an hour; beyond it relays
	// pause and staff are told. Default 30.
	RelaysPerCase int `yaml:"relays_per_case"`
	// SpamSCL: inbound mail whose X-MS-Exchange-Organization-SCL (the
	// spam confidence level Exchange Online stamps, 0-9) is at least this
	// is spam: stored unfiled, no case, no mail. 0 (default) ignores the
	// header; set it only when our own Exchange stamps it.
	SpamSCL int `yaml:"spam_scl"`
}

// Templates selects outbound mail texts.
type Templates struct {
	// Language is nb (default) or en.
	Language string `yaml:"language"`
	// Dir optionally holds override templates with the built-in names.
	Dir string `yaml:"dir"`
}

// HTTPOff as HTTP.Listen disables the HTTP endpoint.
const HTTPOff = "off"

// HTTP is the health, metrics, dashboard and admin endpoint.
type HTTP struct {
	// Listen is host:port; default 127.0.0.1:8025; "off" disables it.
	// An address beyond loopback requires AuthFile or TrustedHeader.
	Listen string `yaml:"listen"`
	// AuthFile holds "user:bcrypt-hash" lines, as written by
	// `htpasswd -nbB user password`; see ReadAuthFile.
	AuthFile string `yaml:"auth_file"`
	// TrustedHeader names a header set by an authenticating reverse proxy
	// (e.g. X-Remote-User); its value is taken as the user, but only on
	// requests from TrustedProxies, which it requires.
	TrustedHeader string `yaml:"trusted_header"`
	// TrustedProxies lists the networks (CIDRs such as 10.0.0.5/32 or
	// ::1/128, or single addresses) the reverse proxy connects from.
	// Requests from anywhere else ignore TrustedHeader.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// IMAPGrace is how long IMAP may stay unconnected (after start, or
	// after losing the session) before /healthz answers 503. Default 60s.
	IMAPGrace Duration `yaml:"imap_grace"`
}

// Log configures logging.
type Log struct {
	// Format is text (default) or json.
	Format string `yaml:"format"`
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level"`
}

// Default returns the defaults alone, with contact address
// integrasjon@example.org and store path kontaktpunkt.db. It passes
// Validate; offline commands use it when run with -db and no config file.
func Default() *Config {
	c := &Config{}
	c.Contact.Address = DefaultContactAddress
	c.applyDefaults()
	return c
}

// Load reads the file at path, decodes it strictly, applies defaults,
// resolves relative paths against the file's directory and validates it.
// All problems are returned at once, joined.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	c, node, err := decode(data)
	if c == nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c.resolvePaths(filepath.Dir(path))
	if err := errors.Join(err, withLines(c.Validate(), node)); err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	return c, nil
}

// FileError holds every problem found in one configuration file.
type FileError struct {
	Path string
	Err  error // the problems, joined, one per line
}

func (e *FileError) Error() string { return fmt.Sprintf("config %s: %v", e.Path, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }

// Parse decodes data strictly, applies defaults and validates. All problems
// are returned at once, joined. Paths are left as written.
func Parse(data []byte) (*Config, error) {
	c, node, err := decode(data)
	if c == nil {
		return nil, err
	}
	if err := errors.Join(err, withLines(c.Validate(), node)); err != nil {
		return nil, err
	}
	return c, nil
}

var unknownField = lazyRegexp(`^line (\d+): field (.*) not found in type \S+$`)

// decode decodes data into a Config with defaults applied. A nil Config
// means the YAML could not be read at all; otherwise err holds the
// decoding problems (unknown keys, wrong types), one error each, and the
// Config holds whatever could be decoded, so Validate can still run.
func decode(data []byte) (*Config, *yaml.Node, error) {
	c := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var errs []error
	// A second, lenient decode gives the node tree for line numbers and
	// key names.
	var doc yaml.Node
	docErr := yaml.Unmarshal(data, &doc)
	err := dec.Decode(c)
	var te *yaml.TypeError
	switch {
	case err == nil, errors.Is(err, io.EOF):
	case errors.As(err, &te):
		for _, e := range te.Errors {
			if m := unknownField().FindStringSubmatch(e); m != nil {
				e = fmt.Sprintf("line %s: unknown key %q", m[1], m[2])
			}
			errs = append(errs, errors.New(describeTypeError(e, &doc)))
		}
	default:
		return nil, nil, fmt.Errorf("decoding YAML: %w", err)
	}
	if err == nil {
		var extra yaml.Node
		if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
			errs = append(errs, errors.New("config holds more than one YAML document"))
		}
	}
	if docErr != nil {
		return nil, nil, fmt.Errorf("decoding YAML: %w", docErr)
	}
	c.applyDefaults()
	return c, &doc, errors.Join(errs...)
}

func (c *Config) applyDefaults() {
	setStr := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	setDur := func(p *Duration, v Duration) {
		if *p == 0 {
			*p = v
		}
	}
	setInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	setStr(&c.Contact.TagPrefix, "INT")
	setDur(&c.Contact.ReopenWithin, 14*Day)
	setStr(&c.Store.Path, "kontaktpunkt.db")
	setInt(&c.Suggest.MinVotes, 3)

	m := &c.IMAP
	setStr(&m.Security, "tls")
	if m.Port == 0 {
		if m.Security == "tls" {
			m.Port = 993
		} else {
			m.Port = 143
		}
	}
	setStr(&m.Mailbox, "INBOX")
	setStr(&m.Processed, "Processed")
	setStr(&m.Quarantine, "Quarantine")
	setDur(&m.PollInterval, Duration(60e9))
	setDur(&m.IdleRestart, Duration(25*60e9))
	setInt(&m.BatchSize, 100)
	if m.OAuth2 != nil {
		setStr(&m.OAuth2.Mechanism, "xoauth2")
	}

	s := &c.SMTP
	setStr(&s.Security, "starttls")
	if s.OAuth2 != nil {
		setStr(&s.OAuth2.Mechanism, "xoauth2")
	}
	if s.Port == 0 {
		switch s.Security {
		case "tls":
			s.Port = 465
		case "plain":
			s.Port = 25
		default:
			s.Port = 587
		}
	}
	setDur(&s.Timeout, Duration(30e9))
	if s.Connections == 0 {
		s.Connections = 2
	}

	if c.Staff.RequireAuthenticated == nil {
		t := true
		c.Staff.RequireAuthenticated = &t
	}

	f := &c.FollowUp
	if f.Enabled == nil {
		t := true
		f.Enabled = &t
	}
	setStr(&f.Timezone, "Europe/Oslo")
	setStr(&f.WorkHours, "08:00-16:00")
	if len(f.Workdays) == 0 {
		f.Workdays = []string{"mon", "tue", "wed", "thu", "fri"}
	}
	setStr(&f.TriageWithin, "4h")
	setStr(&f.RespondWithin, "2d")
	setStr(&f.EscalateAfter, "5d")
	setStr(&f.Escalate2After, "10d")
	setStr(&f.WaitingReminder, "5d")
	setStr(&f.AutoResolveAfter, "15d")
	setStr(&f.Digest.At, "08:00")
	c.Reports.applyDefaults()
	setDur(&f.ImportHorizon, 7*Day)
	setInt(&f.MaxPerTick, 50)

	l := &c.Limits
	setInt(&l.PerHour, 10)
	setInt(&l.PerDay, 40)
	setDur(&l.SuppressFor, 30*Day)
	if l.MaxMessageBytes == 0 {
		l.MaxMessageBytes = 50 << 20
	}
	setInt(&l.MaxParticipants, 20)
	setInt(&l.NewCasesPerSender, 10)
	setInt(&l.RelaysPerCase, 30)

	setStr(&c.Templates.Language, "nb")
	setStr(&c.HTTP.Listen, "127.0.0.1:8025")
	setDur(&c.HTTP.IMAPGrace, Duration(60e9))
	setStr(&c.Log.Format, "text")
	setStr(&c.Log.Level, "info")
}

// resolvePaths makes relative paths absolute against dir.
func (c *Config) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.Store.Path)
	abs(&c.IMAP.CAFile)
	abs(&c.SMTP.CAFile)
	abs(&c.Templates.Dir)
	abs(&c.HTTP.AuthFile)
	for _, s := range c.secrets() {
		abs(&s.secret.File)
	}
}

type namedSecret struct {
	path   string
	secret *Secret
}

// secrets lists every Secret of the config with its YAML path.
func (c *Config) secrets() []namedSecret {
	l := []namedSecret{
		{"contact.reply_token.secret", &c.Contact.ReplyToken.Secret},
		{"imap.password", &c.IMAP.Password},
		{"smtp.password", &c.SMTP.Password},
	}
	if o := c.IMAP.OAuth2; o != nil {
		l = append(l,
			namedSecret{"imap.oauth2.client_secret", &o.ClientSecret},
			namedSecret{"imap.oauth2.refresh_token", &o.RefreshToken})
	}
	if o := c.SMTP.OAuth2; o != nil {
		l = append(l,
			namedSecret{"smtp.oauth2.client_secret", &o.ClientSecret},
			namedSecret{"smtp.oauth2.refresh_token", &o.RefreshToken})
	}
	return l
}

// ContactDomain returns the lower-cased domain of the contact address, the
// domain of our Message-IDs.
func (c *Config) ContactDomain() string {
	// The last '@', in case the local part is quoted and holds one.
	i := strings.LastIndexByte(c.Contact.Address, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(c.Contact.Address[i+1:])
}

// RequireAuth reports whether subject commands need an authenticated
// message (staff.require_authenticated, default true).
func (c *Config) RequireAuth() bool {
	return c.Staff.RequireAuthenticated == nil || *c.Staff.RequireAuthenticated
}

// FollowUpEnabled reports whether reminders and escalations are sent
// (followup.enabled, default true).
func (c *Config) FollowUpEnabled() bool {
	return c.FollowUp.Enabled == nil || *c.FollowUp.Enabled
}

// HTTPEnabled reports whether the HTTP endpoint is served.
func (c *Config) HTTPEnabled() bool {
	return c.HTTP.Listen != HTTPOff
}

// TeamByName returns the team with that name, ignoring case, or nil.
func (c *Config) TeamByName(name string) *Team {
	for i := range c.Teams {
		if strings.EqualFold(c.Teams[i].Name, name) {
			return &c.Teams[i]
		}
	}
	return nil
}

// ResolvePerson finds a staff member or team member by address or by
// unambiguous local part and returns the address as configured. ok is
// false when nobody or more than one person matches.
func (c *Config) ResolvePerson(who string) (addr string, ok bool) {
	who = strings.TrimSpace(who)
	if who == "" {
		return "", false
	}
	var all []string
	for _, p := range c.Staff.Members {
		all = append(all, p.Address)
	}
	for _, t := range c.Teams {
		all = append(all, t.Members...)
	}
	if strings.Contains(who, "@") {
		for _, a := range all {
			if strings.EqualFold(a, who) {
				return a, true
			}
		}
		return "", false
	}
	var found string
	for _, a := range all {
		i := strings.LastIndexByte(a, '@')
		if i < 0 || !strings.EqualFold(a[:i], who) {
			continue
		}
		if found != "" && !strings.EqualFold(found, a) {
			return "", false
		}
		found = a
	}
	return found, found != ""
}

// validAddress reports whether s is a bare addr-spec (no display name).
func validAddress(s string) bool {
	if s == "" || strings.TrimSpace(s) != s {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}
