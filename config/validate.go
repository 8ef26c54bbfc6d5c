package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // followup.timezone validates the same on every machine

	"gopkg.in/yaml.v3"

	"kontaktpunkt/routing"
)

// Problem is one thing wrong with a config, at a YAML path such as
// "imap.port" or "teams[1].members[0]" (indexes count from 0).
type Problem struct {
	// Path is the YAML path of the offending key.
	Path string
	// Line is the line of the key in the file, or 0 when unknown (the key
	// is missing, or the config did not come from a file).
	Line int
	// Msg says what is wrong and, where it helps, what to write instead.
	Msg string
}

// Error renders "path: msg (line N)".
func (p *Problem) Error() string {
	s := p.Path + ": " + p.Msg
	if p.Line > 0 {
		s += " (line " + strconv.Itoa(p.Line) + ")"
	}
	return s
}

type problems []error

func (ps *problems) add(path, format string, args ...any) {
	*ps = append(*ps, &Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

var (
	tagPrefixRE = lazyRegexp(`^[A-Za-z][A-Za-z0-9-]*$`)
	teamNameRE  = lazyRegexp(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)
	envNameRE   = lazyRegexp(`^[A-Za-z_][A-Za-z0-9_]*$`)
	headerRE    = lazyRegexp(`^[A-Za-z0-9][A-Za-z0-9-]*$`)
)

// Weekdays are the accepted followup.workdays names, Sunday first as in
// time.Weekday.
var Weekdays = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// Validate checks the whole config and returns every problem found,
// joined with errors.Join; each is a *Problem. It does not look at the
// file system or the environment (see CheckFiles).
func (c *Config) Validate() error {
	var ps problems
	c.validateContact(&ps)
	if c.Store.Path == "" {
		ps.add("store.path", "required")
	}
	c.validateIMAP(&ps)
	c.validateSMTP(&ps)
	for _, s := range c.secrets() {
		validateSecret(&ps, s.path, *s.secret)
	}
	c.validateStaff(&ps)
	c.validateTeams(&ps)
	c.validateRouting(&ps)
	c.validateSuggest(&ps)
	c.validateFollowUp(&ps)
	c.validateReports(&ps)
	c.validateLimits(&ps)
	switch c.Templates.Language {
	case "nb", "en":
	default:
		ps.add("templates.language", "must be nb or en, not %q", c.Templates.Language)
	}
	c.validateHTTP(&ps)
	c.validateRetention(&ps)
	switch c.Log.Format {
	case "text", "json":
	default:
		ps.add("log.format", "must be text or json, not %q", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		ps.add("log.level", "must be debug, info, warn or error, not %q", c.Log.Level)
	}
	return errors.Join(ps...)
}

func (c *Config) validateContact(ps *problems) {
	switch a := c.Contact.Address; {
	case a == "":
		ps.add("contact.address", "required (the contact point's address, e.g. integrasjon@uio.no)")
	case !validAddress(a):
		ps.add("contact.address", "%q is not a mail address (write the bare address, without a name)", a)
	}
	if hasControl(c.Contact.Name) {
		ps.add("contact.name", "must not contain control characters or line breaks")
	}
	if p := c.Contact.TagPrefix; !tagPrefixRE().MatchString(p) || len(p) > 20 {
		ps.add("contact.tag_prefix", "%q must be a letter followed by letters, digits or '-', at most 20", p)
	}
	if c.Contact.ReopenWithin < 0 {
		ps.add("contact.reopen_within", "must not be negative")
	}
	if c.Contact.ReplyToken.Enabled && !c.Contact.ReplyToken.Secret.IsSet() {
		ps.add("contact.reply_token.secret", "required when reply_token.enabled is true")
	}
	if c.Contact.ReplyToken.InFrom && !c.Contact.ReplyToken.Enabled {
		ps.add("contact.reply_token.in_from", "needs reply_token.enabled: true (the From address is the signed one)")
	}
}

func validatePort(ps *problems, path string, port int) {
	if port < 1 || port > 65535 {
		ps.add(path, "must be 1-65535, not %d", port)
	}
}

func validateHost(ps *problems, path, host string) {
	if strings.ContainsAny(host, " \t\r\n/") || strings.Contains(host, "://") {
		ps.add(path, "%q must be a host name or IP address, without scheme or port", host)
	}
}

func (c *Config) validateIMAP(ps *problems) {
	m := &c.IMAP
	validatePort(ps, "imap.port", m.Port)
	switch m.Security {
	case "tls", "starttls", "plain":
	default:
		ps.add("imap.security", "must be tls, starttls or plain, not %q", m.Security)
	}
	if m.Host == "" {
		return
	}
	validateHost(ps, "imap.host", m.Host)
	if m.Security == "plain" && !isLoopback(m.Host) {
		ps.add("imap.security", "plain is allowed only to a loopback address, not %q; use tls or starttls", m.Host)
	}
	if m.Username == "" {
		ps.add("imap.username", "required when imap.host is set")
	}
	switch {
	case m.Password.IsSet() && m.OAuth2 != nil:
		ps.add("imap.password", "set either password or oauth2, not both")
	case !m.Password.IsSet() && m.OAuth2 == nil:
		ps.add("imap.password", "required when imap.host is set (or configure imap.oauth2)")
	}
	if m.OAuth2 != nil {
		validateOAuth2(ps, "imap.oauth2", m.OAuth2)
	}
	folders := map[string]string{}
	for _, f := range []struct{ path, name string }{
		{"imap.mailbox", m.Mailbox}, {"imap.processed", m.Processed}, {"imap.quarantine", m.Quarantine},
	} {
		if hasControl(f.name) {
			ps.add(f.path, "must not contain control characters")
		}
		key := f.name
		if strings.EqualFold(key, "INBOX") {
			key = "INBOX"
		}
		if other, dup := folders[key]; dup {
			ps.add(f.path, "%q is already used by %s; each folder must differ", f.name, other)
		}
		folders[key] = f.path
	}
	if m.PollInterval < Duration(time.Second) {
		ps.add("imap.poll_interval", "must be at least 1s, not %s", m.PollInterval)
	}
	if m.IdleRestart < Duration(time.Minute) || m.IdleRestart > Duration(29*time.Minute) {
		ps.add("imap.idle_restart", "must be 1m-29m (servers may drop IDLE after 30m), not %s", m.IdleRestart)
	}
	if m.BatchSize < 1 || m.BatchSize > 10000 {
		ps.add("imap.batch_size", "must be 1-10000, not %d", m.BatchSize)
	}
}

// validateOAuth2 checks the oauth2 settings of imap or smtp (prefix).
func validateOAuth2(ps *problems, prefix string, o *OAuth2) {
	switch u, err := url.Parse(o.TokenURL); {
	case o.TokenURL == "":
		ps.add(prefix+".token_url", "required")
	case err != nil || u.Host == "":
		ps.add(prefix+".token_url", "%q is not an absolute URL", o.TokenURL)
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		ps.add(prefix+".token_url", "must be https (http only to loopback), not %q", o.TokenURL)
	}
	if o.ClientID == "" {
		ps.add(prefix+".client_id", "required")
	}
	if !o.RefreshToken.IsSet() && !o.ClientSecret.IsSet() {
		ps.add(prefix+".client_secret", "required without refresh_token (the client_credentials grant)")
	}
	switch o.Mechanism {
	case "xoauth2", "oauthbearer":
	default:
		ps.add(prefix+".mechanism", "must be xoauth2 or oauthbearer, not %q", o.Mechanism)
	}
	for i, s := range o.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n") {
			ps.add(fmt.Sprintf("%s.scopes[%d]", prefix, i), "%q must be one scope without spaces", s)
		}
	}
}

func (c *Config) validateSMTP(ps *problems) {
	s := &c.SMTP
	validatePort(ps, "smtp.port", s.Port)
	switch s.Security {
	case "tls", "starttls", "plain":
	default:
		ps.add("smtp.security", "must be tls, starttls or plain, not %q", s.Security)
	}
	if s.Timeout <= 0 {
		ps.add("smtp.timeout", "must be positive")
	}
	if s.Connections < 1 || s.Connections > 4 {
		// No more than 4 sends are ever unrecorded, over all connections
		// together: a fifth connection would have nothing to send.
		ps.add("smtp.connections", "must be 1 to 4, not %d", s.Connections)
	}
	if s.Host == "" {
		return
	}
	validateHost(ps, "smtp.host", s.Host)
	switch {
	case s.Password.IsSet() && s.OAuth2 != nil:
		ps.add("smtp.password", "set either password or oauth2, not both")
	case s.OAuth2 != nil && s.Username == "":
		ps.add("smtp.username", "required with smtp.oauth2 (the mailbox the token is for)")
	case s.Username != "" && !s.Password.IsSet() && s.OAuth2 == nil:
		ps.add("smtp.password", "required when smtp.username is set (or configure smtp.oauth2)")
	}
	if s.OAuth2 != nil {
		validateOAuth2(ps, "smtp.oauth2", s.OAuth2)
	}
	if s.Username == "" && s.Password.IsSet() {
		ps.add("smtp.username", "required when smtp.password is set")
	}
	if s.Security == "plain" && s.Username != "" && !isLoopback(s.Host) {
		ps.add("smtp.security", "plain would send the password unencrypted to %q; use tls or starttls", s.Host)
	}
	if strings.ContainsAny(s.HeloName, " \t\r\n") {
		ps.add("smtp.helo_name", "%q must be a host name", s.HeloName)
	}
}

func validateSecret(ps *problems, path string, s Secret) {
	switch {
	case s.sources() > 1 && s.Credential == "":
		ps.add(path, "set file or env, not both")
	case s.sources() > 1:
		ps.add(path, "set one of file, env and credential, not more")
	}
	if s.Credential != "" && !validCredentialName(s.Credential) {
		ps.add(path+".credential", "%q is not a credential name (a file name as in LoadCredential=NAME:PATH)", s.Credential)
	}
	if s.Env != "" && !envNameRE().MatchString(s.Env) {
		ps.add(path+".env", "%q is not an environment variable name", s.Env)
	}
}

func (c *Config) validateStaff(ps *problems) {
	st := &c.Staff
	seen := map[string]int{}
	for i, p := range st.Members {
		path := fmt.Sprintf("staff.members[%d]", i)
		switch {
		case p.Address == "":
			ps.add(path+".address", "required")
		case !validAddress(p.Address):
			ps.add(path+".address", "%q is not a mail address", p.Address)
		default:
			if j, dup := seen[strings.ToLower(p.Address)]; dup {
				ps.add(path+".address", "%q is already staff.members[%d]", p.Address, j)
			}
			seen[strings.ToLower(p.Address)] = i
		}
		if hasControl(p.Name) {
			ps.add(path+".name", "must not contain control characters or line breaks")
		}
	}
	if c.IMAP.Host != "" && len(st.Members) == 0 {
		ps.add("staff.members", "at least one member is required when imap.host is set (someone must triage new cases)")
	}
	if st.Lead != "" && !validAddress(st.Lead) {
		ps.add("staff.lead", "%q is not a mail address", st.Lead)
	}
	if st.Manager != "" && !validAddress(st.Manager) {
		ps.add("staff.manager", "%q is not a mail address", st.Manager)
	}
	for i, id := range st.TrustedAuthservIDs {
		if id == "" || strings.ContainsAny(id, " \t\r\n;") {
			ps.add(fmt.Sprintf("staff.trusted_authserv_ids[%d]", i), "%q is not an authserv-id", id)
		}
	}
	if c.RequireAuth() && len(st.Members) > 0 && len(st.TrustedAuthservIDs) == 0 {
		ps.add("staff.trusted_authserv_ids", "required while require_authenticated is true, or no subject command is ever honoured (name your mail system's authserv-id, e.g. mx.uio.no, or set require_authenticated: false)")
	}
}

func (c *Config) validateTeams(ps *problems) {
	seen := map[string]int{}
	for i, t := range c.Teams {
		path := fmt.Sprintf("teams[%d]", i)
		switch {
		case t.Name == "":
			ps.add(path+".name", "required")
		case !teamNameRE().MatchString(t.Name):
			ps.add(path+".name", "%q must be letters, digits, '_' or '-'", t.Name)
		default:
			if j, dup := seen[strings.ToLower(t.Name)]; dup {
				ps.add(path+".name", "%q is already the name of teams[%d]", t.Name, j)
			}
			seen[strings.ToLower(t.Name)] = i
		}
		if len(t.Members) == 0 {
			ps.add(path+".members", "at least one member is required")
		}
		mseen := map[string]bool{}
		for k, m := range t.Members {
			mpath := fmt.Sprintf("%s.members[%d]", path, k)
			switch {
			case !validAddress(m):
				ps.add(mpath, "%q is not a mail address", m)
			case mseen[strings.ToLower(m)]:
				ps.add(mpath, "%q is listed twice", m)
			}
			mseen[strings.ToLower(m)] = true
		}
		if t.Escalation != "" && !validAddress(t.Escalation) {
			ps.add(path+".escalation", "%q is not a mail address", t.Escalation)
		}
		if t.TicketSystem != "" && !validAddrPattern(t.TicketSystem) {
			ps.add(path+".ticket_system", "%q is not an address, @domain or pattern like *@rt.uio.no", t.TicketSystem)
		}
	}
}

// validAddrPattern checks a ticket_system value: a mail address, a domain
// ("@rt.uio.no" or "rt.uio.no") or a glob with '*'.
func validAddrPattern(p string) bool {
	if strings.ContainsAny(p, " \t<>,;") || !strings.Contains(p, ".") {
		return false
	}
	if strings.ContainsAny(p, "*?[") {
		_, err := path.Match(p, "")
		return err == nil && strings.Contains(p, "@")
	}
	if d, ok := strings.CutPrefix(p, "@"); ok {
		return d != "" && !strings.Contains(d, "@")
	}
	return !strings.Contains(p, "@") || validAddress(p)
}

func (c *Config) validateRouting(ps *problems) {
	for i, r := range c.Routing {
		path := fmt.Sprintf("routing[%d]", i)
		for _, m := range []struct{ key, re string }{
			{"from", r.From}, {"from_domain", r.FromDomain}, {"to", r.To}, {"subject", r.Subject}, {"body", r.Body},
		} {
			if m.re == "" {
				continue
			}
			if _, err := regexp.Compile(m.re); err != nil {
				ps.add(path+"."+m.key, "invalid regular expression: %v", err)
			}
		}
		switch {
		case r.Team == "" && r.Assignee == "":
			ps.add(path, "set team or assignee")
		case r.Team != "" && r.Assignee != "":
			ps.add(path, "set team or assignee, not both")
		case r.Team != "" && c.TeamByName(r.Team) == nil:
			ps.add(path+".team", "%q is not a configured team", r.Team)
		case r.Assignee != "":
			if _, ok := c.ResolvePerson(r.Assignee); !ok {
				ps.add(path+".assignee", "%q is not exactly one staff or team member (give the full address)", r.Assignee)
			}
		}
	}
}

func (c *Config) validateFollowUp(ps *problems) {
	f := &c.FollowUp
	if f.ImportHorizon < 0 {
		ps.add("followup.import_horizon", "must not be negative")
	}
	if f.MaxPerTick < 1 {
		ps.add("followup.max_per_tick", "must be at least 1, not %d", f.MaxPerTick)
	}
	if _, err := time.LoadLocation(f.Timezone); err != nil || f.Timezone == "" || f.Timezone == "Local" {
		ps.add("followup.timezone", "%q is not an IANA time zone such as Europe/Oslo", f.Timezone)
	}
	if from, to, ok := parseWorkHours(f.WorkHours); !ok {
		ps.add("followup.work_hours", "%q must be HH:MM-HH:MM, e.g. 08:00-16:00", f.WorkHours)
	} else if from >= to {
		ps.add("followup.work_hours", "%q must end after it starts", f.WorkHours)
	}
	days := map[time.Weekday]bool{}
	for i, d := range f.Workdays {
		wd, ok := ParseWeekday(d)
		if !ok {
			ps.add(fmt.Sprintf("followup.workdays[%d]", i), "%q must be one of mon, tue, wed, thu, fri, sat, sun (or the full name)", d)
		} else if days[wd] {
			ps.add(fmt.Sprintf("followup.workdays[%d]", i), "%q is listed twice", d)
		}
		days[wd] = true
	}
	for i, d := range f.ClosedDays {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			ps.add(fmt.Sprintf("followup.closed_days[%d]", i), "%q must be a date YYYY-MM-DD", d)
		}
	}
	validateBusiness(ps, "followup", FollowUpOverride{
		TriageWithin: f.TriageWithin, RespondWithin: f.RespondWithin,
		EscalateAfter: f.EscalateAfter, Escalate2After: f.Escalate2After,
		WaitingReminder: f.WaitingReminder, AutoResolveAfter: f.AutoResolveAfter,
	}, true)
	if _, ok := ParseClock(f.Digest.At); !ok {
		ps.add("followup.digest.at", "%q must be a time HH:MM", f.Digest.At)
	}
	for name, o := range f.Teams {
		path := "followup.teams." + name
		if c.TeamByName(name) == nil {
			ps.add(path, "%q is not a configured team", name)
		}
		validateBusiness(ps, path, o, false)
	}
}

