package routing

import (
	"strings"
	"unicode"

	kp "kontaktpunkt"
)

// Quoted is a message text split into what its writer wrote and the
// history their mail program quoted with it.
type Quoted struct {
	// Own is the writer's new text with their signature, without quoted
	// lines; "" when nothing new remains.
	Own string
	// Quoted is what was taken away, in order: `>` blocks with their
	// attribution lines, then everything from the first reply header
	// block, separator or line of our own mail on.
	Quoted string
	// QuotedLines counts the lines of Quoted.
	QuotedLines int
	// Signature reports that Own ends in a signature ("-- ", "Med vennlig
	// hilsen" and a name, "Sent from my iPhone"), kept as written.
	Signature bool
	// NothingNew reports that the text was not empty but its writer added
	// nothing of their own: only quoted history, perhaps a signature.
	NothingNew bool
}

// QuoteTrimmer splits reply texts into own text and quoted history. Besides
// what mail programs write, it recognises the lines of our own outbound
// mail, so a reply that quotes one of our mails without any marker is cut
// where our text begins. A QuoteTrimmer is safe for concurrent use.
type QuoteTrimmer struct {
	// anchored are our lines that begin with text, keyed by their first
	// ownKeyLen bytes; floating are those that begin with a value.
	anchored map[string][]ownLine
	floating []ownLine
}

// ownLine is one line of our own mail: literal pieces in order, with a
// filled-in value between each two.
type ownLine struct {
	frags      []string
	start, end bool // the line begins / ends with frags[0] / frags[len-1]
}

const ownKeyLen = 4

// NewQuoteTrimmer returns a trimmer that also cuts at the lines of our own
// mail. Each line is given as its literal pieces in order, a value being
// filled in between each two; an empty first or last piece says the line
// begins or ends with a value: {"", " skrev i sak ", ":"} is "{{.Author}}
// skrev i sak {{.Tag}}:". Lines with too little fixed text to be told from
// what a person writes ("Emne: {{.Subject}}", "Vennlig hilsen") are ignored.
func NewQuoteTrimmer(lines [][]string) *QuoteTrimmer {
	t := &QuoteTrimmer{anchored: map[string][]ownLine{}}
	for _, pieces := range lines {
		var ol ownLine
		total, longest := 0, 0
		for i, p := range pieces {
			if i == 0 || i == len(pieces)-1 {
				p = strings.TrimSpace(p)
			}
			if p == "" {
				continue
			}
			ol.frags = append(ol.frags, p)
			total += len(p)
			longest = max(longest, len(p))
		}
		ol.start = strings.TrimSpace(pieces[0]) != ""
		ol.end = strings.TrimSpace(pieces[len(pieces)-1]) != ""
		least := 12
		if ol.start && ol.end && len(ol.frags) >= 3 {
			least = 10 // "Ny sak {{.Tag}} fra {{.Requester}}." is held at both ends
		}
		if total < least || longest < 6 || isClosing(strings.Join(ol.frags, "")) {
			// Too little to tell from what a person writes, or a closing
			// ("Vennlig hilsen") that people write too.
			continue
		}
		if !ol.start && !ol.end && total < 24 {
			continue // "{{.}}Assigned to: {{.}}" floats too freely
		}
		if ol.start && len(ol.frags[0]) >= ownKeyLen {
			k := ol.frags[0][:ownKeyLen]
			t.anchored[k] = append(t.anchored[k], ol)
		} else {
			t.floating = append(t.floating, ol)
		}
	}
	return t
}

var plainTrimmer = &QuoteTrimmer{}

// FoldsQuotes reports whether m's text is passed on and shown as its
// writer's own text, the quoted part folded away: a person's inbound mail
// other than the request that opened its case (that one may rightly be a
// forward, or quote what it asks about, and is passed on whole).
func FoldsQuotes(m *kp.Message) bool {
	return m.Direction == kp.In && m.Kind != "request" && !m.Class.Machine()
}

// SplitQuoted splits text into the writer's own new text and the quoted
// history, by what mail programs write alone (see QuoteTrimmer.Split).
func SplitQuoted(text string) Quoted { return plainTrimmer.Split(text) }

// span is one line of a text: text[start:end], without its line ending.
type span struct{ start, end int }

