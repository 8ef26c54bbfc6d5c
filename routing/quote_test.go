package routing

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

func TestSplitQuoted(t *testing.T) {
	for _, tc := range []struct {
		name, text, own string
		sig             bool
		quotedHas       string // a line the quoted part must hold
	}{
		{
			name: "outlook nb with separator",
			text: "Hei,\n\nDette er fikset nå.\n\nMed vennlig hilsen\nKari Nordmann\nSeniorrådgiver, UiO\n\n-----Opprinnelig melding-----\nFra: Ola Nordmann <ola@example.org>\nSendt: mandag 23. november 2026 10:15\nTil: Integrasjon <integrasjon@uio.no>\nEmne: Tilgang til FS\n\nHei, jeg får ikke logget inn.\n",
			own:  "Hei,\n\nDette er fikset nå.\n\nMed vennlig hilsen\nKari Nordmann\nSeniorrådgiver, UiO", sig: true,
			quotedHas: "Hei, jeg får ikke logget inn.",
		},
		{
			name: "outlook nb without separator, underscores before",
			text: "Det er ordnet.\n\nMvh Kari\n\n________________________________\nFra: Ola Nordmann <ola@example.org>\nSendt: mandag 23. november 2026 10:15\nTil: Integrasjon <integrasjon@uio.no>\nEmne: SV: [INT#4] Tilgang\n\nFortsatt feil.\n",
			own:  "Det er ordnet.\n\nMvh Kari", sig: true, quotedHas: "________________________________",
		},
		{
			name: "outlook en",
			text: "Thanks, that worked.\r\n\r\nFrom: Integrasjon <integrasjon@uio.no>\r\nSent: Monday, November 23, 2026 10:15 AM\r\nTo: Ola Nordmann <ola@example.org>\r\nSubject: [INT#4] Access\r\n\r\nPlease try again.\r\n",
			own:  "Thanks, that worked.", quotedHas: "Please try again.",
		},
		{
			name: "outlook en with separator",
			text: "Done.\n\n-----Original Message-----\nFrom: Ola <ola@example.org>\nSent: Monday, November 23, 2026 10:15 AM\nTo: Integrasjon\nSubject: Access\n\nHelp\n",
			own:  "Done.",
		},
		{
			name: "outlook sv",
			text: "Hej, det fungerar nu.\n\nMed vänliga hälsningar\nAnna Svensson\n\nFrån: Integrasjon <integrasjon@uio.no>\nSkickat: den 23 november 2026 10:15\nTill: Anna Svensson <anna@example.se>\nÄmne: [INT#5] Konto\n\nKan du prøve igjen?\n",
			own:  "Hej, det fungerar nu.\n\nMed vänliga hälsningar\nAnna Svensson", sig: true,
		},
		{
			name: "outlook sv with separator",
			text: "Tack!\n\n-----Ursprungligt meddelande-----\nFrån: X\nSkickat: den 23 november 2026\n",
			own:  "Tack!",
		},
		{
			name: "outlook da",
			text: "Tak, det virker.\n\nMed venlig hilsen\nJens Hansen\n\nFra: Integrasjon <integrasjon@uio.no>\nSendt: 23. november 2026 10:15\nTil: Jens Hansen <jens@example.dk>\nEmne: [INT#6] Adgang\n\nPrøv igen.\n",
			own:  "Tak, det virker.\n\nMed venlig hilsen\nJens Hansen", sig: true,
		},
		{
			name: "outlook da with separator",
			text: "Tak.\n\n-----Oprindelig meddelelse-----\nFra: X\nSendt: 23. november 2026\n",
			own:  "Tak.",
		},
		{
			name: "outlook de",
			text: "Vielen Dank, es funktioniert.\n\nMit freundlichen Grüßen\nHans Müller\n\nVon: Integrasjon <integrasjon@uio.no>\nGesendet: Montag, 23. November 2026 10:15\nAn: Hans Müller <hans@example.de>\nBetreff: [INT#7] Zugang\n\nBitte erneut versuchen.\n",
			own:  "Vielen Dank, es funktioniert.\n\nMit freundlichen Grüßen\nHans Müller", sig: true,
		},
		{
			name: "outlook de with separator",
			text: "Danke.\n\n-----Ursprüngliche Nachricht-----\nVon: X\nGesendet: Montag\n",
			own:  "Danke.",
		},
		{
			name: "outlook nn with dato",
			text: "Takk, no verkar det.\n\nFrå Per\n\nFra: Integrasjon\nDato: tysdag 24. november 2026 kl. 09:00\nTil: Per\nEmne: Sak\n\nSvar gjerne.\n",
			own:  "Takk, no verkar det.\n\nFrå Per",
		},
		{
			name: "outlook nn with separator",
			text: "Takk, det gjeld HF.\n\n-----Opprinneleg melding-----\nFrå: Integrasjon\nSendt: måndag 23. november 2026 10:15\nTil: Per\nEmne: Sak\n\nKva fakultet?\n",
			own:  "Takk, det gjeld HF.",
		},
		{
			name: "outlook with a Cc line and a long To list wrapped",
			text: "Vi ser på det.\n\nFrom: Ola Nordmann <ola@example.org>\nSent: Monday, November 23, 2026 10:15 AM\nTo: Integrasjon <integrasjon@uio.no>; Kari Nordmann <kari@uio.no>;\n Per Hansen <per.hansen@uio.no>\nCc: Leder <leder@uio.no>\nSubject: RE: [INT#4] Tilgang\n\nHei igjen.\n",
			own:  "Vi ser på det.",
		},
		{
			name: "gmail nb one line",
			text: "Fint, takk.\n\nDen man. 23. nov. 2026 kl. 10:15 skrev Kari Nordmann <kari@uio.no>:\n\n> Er det i orden nå?\n",
			own:  "Fint, takk.",
		},
		{
			name: "outlook mobile: device line, underscores, header block",
			text: "Ok, jeg sjekker.\n\nHent Outlook for iOS<https://aka.ms/o0ukef>\n________________________________\nFra: Kari Nordmann <kari@uio.no>\nSendt: Monday, November 23, 2026 10:15:00 AM\nTil: Ola <ola@example.org>\nEmne: SV: [INT#4] Tilgang\n\nKan du sjekke?\n",
			own:  "Ok, jeg sjekker.\n\nHent Outlook for iOS<https://aka.ms/o0ukef>", sig: true,
		},
		{
			name: "nbsp lines from html conversion count as blank",
			text: "Ja.\n\u00a0\n\u00a0\n*From:* Kari <kari@uio.no>\n*Sent:* Monday\n*To:* Ola\n*Subject:* x\n",
			own:  "Ja.",
		},
		{
			name: "html-converted outlook with bold labels and blank lines",
			text: "Ser bra ut.\n\n\n\n*Fra:* Ola Nordmann <ola@example.org>\n*Sendt:* mandag 23. november 2026 10:15\n*Til:* Integrasjon <integrasjon@uio.no>\n*Emne:* Tilgang\n\n\nHei.\n",
			own:  "Ser bra ut.", quotedHas: "*Fra:* Ola Nordmann <ola@example.org>",
		},
		{
			name: "html-converted outlook, markdown bold and a blank line between labels",
			text: "OK\n\n**From:** Ola <ola@example.org>\n\n**Sent:** Monday\n\n**To:** Integrasjon\n\n**Subject:** Access\n\nHi\n",
			own:  "OK",
		},
		{
			name: "gmail en, attribution wrapped over two lines",
			text: "Yes, Tuesday works.\n\nOn Mon, 23 Nov 2026 at 10:15, Integrasjon ved UiO <integrasjon@uio.no>\nwrote:\n\n> Can you come by on Tuesday?\n>\n> Kind regards,\n> Integrasjon\n",
			own:  "Yes, Tuesday works.", quotedHas: "> Can you come by on Tuesday?",
		},
		{
			name: "gmail en, one line",
			text: "Yes.\n\nOn Mon, Nov 23, 2026 at 10:15 AM Kari <kari@uio.no> wrote:\n> Question?\n",
			own:  "Yes.",
		},
		{
			name: "gmail nb",
			text: "Det stemmer.\n\nman. 23. nov. 2026 kl. 10:15 skrev Integrasjon <integrasjon@uio.no>:\n\n> Stemmer det at du er student?\n",
			own:  "Det stemmer.",
		},
		{
			name: "gmail nb wrapped",
			text: "Det stemmer.\n\nDen man. 23. nov. 2026 kl. 10:15 skrev Integrasjon ved Universitetet i Oslo <\nintegrasjon@uio.no>:\n\n> Stemmer det?\n",
			own:  "Det stemmer.",
		},
		{
			name: "gmail html-only: attribution with no > marks",
			text: "Greit.\n\nOn Mon, 23 Nov 2026 at 10:15, Kari <kari@uio.no> wrote:\n\nDette er teksten fra før.\nOg mer.\n",
			own:  "Greit.", quotedHas: "Og mer.",
		},
		{
			name: "apple mail en",
			text: "Sounds good.\n\nSent from my iPhone\n\n> On 23 Nov 2026, at 10:15, Kari Nordmann <kari@uio.no> wrote:\n> \n> Shall we meet?\n",
			own:  "Sounds good.\n\nSent from my iPhone", sig: true,
		},
		{
			name: "apple mail nb",
			text: "Fint!\n\n23. nov. 2026 kl. 10:15 skrev Kari Nordmann <kari@uio.no>:\n\n> Passer det?\n",
			own:  "Fint!",
		},
		{
			name: "thunderbird en",
			text: "Agreed.\n\nOn 23.11.2026 10:15, Kari Nordmann wrote:\n> Shall we?\n",
			own:  "Agreed.",
		},
		{
			name: "thunderbird nb",
			text: "Ja.\n\nDen 23.11.2026 10:15, skrev Kari Nordmann:\n> Skal vi?\n",
			own:  "Ja.",
		},
		{
			name: "mutt bottom-posting",
			text: "On Mon, Nov 23, 2026 at 10:15:00AM +0100, Integrasjon wrote:\n> Saken [INT#4] er tildelt deg.\n> Skriv [note] i emnefeltet for en intern merknad.\n\nJeg tar den.\n\n-- \nPer\n",
			own:  "Jeg tar den.\n\n-- \nPer", sig: true, quotedHas: "> Saken [INT#4] er tildelt deg.",
		},
		{
			name: "top-posting with > quote under",
			text: "Takk for svar.\n\nOla Nordmann skrev:\n> Hei\n> hei\n",
			own:  "Takk for svar.",
		},
		{
			name: "interleaved: own lines kept, quoted lines dropped",
			text: "Kari skrev:\n> Hva er brukernavnet?\nolan\n\n> Og fakultetet?\nHF\n\n> Når?\n\nI morgen.\n",
			own:  "olan\n\nHF\n\nI morgen.",
		},
		{
			name: "other attributions",
			text: "Oui.\n\nLe lun. 23 nov. 2026 à 10:15, Kari <kari@uio.no> a écrit :\n> Ça va ?\n",
			own:  "Oui.",
		},
		{
			name: "spanish attribution",
			text: "Sí.\n\nEl lun, 23 nov 2026 a las 10:15, Kari (<kari@uio.no>) escribió:\n> ¿Vale?\n",
			own:  "Sí.",
		},
		{
			name: "german attribution",
			text: "Ja.\n\nAm 23.11.2026 um 10:15 schrieb Kari Nordmann:\n> Passt?\n",
			own:  "Ja.",
		},
		{
			name: "dutch attribution",
			text: "Ja.\n\nOp ma 23 nov. 2026 om 10:15 schreef Kari <kari@uio.no>:\n> Goed?\n",
			own:  "Ja.",
		},
		{
			name: "finnish attribution",
			text: "Kyllä.\n\nma 23.11.2026 klo 10.15 Kari (kari@uio.no) kirjoitti:\n> Sopiiko?\n",
			own:  "Kyllä.",
		},
		{
			name: "a message that only quotes",
			text: "\n\n-----Opprinnelig melding-----\nFra: X\nSendt: Y\nTil: Z\n\nHei\n",
			own:  "",
		},
		{
			name: "only > lines",
			text: "> bare sitat\n> mer\n",
			own:  "",
		},
		{
			name: "only a signature and a quote is nothing new",
			text: "\n-- \nKari Integrasjon\nSeniorrådgiver, UiO\n\nFra: Integrasjon <integrasjon@uio.no>\nSendt: mandag\nTil: Kari\n\n> Hei, vi trenger tilgang.\n",
			own:  "",
		},
		{
			name: "a closing alone is nothing new",
			text: "Mvh\nKari\n\nOn Mon, 23 Nov 2026 at 10:15, Ola <ola@example.org> wrote:\n> hei\n",
			own:  "",
		},
		{
			name: "signature kept after -- ",
			text: "Svar her\n-- \nKari Nordmann\nTlf 22 85 00 00\n",
			own:  "Svar her\n-- \nKari Nordmann\nTlf 22 85 00 00", sig: true,
		},
		{
			name: "From: in prose is not a header block",
			text: "Hei,\n\nFrom: the first of December the office moves.\nSent to all staff earlier.\nTo be sure, ask Per.\n\nOla\n",
			own:  "Hei,\n\nFrom: the first of December the office moves.\nSent to all staff earlier.\nTo be sure, ask Per.\n\nOla",
		},
		{
			name: "Fra: in prose is not a header block",
			text: "Fra: 1. desember er kontoret stengt.\nSkriv til oss i mellomtiden.\n",
			own:  "Fra: 1. desember er kontoret stengt.\nSkriv til oss i mellomtiden.",
		},
		{
			name: "skrev in prose without time or address and no quote after",
			text: "Som jeg skrev i går:\n\nDet er tre ting.\nEn, to, tre.\n",
			own:  "Som jeg skrev i går:\n\nDet er tre ting.\nEn, to, tre.",
		},
		{
			name: "forwarded message is content",
			text: "Se under.\n\n---------- Forwarded message ---------\nFrom: Per <per@example.org>\nDate: Mon, 23 Nov 2026 at 10:15\nSubject: Feil\nTo: Ola <ola@example.org>\n\nDet er feil.\n",
			own:  "Se under.\n\n---------- Forwarded message ---------\nFrom: Per <per@example.org>\nDate: Mon, 23 Nov 2026 at 10:15\nSubject: Feil\nTo: Ola <ola@example.org>\n\nDet er feil.",
		},
		{
			name: "no quote at all",
			text: "Hei,\n\nJeg trenger tilgang til FS.\n\nOla\n",
			own:  "Hei,\n\nJeg trenger tilgang til FS.\n\nOla",
		},
		{
			name: "empty",
			text: "",
			own:  "",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := SplitQuoted(tc.text)
			if q.Own != tc.own {
				t.Fatalf("Own = %q, want %q", q.Own, tc.own)
			}
			if q.Signature != tc.sig {
				t.Errorf("Signature = %v, want %v", q.Signature, tc.sig)
			}
			if want := tc.own == "" && strings.TrimSpace(tc.text) != ""; q.NothingNew != want {
				t.Errorf("NothingNew = %v, want %v", q.NothingNew, want)
			}
			if tc.quotedHas != "" && !strings.Contains(q.Quoted, tc.quotedHas) {
				t.Errorf("Quoted lacks %q:\n%s", tc.quotedHas, q.Quoted)
			}
			if q.QuotedLines != countLines(q.Quoted) {
				t.Errorf("QuotedLines = %d, Quoted has %d lines", q.QuotedLines, countLines(q.Quoted))
			}
		})
	}
}