// validateBusiness checks one set of follow-up durations; in an override
// (required false) empty values inherit.
func validateBusiness(ps *problems, path string, o FollowUpOverride, required bool) {
	parsed := map[string]BusinessDuration{}
	for _, d := range []struct{ key, v string }{
		{"triage_within", o.TriageWithin}, {"respond_within", o.RespondWithin},
		{"escalate_after", o.EscalateAfter}, {"escalate2_after", o.Escalate2After},
		{"waiting_reminder", o.WaitingReminder}, {"auto_resolve_after", o.AutoResolveAfter},
	} {
		if d.v == "" && !required {
			continue
		}
		b, err := ParseBusinessDuration(d.v)
		switch {
		case err != nil:
			ps.add(path+"."+d.key, "%q must be a business duration such as 4h, 2d, 1d4h", d.v)
		case b.Days == 0 && b.Time == 0:
			ps.add(path+"."+d.key, "must be more than zero")
		default:
			parsed[d.key] = b
		}
	}
	for _, pair := range [][2]string{{"escalate_after", "escalate2_after"}, {"waiting_reminder", "auto_resolve_after"}} {
		a, ok1 := parsed[pair[0]]
		b, ok2 := parsed[pair[1]]
		// Days and hours compare only within one unit: the length of a
		// working day is a matter of followup.work_hours.
		comparable := (a.Time == 0 && b.Time == 0) || (a.Days == 0 && b.Days == 0)
		if ok1 && ok2 && comparable && a.Days*24*int(time.Hour/time.Minute)+int(a.Time/time.Minute) >= b.Days*24*int(time.Hour/time.Minute)+int(b.Time/time.Minute) {
			ps.add(path+"."+pair[1], "%s must be later than %s (%s)", b, pair[0], a)
		}
	}
}

