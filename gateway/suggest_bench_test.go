package gateway

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"kontaktpunkt/store"
)

// benchTopics are the words of varied requests: each request draws from
// one topic and the shared wording, so cases differ as real ones do.
var benchTopics = [][]string{
	strings.Fields("eksamen eksamenen eksamener emnet emner FS-API-et karakterene vitnemålet studieprogrammet studentene opptaket semesterregistreringen"),
	strings.Fields("Canvas emnerommet emnerom LMS-et innleveringen innleveringer oppgaven moduler quizen fristen kurssiden vurderingen"),
	strings.Fields("tilgangen tilganger Entra brukerkontoen gruppa grupper passordet MFA påloggingen rollen brukernavnet lisensen"),
	strings.Fields("journalføringen P360 ePhorte arkiveringen dokumentet journalposten arkivet skanningen saksmappen"),
	strings.Fields("datavarehuset rapporten rapportene Power BI dashbordet uttrekket statistikken tabellen spørringen nøkkeltallene"),
	strings.Fields("integrasjonen integrasjonsplattformen API-et webhooken køen meldingene tjenesten sertifikatet endepunktet"),
}

var benchShared = strings.Fields("hei jeg vi har et problem med som ikke fungerer etter oppdateringen i går kan dere se på det haster litt takk for hjelpen mvh og feilmelding når prøver")

// variedMail is the i-th message of a varied stream: every fourth opens
// a case about one topic, the others reply to an earlier one.
func variedMail(i int, r *rand.Rand) []byte {
	topic := benchTopics[(i/4)%len(benchTopics)]
	var body strings.Builder
	for range 60 + r.IntN(240) {
		if r.IntN(3) == 0 {
			body.WriteString(topic[r.IntN(len(topic))])
		} else {
			body.WriteString(benchShared[r.IntN(len(benchShared))])
		}
		body.WriteByte(' ')
		if r.IntN(12) == 0 {
			body.WriteString(".\n")
		}
	}
	who := (i - i%4) % 97
	h := []string{
		fmt.Sprintf("From: Person %d <person%d@example.org>", who, who), "To: " + contact,
		fmt.Sprintf("Message-ID: <varied-%d@example.org>", i),
	}
	if i%4 == 0 {
		h = append(h, fmt.Sprintf("Subject: %s %s %d", topic[r.IntN(len(topic))], topic[r.IntN(len(topic))], i))
	} else {
		parent := i - i%4
		h = append(h, fmt.Sprintf("Subject: SV: sak %d", parent), fmt.Sprintf("In-Reply-To: <varied-%d@example.org>", parent))
	}
	return msg(h, body.String()+"\n")
}

// BenchmarkIngestSuggest measures what keeping the suggestion index costs
// ingest: 10,000 varied mails (2,500 new cases) with and without it, as
// an archive import (index only) and queueing mail (index, and a ranking
// for each new case's notification). Each commit is fsync'd.
func BenchmarkIngestSuggest(b *testing.B) {
	const n = 10000
	r := rand.New(rand.NewPCG(7, 7))
	mails := make([][]byte, n)
	for i := range mails {
		mails[i] = variedMail(i, r)
	}
	for _, quiet := range []bool{true, false} {
		for _, on := range []bool{false, true} {
			name := map[bool]string{true: "quiet", false: "queueing"}[quiet] + map[bool]string{true: "/index", false: "/baseline"}[on]
			b.Run(name, func(b *testing.B) {
				defer func() { indexSuggestions = true }()
				for range b.N {
					indexSuggestions = on
					ingestRun(b, mails, store.Options{}, quiet)
				}
			})
		}
	}
}