// A forward is content the writer passes on, quotes and all; only our
// own mail inside it is still cut.
func TestSplitQuotedKeepsForwards(t *testing.T) {
	tr := NewQuoteTrimmer(ourLines)
	for _, text := range []string{
		"Se denne.\n\n________________________________\nFra: Per <per@uio.no>\nSendt: mandag 23. november 2026 10:15\nTil: Kari <kari@uio.no>\nEmne: VS: Feil i FS\n\nHei, se feilen under.\n> gammel linje\n",
		"Se under.\n\n----- Forwarded message from Per <per@uio.no> -----\n\nDate: Mon, 23 Nov 2026\nFrom: Per\nTo: Kari\nSubject: Feil\n\nFeil.\n\n----- End forwarded message -----\n",
		"FYI\n\nBegin forwarded message:\n\nFrom: Per <per@uio.no>\nSubject: Feil\nDate: 23 November 2026 at 10:15:00 CET\nTo: Kari\n\nFeil.\n",
	} {
		if q := tr.Split(text); q.Own != strings.TrimSpace(text) {
			t.Errorf("forward cut:\n%s\n---- own:\n%s", text, q.Own)
		}
	}
	text := "Per, se under.\n\n-------- Videresendt melding --------\nEmne: [INT#4] Tilgang\n\nSaken [INT#4] er tildelt teamet fs av Integrasjon.\nSkriv [note] i emnefeltet for en intern merknad som ikke går til innmelderen.\n"
	if q := tr.Split(text); strings.Contains(q.Own, "[note]") || strings.Contains(q.Own, "er tildelt") {
		t.Errorf("our own mail passed inside a forward:\n%s", q.Own)
	}
}

