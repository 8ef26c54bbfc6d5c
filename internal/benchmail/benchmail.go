// Package benchmail generates realistic, varied mail for benchmarks: a
// deterministic stream (the same seed gives the same bytes) of
// conversations with the contact address.
//
// What the stream holds, roughly in these shares: new requests (a fifth),
// requesters' replies, staff replies to the contact address carrying
// subject tags ([assign:…], [close], [note]) and authenticated by the
// trusted border host, out-of-office auto-replies (Auto-Submitted), and
// bounces (multipart/report delivery status naming one of our own outbound
// mails). Replies quote their history in Outlook's shape ("Fra:/Sendt:",
// "SV:") or Gmail's ("Den … skrev …:", "> " lines); about half carry an
// HTML alternative; a few carry a small attachment. Text is drawn from a
// Norwegian and an English word list with a Zipf distribution, so it is
// neither one repeated sentence (which compresses far better than mail
// does) nor uniform noise. Norwegian letters appear in UTF-8 and in
// ISO-8859-1. The mean size is about 2.8 KB.
//
// Dates advance by random gaps within working hours on weekdays, from
// Options.Start; an archive import uses an old Start.
//
// The generator keeps a bounded set of open conversations, so a stream of
// a million messages uses constant memory.
package benchmail

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"math/rand/v2"
	"mime"
	"mime/quotedprintable"
	"strings"
	"time"

	"golang.org/x/text/encoding/charmap"

	"kontaktpunkt/config"
)

// The addresses the stream is written for. A gateway configuration that
// should see staff replies as staff commands uses these (see Config in
// the benchmark harness): Contact as the contact address, Staff as staff
// members, TeamMember in a team, AuthServID as the trusted authserv-id.
const (
	Contact    = "integrasjon@uio.no"
	ContactTag = "INT"
	TeamMember = "per@uio.no"
	AuthServID = "mx.uio.no"
	OurDomain  = "uio.no"
)

// Staff are the staff members who reply (name, address).
var Staff = [][2]string{{"Kari Integrasjon", "kari@uio.no"}, {"Ola Nordmann", "ola@uio.no"}}

// Options configure a stream.
type Options struct {
	// Seed makes the stream: the same Options give the same bytes.
	Seed uint64
	// Start is the Date of the first message; zero means
	// 2026-09-01 08:00 +0200.
	Start time.Time
	// Gap is the mean time between messages in working hours; zero
	// means 4 minutes.
	Gap time.Duration
	// Prefix makes Message-IDs unique across streams with the same seed
	// (e.g. a fill and the measured batch after it); empty means "b".
	Prefix string
}

// OldStart is a Start for an archive import: years before any clock the
// benchmarks run at.
var OldStart = time.Date(2021, 1, 4, 8, 0, 0, 0, time.FixedZone("", 3600))

// Generate returns the first n messages of the stream for seed.
func Generate(seed uint64, n int) [][]byte {
	g := New(Options{Seed: seed})
	out := make([][]byte, n)
	for i := range out {
		out[i] = g.Next()
	}
	return out
}

// Generator is a stream of messages; not safe for concurrent use.
type Generator struct {
	o     Options
	r     *rand.Rand
	zipNO *rand.Zipf
	zipEN *rand.Zipf
	now   time.Time
	n     uint64
	convs []*conv
}

// conv is an open conversation.
type conv struct {
	subject     string
	norwegian   bool
	outlook     bool   // Outlook-style quoting, else Gmail
	latin1      bool   // the requester's client writes ISO-8859-1
	html        bool   // the requester's client adds an HTML part
	name        string // requester
	addr        string
	lastID      string
	refs        []string // newest last, at most maxRefs
	lastFrom    string   // "Name <addr>" of the last message
	lastDate    time.Time
	lastText    string // the last message's text, quotes included, capped
	lastByStaff bool
	messages    int
}

const (
	maxConvs    = 2000
	maxRefs     = 8
	maxQuoted   = 700
	maxMessages = 10
)

