package mailmsg

import (
	"mime"
	"sort"
	"strconv"
	"strings"
)

// Content-Type, Content-Disposition and Content-Transfer-Encoding values
// and their parameters (RFC 2045, RFC 2231), read leniently.

// transferEncoding returns the normalised Content-Transfer-Encoding.
func (w *walker) transferEncoding(h partHeader) string {
	cte := strings.ToLower(strings.TrimSpace(lookup(h, "Content-Transfer-Encoding")))
	if i := strings.IndexAny(cte, " ;("); i >= 0 {
		cte = cte[:i]
	}
	cte = strings.Trim(cte, `"'`)
	switch cte {
	case "", "7bit", "8bit", "binary", "base64", "quoted-printable":
		return cte
	case "x-uuencode", "uuencode", "x-uue":
		w.defect("uuencoded part")
		return cte
	}
	if strings.Contains(cte, "base64") {
		return "base64"
	}
	if strings.Contains(cte, "quoted") {
		return "quoted-printable"
	}
	w.defect("unknown transfer encoding")
	return ""
}

// mediaType parses a Content-Type value leniently; def applies when it is
// missing or unusable.
func (w *walker) mediaType(v, def string) (string, map[string]string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return def, map[string]string{}
	}
	mt, params, err := mime.ParseMediaType(v)
	if err != nil || params == nil || strings.Contains(v, "*=") {
		// The lenient parser also decodes RFC 2231 values in charsets
		// other than UTF-8, which mime.ParseMediaType drops.
		mt, params = lenientMediaType(v)
		if mt == "" {
			w.defect("bad content-type")
			return def, params
		}
	}
	mt = strings.ToLower(mt)
	if strings.IndexByte(mt, '/') < 0 {
		switch mt {
		case "text":
			mt = "text/plain"
		case "multipart":
			mt = "multipart/mixed"
		default:
			w.defect("bad content-type")
			return "application/octet-stream", params
		}
	}
	return mt, params
}

// lenientMediaType is the fallback for values mime.ParseMediaType refuses:
// duplicate or unquoted parameters, missing closing quotes and the like.
func lenientMediaType(v string) (string, map[string]string) {
	params := map[string]string{}
	parts := splitParams(v)
	first := strings.TrimSpace(parts[0])
	parts = parts[1:]
	if f := strings.Fields(first); len(f) > 1 {
		// "text/plain charset=us-ascii": a missing semicolon.
		first = f[0]
		parts = append([]string{strings.Join(f[1:], " ")}, parts...)
	}
	mt := strings.ToLower(first)
	if k := strings.IndexFunc(mt, func(r rune) bool { return !isTokenChar(r) && r != '/' }); k > 0 && !strings.Contains(mt, "=") {
		mt = mt[:k] // "text/plain>" (enmime ctype-invalid-characters)
	}
	if strings.ContainsAny(mt, "\"=") {
		if strings.Contains(mt, "=") {
			parts = append([]string{first}, parts...)
		}
		mt = ""
	}
	var cont = map[string][]string{}
	for _, p := range parts {
		k, val, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
			val = strings.ReplaceAll(val, `\"`, `"`)
		} else {
			val = strings.Trim(val, `"`)
		}
		if k == "" {
			continue
		}
		if base, _, isCont := strings.Cut(k, "*"); isCont {
			cont[base] = append(cont[base], k+"="+val)
			continue
		}
		if _, dup := params[k]; !dup {
			params[k] = val
		}
	}
	for base, vals := range cont {
		if _, ok := params[base]; ok {
			continue
		}
		sort.SliceStable(vals, func(i, j int) bool { return pieceIndex(vals[i]) < pieceIndex(vals[j]) })
		params[base] = rfc2231(vals)
	}
	return mt, params
}

// pieceIndex returns the section number of an RFC 2231 piece
// ("name*2*=…" gives 2, "name*=…" gives 0).
func pieceIndex(piece string) int {
	k, _, _ := strings.Cut(piece, "=")
	_, rest, _ := strings.Cut(k, "*")
	rest = strings.TrimSuffix(rest, "*")
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// rfc2231 joins and decodes RFC 2231 parameter pieces ("name*0*=…").
func rfc2231(pieces []string) string {
	var cs string
	var buf []byte
	for i, p := range pieces {
		k, v, _ := strings.Cut(p, "=")
		enc := strings.HasSuffix(k, "*")
		if enc && i == 0 {
			if a, rest, ok := strings.Cut(v, "'"); ok {
				if _, r2, ok := strings.Cut(rest, "'"); ok {
					cs, v = a, r2
				}
			}
		}
		if enc {
			for j := 0; j < len(v); j++ {
				if v[j] == '%' && j+2 < len(v) && isHex(v[j+1]) && isHex(v[j+2]) {
					buf = append(buf, unhex(v[j+1])<<4|unhex(v[j+2]))
					j += 2
					continue
				}
				buf = append(buf, v[j])
			}
		} else {
			buf = append(buf, v...)
		}
	}
	s, _ := decodeCharset(cs, buf)
	return s
}

// isTokenChar reports whether r may appear in an RFC 2045 token.
func isTokenChar(r rune) bool {
	return r > ' ' && r < 0x7f && !strings.ContainsRune(`()<>@,;:\"/[]?=`, r)
}

// splitParams splits at ";" outside quoted strings.
func splitParams(v string) []string {
	var out []string
	quoted := false
	start := 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			quoted = !quoted
		case ';':
			if !quoted {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	return append(out, v[start:])
}

func (w *walker) dispositionParams(v string) (string, map[string]string) {
	dt, dp, err := mime.ParseMediaType(v)
	if err != nil || dp == nil || strings.Contains(v, "*=") {
		dt, dp = lenientMediaType(v)
		if dt == "" {
			if x, _, _ := strings.Cut(v, ";"); strings.TrimSpace(x) != "" {
				dt = strings.ToLower(strings.TrimSpace(x))
			}
		}
	}
	return strings.ToLower(dt), dp
}