// Split separates the writer's new text from quoted history. It cuts, and
// counts everything after as quoted, at
//   - a reply header block as Outlook writes it in Norwegian, Swedish,
//     Danish, German, English and a few more ("Fra: … Sendt: … Til: …",
//     bold "*From:*" from HTML conversion, a line of underscores before),
//   - a separator ("-----Opprinnelig melding-----", "-----Original
//     Message-----", "-----Ursprüngliche Nachricht-----" …),
//   - an attribution with a date or an address ("On … wrote:", "Den …
//     skrev …:", "Am … schrieb …:", "Le … a écrit :", also wrapped over two
//     lines) not followed by `>` lines (HTML quotes lose their marks),
//   - a line of our own mail.
//
// Before the cut, runs of `>` lines and the attribution introducing them
// are taken away, and the writer's lines around them kept: a bottom-posted
// or interleaved answer keeps every line the writer typed, but none they
// quoted. A signature after the new text is kept; one with nothing before
// it is not new text. A forwarded message ("---------- Forwarded message
// ----------") is content, not history, and is kept.
func (t *QuoteTrimmer) Split(text string) Quoted {
	lines := splitLines(text)
	n := len(lines)
	var quoted []bool // allocated at the first `>` line
	cut := n
	forwarded := false
	line := func(i int) string { return strings.TrimSpace(text[lines[i].start:lines[i].end]) }
	nextNonBlank := func(i int) int {
		for i < n && line(i) == "" {
			i++
		}
		return i
	}
	markQuoted := func(i int) {
		if quoted == nil {
			quoted = make([]bool, n)
		}
		quoted[i] = true
	}
	for i := 0; i < n; i++ {
		l := line(i)
		if l == "" {
			continue
		}
		if forwarded {
			// A forward's own quotes and header blocks are part of what
			// was forwarded; only our own mail is still cut.
			if t.isOwnLine(l) {
				cut = i
				break
			}
			continue
		}
		if l[0] == '>' {
			markQuoted(i)
			continue
		}
		if isSeparator(l) || t.isOwnLine(l) {
			cut = i
			break
		}
		if isForwardSeparator(l) {
			forwarded = true
			continue
		}
		if ok, fwd := isHeaderBlock(line, i, n); fwd {
			forwarded = true
			continue
		} else if ok {
			cut = i
			if p := prevNonBlank(line, i); p >= 0 && isUnderscores(line(p)) {
				cut = p
			}
			break
		}
		if span, strong := attribution(line, i, n); span > 0 {
			if nx := nextNonBlank(i + span); nx < n && line(nx)[0] == '>' {
				for k := i; k < i+span; k++ {
					markQuoted(k)
				}
				i += span - 1
				continue
			}
			if strong {
				cut = i
				break
			}
		}
	}

	var q Quoted
	// Own lines, blank runs left by removed quotes folded to one.
	own := make([]string, 0, min(cut, 64))
	for i := 0; i < cut; i++ {
		if quoted != nil && quoted[i] {
			continue
		}
		raw := text[lines[i].start:lines[i].end]
		s := strings.TrimRightFunc(raw, unicode.IsSpace)
		if strings.TrimSpace(s) == "" {
			if len(own) == 0 || own[len(own)-1] == "" {
				continue
			}
			s = ""
		} else if s == "--" && strings.HasPrefix(raw, "-- ") {
			s = "-- " // the signature delimiter, as written
		}
		own = append(own, s)
	}
	for len(own) > 0 && own[len(own)-1] == "" {
		own = own[:len(own)-1]
	}
	sig := signatureStart(own)
	body := own
	if sig >= 0 {
		body = own[:sig]
	}
	if hasText(body) {
		q.Own = strings.Join(own, "\n")
		q.Signature = sig >= 0
	}

	// The quoted part: lines taken away before the cut, then the rest.
	var b strings.Builder
	if quoted != nil {
		size := len(text) - lines[min(cut, n-1)].start
		for i := 0; i < cut; i++ {
			if quoted[i] {
				size += lines[i].end - lines[i].start + 1
			}
		}
		b.Grow(size)
		for i := 0; i < cut; i++ {
			if quoted[i] {
				b.WriteString(text[lines[i].start:lines[i].end])
				b.WriteByte('\n')
				q.QuotedLines++
			}
		}
	}
	if cut < n {
		tail := strings.TrimRight(text[lines[cut].start:], " \t\r\n")
		if b.Len() == 0 {
			q.Quoted = tail
		} else {
			b.WriteString(tail)
			q.Quoted = b.String()
		}
		if tail != "" {
			q.QuotedLines += strings.Count(tail, "\n") + 1
		}
	} else {
		q.Quoted = strings.TrimRight(b.String(), "\n")
	}
	q.NothingNew = q.Own == "" && strings.TrimSpace(text) != ""
	return q
}

