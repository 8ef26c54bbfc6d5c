package mailmsg

import (
	"strings"

	kp "kontaktpunkt"
)

// Bounce details: why delivery to each failed recipient failed. A
// delivery-status part says it in its Status and Diagnostic-Code fields;
// a bounce without one (qmail, Exchange and Gmail texts, localised NDRs)
// says it in its text, near the recipient's address.

const maxDiagnostic = 300 // bytes of a diagnostic kept

// noteDSN records what a delivery-status group says about addr.
func (w *walker) noteDSN(addr, status, diag string) {
	a := kp.NormAddr(cleanAddr(addr))
	if a == "" {
		return
	}
	if w.dsn == nil {
		w.dsn = map[string]kp.BounceDetail{}
	}
	if _, ok := w.dsn[a]; ok || len(w.dsn) >= maxRecipients {
		return
	}
	w.dsn[a] = kp.BounceDetail{Status: enhancedCode(status), Diagnostic: diagnosticText(diag)}
}

// diagnosticText is a Diagnostic-Code value without its type
// ("smtp; 550 5.1.1 …" gives "550 5.1.1 …"), on one line.
func diagnosticText(v string) string {
	v = strings.Join(strings.Fields(v), " ")
	if i := strings.IndexByte(v, ';'); i > 0 && i < 16 && !strings.ContainsAny(v[:i], " <@") {
		v = strings.TrimSpace(v[i+1:])
	}
	return clip(v, maxDiagnostic)
}

func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// bounceDetails fills Parsed.BounceDetails, one per failed recipient: what
// the delivery-status part said, completed from the text.
func (w *walker) bounceDetails(text string) {
	p := w.p
	if len(p.BounceRecipients) == 0 {
		return
	}
	var lines []string // the bounce's own text, read when needed
	for _, r := range p.BounceRecipients {
		d := w.dsn[kp.NormAddr(r)]
		d.Recipient = r
		if d.Diagnostic == "" || d.Status == "" {
			if lines == nil {
				lines = ownBounceLines(text)
			}
			status, diag := diagnosticNear(lines, r, len(p.BounceRecipients) == 1)
			if d.Diagnostic == "" {
				d.Diagnostic = diag
			}
			if d.Status == "" {
				d.Status = status
			}
		}
		if d.Status == "" {
			d.Status = enhancedCode(d.Diagnostic)
		}
		p.BounceDetails = append(p.BounceDetails, d)
	}
}

// ownBounceLines are the lines of a bounce's text before the returned
// message begins.
func ownBounceLines(text string) []string {
	if len(text) > maxScanText {
		text = text[:maxScanText]
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if isQuotedOriginalMarker(strings.ToLower(strings.TrimSpace(l))) {
			return lines[:i]
		}
	}
	return lines
}

// diagnosticNear finds the server reply about addr in a bounce's text: on
// a line that names the address or within a few lines after it (Postfix
// writes "<a@b>: host … said: 550 5.1.1 …", qmail the address and then
// the reply, Exchange the address and "Remote Server returned '550 …'").
// Failing that, the first reply in the text, which is about addr when the
// bounce names one recipient, or the line explaining the failure after
// the address.
func diagnosticNear(lines []string, addr string, only bool) (status, diag string) {
	la := strings.ToLower(addr)
	explain := ""
	// A server's reply ("550 5.1.1 …") first; a bare status code ("(#5.1.1)",
	// "see DSN 5.1.10") only when there is none.
	for _, strict := range []bool{true, false} {
		for i, l := range lines {
			if !strings.Contains(strings.ToLower(l), la) {
				continue
			}
			for j := i; j < len(lines) && j <= i+8; j++ {
				if s, d, ok := replyIn(lines, j, strict); ok {
					return s, d
				}
				if t := strings.TrimSpace(lines[j]); explain == "" && j > i && t != "" && !strings.Contains(t, "@") && len(t) <= 200 && !strings.HasSuffix(t, ":") && !strings.HasPrefix(t, "--") {
					explain = t
				}
			}
		}
		for j := 0; only && j < len(lines); j++ {
			if s, d, ok := replyIn(lines, j, strict); ok {
				return s, d
			}
		}
	}
	return "", clip(explain, maxDiagnostic)
}

