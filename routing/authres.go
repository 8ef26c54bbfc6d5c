package routing

import (
	"errors"
	"fmt"
	"strings"

	kp "kontaktpunkt"
)

// AuthResult is one result of an Authentication-Results header (RFC 8601),
// e.g. "dkim=pass header.d=uio.no header.s=sel".
type AuthResult struct {
	// Method is the lower-case method ("dkim", "dmarc", "spf", "compauth");
	// a method version ("dkim/1") is dropped.
	Method string
	// Result is the lower-case result ("pass", "fail", "none", …).
	Result string
	// Props holds the properties keyed by lower-case "ptype.property"
	// ("header.d", "header.from", "header.i", "smtp.mailfrom"), plus
	// "reason" and non-standard bare keys such as Microsoft's "action".
	// Values are as written, quotes removed. Never nil.
	Props map[string]string
}

// ErrAuthResults is returned (wrapped) for an Authentication-Results value
// that does not follow RFC 8601.
var ErrAuthResults = errors.New("routing: malformed Authentication-Results")

// ParseAuthResults parses the value of one Authentication-Results header.
// Comments ("(…)", nested, with quoted-pairs) are ignored, quoted strings
// are unquoted, a version after the authserv-id is skipped, and "none"
// yields no results.
//
// Microsoft 365 writes the header without an authserv-id
// ("spf=pass (…) smtp.mailfrom=x; dkim=pass …"); such a value parses with
// authservID "", which Authenticated trusts only when "" is listed.
func ParseAuthResults(v string) (authservID string, results []AuthResult, err error) {
	toks, err := authresTokens(v)
	if err != nil {
		return "", nil, err
	}
	segs := [][]artok{nil}
	for _, t := range toks {
		if t.kind == ';' {
			segs = append(segs, nil)
			continue
		}
		segs[len(segs)-1] = append(segs[len(segs)-1], t)
	}
	first := segs[0]
	switch {
	case len(first) == 0:
		return "", nil, fmt.Errorf("%w: missing authserv-id", ErrAuthResults)
	case hasEquals(first):
		// No authserv-id: the first segment is already a result.
	case len(first) == 1 && first[0].kind != '=':
		authservID = first[0].text
		segs = segs[1:]
	case len(first) == 2 && first[0].kind != '=' && first[1].kind == 'w' && isDigits(first[1].text):
		authservID = first[0].text
		segs = segs[1:]
	default:
		return "", nil, fmt.Errorf("%w: unexpected %q after authserv-id", ErrAuthResults, first[len(first)-1].text)
	}
	for _, seg := range segs {
		if len(seg) == 0 {
			continue // trailing or doubled ';'
		}
		if len(seg) == 1 && seg[0].kind == 'w' && strings.EqualFold(seg[0].text, "none") {
			continue
		}
		r, err := parseResinfo(seg)
		if err != nil {
			return authservID, nil, err
		}
		results = append(results, r)
	}
	return authservID, results, nil
}

// parseResinfo reads `method[/version] = result *(key = value)`.
func parseResinfo(seg []artok) (AuthResult, error) {
	if len(seg) < 3 || seg[0].kind != 'w' || seg[1].kind != '=' || seg[2].kind == '=' {
		return AuthResult{}, fmt.Errorf("%w: want method=result, got %q", ErrAuthResults, seg[0].text)
	}
	method, _, _ := strings.Cut(seg[0].text, "/")
	r := AuthResult{
		Method: strings.ToLower(method),
		Result: strings.ToLower(seg[2].text),
		Props:  map[string]string{},
	}
	if r.Method == "" || r.Result == "" {
		return AuthResult{}, fmt.Errorf("%w: empty method or result", ErrAuthResults)
	}
	rest := seg[3:]
	for len(rest) > 0 {
		if rest[0].kind != 'w' || len(rest) < 2 || rest[1].kind != '=' {
			return AuthResult{}, fmt.Errorf("%w: stray %q in %s result", ErrAuthResults, rest[0].text, r.Method)
		}
		key := strings.ToLower(rest[0].text)
		val := ""
		n := 2
		if len(rest) > 2 && rest[2].kind != '=' {
			// "k=v k2=v2": v is a value unless it is the next key.
			if !(len(rest) > 3 && rest[3].kind == '=') {
				val, n = rest[2].text, 3
			}
		}
		if _, dup := r.Props[key]; !dup {
			r.Props[key] = val
		}
		rest = rest[n:]
	}
	return r, nil
}