// splitLines returns the lines of text; a "\r" before "\n" is not part of
// a line.
func splitLines(text string) []span {
	lines := make([]span, 0, strings.Count(text, "\n")+1)
	for start := 0; start <= len(text); {
		end := strings.IndexByte(text[start:], '\n')
		if end < 0 {
			if start < len(text) {
				lines = append(lines, span{start, len(text)})
			}
			break
		}
		e := start + end
		if e > start && text[e-1] == '\r' {
			e--
		}
		lines = append(lines, span{start, e})
		start += end + 1
	}
	return lines
}

func prevNonBlank(line func(int) string, i int) int {
	for i--; i >= 0; i-- {
		if line(i) != "" {
			return i
		}
	}
	return -1
}

func hasText(lines []string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			return true
		}
	}
	return false
}

// separators are the words of the lines mail programs put above a quoted
// message, without the dashes around them.
var separators = []string{
	"original message", "opprinnelig melding", "opprinneleg melding", "ursprüngliche nachricht",
	"ursprungligt meddelande", "ursprungligt meddelande", "oprindelig meddelelse", "alkuperäinen viesti",
	"message d'origine", "mensaje original", "oorspronkelijk bericht", "messaggio originale",
	"mensagem original", "originalnachricht", "original meddelelse",
}

// isSeparator reports a line such as "-----Opprinnelig melding-----" or
// "-------- Original message --------".
func isSeparator(l string) bool {
	if len(l) < 12 || len(l) > 80 || !strings.HasPrefix(l, "--") {
		return false
	}
	w := strings.Trim(l, "-_= \t")
	for _, s := range separators {
		if len(w) == len(s) && strings.EqualFold(w, s) {
			return true
		}
	}
	return false
}

func isUnderscores(l string) bool {
	return len(l) >= 10 && strings.Trim(l, "_") == ""
}

// Labels of a reply header block: who from, when, and to whom or about
// what, in the languages Outlook writes them in here and nearby.
var (
	fromLabels = []string{"fra", "frå", "from", "von", "från", "fran", "van", "de", "lähettäjä", "od", "da"}
	dateLabels = []string{"sendt", "sent", "gesendet", "skickat", "dato", "date", "datum", "envoyé",
		"verzonden", "lähetetty", "enviado", "inviato", "data", "sendt dato"}
	restLabels = []string{"til", "to", "an", "till", "emne", "subject", "betreff", "ämne", "objet",
		"onderwerp", "aan", "aihe", "vastaanottaja", "asunto", "para", "à", "a", "oggetto", "cc", "kopi",
		"kopia", "emneord"}
)

// headerLabel returns the label of a line "Label: value" ("*Fra:* Ola"),
// or "" when the line does not look like one.
func headerLabel(l string) string {
	l = strings.TrimLeft(l, "* ")
	i := strings.IndexByte(l, ':')
	if i <= 0 || i > 24 {
		return ""
	}
	return strings.TrimRight(l[:i], "* ")
}

func labelIn(label string, set []string) bool {
	for _, s := range set {
		if len(label) == len(s) && strings.EqualFold(label, s) {
			return true
		}
	}
	return false
}