// replyIn reports the server reply on line j: from its reply code on, with
// the indented lines that continue it, and its enhanced status code (also
// from the next line, where qmail puts "(#5.1.1)"). When strict, a line
// with a status code but no reply code is not one.
func replyIn(lines []string, j int, strict bool) (status, diag string, ok bool) {
	l := lines[j]
	at, code := replyCodeIn(l)
	if at < 0 {
		return "", "", false
	}
	reply := at+3 <= len(l) && isDigit(l[at+1]) && isDigit(l[at+2])
	if strict && !reply {
		return "", "", false
	}
	diag = strings.TrimSpace(l)
	if reply {
		diag = strings.TrimSpace(l[at:]) // the reply itself, not "host … said:"
	}
	for k := j + 1; k < len(lines) && k <= j+4; k++ {
		n := lines[k]
		t := strings.TrimSpace(n)
		if t == "" {
			break
		}
		if n[0] == ' ' || n[0] == '\t' {
			diag += " " + t // Postfix continues a long reply indented
			continue
		}
		if strings.HasPrefix(t, ".") || strings.HasPrefix(t, "(#") {
			diag += " " + t // qmail ends it on the next line: ". (#5.5.0)"
		}
		break
	}
	diag = strings.Trim(strings.Join(strings.Fields(diag), " "), `'"`)
	if code == "" {
		code = enhancedCode(diag)
	}
	return code, clip(diag, maxDiagnostic), true
}

// replyCodeIn finds a 4xx/5xx SMTP reply code or an enhanced status code
// (4.x.x, 5.x.x) in l: the index where it starts, and the enhanced code
// if there is one. at is -1 when there is neither.
func replyCodeIn(l string) (at int, enhanced string) {
	at = -1
	for i := 0; i < len(l); i++ {
		c := l[i]
		if (c != '4' && c != '5') || i > 0 && isDigitOrDot(l[i-1]) {
			continue
		}
		if i+3 <= len(l) && isDigit(l[i+1]) && isDigit(l[i+2]) && (i+3 == len(l) || l[i+3] == ' ' || l[i+3] == '-') {
			if at < 0 {
				at = i
			}
			continue
		}
		if e := codeAt(l, i); e != "" {
			if at < 0 {
				at = i
			}
			return at, e
		}
	}
	return at, ""
}

// enhancedCode returns the first enhanced status code (RFC 3463: 2.x.x,
// 4.x.x, 5.x.x) in s, or "".
func enhancedCode(s string) string {
	for i := 0; i < len(s); i++ {
		if (s[i] == '2' || s[i] == '4' || s[i] == '5') && (i == 0 || !isDigitOrDot(s[i-1])) {
			if e := codeAt(s, i); e != "" {
				return e
			}
		}
	}
	return ""
}

// codeAt returns the enhanced status code starting at s[i], or "".
func codeAt(s string, i int) string {
	j := i + 1
	for part := 0; part < 2; part++ {
		if j >= len(s) || s[j] != '.' {
			return ""
		}
		j++
		k := j
		for j < len(s) && isDigit(s[j]) && j-k < 3 {
			j++
		}
		if j == k {
			return ""
		}
	}
	if j < len(s) && (isDigit(s[j]) || s[j] == '.' && j+1 < len(s) && isDigit(s[j+1])) {
		return "" // an IP address or a version, not a status code
	}
	return s[i:j]
}

// Bounce detection and the failed recipients named in a bounce's text.

// scanBounceText reads a bounce's readable text: Message-ID lines of the
// quoted original, and, when no delivery-status part said so, the failed
// recipients of non-standard bounces (best effort: addresses on lines that
// carry an SMTP error or that name a recipient the way Postfix, qmail,
// Exim and Sendmail bounces do).
func (w *walker) scanBounceText(text string) {
	w.scanBounceIDs(text)
	if len(w.rcpts) > 0 || w.dsnSeen {
		return
	}
	own := map[string]bool{}
	for _, a := range append(append([]kp.Address{w.p.From}, w.p.To...), w.p.Cc...) {
		own[kp.NormAddr(a.Addr)] = true
	}
	if len(text) > maxScanText {
		text = text[:maxScanText]
	}
	lines := strings.Split(text, "\n")
	perm := false
	listMode, listed, listStart := false, 0, 0
	var cand []string
	for i, line := range lines {
		l := strings.TrimSpace(line)
		ll := strings.ToLower(l)
		if isQuotedOriginalMarker(ll) {
			break
		}
		code := smtpPermanent(l)
		if code {
			perm = true
		}
		if containsAny(ll, listIntros) {
			listMode, listed, listStart = true, 0, i
		}
		if listMode && i-listStart > 8 && listed == 0 {
			listMode = false
		}
		if strings.Contains(ll, "message-id") {
			continue
		}
		addrs := addrsIn(l)
		if len(addrs) == 0 {
			if listMode && listed > 0 && l != "" {
				listMode = false
			}
			continue
		}
		if listMode && len(strings.Fields(l)) <= 2 && (l[0] == '<' || strings.HasPrefix(l, addrs[0])) {
			// A line that is just an address, in the list that follows
			// "Delivery has failed to these recipients" and the like.
			listed++
			cand = append(cand, addrs...)
			continue
		}
		nameLine := strings.HasSuffix(l, ":") && strings.HasPrefix(l, "<") || // qmail, Postfix
			len(strings.Fields(l)) == 1 && i+1 < len(lines) && strings.HasPrefix(lines[i+1], " ") // Exim
		if code || nameLine || strings.Contains(ll, "user unknown") || strings.Contains(ll, "does not exist") ||
			strings.Contains(ll, "unknown user") || strings.Contains(ll, "mailbox unavailable") ||
			strings.Contains(ll, "recipient") || strings.Contains(ll, "delivery to the following") {
			cand = append(cand, addrs...)
		}
	}
	for _, a := range cand {
		if !own[kp.NormAddr(a)] && !isDaemonAddr(a) {
			w.addRecipient(a)
		}
	}
	if perm && len(w.p.BounceRecipients) > 0 {
		w.p.BouncePermanent = true
	}
}