func countLines(s string) int {
	if s == "" {
		return 0
	}
	return strings.Count(s, "\n") + 1
}

// ourLines are lines of outbound mail as the gateway describes them to
// NewQuoteTrimmer.
var ourLines = [][]string{
	{"Saken ", " er tildelt ", " av ", "."},
	{"Svar på denne e-posten for å svare innmelderen; svaret blir videresendt."},
	{"Skriv [note] i emnefeltet for en intern merknad som ikke går til innmelderen."},
	{"", " skrev i sak ", ":"},
	{"Takk for henvendelsen til ", ". Saken har fått nummeret ", "."},
	{"Emne: ", ""},
	{"Hei", ""},
}

func TestQuoteTrimmerCutsAtOurOwnMail(t *testing.T) {
	tr := NewQuoteTrimmer(ourLines)
	for _, tc := range []struct{ name, text, own string }{
		{"assignment quoted with no marker", "Per, kan du ta denne?\n\nSaken [INT#4] er tildelt teamet fs av Integrasjon.\n\nInnmelder: Ola\nSvar på denne e-posten for å svare innmelderen; svaret blir videresendt.\n", "Per, kan du ta denne?"},
		{"instruction line alone", "Ja.\n\nSkriv [note] i emnefeltet for en intern merknad som ikke går til innmelderen.\n", "Ja."},
		{"instruction line wrapped", "Ja.\n\nSkriv [note] i emnefeltet for en intern merknad som\nikke går til innmelderen.\n", "Ja."},
		{"relay heading", "Takk!\n\nKari Nordmann <kari@uio.no> skrev i sak [INT#4]:\n\nDet er ordnet.\n", "Takk!"},
		{"acknowledgement", "Glemte å si: det gjelder HF.\n\nHei Ola,\n\nTakk for henvendelsen til Integrasjon. Saken har fått nummeret [INT#9].\n", "Glemte å si: det gjelder HF.\n\nHei Ola,"},
		{"short lines are not ours", "Emne: eksamen\nHei alle\n", "Emne: eksamen\nHei alle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if q := tr.Split(tc.text); q.Own != tc.own {
				t.Fatalf("Own = %q, want %q", q.Own, tc.own)
			}
		})
	}
}