// New starts a stream.
func New(o Options) *Generator {
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 9, 1, 8, 0, 0, 0, time.FixedZone("", 2*3600))
	}
	if o.Gap <= 0 {
		o.Gap = 4 * time.Minute
	}
	if o.Prefix == "" {
		o.Prefix = "b"
	}
	r := rand.New(rand.NewPCG(o.Seed, o.Seed^0x6b6f6e74616b74))
	return &Generator{
		o:     o,
		r:     r,
		zipNO: rand.NewZipf(r, 1.07, 3, uint64(len(wordsNO)-1)),
		zipEN: rand.NewZipf(r, 1.07, 3, uint64(len(wordsEN)-1)),
		now:   o.Start,
	}
}

// Next returns the next message of the stream, CRLF line endings.
func (g *Generator) Next() []byte {
	g.n++
	g.advance()
	p := g.r.Float64()
	var c *conv
	if len(g.convs) > 0 && p >= 0.22 {
		c = g.pick()
	}
	switch {
	case c == nil:
		return g.request()
	case p < 0.56:
		return g.reply(c)
	case p < 0.84 && c.lastByStaff:
		return g.reply(c) // staff answered last: the requester's turn
	case p < 0.84:
		return g.staffReply(c)
	case p < 0.93:
		return g.autoReply(c)
	default:
		return g.bounce(c)
	}
}

// advance moves the clock by an exponential gap, skipping nights and
// weekends.
func (g *Generator) advance() {
	g.now = g.now.Add(time.Duration(g.r.ExpFloat64() * float64(g.o.Gap)))
	for h := g.now.Hour(); h >= 17 || h < 7 || g.now.Weekday() == time.Saturday || g.now.Weekday() == time.Sunday; h = g.now.Hour() {
		next := time.Date(g.now.Year(), g.now.Month(), g.now.Day()+1, 7, g.r.IntN(60), g.r.IntN(60), 0, g.now.Location())
		if h < 7 {
			next = next.AddDate(0, 0, -1)
		}
		g.now = next
	}
}

// pick returns one of the recent conversations.
func (g *Generator) pick() *conv {
	window := min(len(g.convs), 300)
	return g.convs[len(g.convs)-1-g.r.IntN(window)]
}

func (g *Generator) drop(c *conv) {
	for i, x := range g.convs {
		if x == c {
			g.convs = append(g.convs[:i], g.convs[i+1:]...)
			return
		}
	}
}

func (g *Generator) oneOf(list []string) string { return list[g.r.IntN(len(list))] }

func (g *Generator) word(no bool) string {
	if no {
		return wordsNO[g.zipNO.Uint64()]
	}
	return wordsEN[g.zipEN.Uint64()]
}

// sentence makes 5 to 18 words, capitalised, ending in a full stop or a
// question mark.
func (g *Generator) sentence(no bool) string {
	n := 5 + g.r.IntN(14)
	var b strings.Builder
	for i := range n {
		w := g.word(no)
		if i == 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		} else {
			b.WriteByte(' ')
			if g.r.IntN(9) == 0 {
				b.WriteString(g.word(no))
				b.WriteString(", ")
			}
		}
		b.WriteString(w)
	}
	if g.r.IntN(5) == 0 {
		b.WriteByte('?')
	} else {
		b.WriteByte('.')
	}
	return b.String()
}

// body makes a greeting, 1-3 paragraphs and a signature.
func (g *Generator) body(no bool, to, signer, org string) string {
	var b strings.Builder
	first := strings.Fields(to)
	greet := "Hei"
	if !no {
		greet = g.oneOf([]string{"Hi", "Hello", "Dear"})
	}
	if len(first) > 0 && g.r.IntN(2) == 0 {
		greet += " " + first[0]
	}
	b.WriteString(greet + ",\n\n")
	for p := range 1 + g.r.IntN(3) {
		if p > 0 {
			b.WriteString("\n\n")
		}
		line := 0
		for s := range 1 + g.r.IntN(4) {
			sen := g.sentence(no)
			if s > 0 {
				if line+len(sen) > 72 {
					b.WriteByte('\n')
					line = 0
				} else {
					b.WriteByte(' ')
					line++
				}
			}
			// wrap long sentences as mail clients do
			for len(sen) > 76-line {
				cut := strings.LastIndexByte(sen[:76-line], ' ')
				if cut <= 0 {
					break
				}
				b.WriteString(sen[:cut] + "\n")
				sen, line = sen[cut+1:], 0
			}
			b.WriteString(sen)
			line += len(sen)
		}
	}
	if no {
		b.WriteString("\n\n" + g.oneOf([]string{"Med vennlig hilsen", "Vennlig hilsen", "Mvh", "Hilsen"}) + "\n")
	} else {
		b.WriteString("\n\n" + g.oneOf([]string{"Best regards", "Kind regards", "Regards", "Thanks"}) + ",\n")
	}
	b.WriteString(signer + "\n")
	if org != "" {
		b.WriteString(org + "\n")
	}
	return b.String()
}