func hasEquals(ts []artok) bool {
	for _, t := range ts {
		if t.kind == '=' {
			return true
		}
	}
	return false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// artok is a token of an Authentication-Results value: 'w' a word or quoted
// string (text unquoted), '=' or ';'.
type artok struct {
	kind byte
	text string
}

// authresTokens splits v into words, quoted strings, '=' and ';', dropping
// white space and comments.
func authresTokens(v string) ([]artok, error) {
	var toks []artok
	for i := 0; i < len(v); {
		c := v[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '(':
			depth := 0
			for ; i < len(v); i++ {
				if v[i] == '\\' {
					i++
					continue
				}
				if v[i] == '(' {
					depth++
				} else if v[i] == ')' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			if depth != 0 {
				return nil, fmt.Errorf("%w: unterminated comment", ErrAuthResults)
			}
			i++
		case c == ')':
			return nil, fmt.Errorf("%w: unbalanced ')'", ErrAuthResults)
		case c == '=' || c == ';':
			toks = append(toks, artok{kind: c, text: string(c)})
			i++
		case c == '"':
			var b strings.Builder
			j := i + 1
			closed := false
			for ; j < len(v); j++ {
				if v[j] == '\\' && j+1 < len(v) {
					j++
					b.WriteByte(v[j])
					continue
				}
				if v[j] == '"' {
					closed = true
					break
				}
				b.WriteByte(v[j])
			}
			if !closed {
				return nil, fmt.Errorf("%w: unterminated quoted string", ErrAuthResults)
			}
			toks = append(toks, artok{kind: 'w', text: b.String()})
			i = j + 1
		default:
			j := i
			for j < len(v) && !strings.ContainsRune(" \t\r\n()=;\"", rune(v[j])) {
				j++
			}
			toks = append(toks, artok{kind: 'w', text: v[i:j]})
			i = j
		}
	}
	return toks, nil
}

// OwnAuthResults returns the Authentication-Results values of trace (a
// message's Received and Authentication-Results fields, top first) that our
// own mail system added: those whose authserv-id is trusted and that stand
// above the first Received field whose "by" host is a trusted authserv-id,
// the border MTA's own hop. Hops inside the mail system (LMTP delivery, a
// content filter) may add Received fields above it. Where no Received field
// names a trusted host, only headers above every Received field count.
//
// Everything below that hop was written before the mail reached us: a
// sender can add any header, with any authserv-id, so such headers never
// count, whatever they say.
func OwnAuthResults(trace []kp.HeaderField, trusted []string) []string {
	border := -1
	firstReceived := -1
	for i, f := range trace {
		if f.Name != "Received" {
			continue
		}
		if firstReceived < 0 {
			firstReceived = i
		}
		if by := ReceivedBy(f.Value); by != "" && trustedID(by, trusted) {
			border = i
			break
		}
	}
	if border < 0 {
		border = firstReceived
	}
	if border < 0 {
		border = len(trace)
	}
	var out []string
	for _, f := range trace[:border] {
		if f.Name != "Authentication-Results" {
			continue
		}
		if id, _, err := ParseAuthResults(f.Value); err == nil && trustedID(id, trusted) {
			out = append(out, f.Value)
		}
	}
	return out
}

// ReceivedBy returns the host named after "by" in a Received field value,
// lower-cased, without a trailing dot; "" if there is none. Comments are
// skipped.
func ReceivedBy(v string) string {
	var b strings.Builder
	depth := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && depth > 0:
			i++
		case c == '(':
			depth++
		case c == ')':
			if depth > 0 {
				depth--
			}
		case depth == 0:
			b.WriteByte(c)
		}
	}
	words := strings.Fields(b.String())
	for i := 0; i+1 < len(words); i++ {
		if strings.EqualFold(words[i], "by") {
			return normDomain(strings.TrimSuffix(words[i+1], ";"))
		}
	}
	return ""
}

