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