// outlookThread builds a reply at the end of a thread of hops Outlook
// replies, each quoting the one before without `>` marks, padded with
// ordinary text to about size bytes: the shape of a long Norwegian
// helpdesk thread.
func outlookThread(hops, size int) string {
	people := []string{"Kari Nordmann <kari@uio.no>", "Ola Nordmann <ola@example.org>", "Integrasjon <integrasjon@uio.no>", "Per Hansen <per@uio.no>"}
	para := "Vi har sett på saken og ser at tilgangen til FS ble fjernet da du byttet stilling i oktober. Det må bestilles på nytt av nærmeste leder i skjemaet for tilganger, og det tar vanligvis to til tre virkedager før den er på plass igjen.\n"
	var b strings.Builder
	per := size / hops
	for h := 0; h < hops; h++ {
		if h > 0 {
			if h%2 == 0 {
				b.WriteString("\n-----Opprinnelig melding-----\n")
			} else {
				b.WriteString("\n________________________________\n")
			}
			fmt.Fprintf(&b, "Fra: %s\nSendt: mandag %d. november 2026 1%d:15\nTil: %s\nKopi: Integrasjon <integrasjon@uio.no>\nEmne: SV: [INT#%d] Tilgang til FS\n\n",
				people[h%len(people)], 23-h, h, people[(h+1)%len(people)], 40+h)
		}
		fmt.Fprintf(&b, "Hei,\n\n")
		for start := b.Len(); b.Len()-start < per; {
			b.WriteString(para)
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "Med vennlig hilsen\n%s\nSeniorkonsulent, Seksjon for integrasjon\nTelefon 22 85 %02d 00\n", people[h%len(people)], h)
	}
	return b.String()
}