func (g *Generator) person() (name, addr string) {
	f, l := g.oneOf(firstNames), g.oneOf(lastNames)
	name = f + " " + l
	local := strings.ToLower(f + "." + l)
	local = strings.NewReplacer("æ", "ae", "ø", "o", "å", "a", "ü", "u").Replace(local)
	// the number keeps requesters apart, as real address books are
	addr = fmt.Sprintf("%s%d@%s", local, g.r.IntN(500), g.oneOf(domains))
	return name, addr
}

func (g *Generator) msgID(outlook bool) string {
	if outlook {
		return fmt.Sprintf("%s%08X%04X@AM0PR%02dMB%04d.eurprd%02d.prod.outlook.com", strings.ToUpper(g.o.Prefix), g.n, g.r.Uint32()&0xffff, g.r.IntN(10), g.r.IntN(10000), g.r.IntN(10))
	}
	var raw [18]byte
	for i := range raw {
		raw[i] = byte(g.r.Uint32())
	}
	return fmt.Sprintf("CA+%s%x%s@mail.gmail.com", g.o.Prefix, g.n, base64.RawURLEncoding.EncodeToString(raw[:]))
}

func (g *Generator) org(no bool) string {
	if g.r.IntN(3) == 0 {
		return ""
	}
	if no {
		return g.oneOf([]string{"Institutt for informatikk", "Studieavdelingen", "Seksjon for IT", "Økonomiavdelingen", "Fakultet for samfunnsvitenskap"})
	}
	return g.oneOf([]string{"Department of Informatics", "Student Administration", "IT Section", "Research Office"})
}

// request opens a conversation.
func (g *Generator) request() []byte {
	c := &conv{norwegian: g.r.IntN(10) < 7, outlook: g.r.IntN(2) == 0}
	c.latin1 = c.outlook && g.r.IntN(3) == 0
	c.html = g.r.IntN(5) < 2
	c.name, c.addr = g.person()
	topics := topicsEN
	if c.norwegian {
		topics = topicsNO
	}
	c.subject = g.oneOf(topics)
	if g.r.IntN(2) == 0 {
		c.subject += " " + g.word(c.norwegian)
	}
	text := g.body(c.norwegian, "", c.name, g.org(c.norwegian))
	id := g.msgID(c.outlook)
	m := g.human(c, c.name, c.addr, Contact, c.subject, id, text, nil)
	c.lastText, c.lastFrom = text, fmtAddr(c.name, c.addr)
	c.lastID, c.lastDate, c.refs, c.messages = id, g.now, []string{id}, 1
	g.convs = append(g.convs, c)
	if len(g.convs) > maxConvs {
		g.convs = g.convs[1:]
	}
	return m
}

// reply is the requester writing again, quoting the last message.
func (g *Generator) reply(c *conv) []byte {
	own := g.body(c.norwegian, "", c.name, "")
	text := own + g.quote(c)
	id := g.msgID(c.outlook)
	m := g.human(c, c.name, c.addr, Contact, g.replySubject(c, c.outlook), id, text, c.refs)
	g.advanceConv(c, id, fmtAddr(c.name, c.addr), text)
	c.lastByStaff = false
	return m
}