// ParseWeekday reads a followup.workdays name with routing.ParseWeekday,
// the grammar the clock uses: "mon" or "Monday", any letter case.
func ParseWeekday(s string) (time.Weekday, bool) { return routing.ParseWeekday(s) }

// ParseClock reads a time of day "HH:MM" (00:00 to 23:59) with
// routing.ParseTimeOfDay, the grammar the clock uses, and returns the time
// since midnight.
func ParseClock(s string) (time.Duration, bool) {
	d, err := routing.ParseTimeOfDay(s)
	if err != nil || d >= 24*time.Hour {
		return 0, false
	}
	return d, true
}

// parseWorkHours reads "HH:MM-HH:MM" as the clock does; "24:00" may end it.
func parseWorkHours(s string) (from, to time.Duration, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	from, ok1 := ParseClock(a)
	to, err := routing.ParseTimeOfDay(b)
	return from, to, ok1 && err == nil
}

// WorkHoursSpan returns followup.work_hours as times since midnight.
func (f FollowUp) WorkHoursSpan() (from, to time.Duration, ok bool) {
	return parseWorkHours(f.WorkHours)
}

func (c *Config) validateLimits(ps *problems) {
	l := &c.Limits
	if l.PerHour < 1 {
		ps.add("limits.per_hour", "must be at least 1, not %d", l.PerHour)
	}
	if l.PerDay < 1 {
		ps.add("limits.per_day", "must be at least 1, not %d", l.PerDay)
	} else if l.PerDay < l.PerHour {
		ps.add("limits.per_day", "%d must not be below limits.per_hour (%d)", l.PerDay, l.PerHour)
	}
	if l.SuppressFor < 0 {
		ps.add("limits.suppress_for", "must not be negative")
	}
	if l.MaxMessageBytes < 1024 {
		ps.add("limits.max_message_bytes", "must be at least 1024, not %d", l.MaxMessageBytes)
	}
	if l.MaxParticipants < 1 {
		ps.add("limits.max_participants", "must be at least 1, not %d", l.MaxParticipants)
	}
	if l.NewCasesPerSender < 1 {
		ps.add("limits.new_cases_per_sender", "must be at least 1, not %d", l.NewCasesPerSender)
	}
	if l.RelaysPerCase < 1 {
		ps.add("limits.relays_per_case", "must be at least 1, not %d", l.RelaysPerCase)
	}
	if l.SpamSCL < 0 || l.SpamSCL > 9 {
		ps.add("limits.spam_scl", "must be 0 (off) or an SCL of 1-9, not %d", l.SpamSCL)
	}
}

