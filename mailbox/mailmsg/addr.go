package mailmsg

import (
	"errors"
	"fmt"
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