// staffReply is a staff member answering through the contact address,
// sometimes with command tags.
func (g *Generator) staffReply(c *conv) []byte {
	s := Staff[g.r.IntN(len(Staff))]
	subject := "SV: " + strings.TrimPrefix(c.subject, "SV: ")
	closed := false
	switch t := g.r.IntN(20); {
	case t < 4:
		subject += " [assign:" + strings.Split(TeamMember, "@")[0] + "]"
	case t < 6:
		subject, closed = subject+" [close]", true
	case t < 8:
		subject = "[note] " + subject
	case t < 9:
		subject += " [prio:high]"
	}
	// staff write with Outlook, in the requester's language
	sc := *c
	sc.latin1, sc.html, sc.outlook = false, g.r.IntN(2) == 0, true
	own := g.body(c.norwegian, c.name, s[0], g.oneOf([]string{"Integrasjonskontakten, USIT", "USIT"}))
	text := own + g.quote(&sc)
	id := g.msgID(true)
	m := g.human(&sc, s[0], s[1], Contact, subject, id, text, c.refs)
	g.advanceConv(c, id, fmtAddr(s[0], s[1]), text)
	c.lastByStaff = true
	if closed {
		g.drop(c)
	}
	return m
}

func (g *Generator) advanceConv(c *conv, id, from, text string) {
	c.refs = append(c.refs, id)
	if len(c.refs) > maxRefs {
		c.refs = append(c.refs[:1], c.refs[len(c.refs)-maxRefs+1:]...)
	}
	if len(text) > maxQuoted {
		cut := strings.LastIndexByte(text[:maxQuoted], '\n')
		if cut < 0 {
			cut = maxQuoted
		}
		text = text[:cut] + "\n"
	}
	c.lastID, c.lastFrom, c.lastText, c.lastDate = id, from, text, g.now
	c.messages++
	if c.messages >= maxMessages {
		g.drop(c)
	}
}

func (g *Generator) replySubject(c *conv, outlook bool) string {
	s := strings.TrimPrefix(c.subject, "SV: ")
	switch {
	case outlook && c.norwegian:
		return "SV: " + s
	case c.norwegian && g.r.IntN(2) == 0:
		return "Sv: " + s
	default:
		return "Re: " + s
	}
}

var weekdaysNO = []string{"søn.", "man.", "tir.", "ons.", "tor.", "fre.", "lør."}
var monthsNO = []string{"jan.", "feb.", "mar.", "apr.", "mai", "jun.", "jul.", "aug.", "sep.", "okt.", "nov.", "des."}

// quote renders the last message as the client of c quotes it.
func (g *Generator) quote(c *conv) string {
	var b strings.Builder
	d := c.lastDate
	if c.outlook {
		b.WriteString("\n________________________________\n")
		if c.norwegian {
			fmt.Fprintf(&b, "Fra: %s\nSendt: %s %d. %s %d %02d:%02d\nTil: %s\nEmne: %s\n\n",
				c.lastFrom, strings.TrimSuffix(weekdaysNO[d.Weekday()], "."), d.Day(), strings.TrimSuffix(monthsNO[d.Month()-1], "."), d.Year(), d.Hour(), d.Minute(), Contact, c.subject)
		} else {
			fmt.Fprintf(&b, "From: %s\nSent: %s\nTo: %s\nSubject: %s\n\n", c.lastFrom, d.Format("Monday, January 2, 2006 15:04"), Contact, c.subject)
		}
		b.WriteString(c.lastText)
		return b.String()
	}
	if c.norwegian {
		fmt.Fprintf(&b, "\nDen %s %d. %s %d kl. %02d:%02d skrev %s:\n", weekdaysNO[d.Weekday()], d.Day(), monthsNO[d.Month()-1], d.Year(), d.Hour(), d.Minute(), c.lastFrom)
	} else {
		fmt.Fprintf(&b, "\nOn %s at %s, %s wrote:\n", d.Format("Mon, 2 Jan 2006"), d.Format("15:04"), c.lastFrom)
	}
	for _, l := range strings.Split(strings.TrimRight(c.lastText, "\n"), "\n") {
		if l == "" || strings.HasPrefix(l, ">") {
			b.WriteString(">" + l + "\n")
		} else {
			b.WriteString("> " + l + "\n")
		}
	}
	return b.String()
}

