package web

import "net/http"

// nb is the dashboard in Norwegian bokmål, keyed by the English text.
// A text missing here is shown in English.
var nb = map[string]string{
	// Layout and lists.
	"Not filed": "Uten sak", "Statistics": "Statistikk", "Cases per week": "Saker per uke", "Backlog at the end of each week": "Åpne saker ved slutten av hver uke", "Escalated cases per week": "Eskalerte saker per uke", "Search": "Søk", "Search cases": "Søk i saker", "Go": "Gå", "Case number": "Saksnummer",
	"Signed in as": "Logget inn som", "Read-only view": "Bare lesing", "Filter": "Filter", "Assignee": "Saksbehandler",
	"clear": "fjern", "← Newer": "← Nyere", "Older →": "Eldre →", "Page": "Side", "overdue": "forfalt",
	"Open": "Åpne", "Waiting": "Venter", "Overdue": "Forfalt", "Escalated": "Eskalert", "Resolved": "Løst", "All": "Alle",
	"Cases": "Saker", "cases": "saker", "assigned to": "tildelt", "unassigned": "ikke tildelt", "From": "Fra", "team": "team",
	"msg": "meld.", "updated": "oppdatert", "next:": "neste:", "escalated": "eskalert",
	"No cases here.": "Ingen saker her.", "No cases on this page.": "Ingen saker på denne siden.",
	"Longest overdue first.":                                    "Lengst forfalt først.",
	"Open and waiting cases that were escalated, newest first.": "Åpne og ventende saker som er eskalert, nyeste først.",
	// Case page.
	"← Cases": "← Saker", "Status": "Status", "Priority": "Prioritet", "Requester": "Innmelder", "Team": "Team",
	"Escalation": "Eskalering", "Next follow-up": "Neste oppfølging", "none scheduled": "ingen planlagt", "Updated": "Oppdatert",
	"Created": "Opprettet", "Cc participants": "Kopimottakere", "Last from requester": "Sist fra innmelder",
	"Last staff reply": "Siste svar fra oss", "Resolved at": "Løst", "Their references": "Deres referanser",
	"Follows": "Følger", "Merged into": "Slått sammen med", "(mail for this case goes there)": "(e-post til denne saken går dit)",
	"Related": "Relatert", "Opened by": "Opprettet av", "on the requester's behalf": "på vegne av innmelderen",
	"If nothing happens": "Hvis ingenting skjer", "Timeline": "Tidslinje", "Failed outbound mail": "Utgående e-post som feilet",
	"Retry": "Prøv igjen", "No messages stored on this case.": "Ingen meldinger lagret på saken.",
	"Internal note · staff only, not sent to the requester": "Intern merknad · bare for oss, sendes ikke til innmelderen",
	"Move to another case": "Flytt til en annen sak", "Move": "Flytt", "Attachments:": "Vedlegg:",
	"The text is cut here; the whole message is in the store.": "Teksten er kuttet her; hele meldingen er lagret.",
	"quoted lines": "siterte linjer", "(no new text)": "(ingen ny tekst)", "level": "nivå", "none": "ingen",
	"in": "inn", "out": "ut", "to": "til", "cc": "kopi", "matched by": "koblet via",
	"OUTSIDER": "UTENFORSTÅENDE", "authenticated": "autentisert", "not authenticated": "ikke autentisert",
	"bounce": "retur", "spam": "søppelpost", "requester suppressed": "innmelder sperret",
	"resolves the case": "løser saken", "escalation level": "eskaleringsnivå",
	"Export (zip)": "Eksporter (zip)",
	// Actions.
	"Actions": "Handlinger", "Take": "Ta saken", "Unassign": "Fjern tildeling", "Close": "Lukk", "Reopen": "Gjenåpne",
	"Escalate": "Eskaler", "Assign to": "Tildel", "Assign": "Tildel", "Set": "Sett", "Remind": "Påminnelse",
	"Case": "Sak", "Merge into": "Slå sammen med", "Link": "Knytt til", "Add note": "Legg til merknad",
	"Internal note (staff only, never sent to the requester)": "Intern merknad (bare for oss, sendes aldri til innmelderen)",
	"name, address or team":                                   "navn, adresse eller team", "3d, 4h or 2026-12-01": "3d, 4t eller 2026-12-01",
	"Not done": "Ikke utført", "The action needs a value.": "Handlingen trenger en verdi.", "A note needs text.": "En merknad trenger tekst.",
	"Give a case number.": "Oppgi et saksnummer.",
	// Unfiled and search.
	"Quarantined": "I karantene", "Spam": "Søppelpost", "Unfiled": "Uten sak", "Nothing here.": "Ingenting her.",
	"The newest mail that became no case: unmatched automatic mail, spam and quarantined messages.": "Den nyeste e-posten som ikke ble en sak: automatisk e-post uten sak, søppelpost og meldinger i karantene.",
	"File into case": "Legg på sak", "Open as new case": "Opprett ny sak", "Text": "Tekst",
	"Only the newest messages are shown.": "Bare de nyeste meldingene vises.",
	"No case matches.":                    "Ingen saker passer.", "Not understood:": "Forstod ikke:",
	"Only the newest matching cases are shown; add words to narrow the search.":                                                                       "Bare de nyeste treffene vises; legg til ord for å snevre inn søket.",
	"Words find cases by subject, text, names, addresses, attachment names and ticket references; a word also finds longer words it begins. Filters:": "Ord finner saker etter emne, tekst, navn, adresser, vedleggsnavn og saksreferanser; et ord finner også lengre ord det begynner (integr finner «integrasjonen»). Filtre:",
	"(no subject)": "(uten emne)",
}

// translate returns s in lang ("nb" or "en").
func translate(lang, s string) string {
	if lang == "nb" {
		if t, ok := nb[s]; ok {
			return t
		}
	}
	return s
}

// tr returns s in the dashboard's language.
func (d *dashboard) tr(_ *http.Request, s string) string { return translate(d.s.lang, s) }
