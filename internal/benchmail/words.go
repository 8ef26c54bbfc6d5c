package benchmail

// The word lists are ordered roughly by frequency: the generator draws
// indexes from a Zipf distribution, so early words are common and late
// ones rare, as in real text (which matters for compression figures).

var wordsNO = []string{
	"og", "i", "det", "er", "på", "til", "en", "at", "for", "som", "med", "ikke", "av", "har",
	"vi", "jeg", "de", "kan", "om", "et", "så", "den", "fra", "men", "dere", "skal", "vil", "var",
	"også", "må", "hva", "eller", "når", "etter", "nå", "bare", "hvis", "noen", "ut", "inn",
	"få", "bli", "ble", "hos", "mellom", "hvordan", "hvor", "før", "under", "over", "mot",
	"tilgang", "data", "system", "bruker", "brukere", "student", "studenter", "emne", "emner",
	"semester", "vår", "høst", "integrasjon", "tjeneste", "tjenesten", "oppsett", "feil", "feilen",
	"melding", "meldingen", "svar", "spørsmål", "hjelp", "sak", "saken", "løsning", "endring",
	"endringer", "oppdatering", "rettigheter", "rolle", "roller", "tilgangen", "institutt",
	"fakultet", "avdeling", "prosjekt", "prosjektet", "nytt", "ny", "gammel", "eksisterende",
	"rapport", "rapporten", "uttrekk", "fil", "filen", "filer", "vedlegg", "vedlagt", "skjema",
	"søknad", "godkjenning", "godkjent", "bestilling", "levering", "frist", "fristen", "dato",
	"uke", "neste", "forrige", "mandag", "tirsdag", "onsdag", "torsdag", "fredag", "morgen",
	"i dag", "i går", "snart", "raskt", "gjerne", "dessverre", "allerede", "fortsatt", "igjen",
	"riktig", "feil", "mangler", "manglende", "kobling", "koblingen", "grensesnitt", "API",
	"nøkkel", "passord", "innlogging", "Feide", "FS", "Canvas", "StudentWeb", "eksamen",
	"karakterer", "vitnemål", "opptak", "kull", "klasse", "timeplan", "rom", "rombestilling",
	"lisens", "programvare", "server", "serveren", "database", "tabell", "felt", "verdi",
	"verdier", "format", "CSV", "JSON", "eksport", "import", "synkronisering", "jobben", "kjøring",
	"logg", "loggen", "tidspunkt", "natt", "nattlig", "manuelt", "automatisk", "regel", "regler",
	"personvern", "samtykke", "behandling", "behandlingsgrunnlag", "avtale", "databehandleravtale",
	"leverandør", "leverandøren", "kontakt", "kontaktperson", "ansvarlig", "leder", "saksbehandler",
	"økonomi", "kostnad", "faktura", "budsjett", "tilbud", "bekreftelse", "bekrefte", "sjekke",
	"undersøke", "se", "finne", "sende", "sendt", "mottatt", "mottar", "trenger", "ønsker",
	"lurer", "gjelder", "gjøre", "gjort", "fungerer", "virker", "stopper", "henger", "mulig",
	"umulig", "vanskelig", "enkelt", "viktig", "haster", "kritisk", "lite", "stor", "større",
	"flere", "alle", "ingen", "hele", "hver", "første", "siste", "andre", "samme", "egen", "egne",
	"nødvendig", "tilstrekkelig", "dokumentasjon", "veiledning", "rutine", "rutinen", "møte",
	"møtet", "avklaring", "avklare", "forslag", "innspill", "tilbakemelding", "beskjed", "status",
	"påminnelse", "oppfølging", "videre", "gå", "går", "kommer", "tar", "ta", "gir", "gi", "vet",
	"tror", "mener", "håper", "takk", "hilsen", "vennlig", "beste", "mvh", "ærlig", "særlig",
	"åpenbart", "øyeblikk", "utgangspunkt", "utvikling", "forvaltning", "drift", "overgang",
	"nedetid", "vedlikehold", "varsling", "sikkerhet", "sertifikat", "utløper", "fornye", "søke",
}