// autoReply is the requester's out-of-office answer to our last mail.
func (g *Generator) autoReply(c *conv) []byte {
	var subject, text string
	if c.norwegian {
		subject = "Automatisk svar: " + c.subject
		text = g.oneOf(oooNO) + "\n\n" + g.sentence(true) + "\n\n" + c.name + "\n"
	} else {
		subject = "Automatic reply: " + c.subject
		text = g.oneOf(oooEN) + "\n\n" + g.sentence(false) + "\n\n" + c.name + "\n"
	}
	id := g.msgID(c.outlook)
	var h header
	g.hops(&h, c.addr)
	h.add("From", encAddr(c.name, c.addr, c.latin1))
	h.add("To", Contact)
	h.add("Subject", encWord(subject, c.latin1))
	h.add("Date", g.now.Format(time.RFC1123Z))
	h.add("Message-ID", "<"+id+">")
	h.add("In-Reply-To", "<"+c.lastID+">")
	h.add("Auto-Submitted", "auto-replied")
	h.add("X-Auto-Response-Suppress", "All")
	h.add("MIME-Version", "1.0")
	return h.finish(textPart(text, c.latin1, false))
}

// bounce is a delivery status notification for one of our mails to the
// requester (an outbound the gateway sent in this conversation).
func (g *Generator) bounce(c *conv) []byte {
	host := "mx." + strings.SplitN(c.addr, "@", 2)[1]
	ours := fmt.Sprintf("%s%x@%s", g.o.Prefix, g.r.Uint64(), OurDomain)
	boundary := fmt.Sprintf("%x/%s", g.r.Uint64(), host)
	var h header
	h.add("Received", fmt.Sprintf("from %s (%s [192.0.2.%d]) by %s (Postfix) with ESMTPS id %X; %s", host, host, g.r.IntN(250)+1, AuthServID, g.r.Uint32(), g.now.Format(time.RFC1123Z)))
	h.add("From", "Mail Delivery System <MAILER-DAEMON@"+host+">")
	h.add("To", Contact)
	h.add("Subject", "Undelivered Mail Returned to Sender")
	h.add("Date", g.now.Format(time.RFC1123Z))
	h.add("Message-ID", fmt.Sprintf("<%s.%x@%s>", g.o.Prefix, g.n, host))
	h.add("Auto-Submitted", "auto-replied")
	h.add("MIME-Version", "1.0")
	var b strings.Builder
	b.WriteString(`Content-Type: multipart/report; report-type=delivery-status; boundary="` + boundary + "\"\n\n")
	b.WriteString("This is a MIME-encapsulated message.\n\n--" + boundary + "\n")
	b.WriteString("Content-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\n")
	fmt.Fprintf(&b, "This is the mail system at host %s.\n\nI'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n<%s>: host %s said: 550 5.1.1 <%s>:\n    Recipient address rejected: User unknown\n\n", host, c.addr, host, c.addr)
	b.WriteString("--" + boundary + "\nContent-Description: Delivery report\nContent-Type: message/delivery-status\n\n")
	fmt.Fprintf(&b, "Reporting-MTA: dns; %s\nArrival-Date: %s\n\nFinal-Recipient: rfc822; %s\nOriginal-Recipient: rfc822;%s\nAction: failed\nStatus: 5.1.1\nRemote-MTA: dns; %s\nDiagnostic-Code: smtp; 550 5.1.1 <%s>: Recipient address rejected: User unknown\n\n",
		host, g.now.Add(-time.Minute).Format(time.RFC1123Z), c.addr, c.addr, host, c.addr)
	b.WriteString("--" + boundary + "\nContent-Description: Undelivered Message Headers\nContent-Type: text/rfc822-headers\n\n")
	fmt.Fprintf(&b, "Received: from kontaktpunkt by %s; %s\nFrom: Integrasjonskontakten <%s>\nTo: %s\nSubject: [%s#%d] %s\nDate: %s\nMessage-ID: <%s>\nIn-Reply-To: <%s>\nReferences: <%s>\nAuto-Submitted: auto-replied\n\n",
		AuthServID, g.now.Add(-time.Minute).Format(time.RFC1123Z), Contact, c.addr, ContactTag, 1+g.r.IntN(9999), mime.QEncoding.Encode("utf-8", c.subject), g.now.Add(-time.Minute).Format(time.RFC1123Z), ours, c.lastID, c.lastID)
	b.WriteString("--" + boundary + "--\n")
	return h.finish(b.String())
}

