package mailmsg

import (
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"strings"

	kp "kontaktpunkt"
)

// ErrAddress is returned (wrapped) by WireAddr for an address that cannot
// be written in a header or an SMTP envelope.
var ErrAddress = errors.New("address cannot be written")

// maxLocalPart and maxAddrLen are RFC 5321's limits (section 4.5.3.1).
const (
	maxLocalPart = 64
	maxAddrLen   = 254
)

// WireAddr returns addr as it must be written in a header field and in an
// SMTP envelope: a local part that is not a dot-atom is written as a quoted
// string (RFC 5322 section 3.4.1, RFC 5321 section 4.1.2), so
// `john smith@example.org` becomes `"john smith"@example.org` and
// `john.@docomo.ne.jp` becomes `"john."@docomo.ne.jp`.
//
// Addresses parsed from other people's mail can hold anything. Those that
// no quoting makes writable, because they hold 8-bit bytes, control
// characters or NUL, have no domain, a domain that is not a host name or an
// address literal, or are too long, are refused with an error wrapping
// ErrAddress; callers leave them out of the mail.
func WireAddr(addr string) (string, error) {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "", fmt.Errorf("%w: %q has no local part or no domain", ErrAddress, addr)
	}
	local, domain := addr[:at], addr[at+1:]
	if len(local) >= 2 && local[0] == '"' && local[len(local)-1] == '"' {
		// Written quoted already: take the content.
		local = unquoteLocal(local[1 : len(local)-1])
	}
	for i := 0; i < len(local); i++ {
		if c := local[i]; c < 0x20 || c >= 0x7f {
			return "", fmt.Errorf("%w: %q: control or 8-bit byte in the local part", ErrAddress, addr)
		}
	}
	if local == "" || len(local) > maxLocalPart {
		return "", fmt.Errorf("%w: %q: local part empty or longer than %d", ErrAddress, addr, maxLocalPart)
	}
	if !validDomain(domain) {
		return "", fmt.Errorf("%w: %q: domain is not a host name", ErrAddress, addr)
	}
	if !dotAtom(local) {
		var b strings.Builder
		b.WriteByte('"')
		for i := 0; i < len(local); i++ {
			if c := local[i]; c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(local[i])
		}
		b.WriteByte('"')
		local = b.String()
	}
	out := local + "@" + domain
	if len(out) > maxAddrLen {
		return "", fmt.Errorf("%w: %q is longer than %d", ErrAddress, addr, maxAddrLen)
	}
	return out, nil
}

// CheckAddress reports whether addr can be written in a composed mail and
// in an SMTP envelope; an error names why not. Compose accepts exactly the
// addresses CheckAddress accepts.
func CheckAddress(addr string) error {
	_, err := toMailAddress(kp.Address{Addr: addr})
	return err
}

// unquoteLocal removes quoted-pair backslashes.
func unquoteLocal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// dotAtom reports whether s is an RFC 5322 dot-atom: atext runs separated
// by single dots, none at either end.
func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' || isAtext(c) {
			continue
		}
		return false
	}
	return true
}