func TestSixHopOutlookThread(t *testing.T) {
	text := outlookThread(6, 50<<10)
	q := SplitQuoted(text)
	if strings.Contains(q.Own, "Fra:") || strings.Count(q.Own, "Vi har sett") < 1 {
		t.Fatalf("Own holds quoted history or lost the text:\n%s", q.Own)
	}
	if n := strings.Count(q.Quoted, "Sendt: "); n != 5 {
		t.Fatalf("Quoted holds %d header blocks, want 5", n)
	}
	if !q.Signature {
		t.Errorf("signature not kept: %q", q.Own[max(0, len(q.Own)-120):])
	}
}

// legacyOwnText is the trimmer the gateway used before SplitQuoted, kept
// as the benchmark's baseline.
var legacyQuoteStart = regexp.MustCompile(`(?i)^(on .{3,200} wrote:|den .{3,200} skrev:|.{3,200} skrev f.lgende:|am .{3,200} schrieb:|-{2,}\s*(original message|opprinnelig melding|videresendt melding|forwarded message|ursprüngliche nachricht)\s*-{2,}|_{20,}|(from|fra|von): .+@.+)$`)

func legacyOwnText(text string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		l := strings.TrimRight(line, "\r ")
		t := strings.TrimSpace(l)
		if t == "--" || legacyQuoteStart.MatchString(t) {
			break
		}
		if strings.HasPrefix(t, ">") {
			continue
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// BenchmarkSplitQuoted trims a 50 KB six-hop Outlook thread mail, a
// 50 KB mail with no quote at all (every line looked at), and a mutt
// thread of `>` quotes; legacy is the regexp trimmer it replaced.
func BenchmarkSplitQuoted(b *testing.B) {
	outlook := outlookThread(6, 50<<10)
	plain := outlookThread(1, 50<<10)
	var mutt strings.Builder
	mutt.WriteString("Det passer fint.\n\nOn Mon, Nov 23, 2026 at 10:15:00AM +0100, Kari wrote:\n")
	for mutt.Len() < 50<<10 {
		mutt.WriteString("> > Vi har sett på saken og ser at tilgangen til FS ble fjernet da du byttet stilling.\n")
	}
	tr := NewQuoteTrimmer(append(ourLines, repoTemplateLines(b)...))
	for _, in := range []struct{ name, text string }{
		{"outlook6hop50KB", outlook}, {"noquote50KB", plain}, {"mutt50KB", mutt.String()},
	} {
		b.Run(in.name+"/SplitQuoted", func(b *testing.B) {
			b.SetBytes(int64(len(in.text)))
			for i := 0; i < b.N; i++ {
				tr.Split(in.text)
			}
		})
		b.Run(in.name+"/legacy", func(b *testing.B) {
			b.SetBytes(int64(len(in.text)))
			for i := 0; i < b.N; i++ {
				legacyOwnText(in.text)
			}
		})
	}
}

// repoTemplateLines reads the gateway's built-in templates the way the
// gateway describes them to NewQuoteTrimmer (roughly: every action a gap),
// so the benchmark pays for as many of our lines as production does.
func repoTemplateLines(tb testing.TB) [][]string {
	files, err := filepath.Glob(filepath.Join("..", "gateway", "templates", "*", "*.tmpl"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no gateway templates found: %v", err)
	}
	action := regexp.MustCompile(`\{\{[^}]*\}\}`)
	var out [][]string
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		for _, l := range strings.Split(action.ReplaceAllString(string(src), "\x00"), "\n") {
			if strings.Trim(l, "\x00 ") != "" {
				out = append(out, strings.Split(l, "\x00"))
			}
		}
	}
	return out
}

func FuzzSplitQuoted(f *testing.F) {
	for _, s := range []string{
		"", "\n", ">", "--", "-- \n", "Hei\n\n-----Opprinnelig melding-----\nFra: x",
		"On Mon, 23 Nov 2026 at 10:15, Ola <ola@example.org>\nwrote:\n> hei",
		"Fra: a\nSendt: b\nTil: c\n", "*Fra:* a\n*Sendt:* b\n*Til:* c", "a\r\nb\r\n> c\r\n",
		"Mvh\nKari", "x\n________________________________\nFrom: a\nSent: b\nTo: c",
		"Saken [INT#4] er tildelt deg av Integrasjon.", "skrev:", "0\n--", "\xff\xfe:", outlookThread(3, 2000),
	} {
		f.Add(s)
	}
	tr := NewQuoteTrimmer(ourLines)
	f.Fuzz(func(t *testing.T, text string) {
		q := tr.Split(text)
		if len(q.Own) > len(text) {
			t.Fatalf("Own longer than text")
		}
		if q.NothingNew != (q.Own == "" && strings.TrimSpace(text) != "") {
			t.Fatalf("NothingNew = %v with Own %q", q.NothingNew, q.Own)
		}
		if q.QuotedLines != countLines(q.Quoted) {
			t.Fatalf("QuotedLines = %d, Quoted has %d", q.QuotedLines, countLines(q.Quoted))
		}
		// Every own line is a line of the text: nothing is made up.
		for _, l := range strings.Split(q.Own, "\n") {
			if !strings.Contains(text, l) {
				t.Fatalf("own line %q not in text", l)
			}
		}
		if q.Own != strings.TrimRightFunc(q.Own, unicode.IsSpace) || strings.HasPrefix(q.Own, "\n") {
			t.Fatalf("Own not trimmed: %q", q.Own)
		}
	})
}