// Authenticated reports whether a message's own Authentication-Results
// headers (headerValues, as OwnAuthResults returns them) vouch for its From
// address: some header whose authserv-id is in trusted (case-insensitive)
// says
//
//   - dmarc=pass, with header.from, when given, equal to the From domain; or
//   - dkim=pass with header.d (or the domain of header.i) aligned with the
//     From domain;
//
// and none of them says dmarc=fail for the From domain: a fail wins over
// a pass.
//
// Alignment is DMARC's relaxed alignment: the two domains are equal or have
// the same organisational domain, approximated by label counts (see
// orgDomain): "mail.uio.no" aligns with "uio.no", "a.co.uk" does not align
// with "b.co.uk".
//
// Headers that do not parse are ignored. The trusted MTA should also remove
// headers claiming its authserv-id that arrive from outside (RFC 8601
// section 5). Microsoft 365 writes its header without an authserv-id;
// listing "" in trusted accepts such headers, which is only safe when the
// mail system also drops id-less headers arriving from outside.
func Authenticated(headerValues []string, trusted []string, fromAddr string) bool {
	if !strings.Contains(fromAddr, "@") {
		return false
	}
	fromDomain := addrDomain(fromAddr)
	if fromDomain == "" {
		return false
	}
	pass := false
	for _, hv := range headerValues {
		id, results, err := ParseAuthResults(hv)
		if err != nil || !trustedID(id, trusted) {
			continue
		}
		for _, r := range results {
			switch r.Method {
			case "dmarc":
				hf, ok := r.Props["header.from"]
				if ok && normDomain(addrDomain(hf)) != fromDomain {
					continue
				}
				switch r.Result {
				case "pass":
					pass = true
				case "fail":
					return false
				}
			case "dkim":
				if r.Result != "pass" {
					continue
				}
				d := normDomain(r.Props["header.d"])
				if d == "" {
					d = addrDomain(r.Props["header.i"])
				}
				if d != "" && aligned(d, fromDomain) {
					pass = true
				}
			}
		}
	}
	return pass
}

func trustedID(id string, trusted []string) bool {
	id = strings.TrimSpace(id)
	for _, t := range trusted {
		if strings.EqualFold(strings.TrimSpace(t), id) {
			return true
		}
	}
	return false
}

// addrDomain returns the normalised domain of an address ("x@Uio.NO" ->
// "uio.no"); a bare domain is returned normalised; "" if there is none.
func addrDomain(addr string) string {
	addr = strings.TrimSpace(addr)
	addr = strings.TrimSuffix(strings.TrimPrefix(addr, "<"), ">")
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		addr = addr[at+1:]
	}
	return normDomain(addr)
}

func normDomain(d string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
}

// aligned reports whether two domains are aligned in DMARC's relaxed mode:
// equal, or with the same organisational domain (see orgDomain).
func aligned(a, b string) bool {
	a, b = normDomain(a), normDomain(b)
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	oa, ob := orgDomain(a), orgDomain(b)
	return oa != "" && oa == ob
}

// genericSLDs are second-level labels that country domains delegate to the
// public ("gov.uk", "com.au", "priv.no"); under a two-letter top-level domain
// they count as part of the public suffix.
var genericSLDs = map[string]bool{
	"ac": true, "biz": true, "co": true, "com": true, "edu": true, "gob": true, "go": true,
	"gouv": true, "gov": true, "govt": true, "gv": true, "info": true, "int": true, "ltd": true,
	"mil": true, "ne": true, "net": true, "nhs": true, "nom": true, "or": true, "org": true,
	"plc": true, "priv": true, "res": true, "sch": true,
}

// orgDomain approximates the organisational domain of d (the registrable
// domain DMARC derives from the Public Suffix List) without the list: the last
// two labels, or the last three when the top-level domain has two letters and
// the second-level label has two letters or is a generic one ("co.uk",
// "ac.jp", "gov.uk", "com.au", "priv.no"). It returns "" when d is itself
// such a suffix or not a domain name.
//
// The approximation errs in two known ways. It is stricter than the list for
// organisations with a two-letter name under a country domain ("nr.no" is
// treated as a suffix, so "mail.nr.no" aligns with nothing but itself; DMARC
// pass still works for them). It is looser for suffixes the list knows and it
// does not, chiefly shared-hosting ones ("a.github.io" aligns with
// "b.github.io"); that matters only if staff send from such a domain. The
// list itself (golang.org/x/net/publicsuffix) would drag net/http into this
// package, which stays free of I/O packages.
func orgDomain(d string) string {
	d = normDomain(d)
	if d == "" || strings.Contains(d, "..") || strings.HasPrefix(d, ".") {
		return ""
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return ""
	}
	tld, sld := labels[len(labels)-1], labels[len(labels)-2]
	n := 2
	if len(tld) == 2 && (len(sld) == 2 || genericSLDs[sld]) {
		n = 3
	}
	if len(labels) < n {
		return ""
	}
	return strings.Join(labels[len(labels)-n:], ".")
}
