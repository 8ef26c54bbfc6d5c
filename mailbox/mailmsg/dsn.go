package mailmsg

import (
	"strings"

	kp "kontaktpunkt"
)

// Delivery reports and embedded messages: the ids and recipients of the
// message a bounce returns, from message/delivery-status parts, returned
// headers and the bounce's text.

// embeddedMessage records the ids in the header of a returned or forwarded
// message (or a text/rfc822-headers part).
func (w *walker) embeddedMessage(inner []byte) {
	if len(inner) == 0 {
		return
	}
	sub := &walker{p: &kp.Parsed{}, fallback: "windows-1252"}
	fs, _ := sub.readHeader(inner, false)
	w.addEmbedded(CanonicalID(lookup(fs, "Message-Id")))
	for _, id := range ParseIDList(joinValues(fs, "In-Reply-To")) {
		w.addEmbedded(id)
	}
	for _, id := range ParseIDList(joinValues(fs, "References")) {
		w.addEmbedded(id)
	}
}

func (w *walker) innerSubject(inner []byte) string {
	sub := &walker{p: &kp.Parsed{}, fallback: "windows-1252"}
	fs, _ := sub.readHeader(inner, false)
	s := strings.TrimSpace(sub.headerText(lookup(fs, "Subject")))
	if s == "" {
		return "message.eml"
	}
	return s + ".eml"
}

func (w *walker) addEmbedded(id string) {
	if id == "" || len(w.p.EmbeddedIDs) >= maxEmbedded {
		return
	}
	if w.embedded == nil {
		w.embedded = map[string]bool{}
	}
	if w.embedded[id] {
		return
	}
	w.embedded[id] = true
	w.p.EmbeddedIDs = append(w.p.EmbeddedIDs, id)
}

func (w *walker) addRecipient(a string) {
	a = cleanAddr(a)
	if a == "" || len(w.p.BounceRecipients) >= maxRecipients {
		return
	}
	if w.rcpts == nil {
		w.rcpts = map[string]bool{}
	}
	k := kp.NormAddr(a)
	if w.rcpts[k] {
		return
	}
	w.rcpts[k] = true
	w.p.BounceRecipients = append(w.p.BounceRecipients, a)
}

// cleanAddr extracts a bare address from DSN and bounce text:
// "rfc822; <a@b>", "<a@b>", "a@b.".
func cleanAddr(a string) string {
	a = strings.TrimSpace(a)
	if i := strings.IndexByte(a, ';'); i >= 0 {
		a = a[i+1:]
	}
	if i := strings.IndexByte(a, '<'); i >= 0 {
		a = a[i+1:]
		if j := strings.IndexByte(a, '>'); j >= 0 {
			a = a[:j]
		}
	}
	a = strings.Trim(strings.TrimSpace(a), `"'.,:;()[]`)
	if strings.HasPrefix(strings.ToLower(a), "mailto:") {
		a = a[7:]
	}
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 || strings.ContainsAny(a, " \t<>") || len(a) > 320 {
		return ""
	}
	return a
}

// deliveryStatus reads a message/delivery-status body (RFC 3464). Groups
// are told apart by blank lines where present and by a repeated recipient
// field where they are not (mimekit delivery-status-no-blank-line).
func (w *walker) deliveryStatus(body []byte) {
	w.dsnSeen = true
	type rcpt struct{ final, orig, action, status, diag string }
	var cur rcpt
	flush := func() {
		r := cur
		cur = rcpt{}
		addr := r.final
		if cleanAddr(addr) == "" {
			addr = r.orig
		}
		if addr == "" {
			return
		}
		action := strings.ToLower(strings.TrimSpace(r.action))
		if i := strings.IndexAny(action, " ("); i >= 0 {
			action = action[:i]
		}
		status := strings.TrimSpace(r.status)
		perm := strings.HasPrefix(status, "5")
		if action == "failed" || (action == "" && perm) {
			w.addRecipient(addr)
			w.noteDSN(addr, status, r.diag)
			if perm || status == "" || !strings.HasPrefix(status, "4") {
				w.p.BouncePermanent = true
			}
		}
	}
	sub := &walker{p: &kp.Parsed{}, fallback: "utf-8"}
	rest := body
	for n := 0; len(rest) > 0 && n < 1000; n++ {
		fs, next := sub.readHeader(rest, false)
		if len(fs) == 0 && len(next) == len(rest) {
			// Not a field and not blank: skip the line.
			_, k := nextLine(rest, 0)
			next = rest[k:]
		}
		for _, f := range fs {
			switch strings.ToLower(f.name) {
			case "final-recipient":
				if cur.final != "" {
					flush()
				}
				cur.final = f.value
			case "original-recipient":
				if cur.orig != "" || cur.final != "" && cur.action != "" {
					flush()
				}
				cur.orig = f.value
			case "action":
				cur.action = f.value
			case "status":
				cur.status = f.value
			case "diagnostic-code":
				cur.diag = f.value
			}
		}
		if cur.final != "" || cur.orig != "" {
			if cur.action != "" || cur.status != "" {
				flush()
			}
		}
		rest = next
	}
	flush()
}

// scanBounceIDs records "Message-ID:" lines in the text of bounce-looking
// mail that quotes the returned message inline (qmail and friends).
func (w *walker) scanBounceIDs(s string) {
	if len(s) > maxScanText {
		s = s[:maxScanText]
	}
	for len(s) > 0 {
		line := s
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		t := strings.TrimLeft(line, " \t>")
		if len(t) > 11 && strings.EqualFold(t[:11], "message-id:") {
			w.addEmbedded(CanonicalID(t[11:]))
		}
	}
}
