package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
)

// Actions carries out what staff do from the dashboard. Every method is
// the same operation a staff command in a subject, or the operator's
// command line, performs: *gateway.Gateway implements it.
type Actions interface {
	// Operate applies staff commands ("[assign:x]", "[note]") to a case
	// as if actor had written them in a subject, text being the body.
	Operate(id kp.CaseID, actor kp.Address, commands, text string) ([]string, error)
	MergeCases(from, into kp.CaseID, actor kp.Address) error
	LinkCases(a, b kp.CaseID, actor kp.Address) error
	// MoveMessage moves a stored message (of a case, or of none) to a case.
	MoveMessage(id string, to kp.CaseID, actor kp.Address) (kp.CaseID, error)
	// OpenFromMessage opens a new case from a message of no case.
	OpenFromMessage(id string, actor kp.Address) (kp.CaseID, error)
	RetryOutbound(id uint64) error
}

const (
	// csrfTTL is how long a form's token stays good.
	csrfTTL = 12 * time.Hour
	// maxArg bounds a command argument typed into a form.
	maxArg = 320
	// maxNote bounds the text of a note from a form.
	maxNote = 64 << 10
	// maxForm bounds the body of a POST.
	maxForm = 128 << 10
	// failedShown is how many failed outbound messages the case page
	// looks through for the case's own.
	failedShown = 500
)

// csrfToken returns a token binding a form to user and the time it was
// served: the time, then an HMAC of both under the per-process key.
func (s *server) csrfToken(user string, now time.Time) string {
	var b [8 + 16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.Unix()))
	copy(b[8:], s.csrfMAC(user, b[:8]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *server) csrfMAC(user string, ts []byte) []byte {
	m := hmac.New(sha256.New, s.csrfKey[:])
	m.Write([]byte("csrf\x00"))
	m.Write([]byte(user))
	m.Write([]byte{0})
	m.Write(ts)
	return m.Sum(nil)[:16]
}

// csrfOK checks a token from a form against user and the clock.
func (s *server) csrfOK(user, token string, now time.Time) bool {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != 24 {
		return false
	}
	if !hmac.Equal(b[8:], s.csrfMAC(user, b[:8])) {
		return false
	}
	at := time.Unix(int64(binary.BigEndian.Uint64(b[:8])), 0)
	return !at.After(now.Add(time.Minute)) && now.Sub(at) < csrfTTL
}

// canAct reports whether r may change anything: actions are configured
// and r is trusted.
func (s *server) canAct(r *http.Request) bool {
	return s.o.Actions != nil && s.trusted(r)
}

// trusted reports whether r comes from staff: the user authenticated
// (protect ran) or, with no authentication configured, the request comes
// from this machine.
func (s *server) trusted(r *http.Request) bool {
	if s.auth != nil {
		return userOf(r.Context()) != ""
	}
	return clientAddr(r).IsLoopback()
}

// crossSite reports whether the browser says another site started r.
func crossSite(r *http.Request) bool {
	site := r.Header.Get("Sec-Fetch-Site")
	return site != "" && site != "same-origin" && site != "none"
}

// actor is the address an action is recorded under: the user's own when
// the user name is a staff address, otherwise the user name at
// Options.ActorDomain.
func (s *server) actor(r *http.Request) kp.Address {
	u := userOf(r.Context())
	if u == "" {
		u = "local"
	}
	if strings.Contains(u, "@") && s.o.IsStaff != nil && s.o.IsStaff(u) {
		return kp.Address{Addr: kp.NormAddr(u)}
	}
	var b strings.Builder
	for _, c := range strings.ToLower(u) {
		switch {
		case c < utf8.RuneSelf && (unicode.IsLetter(c) || unicode.IsDigit(c) || c == '.' || c == '-' || c == '_'):
			b.WriteRune(c)
		default:
			b.WriteByte('.')
		}
	}
	local := strings.Trim(b.String(), ".")
	if local == "" {
		local = "user"
	}
	domain := s.o.ActorDomain
	if domain == "" {
		domain = "web"
	}
	return kp.Address{Name: u, Addr: local + "@" + domain}
}

// guard refuses a POST that may not act: no right to act (403), or a
// missing or stale CSRF token, or a cross-site origin (403). It parses
// the form.
func (s *server) guard(w http.ResponseWriter, r *http.Request) bool {
	if !s.canAct(r) {
		http.Error(w, "not allowed to act", http.StatusForbidden)
		return false
	}
	if crossSite(r) {
		http.Error(w, "cross-site request refused", http.StatusForbidden)
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			http.Error(w, "cross-site request refused", http.StatusForbidden)
			return false
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "the form could not be read", http.StatusBadRequest)
		return false
	}
	if !s.csrfOK(userOf(r.Context()), r.PostForm.Get("csrf"), s.now()) {
		http.Error(w, "the form is stale or forged; reload the page and try again", http.StatusForbidden)
		return false
	}
	return true
}

// cleanArg returns a form value fit for a command argument: trimmed,
// bounded, without brackets or control characters that could end the
// command or start another.
func cleanArg(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > maxArg || !utf8.ValidString(v) {
		return "", false
	}
	for _, c := range v {
		if c == '[' || c == ']' || unicode.IsControl(c) {
			return "", false
		}
	}
	return v, true
}

