package store

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	kp "kontaktpunkt"
)

// mailGen produces realistic inbound mail of about 3 KB: the header block
// of a message that crossed Exchange Online (Received, ARC, DKIM,
// Authentication-Results, Thread-Index), and a multipart/alternative body
// with Norwegian text in quoted-printable plain and HTML parts. Signatures
// and ids are random, so they compress as badly as the real ones.
type mailGen struct {
	rnd *rand.Rand
	n   int
}

func newMailGen(seed uint64) *mailGen {
	return &mailGen{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

var genWords = strings.Fields(`integrasjon feiler siden i går og vi får ikke oppdatert studentdata fra FS til
Canvas hei jeg lurer på om dere kan hjelpe meg med tilgang til API et for emner og vurderinger vi har
fått en feilmelding når vi kaller tjenesten den returnerer 500 etter noen minutter med tusen takk
for svaret mvh hilsen kan du sjekke loggene på serveren det gjelder produksjon ikke test miljøet
brukeren mangler rettigheter i systemet vennligst se vedlagt skjermbilde for detaljer når
det gjelder synkronisering av personer og grupper mellom katalogtjenesten og LMS hvordan
kan vi bestille en ny klient med tilgang til skopet fs api les og skriv dette haster litt
fordi semesteret starter på mandag og alle emnene må være på plass før da beklager sen respons
ser ut som jobben stoppet klokka tre i natt vi har startet den på nytt men problemet er der
fortsatt ønsker å melde inn et behov for en ny integrasjon mot økonomisystemet ansatte
timeplan rom booking eksamen karakterer godkjenning innlogging feide sertifikat utløpt`)

var genNames = []string{"Kari Nordmann", "Ola Hansen", "Åse Bjørnstad", "Per Øverli", "Ingrid Solberg",
	"Jonas Lie", "Sigrid Undset", "Håkon Dahl", "Marte Kirkerud", "Trond Ås"}

func (g *mailGen) words(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			if i%12 == 0 {
				b.WriteString(". ")
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteString(genWords[g.rnd.IntN(len(genWords))])
	}
	b.WriteByte('.')
	return b.String()
}

func (g *mailGen) b64(n int) string {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(g.rnd.Uint32())
	}
	return base64.StdEncoding.EncodeToString(p)
}

func qp(s string) string {
	r := strings.NewReplacer("æ", "=C3=A6", "ø", "=C3=B8", "å", "=C3=A5", "Æ", "=C3=86", "Ø", "=C3=98", "Å", "=C3=85", "=", "=3D")
	s = r.Replace(s)
	var b strings.Builder
	for len(s) > 74 {
		cut := 74
		for cut > 0 && (s[cut-1] == '=' || (cut > 1 && s[cut-2] == '=')) {
			cut--
		}
		b.WriteString(s[:cut])
		b.WriteString("=\r\n")
		s = s[cut:]
	}
	b.WriteString(s)
	return b.String()
}

// next returns one raw message and the record a parser would make of it.
func (g *mailGen) next(at time.Time) ([]byte, *kp.Message) {
	g.n++
	name := genNames[g.rnd.IntN(len(genNames))]
	local := strings.ToLower(strings.ReplaceAll(strings.Fields(name)[0], "å", "a"))
	from := fmt.Sprintf("%s.%d@student.example.no", local, g.rnd.IntN(5000))
	id := fmt.Sprintf("%s@%s.eurprd05.prod.outlook.com", strings.ToUpper(g.b64(18)), "AM9PR05MB"+fmt.Sprint(g.rnd.IntN(9999)))
	id = strings.NewReplacer("/", "", "+", "", "=", "").Replace(id)
	id = strings.ToLower(id[:strings.IndexByte(id, '@')]) + id[strings.IndexByte(id, '@'):]
	id = id[:strings.IndexByte(id, '@')] + strings.ToLower(id[strings.IndexByte(id, '@'):])
	subject := "Re: " + g.words(6)
	text := g.words(25 + g.rnd.IntN(30))
	date := at.Format(time.RFC1123Z)
	var b strings.Builder
	fmt.Fprintf(&b, "Received: from AM9PR05MB%d.eurprd05.prod.outlook.com (2603:10a6:20b:3c1::%x) by\r\n DB9PR05MB%d.eurprd05.prod.outlook.com with HTTPS; %s\r\n", g.rnd.IntN(9999), g.rnd.IntN(65535), g.rnd.IntN(9999), date)
	fmt.Fprintf(&b, "Received: from mx.example.no (129.240.10.%d) by mail.uio.no (129.240.10.58) with\r\n Microsoft SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id\r\n 15.20.%d.%d; %s\r\n", g.rnd.IntN(255), g.rnd.IntN(9999), g.rnd.IntN(99), date)
	fmt.Fprintf(&b, "ARC-Seal: i=1; a=rsa-sha256; s=arcselector9901; d=microsoft.com; cv=none;\r\n b=%s\r\n", g.b64(190))
	fmt.Fprintf(&b, "ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=microsoft.com;\r\n s=arcselector9901;\r\n h=From:Date:Subject:Message-ID:Content-Type:MIME-Version:X-MS-Exchange-AntiSpam-MessageData-ChunkCount:X-MS-Exchange-AntiSpam-MessageData-0:X-MS-Exchange-AntiSpam-MessageData-1;\r\n bh=%s;\r\n b=%s\r\n", g.b64(32), g.b64(190))
	fmt.Fprintf(&b, "Authentication-Results: mx.uio.no; dkim=pass header.d=example.no;\r\n dmarc=pass action=none header.from=example.no; spf=pass smtp.mailfrom=example.no\r\n")
	fmt.Fprintf(&b, "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.no; s=selector1;\r\n h=From:Date:Subject:Message-ID:Content-Type:MIME-Version;\r\n bh=%s;\r\n b=%s\r\n", g.b64(32), g.b64(128))
	fmt.Fprintf(&b, "From: %s <%s>\r\nTo: Kontaktpunkt integrasjon <integrasjon@uio.no>\r\nSubject: %s\r\n", name, from, subject)
	fmt.Fprintf(&b, "Thread-Topic: %s\r\nThread-Index: %s\r\nDate: %s\r\nMessage-ID: <%s>\r\n", subject, g.b64(22), date, id)
	fmt.Fprintf(&b, "Accept-Language: nb-NO, en-US\r\nContent-Language: nb-NO\r\nX-MS-Has-Attach:\r\nX-MS-TNEF-Correlator:\r\n")
	bnd := "_000_" + strings.NewReplacer("/", "", "+", "").Replace(g.b64(24)) + "_"
	fmt.Fprintf(&b, "Content-Type: multipart/alternative;\r\n\tboundary=\"%s\"\r\nMIME-Version: 1.0\r\n\r\n", bnd)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n%s\r\n\r\nMed vennlig hilsen\r\n%s\r\n\r\n", bnd, qp(text), name)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/html; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", bnd)
	fmt.Fprintf(&b, "%s\r\n\r\n--%s--\r\n", qp(`<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><style type="text/css" style="display:none;"> P {margin-top:0;margin-bottom:0;} </style></head><body dir="ltr"><div class="elementToProof" style="font-family: Aptos, Aptos_EmbeddedFont, Aptos_MSFontService, Calibri, Helvetica, sans-serif; font-size: 12pt; color: rgb(0, 0, 0);">`+text+`</div><div style="font-family: Aptos; font-size: 12pt;">Med vennlig hilsen<br>`+name+`</div></body></html>`), bnd)
	raw := []byte(b.String())
	m := &kp.Message{
		ID:        id,
		Direction: kp.In,
		Class:     kp.ClassHuman,
		MatchedBy: kp.MatchNew,
		Kind:      "request",
		From:      kp.Address{Name: name, Addr: from},
		To:        []kp.Address{{Name: "Kontaktpunkt integrasjon", Addr: "integrasjon@uio.no"}},
		Subject:   subject,
		Date:      at,
		Received:  at.Add(3 * time.Second),
		Text:      text + "\n\nMed vennlig hilsen\n" + name + "\n",
		Source:    fmt.Sprintf("imap:INBOX/1700000000/%d", g.n),
		Size:      int64(len(raw)),
	}
	return raw, m
}