// validDomain accepts a host name (letters, digits, '-' and '_' in
// non-empty labels of at most 63 characters) or an address literal
// ("[192.0.2.1]", "[IPv6:…]") of printable ASCII.
func validDomain(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	if d[0] == '[' {
		if len(d) < 3 || d[len(d)-1] != ']' {
			return false
		}
		for i := 1; i < len(d)-1; i++ {
			if c := d[i]; c <= ' ' || c >= 0x7f || c == '[' || c == ']' || c == '\\' {
				return false
			}
		}
		return true
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// Reading addresses: the From, Sender, Reply-To, To and Cc fields of a
// parsed message, leniently.

// addresses fills From, Sender, Reply-To, To and Cc.
func (w *walker) addresses(fs []field) {
	p := w.p
	if l := w.addressList(lookup(fs, "From")); len(l) > 0 {
		p.From = l[0]
		if len(l) > 1 {
			w.defect("several From addresses")
		}
	}
	if l := w.addressList(lookup(fs, "Sender")); len(l) > 0 {
		p.Sender = l[0]
	}
	p.ReplyTo = w.addressList(joinList(fs, "Reply-To"))
	p.To = w.addressList(joinList(fs, "To"))
	p.Cc = w.addressList(joinList(fs, "Cc"))
	// Display names go into acknowledgements, notifications, headers and
	// the dashboard: none may carry a line break (an encoded word can
	// decode to CR LF) or another control character.
	p.From.Name, p.Sender.Name = kp.CleanName(p.From.Name), kp.CleanName(p.Sender.Name)
	for _, l := range [][]kp.Address{p.ReplyTo, p.To, p.Cc} {
		for i := range l {
			l[i].Name = kp.CleanName(l[i].Name)
		}
	}
}

func joinList(fs []field, name string) string {
	var s string
	for _, f := range fs {
		if strings.EqualFold(f.name, name) && strings.TrimSpace(f.value) != "" {
			if s != "" {
				s += ", "
			}
			s += f.value
		}
	}
	return s
}

var addrParser = &mail.AddressParser{WordDecoder: &mime.WordDecoder{CharsetReader: lenientCharsetReader}}

// addressList parses an address list, keeping what parses; pieces that do
// not parse fall back to the first something@something in their text.
func (w *walker) addressList(v string) []kp.Address {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	if len(v) > maxHeaderAddr {
		v = v[:maxHeaderAddr]
		w.defect("address header too long")
	}
	v = w.utf8Header(v)
	if l, ok := simpleAddrList(v); ok {
		return l
	}
	if l, err := addrParser.ParseList(v); err == nil {
		out := make([]kp.Address, 0, len(l))
		for _, a := range l {
			out = append(out, kp.Address{Name: a.Name, Addr: a.Address})
		}
		return out
	}
	var out []kp.Address
	bad := false
	for _, piece := range splitAddrs(v) {
		piece = strings.TrimSpace(piece)
		if piece == "" {
			continue
		}
		if a, err := addrParser.Parse(piece); err == nil {
			out = append(out, kp.Address{Name: a.Name, Addr: a.Address})
			continue
		}
		bad = true
		if a, ok := w.rawAddress(piece); ok {
			out = append(out, a)
		}
		if len(out) >= 1000 {
			break
		}
	}
	if bad {
		w.defect("malformed address")
	}
	return out
}

// simpleAddrList parses the common shapes of an address list without
// net/mail: comma-separated "a@b", "<a@b>", "Name <a@b>" and
// "\"Any name\" <a@b>" with plain ASCII names. Anything else (comments,
// groups, encoded words, quoted commas, non-ASCII) reports !ok and goes to
// net/mail, which gives the same result for these shapes.
func simpleAddrList(v string) ([]kp.Address, bool) {
	out := make([]kp.Address, 0, 1+strings.Count(v, ","))
	for len(v) > 0 {
		piece := v
		if i := strings.IndexByte(v, ','); i >= 0 {
			piece, v = v[:i], v[i+1:]
		} else {
			v = ""
		}
		a, ok := simpleAddr(strings.Trim(piece, " \t"))
		if !ok {
			return nil, false
		}
		out = append(out, a)
	}
	return out, len(out) > 0
}

func simpleAddr(s string) (kp.Address, bool) {
	if !strings.HasSuffix(s, ">") {
		return kp.Address{Addr: s}, simpleAddrSpec(s)
	}
	i := strings.LastIndexByte(s, '<')
	if i < 0 {
		return kp.Address{}, false
	}
	addr := s[i+1 : len(s)-1]
	if !simpleAddrSpec(addr) {
		return kp.Address{}, false
	}
	name := strings.Trim(s[:i], " \t")
	if len(name) >= 2 && name[0] == '"' && name[len(name)-1] == '"' {
		inner := name[1 : len(name)-1]
		for k := 0; k < len(inner); k++ {
			if c := inner[k]; c == '"' || c == '\\' || c < ' ' || c > '~' {
				return kp.Address{}, false
			}
		}
		if strings.Contains(inner, "=?") {
			return kp.Address{}, false
		}
		return kp.Address{Name: inner, Addr: addr}, true
	}
	for k := 0; k < len(name); k++ {
		if c := name[k]; !(isAtext(c) || c == ' ' || c == '.') {
			return kp.Address{}, false
		}
	}
	if strings.Contains(name, "=?") || strings.HasPrefix(name, ".") {
		return kp.Address{}, false
	}
	return kp.Address{Name: strings.Join(strings.Fields(name), " "), Addr: addr}, true
}

// simpleAddrSpec accepts dot-atom@domain with an ASCII domain name.
func simpleAddrSpec(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.IndexByte(s[at+1:], '@') >= 0 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") ||
		domain[0] == '.' || domain[len(domain)-1] == '.' || strings.Contains(domain, "..") {
		return false
	}
	for k := 0; k < len(local); k++ {
		if c := local[k]; !isAtext(c) && c != '.' {
			return false
		}
	}
	for k := 0; k < len(domain); k++ {
		if c := domain[k]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// isAtext reports RFC 5322 atext characters (ASCII only).
func isAtext(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// rawAddress is the last resort for one unparsable address: the first
// token that looks like something@something, the rest as display name.
func (w *walker) rawAddress(piece string) (kp.Address, bool) {
	var addr string
	rest := piece
	if i := strings.IndexByte(piece, '<'); i >= 0 {
		if j := strings.IndexByte(piece[i:], '>'); j > 0 {
			cand := cleanAddr(piece[i : i+j+1])
			if cand != "" {
				addr = cand
				rest = piece[:i] + piece[i+j+1:]
			}
		}
	}
	if addr == "" {
		for _, tok := range strings.Fields(piece) {
			if a := cleanAddr(tok); a != "" {
				addr = a
				rest = strings.Replace(piece, tok, "", 1)
				break
			}
		}
	}
	if addr == "" {
		return kp.Address{}, false
	}
	name := strings.TrimSpace(rest)
	if strings.Contains(name, "=?") {
		name, _ = decodeWords(name)
	}
	name = strings.Trim(strings.TrimSpace(name), `"' `)
	return kp.Address{Name: name, Addr: addr}, true
}

// splitAddrs splits an address list at commas outside quotes, comments and
// angle brackets.
func splitAddrs(v string) []string {
	var out []string
	quoted := false
	depth, angle := 0, 0
	start := 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\':
			i++
		case c == '"' && depth == 0:
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case c == '<' && depth == 0:
			angle++
		case c == '>' && angle > 0:
			angle--
		case (c == ',' || c == ';') && depth == 0 && angle == 0:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	if start < len(v) {
		out = append(out, v[start:])
	}
	return out
}