// hops writes the trace and authentication headers every inbound mail
// has: the LMTP hop, the border host's verdict and its Received line.
func (g *Generator) hops(h *header, from string) {
	dom := strings.SplitN(from, "@", 2)[1]
	date := g.now.Add(2 * time.Second).Format(time.RFC1123Z)
	h.add("Received", fmt.Sprintf("from %s by imap.uio.no (Dovecot) with LMTP id %x; %s", AuthServID, g.r.Uint32(), date))
	h.add("Authentication-Results", fmt.Sprintf("%s; dkim=pass header.d=%s; spf=pass smtp.mailfrom=%s; dmarc=pass header.from=%s", AuthServID, dom, dom, dom))
	h.add("Received", fmt.Sprintf("from mail.%s (mail.%s [198.51.100.%d]) by %s (Postfix) with ESMTPS id %X; %s", dom, dom, g.r.IntN(250)+1, AuthServID, g.r.Uint64()&0xffffffffff, date))
	var sig [48]byte
	for i := range sig {
		sig[i] = byte(g.r.Uint32())
	}
	h.add("DKIM-Signature", fmt.Sprintf("v=1; a=rsa-sha256; c=relaxed/relaxed; d=%s; s=sel%d; h=from:to:subject:date:message-id; bh=%s; b=%s", dom, g.r.IntN(3), base64.StdEncoding.EncodeToString(sig[:32]), base64.StdEncoding.EncodeToString(sig[:])))
}

// human assembles a person's mail in c's client's shape.
func (g *Generator) human(c *conv, name, addr, to, subject, id, text string, refs []string) []byte {
	var h header
	g.hops(&h, addr)
	h.add("From", encAddr(name, addr, c.latin1))
	h.add("To", to)
	h.add("Subject", encWord(subject, c.latin1))
	h.add("Date", g.now.Format(time.RFC1123Z))
	h.add("Message-ID", "<"+id+">")
	if len(refs) > 0 {
		h.add("In-Reply-To", "<"+refs[len(refs)-1]+">")
		h.add("References", "<"+strings.Join(refs, ">\n <")+">")
	}
	if c.outlook {
		h.add("Thread-Topic", encWord(strings.TrimPrefix(c.subject, "SV: "), c.latin1))
		h.add("Content-Language", map[bool]string{true: "nb-NO", false: "en-US"}[c.norwegian])
	} else {
		h.add("X-Mailer", "Gmail")
	}
	h.add("MIME-Version", "1.0")
	qp := c.latin1 || g.r.IntN(2) == 0
	var body string
	if c.html {
		alt := fmt.Sprintf("000000000000%012x", g.r.Uint64()&0xffffffffffff)
		body = "--" + alt + "\n" + textPart(text, c.latin1, qp) + "\n--" + alt + "\n" + htmlPart(text, c.latin1) + "\n--" + alt + "--\n"
		body = "Content-Type: multipart/alternative; boundary=\"" + alt + "\"\n\n" + body
	} else {
		body = textPart(text, c.latin1, qp)
	}
	if g.r.IntN(25) == 0 {
		mixed := fmt.Sprintf("_mixed_%x_", g.r.Uint64())
		body = "Content-Type: multipart/mixed; boundary=\"" + mixed + "\"\n\n--" + mixed + "\n" + body + "\n--" + mixed + "\n" + g.attachment() + "\n--" + mixed + "--\n"
	}
	return h.finish(body)
}

// attachment is a small binary part (a few KB of a PDF-like file).
func (g *Generator) attachment() string {
	n := 1500 + g.r.IntN(6000)
	data := make([]byte, n)
	copy(data, "%PDF-1.4\n")
	for i := 9; i < n; i++ {
		data[i] = byte(g.r.Uint32())
	}
	name := g.oneOf([]string{"skjema.pdf", "rapport.pdf", "uttrekk.csv", "skjermbilde.png", "avtale.pdf", "logg.txt"})
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	fmt.Fprintf(&b, "Content-Type: application/octet-stream; name=\"%s\"\nContent-Disposition: attachment; filename=\"%s\"\nContent-Transfer-Encoding: base64\n\n", name, name)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\n")
	return b.String()
}