// listIntros are phrases that introduce a list of failed recipients.
var listIntros = []string{
	"following address", "following recipient", "these recipients", "following destination",
	"failure reason", "could not be delivered to", "permanent fatal errors",
	// Exchange's localised "Delivery has failed to these recipients or groups".
	"disse mottakerne", "følgende mottakere", "kunne ikke leveres til", "dessa mottagare",
	"följande mottagare", "disse modtagere", "følgende modtagere", "folgende empfänger",
	"diese empfänger",
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func isQuotedOriginalMarker(ll string) bool {
	for _, m := range []string{
		"below this line is a copy of the message",
		"this is a copy of the message",
		"original message follows",
		"----- original message -----",
		"original message headers",
		"unsent message below",
		"------ this is a copy",
		"return-path:",
		"received: from",
	} {
		if strings.Contains(ll, m) {
			return true
		}
	}
	return false
}

// smtpPermanent reports whether a line carries a 5xx SMTP reply or a 5.x.x
// enhanced status code.
func smtpPermanent(l string) bool {
	for i := 0; i+3 <= len(l); i++ {
		if l[i] != '5' || i > 0 && isDigitOrDot(l[i-1]) {
			continue
		}
		if i+3 <= len(l) && isDigit(l[i+1]) && isDigit(l[i+2]) && (i+3 == len(l) || l[i+3] == ' ' || l[i+3] == '-') {
			return true
		}
		if i+5 <= len(l) && l[i+1] == '.' && isDigit(l[i+2]) {
			j := i + 2
			for j < len(l) && isDigit(l[j]) {
				j++
			}
			if j+1 < len(l) && l[j] == '.' && isDigit(l[j+1]) {
				return true
			}
		}
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isDigitOrDot(c byte) bool { return isDigit(c) || c == '.' }

// addrsIn returns the addresses written in a line of text.
func addrsIn(l string) []string {
	var out []string
	for _, tok := range strings.FieldsFunc(l, func(r rune) bool {
		return r == ' ' || r == '\t' || r == ',' || r == '(' || r == ')' || r == '"' || r == '\''
	}) {
		if strings.IndexByte(tok, '@') < 0 {
			continue
		}
		if a := cleanAddr(tok); a != "" {
			out = append(out, a)
		}
	}
	return out
}

func isDaemonAddr(a string) bool {
	l := strings.ToLower(a)
	return strings.HasPrefix(l, "mailer-daemon@") || strings.HasPrefix(l, "postmaster@")
}

// looksLikeBounce is the parser's own, cheap view of whether a message may
// be a bounce, to decide whether to look for bounce data in its text. The
// real classification is routing's.
func looksLikeBounce(p *kp.Parsed) bool {
	if p.ContentType == "multipart/report" || len(p.Header["X-Failed-Recipients"]) > 0 {
		return true
	}
	from := strings.ToLower(p.From.Addr)
	if strings.HasPrefix(from, "mailer-daemon@") || strings.HasPrefix(from, "postmaster@") || from == "mailer-daemon" {
		return true
	}
	if strings.TrimSpace(p.Get("Return-Path")) == "<>" {
		return true
	}
	s := strings.ToLower(p.Subject)
	for _, k := range []string{"undeliver", "delivery status notification", "delivery failure", "mail delivery failed",
		"returned mail", "failure notice", "kan ikke leveres", "delivery has failed", "non remis", "unzustellbar",
		"nondeliverable", "non-delivery", "could not be delivered", "mail system error", "delivery notification"} {
		if strings.Contains(s, k) {
			return true
		}
	}
	return false
}
