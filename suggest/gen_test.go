package suggest_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	kp "kontaktpunkt"
)

// teamVocab is what requests to one team talk about: words with their
// inflected forms (bokmål and nynorsk), IT names, and compounds that only
// new requests use, so they meet the history through their parts.
type teamVocab struct {
	team      string
	people    []string
	words     [][]string // forms of one word
	compounds []string
}

var teams = []teamVocab{
	{team: "fs", people: []string{"ola@uio.no", "siri@uio.no"}, words: [][]string{
		{"eksamen", "eksamenen", "eksamener", "eksamenene"},
		{"emne", "emnet", "emner", "emnene"},
		{"FS-API", "FS-API-et", "FS-APIet"},
		{"karakter", "karakteren", "karakterer", "karakterene"},
		{"vitnemål", "vitnemålet", "vitnemåla"},
		{"studieprogram", "studieprogrammet", "studieprogrammer"},
		{"student", "studenten", "studentene", "studentens"},
		{"resultat", "resultatet", "resultater", "resultata"},
		{"registrering", "registreringen", "registreringa"},
		{"opptak", "opptaket"},
	}, compounds: []string{"eksamensresultatene", "karakterregistreringen", "studentresultatet", "emneresultatene", "studieprogramopptaket"}},
	{team: "canvas", people: []string{"per@uio.no"}, words: [][]string{
		{"Canvas"},
		{"emnerom", "emnerommet", "emnerommene"},
		{"LMS", "LMS-et"},
		{"innlevering", "innleveringen", "innleveringer", "innleveringane"},
		{"oppgave", "oppgaven", "oppgaver", "oppgåve", "oppgåva"},
		{"modul", "modulen", "moduler"},
		{"quiz", "quizen"},
		{"frist", "fristen", "frister"},
		{"kursside", "kurssiden", "kurssider"},
	}, compounds: []string{"innleveringsfristen", "oppgavemodulen", "quizoppgavene", "modulfristen"}},
	{team: "iam", people: []string{"nina@uio.no", "arne@uio.no"}, words: [][]string{
		{"tilgang", "tilgangen", "tilganger", "tilgangene"},
		{"Entra ID"},
		{"brukerkonto", "brukerkontoen", "brukerkontoer"},
		{"gruppe", "gruppa", "gruppen", "grupper", "gruppene"},
		{"passord", "passordet"},
		{"MFA"},
		{"pålogging", "påloggingen", "pålogginga"},
		{"rolle", "rollen", "roller", "rolla"},
		{"brukernavn", "brukernavnet"},
		{"lisens", "lisensen", "lisenser"},
	}, compounds: []string{"tilgangsgruppa", "rolletilgangene", "påloggingsrollen", "lisensgruppene", "passordtilgangen"}},
	{team: "arkiv", people: []string{"liv@uio.no"}, words: [][]string{
		{"journalføring", "journalføringen", "journalføringa"},
		{"P360"},
		{"ePhorte"},
		{"arkivering", "arkiveringen"},
		{"dokument", "dokumentet", "dokumenter", "dokumenta"},
		{"journalpost", "journalposten", "journalposter"},
		{"arkiv", "arkivet"},
		{"skanning", "skanningen"},
		{"saksmappe", "saksmappen", "saksmapper"},
	}, compounds: []string{"arkivdokumentene", "dokumentarkivet", "journalpostdokumentet", "skanningsarkivet"}},
	{team: "data", people: []string{"tor@uio.no"}, words: [][]string{
		{"datavarehus", "datavarehuset"},
		{"rapport", "rapporten", "rapporter", "rapportene"},
		{"BI", "Power BI"},
		{"dashbord", "dashbordet"},
		{"uttrekk", "uttrekket"},
		{"statistikk", "statistikken"},
		{"tabell", "tabellen", "tabeller", "tabellene"},
		{"spørring", "spørringen", "spørringer"},
		{"nøkkeltall", "nøkkeltallene"},
	}, compounds: []string{"rapportuttrekket", "statistikkrapporten", "datavarehustabellen", "tabelluttrekkene"}},
}