// caseAct handles POST /case/{id}/act: one staff command on one case.
func (d *dashboard) caseAct(w http.ResponseWriter, r *http.Request) {
	if !d.s.guard(w, r) {
		return
	}
	n, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || n == 0 {
		http.Error(w, "no such case", http.StatusNotFound)
		return
	}
	id := kp.CaseID(n)
	act := d.s.o.Actions
	actor := d.s.actor(r)
	verb := r.PostForm.Get("do")
	arg, argOK := cleanArg(r.PostForm.Get("arg"))
	var cmd, text string
	switch verb {
	case "take", "unassign", "escalate", "close", "reopen":
		cmd = "[" + verb + "]"
	case "assign", "status", "prio", "remind":
		if !argOK {
			d.refuse(w, r, id, http.StatusBadRequest, d.tr(r, "The action needs a value."))
			return
		}
		cmd = "[" + verb + ":" + arg + "]"
	case "note":
		text = strings.TrimSpace(strings.ReplaceAll(r.PostForm.Get("text"), "\r\n", "\n"))
		if text == "" || len(text) > maxNote || !utf8.ValidString(text) {
			d.refuse(w, r, id, http.StatusBadRequest, d.tr(r, "A note needs text."))
			return
		}
		cmd = "[note]"
	case "merge", "link":
		other, err := parseCaseRef(r.PostForm.Get("arg"))
		if err != nil {
			d.refuse(w, r, id, http.StatusBadRequest, d.tr(r, "Give a case number."))
			return
		}
		if verb == "merge" {
			err = act.MergeCases(id, other, actor)
		} else {
			err = act.LinkCases(id, other, actor)
		}
		d.done(w, r, id, err)
		return
	default:
		http.Error(w, "unknown action", http.StatusBadRequest)
		return
	}
	_, err = act.Operate(id, actor, cmd, text)
	d.done(w, r, id, err)
}

// messageAct handles POST /message/act: move a message to a case, or
// open a case from a message of no case.
func (d *dashboard) messageAct(w http.ResponseWriter, r *http.Request) {
	if !d.s.guard(w, r) {
		return
	}
	act := d.s.o.Actions
	actor := d.s.actor(r)
	msgID := strings.TrimSpace(r.PostForm.Get("msg"))
	if msgID == "" || len(msgID) > 2048 || !utf8.ValidString(msgID) {
		http.Error(w, "no message named", http.StatusBadRequest)
		return
	}
	switch r.PostForm.Get("do") {
	case "move":
		to, err := parseCaseRef(r.PostForm.Get("case"))
		if err != nil {
			d.refuse(w, r, 0, http.StatusBadRequest, d.tr(r, "Give a case number."))
			return
		}
		_, err = act.MoveMessage(msgID, to, actor)
		d.done(w, r, to, err)
	case "open":
		id, err := act.OpenFromMessage(msgID, actor)
		d.done(w, r, id, err)
	default:
		http.Error(w, "unknown action", http.StatusBadRequest)
	}
}

// retry handles POST /outbox/{id}/retry.
func (d *dashboard) retry(w http.ResponseWriter, r *http.Request) {
	if !d.s.guard(w, r) {
		return
	}
	n, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || n == 0 {
		http.Error(w, "no such outbound message", http.StatusNotFound)
		return
	}
	var c kp.CaseID
	if err := d.s.o.Store.View(func(tx *store.Tx) error {
		o, err := tx.Outbound(n)
		if err == nil {
			c = o.Case
		}
		return err
	}); err != nil {
		d.done(w, r, 0, err)
		return
	}
	d.done(w, r, c, d.s.o.Actions.RetryOutbound(n))
}

// parseCaseRef reads "42", "#42", "[INT#42]" or "INT42".
func parseCaseRef(s string) (kp.CaseID, error) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "]")
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	n, err := strconv.ParseUint(s[i:], 10, 64)
	if err != nil || n == 0 {
		return 0, errors.New("not a case number")
	}
	return kp.CaseID(n), nil
}

// done answers an action: back to the case page (303) when it worked,
// a page saying why when it did not.
func (d *dashboard) done(w http.ResponseWriter, r *http.Request, id kp.CaseID, err error) {
	if err == nil {
		target := "/unfiled"
		if id != 0 {
			target = "/case/" + strconv.FormatUint(uint64(id), 10)
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	code := http.StatusConflict
	if errors.Is(err, store.ErrNotFound) {
		code = http.StatusNotFound
	}
	d.s.log.Info("dashboard action refused", "user", userOf(r.Context()), "case", uint64(id), "err", err)
	d.refuse(w, r, id, code, err.Error())
}

// refuse renders the page saying an action was not carried out.
func (d *dashboard) refuse(w http.ResponseWriter, r *http.Request, id kp.CaseID, code int, why string) {
	p := refusedPage{page: d.page(r, d.tr(r, "Not done"), d.s.now()), Why: why}
	if id != 0 {
		p.Back = "/case/" + strconv.FormatUint(uint64(id), 10)
		p.BackTag = id.Tag(d.s.o.TagPrefix)
	}
	d.renderStatus(w, r, code, "refused", p)
}

// refusedPage is the data of the refused template.
type refusedPage struct {
	page
	Why     string
	Back    string
	BackTag string
}