func (c *Config) validateHTTP(ps *problems) {
	h := &c.HTTP
	if h.TrustedHeader != "" && !headerRE().MatchString(h.TrustedHeader) {
		ps.add("http.trusted_header", "%q is not a header name", h.TrustedHeader)
	}
	if h.TrustedHeader != "" && len(h.TrustedProxies) == 0 {
		ps.add("http.trusted_header", "needs http.trusted_proxies: the addresses of the reverse proxy that sets it (anyone else could set it too)")
	}
	for i, p := range h.TrustedProxies {
		if _, err := ParsePrefix(p); err != nil {
			ps.add(fmt.Sprintf("http.trusted_proxies[%d]", i), "%v", err)
		}
	}
	if h.IMAPGrace < 0 {
		ps.add("http.imap_grace", "must not be negative")
	}
	if h.Listen == HTTPOff {
		return
	}
	host, port, err := net.SplitHostPort(h.Listen)
	if err != nil {
		ps.add("http.listen", "%q must be host:port (e.g. 127.0.0.1:8025) or off", h.Listen)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		ps.add("http.listen", "%q has an invalid port", h.Listen)
	}
	if !isLoopback(host) && h.AuthFile == "" && h.TrustedHeader == "" {
		ps.add("http.listen", "%q is reachable beyond this machine; set http.auth_file or http.trusted_header, or listen on 127.0.0.1", h.Listen)
	}
}