// isHeaderBlock reports whether line i begins a reply header block: a
// "From:" line followed within a few lines by a date line and a to or
// subject line. A "From:" in prose, without the rest, is not one.
//
// forward is set when the block's subject is that of a forward ("Emne: VS:
// …", "Subject: FW: …"): what follows is content the writer passes on.
func isHeaderBlock(line func(int) string, i, n int) (ok, forward bool) {
	l := line(i)
	if len(l) < 6 || !labelIn(headerLabel(l), fromLabels) {
		return false, false
	}
	date, rest := false, false
	for k, seen := i+1, 0; k < n && seen < 8; k++ {
		lk := line(k)
		if lk == "" {
			continue
		}
		seen++
		switch label := headerLabel(lk); {
		case label == "":
		case labelIn(label, dateLabels):
			date = true
		case labelIn(label, restLabels):
			rest = true
			if labelIn(label, subjectLabels) {
				v := strings.TrimLeft(lk[strings.IndexByte(lk, ':')+1:], "* ")
				forward = hasPrefixFold(v, quotedForwardPrefixes)
			}
		}
	}
	return date && rest, date && rest && forward
}

var (
	subjectLabels         = []string{"emne", "subject", "betreff", "ämne", "objet", "onderwerp", "aihe", "asunto", "oggetto"}
	quotedForwardPrefixes = []string{"fw:", "fwd:", "vs:", "wg:", "vb:", "tr:", "vl:", "rv:"}
)

// forwardSeparators are the words of the lines mail programs put above a
// forwarded message.
var forwardSeparators = []string{
	"forwarded message", "videresendt melding", "videresendt e-post", "weitergeleitete nachricht",
	"vidarebefordrat meddelande", "videresendt meddelelse", "message transféré", "mensaje reenviado",
	"doorgestuurd bericht", "välitetty viesti", "begin forwarded message:", "start på videresendt melding:",
	"beginn der weitergeleiteten nachricht:",
}

// isForwardSeparator reports a line such as "---------- Forwarded message
// ---------", "----- Forwarded message from Per <per@example.org> -----"
// or "Begin forwarded message:".
func isForwardSeparator(l string) bool {
	if len(l) > 120 {
		return false
	}
	w := strings.ToLower(strings.Trim(l, "-_= \t"))
	if i := strings.Index(w, " from "); i > 0 && strings.HasPrefix(l, "--") {
		w = w[:i] // mutt: "----- Forwarded message from Per -----"
	}
	for _, s := range forwardSeparators {
		if w == s {
			return true
		}
	}
	return false
}

// attributionVerbs are the verbs of attribution lines ("On …, Ola wrote:").
var attributionVerbs = []string{
	"wrote", "writes", "skrev", "skreiv", "schrieb", "a écrit", "escribió", "escribio", "schreef",
	"kirjoitti", "scrisse", "escreveu", "napisał", "pisze",
}

// leadWords begin attribution lines that mail programs wrap.
var leadWords = []string{"on ", "den ", "am ", "le ", "el ", "op ", "em ", "il ", "w dniu ", "på "}

// attribution reports whether line i (alone, or joined with the next line
// when a mail program wrapped it) introduces a quoted message; span is
// the number of lines it takes. It is strong when it carries a time of day
// or an address, as attributions do and prose rarely does.
func attribution(line func(int) string, i, n int) (span int, strong bool) {
	l := line(i)
	if ok, s := isAttribution(l); ok {
		return 1, s
	}
	if strings.HasSuffix(l, ":") || i+1 >= n || len(l) > 300 {
		return 0, false
	}
	next := line(i + 1)
	if next == "" || !strings.HasSuffix(next, ":") || len(next) > 200 || next[0] == '>' {
		return 0, false
	}
	if !hasPrefixFold(l, leadWords) && !strings.ContainsAny(l, "@<") {
		return 0, false
	}
	if ok, s := isAttribution(l + " " + next); ok && s {
		return 2, true
	}
	return 0, false
}

// isAttribution reports whether l is an attribution line: it ends in a
// colon and has one of the verbs as a word.
func isAttribution(l string) (ok, strong bool) {
	if len(l) < 8 || len(l) > 400 || l[len(l)-1] != ':' {
		return false, false
	}
	ll := strings.ToLower(l)
	found := false
	for _, v := range attributionVerbs {
		for from := 0; ; {
			j := strings.Index(ll[from:], v)
			if j < 0 {
				break
			}
			j += from
			e := j + len(v)
			if (j == 0 || ll[j-1] == ' ') && (e == len(ll) || ll[e] == ' ' || ll[e] == ':' || ll[e] == ',') {
				found = true
				break
			}
			from = j + 1
		}
		if found {
			break
		}
	}
	if !found {
		return false, false
	}
	return true, strings.ContainsRune(l, '@') || hasClockTime(l) || strings.Contains(ll, "klo ")
}

