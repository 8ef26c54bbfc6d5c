package mailmsg

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
)

// maxIDs bounds how many ids ParseIDList returns; a References header with
// thousands of ids is hostile or broken, and threading needs only the root
// and the newest ones.
const maxIDs = 100

// maxIDLen bounds one canonical id (RFC 5322 lines are at most 998 octets).
const maxIDLen = 998

// CanonicalID returns the canonical form of one Message-ID: angle brackets,
// surrounding white space and comments removed, the domain part after the
// last "@" lower-cased. It returns "" when s holds no usable id.
func CanonicalID(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if i := strings.IndexByte(s, '<'); i >= 0 {
		rest := s[i+1:]
		if j := strings.IndexByte(rest, '>'); j >= 0 {
			rest = rest[:j]
		}
		return canonicalBare(rest)
	}
	s = stripComments(s)
	if f := strings.Fields(s); len(f) > 0 {
		return canonicalBare(f[0])
	}
	return ""
}

// canonicalBare canonicalises an id that has no brackets any more.
func canonicalBare(s string) string {
	s = strings.TrimSpace(s)
	if strings.ContainsFunc(s, isIDJunk) {
		s = strings.Map(func(r rune) rune {
			if isIDJunk(r) {
				return -1
			}
			return r
		}, s)
	}
	if s == "" || len(s) > maxIDLen || !strings.ContainsFunc(s, isAlnum) {
		return ""
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		dom := s[i+1:]
		if hasUpper(dom) {
			s = s[:i+1] + strings.ToLower(dom)
		}
	}
	return s
}

// isIDJunk reports characters that cannot be part of a canonical id:
// white space (Unicode's too: CanonicalID splits an unbracketed value on
// it, so an id keeping one would not be canonical), controls, brackets
// and comment parentheses (so that CanonicalID is idempotent).
func isIDJunk(r rune) bool {
	return r <= ' ' || r >= 0x7f && r <= 0x9f || r == '<' || r == '>' || r == '(' || r == ')' || r == 0xfffd || unicode.IsSpace(r)
}

func isAlnum(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= 0x80
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// stripComments removes RFC 5322 comments "(…)", nested ones included.
// Quoted strings are left alone.
func stripComments(s string) string {
	if strings.IndexByte(s, '(') < 0 {
		return s
	}
	var b strings.Builder
	depth := 0
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (quoted || depth > 0):
			if depth == 0 {
				b.WriteByte(c)
				b.WriteByte(s[i+1])
			}
			i++
			continue
		case c == '"' && depth == 0:
			quoted = !quoted
		case c == '(' && !quoted:
			depth++
			continue
		case c == ')' && !quoted && depth > 0:
			depth--
			if depth == 0 {
				b.WriteByte(' ')
			}
			continue
		}
		if depth == 0 {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// ParseIDList parses an In-Reply-To or References value into canonical ids
// in header order, without duplicates. It takes "<a@b> <c@d>", ids separated
// by commas or white space, ids without brackets (only when the value holds
// no bracketed id at all, so that phrases like `Your message of …` do not
// become ids) and comments. At most maxIDs are returned: the first (the
// thread root) and the newest ones.
func ParseIDList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var ids []string
	seen := map[string]bool{}
	add := func(id string) {
		id = canonicalBare(id)
		if id == "" || seen[id] {
			return
		}
		seen[id] = true
		ids = append(ids, id)
	}
	if strings.IndexByte(s, '<') >= 0 {
		depth := 0
		for i := 0; i < len(s); i++ {
			switch s[i] {
			case '(':
				depth++
			case ')':
				if depth > 0 {
					depth--
				}
			case '<':
				if depth > 0 {
					continue
				}
				end := strings.IndexByte(s[i+1:], '>')
				if end < 0 {
					// An unterminated id at the end of a cut header: take it
					// up to the next white space.
					rest := s[i+1:]
					if f := strings.Fields(rest); len(f) > 0 {
						add(f[0])
					}
					i = len(s)
					continue
				}
				add(s[i+1 : i+1+end])
				i += end + 1
			}
		}
	} else {
		// The same white space CanonicalID splits on (Unicode's), so that
		// each field is an id CanonicalID agrees with.
		for _, f := range strings.FieldsFunc(stripComments(s), func(r rune) bool {
			return r == ',' || r == ';' || unicode.IsSpace(r)
		}) {
			if strings.IndexByte(f, '@') > 0 {
				add(f)
			}
		}
	}
	if len(ids) > maxIDs {
		ids = append(ids[:1], ids[len(ids)-(maxIDs-1):]...)
	}
	return ids
}

// SyntheticID returns the id given to a message without a usable
// Message-ID: derived from the SHA-256 of the raw bytes, so the same bytes
// fetched twice are recognised as the same message.
func SyntheticID(raw []byte) string {
	sum := sha256.Sum256(raw)
	return "sha256-" + hex.EncodeToString(sum[:]) + "@synthetic.invalid"
}