// isLoopback reports whether host (a name or IP, IPv6 possibly in
// brackets) certainly stays on this machine. An empty host means every
// interface and is not loopback.
func isLoopback(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// CheckFiles checks what Validate leaves out because it depends on the
// machine: every configured secret can be read and is not empty, CA files
// and the auth file are readable, templates.dir is a folder, and the
// store's folder exists. `check-config` and `serve` call it after Load.
// MinReplyTokenSecret is the shortest contact.reply_token.secret accepted,
// in bytes of the secret as read (`head -c 48 /dev/urandom | base64` gives 64).
const MinReplyTokenSecret = 16

func (c *Config) CheckFiles() error {
	var ps problems
	for _, s := range c.secrets() {
		if !s.secret.IsSet() {
			continue
		}
		v, err := s.secret.Value()
		if err != nil {
			ps.add(s.path, "%v", err)
		} else if s.secret == &c.Contact.ReplyToken.Secret && len(v) < MinReplyTokenSecret {
			ps.add(s.path, "too short to sign reply tokens: use at least %d random characters (e.g. head -c 48 /dev/urandom | base64)", MinReplyTokenSecret)
		}
	}
	for _, f := range []struct{ path, file string }{{"imap.ca_file", c.IMAP.CAFile}, {"smtp.ca_file", c.SMTP.CAFile}} {
		if f.file == "" {
			continue
		}
		if _, err := os.ReadFile(f.file); err != nil {
			ps.add(f.path, "%v", err)
		}
	}
	if c.HTTP.AuthFile != "" {
		if _, err := ReadAuthFile(c.HTTP.AuthFile); err != nil {
			ps.add("http.auth_file", "%v", err)
		}
	}
	if d := c.Templates.Dir; d != "" {
		if fi, err := os.Stat(d); err != nil {
			ps.add("templates.dir", "%v", err)
		} else if !fi.IsDir() {
			ps.add("templates.dir", "%s is not a folder", d)
		}
	}
	if fi, err := os.Stat(filepath.Dir(c.Store.Path)); err != nil || !fi.IsDir() {
		ps.add("store.path", "folder %s does not exist", filepath.Dir(c.Store.Path))
	}
	return errors.Join(ps...)
}

// withLines fills in the line of each Problem in err from the YAML tree.
func withLines(err error, doc *yaml.Node) error {
	if err == nil || doc == nil || len(doc.Content) == 0 {
		return err
	}
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	for _, e := range list {
		var p *Problem
		if errors.As(e, &p) {
			p.Line = lineOf(doc.Content[0], p.Path)
		}
	}
	return err
}

var pathSeg = lazyRegexp(`[^.\[\]]+|\[\d+\]`)

// lineOf finds the line of the deepest node along path ("a.b[2].c").
func lineOf(n *yaml.Node, path string) int {
	line := 0
	for _, seg := range pathSeg().FindAllString(path, -1) {
		var next *yaml.Node
		if strings.HasPrefix(seg, "[") {
			i, _ := strconv.Atoi(seg[1 : len(seg)-1])
			if n.Kind == yaml.SequenceNode && i < len(n.Content) {
				next = n.Content[i]
				line = next.Line
			}
		} else if n.Kind == yaml.MappingNode {
			for k := 0; k+1 < len(n.Content); k += 2 {
				if n.Content[k].Value == seg {
					next = n.Content[k+1]
					line = n.Content[k].Line
					break
				}
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return line
}

// ParsePrefix parses one entry of http.trusted_proxies: a CIDR, or a
// single address standing for itself.
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR (e.g. 10.0.0.5/32 or fd00::/8)", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR (e.g. 10.0.0.5/32 or fd00::/8)", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