var wordsEN = []string{
	"the", "to", "and", "of", "a", "in", "is", "for", "that", "we", "it", "on", "you", "with",
	"be", "this", "are", "have", "not", "as", "can", "from", "at", "or", "but", "your", "our",
	"will", "would", "could", "please", "if", "when", "there", "they", "about", "an", "all",
	"access", "data", "system", "user", "users", "student", "students", "course", "courses",
	"semester", "spring", "autumn", "integration", "service", "setup", "error", "message",
	"reply", "question", "help", "case", "solution", "change", "changes", "update", "permissions",
	"role", "roles", "department", "faculty", "project", "new", "old", "existing", "report",
	"export", "file", "files", "attachment", "attached", "form", "application", "approval",
	"approved", "order", "delivery", "deadline", "date", "week", "next", "last", "Monday",
	"Tuesday", "Wednesday", "Thursday", "Friday", "morning", "today", "yesterday", "soon",
	"quickly", "unfortunately", "already", "still", "again", "correct", "wrong", "missing",
	"connection", "interface", "API", "key", "password", "login", "exam", "grades", "diploma",
	"admission", "cohort", "timetable", "room", "booking", "licence", "software", "server",
	"database", "table", "field", "value", "values", "format", "CSV", "JSON", "import",
	"synchronisation", "job", "run", "log", "nightly", "manually", "automatically", "rule",
	"privacy", "consent", "processing", "agreement", "vendor", "contact", "responsible",
	"manager", "invoice", "budget", "quote", "confirmation", "confirm", "check", "investigate",
	"see", "find", "send", "sent", "received", "need", "want", "wonder", "regarding", "do", "done",
	"works", "stops", "hangs", "possible", "difficult", "simple", "important", "urgent",
	"critical", "small", "large", "several", "every", "none", "whole", "first", "other", "same",
	"own", "necessary", "documentation", "guide", "routine", "meeting", "clarify", "proposal",
	"feedback", "status", "reminder", "follow-up", "further", "go", "come", "take", "give",
	"know", "think", "hope", "thanks", "regards", "best", "kind", "development", "operations",
	"downtime", "maintenance", "alert", "security", "certificate", "expires", "renew", "apply",
	"migration", "schedule", "ticket", "queue", "colleague", "team", "office", "visiting",
}

var firstNames = []string{
	"Kari", "Ola", "Per", "Ingrid", "Bjørn", "Åse", "Øyvind", "Sølvi", "Knut", "Marte", "Jonas",
	"Sofie", "Håkon", "Ragnhild", "Emma", "Lars", "Nora", "Anders", "Hilde", "Magnus", "Ærle",
	"Siri", "Thomas", "Linn", "Erik", "Maria", "Jørgen", "Tone", "Sindre", "Gøril", "John",
	"Sarah", "Michael", "Anna", "David", "Laura", "Pekka", "Johanna", "Lena", "Henrik",
}

var lastNames = []string{
	"Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen",
	"Jensen", "Karlsen", "Johnsen", "Pettersen", "Eriksen", "Berg", "Haugen", "Hagen", "Bråthen",
	"Sæther", "Ødegård", "Løvås", "Strøm", "Dahl", "Lie", "Moen", "Smith", "Brown", "Virtanen",
	"Svensson", "Müller", "Åberg",
}

var domains = []string{
	"example.org", "uib.example", "ntnu.example", "hvl.example", "vendor.example", "sikt.example",
	"kommune.example", "student.example", "gmail.example", "outlook.example", "firma.example",
	"forskning.example",
}

var topicsNO = []string{
	"Tilgang til data fra FS", "Feil i nattlig eksport", "Spørsmål om integrasjon mot Canvas",
	"Bestilling av API-nøkkel", "Endring i rettigheter", "Manglende studenter i uttrekk",
	"Databehandleravtale for nytt prosjekt", "Sertifikat utløper", "Problemer med innlogging",
	"Rombestilling til eksamen", "Oppdatering av emnekoder", "Tilbakemelding på rapport",
	"Ny kontaktperson ved instituttet", "Synkronisering stopper", "Faktura for lisens",
}

var topicsEN = []string{
	"Access to student data", "Error in nightly export", "Question about the Canvas integration",
	"Request for an API key", "Change of permissions", "Students missing from the export",
	"Data processing agreement for a new project", "Certificate expires", "Login problems",
	"Room booking for exams", "Update of course codes", "Feedback on the report",
	"New contact person at the department", "Synchronisation stops", "Invoice for licence",
}

var oooNO = []string{
	"Jeg er på ferie og har begrenset tilgang til e-post.",
	"Jeg er bortreist og leser ikke e-post før jeg er tilbake.",
	"Takk for din e-post. Jeg er på kurs resten av uken.",
}

var oooEN = []string{
	"I am out of the office with limited access to e-mail.",
	"Thank you for your message. I am travelling and will reply when I am back.",
	"I am on leave and will not read e-mail until my return.",
}
