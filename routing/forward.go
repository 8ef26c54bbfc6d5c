package routing

import (
	"strings"

	kp "kontaktpunkt"
)

// forwardPrefixes are the forward markers among replyPrefixes, lower-case:
// English, the Scandinavian languages, German, French, Italian, Dutch,
// Spanish, Portuguese, Polish and Turkish clients.
var forwardPrefixes = map[string]bool{
	"fw": true, "fwd": true, "vs": true, "vb": true, "wg": true, "tr": true, "i": true,
	"doorst": true, "rv": true, "enc": true, "pd": true, "ilt": true, "wtrlt": true, "vl": true,
}

// HasForwardPrefix reports whether the first reply or forward prefix of
// subject (case tags and leading bracket groups looked past) is a forward
// marker: "VS:", "Fwd:", "FW:", "WG:", "TR:", "I:".
func HasForwardPrefix(subject, prefix string) bool {
	s := strings.TrimSpace(RemoveCaseTag(subject, prefix))
	if len(s) > 5 && strings.EqualFold(s[:5], "[fwd:") {
		return true // Thunderbird: "[Fwd: subject]"
	}
	for strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return false
		}
		s = strings.TrimSpace(s[end+1:])
	}
	n := replyPrefixLen(s)
	if n == 0 {
		return false
	}
	i := 0
	for i < n && isASCIILetter(s[i]) {
		i++
	}
	return forwardPrefixes[strings.ToLower(s[:i])]
}

// forwardSeparator matches the line clients put above a forwarded
// message's header block: Gmail, Apple Mail, and Outlook in Norwegian,
// English, German, Swedish and Danish (classic Outlook writes "Original
// Message" for forwards too; newer Outlook a line of underscores).
var forwardSeparator = lazyRegexp(`(?i)^(-{3,}\s*(forwarded message|videresendt melding|videresendt e-post|original message|opprinnelig melding|ursprüngliche nachricht|weitergeleitete nachricht|vidarebefordrat meddelande|ursprungligt meddelande|oprindelig meddelelse|videresendt meddelelse|message transféré|message d'origine)\s*-{3,}|begin forwarded message:|start på videresendt melding:|anfang der weitergeleiteten nachricht:|vidarebefordrat brev:|videresendt besked:|_{10,})$`)

// forwardHeader matches a header line of a forwarded block: the field name
// in the languages of forwardSeparator, and its value.
var forwardHeader = lazyRegexp(`(?i)^\*?(from|fra|von|från|de|van|da|od|sent|sendt|date|dato|datum|gesendet|skickat|to|til|an|till|cc|subject|emne|betreff|ämne|emne|objet|reply-to)\*?\s*:\s*(.*)$`)

// senderField names the From field of a forwarded header block.
var senderField = map[string]bool{"from": true, "fra": true, "von": true, "från": true, "de": true, "van": true, "da": true, "od": true}

// addrInText finds an e-mail address in a header value: "Name <a@b>",
// "Name [mailto:a@b]" (older Outlook), "a@b".
var addrInText = lazyRegexp(`[A-Za-z0-9._%+\-=!#$&'*/?^{|}~]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)

// maxForwardScan bounds the lines ForwardedFrom reads.
const maxForwardScan = 400

// ForwardedFrom finds who wrote the message that text forwards: the From
// field of the first forwarded header block, one that follows a forward
// separator or that has a Sent/Date, To or Subject field within the next
// few lines (Outlook's block without separator). Quote markers ("> ") in
// front of the block are allowed. It returns false when there is no such
// block or its From has no address (Outlook shows some senders by name
// only).
func ForwardedFrom(text string) (kp.Address, bool) {
	lines := strings.Split(text, "\n")
	if len(lines) > maxForwardScan {
		lines = lines[:maxForwardScan]
	}
	clean := func(l string) string {
		l = strings.TrimSpace(l)
		for strings.HasPrefix(l, ">") {
			l = strings.TrimSpace(l[1:])
		}
		return l
	}
	afterSep := -1
	for i, raw := range lines {
		l := clean(raw)
		if forwardSeparator().MatchString(l) {
			afterSep = i
			continue
		}
		m := forwardHeader().FindStringSubmatch(l)
		if m == nil || !senderField[strings.ToLower(m[1])] {
			continue
		}
		near := afterSep >= 0 && i-afterSep <= 3
		if !near {
			fields := 0
			for _, next := range lines[i+1 : min(len(lines), i+6)] {
				if nm := forwardHeader().FindStringSubmatch(clean(next)); nm != nil && !senderField[strings.ToLower(nm[1])] {
					fields++
				}
			}
			near = fields >= 2
		}
		if !near {
			continue
		}
		value := m[2]
		addr := addrInText().FindString(value)
		if addr == "" {
			return kp.Address{}, false
		}
		name := value
		if j := strings.IndexAny(value, "<["); j >= 0 {
			name = value[:j]
		} else {
			name = ""
		}
		name = strings.Trim(strings.TrimSpace(name), `"'`)
		if strings.Contains(name, "@") {
			name = ""
		}
		return kp.Address{Name: name, Addr: strings.TrimRight(addr, ".")}, true
	}
	return kp.Address{}, false
}
