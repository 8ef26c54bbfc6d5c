package web

import (
	"fmt"
	"net/http"
	"testing"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
	"kontaktpunkt/suggest"
)

// TestCasePageShowsSimilarCases: the case page suggests the team similar
// cases went to, links them, and names the resolved one as answered.
func TestCasePageShowsSimilarCases(t *testing.T) {
	st := openStore(t)
	request := func(text string) kp.Message {
		return kp.Message{Direction: kp.In, Class: kp.ClassHuman, Kind: "request", Text: text, Date: t0, Received: t0}
	}
	old := addCase(t, st, kp.Case{Subject: "Eksamen mangler i FS", Team: "fs", Status: kp.StatusResolved, Created: t0, Updated: t0},
		request("Eksamenen for emnet vises ikke for studentene."))
	addCase(t, st, kp.Case{Subject: "Karakterer fra FS-API-et", Team: "fs", Created: t0, Updated: t0},
		request("Eksamenskarakterene kommer ikke over."))
	addCase(t, st, kp.Case{Subject: "Emnerom i Canvas", Team: "canvas", Created: t0, Updated: t0},
		request("Emnerommet er tomt."))
	// The past cases are in the suggestion index as the gateway puts
	// them; the case asked about is not (as after an upgrade), and the
	// page derives its terms from its request.
	err := st.Update(func(tx *store.Tx) error {
		for id := kp.CaseID(1); id <= 3; id++ {
			c, err := tx.Case(id)
			if err != nil {
				return err
			}
			terms, err := suggest.TermsOf(tx, c)
			if err != nil {
				return err
			}
			if err := tx.PutCaseTerms(id, terms); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	id := addCase(t, st, kp.Case{Subject: "Eksamenene i FS", Created: t0, Updated: t0},
		request("Eksamen for studenten vises ikke i emnet."))
	h := newHandler(t, st, &clock{t: t0}, nil)
	code, body, _ := get(t, h, fmt.Sprintf("/case/%d", id))
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	mustContain(t, body, "Cases like this", "team fs <code>[assign:fs]</code>",
		fmt.Sprintf(`This was answered in <a href="/case/%d">[INT#%d]</a> Eksamen mangler i FS`, old, old))
	mustNotContain(t, body, "team canvas")

	// A case nothing resembles shows no section.
	lone := addCase(t, st, kp.Case{Subject: "Kaffemaskinen lekker", Created: t0, Updated: t0}, request("Vann på gulvet."))
	_, body, _ = get(t, h, fmt.Sprintf("/case/%d", lone))
	mustNotContain(t, body, "Cases like this")
}