// hasClockTime reports a time of day such as "10:15" in l.
func hasClockTime(l string) bool {
	for i := 1; i+2 < len(l); i++ {
		if l[i] == ':' && isDigit(l[i-1]) && isDigit(l[i+1]) && isDigit(l[i+2]) && (i+3 == len(l) || !isDigit(l[i+3])) {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// closings begin the signature block of a person who does not write
// "-- ": a closing greeting and a name, or a mobile mail program's line.
var closings = []string{
	"med vennlig hilsen", "vennlig hilsen", "vennleg helsing", "med vennleg helsing", "beste hilsen",
	"mvh", "hilsen", "helsing", "med venlig hilsen", "venlig hilsen", "venlige hilsner", "med vänlig hälsning",
	"med vänliga hälsningar", "vänliga hälsningar", "vänlig hälsning", "hälsningar", "mvh.",
	"mit freundlichen grüßen", "mit freundlichen grüssen", "freundliche grüße", "viele grüße",
	"beste grüße", "best regards", "kind regards", "regards", "best wishes", "warm regards",
	"yours sincerely", "sincerely", "cordialement", "saludos", "met vriendelijke groet",
	"ystävällisin terveisin",
}

// deviceLines are what mobile mail programs put under the text.
var deviceLines = []string{
	"sent from my ", "sendt fra min ", "sendt fra ", "skickat från min ", "gesendet von meinem ",
	"von meinem ", "get outlook for ", "hent outlook for ", "envoyé de mon ",
}

// signatureStart returns the index of the line where the signature of
// own begins, or -1: the first "-- " line, else a closing greeting (alone
// or with a short name) followed by at most a few short lines.
func signatureStart(own []string) int {
	for i, l := range own {
		if l == "-- " || l == "--" {
			return i
		}
	}
	for i := len(own) - 1; i >= 0 && i >= len(own)-10; i-- {
		l := strings.TrimSpace(own[i])
		if len(l) > 60 {
			return -1 // a long line is text, not a signature
		}
		if isClosing(l) {
			return i
		}
	}
	return -1
}

func isClosing(l string) bool {
	if l == "" {
		return false
	}
	ll := strings.ToLower(strings.TrimRight(l, ",.!- "))
	if hasPrefixFold(ll, deviceLines) {
		return true
	}
	for _, c := range closings {
		if ll == c {
			return true
		}
		if strings.HasPrefix(ll, c+" ") || strings.HasPrefix(ll, c+",") {
			// "Mvh Kari Nordmann", "Hilsen Per": a closing and a name.
			if rest := strings.Fields(ll[len(c)+1:]); len(rest) <= 3 {
				return true
			}
		}
	}
	return false
}

// isOwnLine reports whether l is a line of our own outbound mail.
func (t *QuoteTrimmer) isOwnLine(l string) bool {
	if len(l) >= ownKeyLen {
		for _, ol := range t.anchored[l[:ownKeyLen]] {
			if ol.match(l) {
				return true
			}
		}
	}
	for _, ol := range t.floating {
		if ol.match(l) {
			return true
		}
	}
	return false
}

func (ol ownLine) match(l string) bool {
	f := ol.frags
	if ol.start {
		if !strings.HasPrefix(l, f[0]) {
			// A mail program that quotes may wrap a long line: its first
			// part alone is ours too.
			return len(l) >= 24 && strings.HasPrefix(f[0], l)
		}
		if len(f[0]) >= 24 {
			return true
		}
		l, f = l[len(f[0]):], f[1:]
		if len(f) == 0 {
			return !ol.end || l == ""
		}
	}
	if ol.end {
		last := f[len(f)-1]
		if !strings.HasSuffix(l, last) {
			return false
		}
		l, f = l[:len(l)-len(last)], f[:len(f)-1]
	}
	for _, p := range f {
		j := strings.Index(l, p)
		if j < 0 {
			return false
		}
		l = l[j+len(p):]
	}
	return true
}