// textPart is a text/plain part (header and body) of text.
func textPart(text string, latin1, qp bool) string {
	cs := "utf-8"
	if latin1 {
		cs = "iso-8859-1"
		text = toLatin1(text)
	}
	if !qp {
		return "Content-Type: text/plain; charset=\"" + cs + "\"\nContent-Transfer-Encoding: 8bit\n\n" + text
	}
	return "Content-Type: text/plain; charset=\"" + cs + "\"\nContent-Transfer-Encoding: quoted-printable\n\n" + qpEncode(text)
}

// htmlPart renders text as a mail client's HTML: paragraphs, quoted
// lines in a blockquote.
func htmlPart(text string, latin1 bool) string {
	var b strings.Builder
	b.WriteString("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"></head><body><div dir=\"ltr\">")
	inQuote := false
	for _, para := range strings.Split(text, "\n\n") {
		q := strings.HasPrefix(para, ">")
		if q != inQuote {
			if q {
				b.WriteString("<blockquote class=\"gmail_quote\" style=\"margin:0 0 0 .8ex;border-left:1px #ccc solid;padding-left:1ex\">")
			} else {
				b.WriteString("</blockquote>")
			}
			inQuote = q
		}
		b.WriteString("<p class=\"MsoNormal\">")
		for i, l := range strings.Split(para, "\n") {
			if i > 0 {
				b.WriteString("<br>\n")
			}
			b.WriteString(html.EscapeString(strings.TrimLeft(l, "> ")))
		}
		b.WriteString("</p>\n")
	}
	if inQuote {
		b.WriteString("</blockquote>")
	}
	b.WriteString("</div></body></html>\n")
	s := b.String()
	cs := "utf-8"
	if latin1 {
		cs = "iso-8859-1"
		s = toLatin1(strings.Replace(s, "charset=utf-8", "charset=iso-8859-1", 1))
	}
	return "Content-Type: text/html; charset=\"" + cs + "\"\nContent-Transfer-Encoding: quoted-printable\n\n" + qpEncode(s)
}

func qpEncode(s string) string {
	var buf bytes.Buffer
	w := quotedprintable.NewWriter(&buf)
	w.Write([]byte(s))
	w.Close()
	return strings.ReplaceAll(buf.String(), "\r\n", "\n")
}

func toLatin1(s string) string {
	out, err := charmap.ISO8859_1.NewEncoder().String(s)
	if err != nil {
		return s // every word list entry is Latin-1; keep UTF-8 if not
	}
	return out
}

// encWord encodes a header value when it is not ASCII.
func encWord(s string, latin1 bool) string {
	if isASCII(s) {
		return s
	}
	if latin1 {
		return mime.QEncoding.Encode("iso-8859-1", toLatin1(s))
	}
	return mime.QEncoding.Encode("utf-8", s)
}

func encAddr(name, addr string, latin1 bool) string {
	if isASCII(name) {
		return `"` + name + `" <` + addr + ">"
	}
	return encWord(name, latin1) + " <" + addr + ">"
}

func fmtAddr(name, addr string) string { return name + " <" + addr + ">" }

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// header collects header fields in order.
type header struct{ b strings.Builder }

func (h *header) add(name, value string) {
	if value == "" {
		return
	}
	h.b.WriteString(name + ": " + value + "\n")
}

// finish appends the body (which for a single part starts with its
// Content-Type lines) and turns every line ending into CRLF.
func (h *header) finish(partAndBody string) []byte {
	s := h.b.String() + partAndBody
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}

// Config returns a gateway configuration that knows the stream's contact
// address, staff, team and trusted border host.
func Config() *config.Config {
	cfg := config.Default()
	cfg.Contact.Address = Contact
	cfg.Contact.Name = "Integrasjonskontakten"
	for _, s := range Staff {
		cfg.Staff.Members = append(cfg.Staff.Members, config.Person{Name: s[0], Address: s[1]})
	}
	cfg.Staff.Lead = Staff[0][1]
	cfg.Staff.TrustedAuthservIDs = []string{AuthServID}
	cfg.Teams = []config.Team{{Name: "fs", Members: []string{TeamMember}}}
	return cfg
}