// Wording shared by every team: what makes requests alike on the surface.
var (
	openers = []string{"Hei,", "Hei!", "Hallo,", "God dag,", "Hei igjen,", "Heisann,"}
	closers = []string{"Mvh Kari", "Vennlig hilsen Per Hansen", "Takk på forhånd!", "Helsing Eli", "Mvh\nAnne"}
	middles = []string{
		"jeg har et problem med %s og %s.", "vi får feilmelding når vi bruker %s, og %s virker ikke.",
		"kan dere se på %s? Det gjelder også %s.", "%s fungerer ikke som før etter oppdateringen, heller ikke %s.",
		"eg får ikkje til %s, og %s er feil.", "hva skjer med %s i dag? Vi trenger %s før fredag.",
	}
	// rewordings are how new requests put things: different words and
	// sentence shapes from the history.
	rewordings = []string{
		"Siden i går har %s sluttet å virke, og %s henger.", "Vi opplever trøbbel med %s – %s ser rart ut.",
		"Kva har skjedd med %s? %s manglar.", "Det haster: %s og %s må rettes.",
		"Kan noen hjelpe med %s? Jeg finner ikke %s.",
	}
	subjects   = []string{"Problem med %s", "Spørsmål om %s", "%s fungerer ikke", "Feil i %s", "%s"}
	resubjects = []string{"Trøbbel med %s", "Hjelp: %s", "Angående %s", "%s henger", "Sv: %s"}
)

type genCase struct {
	subject, text string
	team          string
	assignee      string
}

type gen struct{ r *rand.Rand }

func (g gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g gen) word(t teamVocab) string { return g.pick(t.words[g.r.IntN(len(t.words))]) }

// typo swaps or drops a letter in a longer word.
func (g gen) typo(w string) string {
	r := []rune(w)
	if len(r) < 6 {
		return w
	}
	i := 1 + g.r.IntN(len(r)-3)
	if g.r.IntN(2) == 0 {
		r[i], r[i+1] = r[i+1], r[i]
		return string(r)
	}
	return string(append(r[:i:i], r[i+1:]...))
}

// request makes one request to team t. fresh requests use the other
// wordings, the compounds, and typos.
func (g gen) request(t teamVocab, fresh bool) genCase {
	w := func() string {
		s := g.word(t)
		if fresh && g.r.IntN(3) == 0 && len(t.compounds) > 0 {
			s = g.pick(t.compounds)
		}
		if fresh && g.r.IntN(6) == 0 {
			s = g.typo(s)
		}
		return s
	}
	subj, mids := subjects, middles
	if fresh {
		subj, mids = resubjects, rewordings
	}
	c := genCase{team: t.team, assignee: g.pick(t.people)}
	c.subject = fmt.Sprintf(g.pick(subj), w())
	body := []string{g.pick(openers), fmt.Sprintf(g.pick(mids), w(), w())}
	if g.r.IntN(4) == 0 {
		// A quarter carry another team's word as noise.
		o := teams[g.r.IntN(len(teams))]
		if o.team == t.team {
			o = teams[(g.r.IntN(len(teams)-1)+1+indexOf(t.team))%len(teams)]
		}
		body = append(body, fmt.Sprintf("Jeg har også sett på %s, men det er nok ikke det.", g.word(o)))
	}
	if g.r.IntN(2) == 0 {
		body = append(body, fmt.Sprintf(g.pick(mids), w(), w()))
	}
	body = append(body, g.pick(closers))
	c.text = strings.Join(body, "\n")
	return c
}

func indexOf(team string) int {
	for i, t := range teams {
		if t.team == team {
			return i
		}
	}
	return 0
}

// history makes n past requests spread over the teams.
func (g gen) history(n int, fresh bool) []genCase {
	out := make([]genCase, n)
	for i := range out {
		out[i] = g.request(teams[g.r.IntN(len(teams))], fresh)
	}
	return out
}

func newGen(seed uint64) gen { return gen{rand.New(rand.NewPCG(seed, 17))} }

// kpCase makes the stored case of a generated request.
func kpCase(id kp.CaseID, c genCase, status kp.Status) *kp.Case {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(id) * time.Minute)
	return &kp.Case{ID: id, Subject: c.subject, Status: status, Team: c.team, Assignee: c.assignee,
		Requester: kp.Address{Addr: "someone@example.org"}, Priority: kp.PriorityNormal, Created: now, Updated: now}
}
