package suggest

import (
	"maps"
	"testing"
)

// TestCaseTermsPreparedLikeCaseTerms: terms prepared without the index
// and completed with it are the terms found in one step, compound parts
// and repeated words included.
func TestCaseTermsPreparedLikeCaseTerms(t *testing.T) {
	known := Vocab(func(t string) bool {
		switch t {
		case "integrasjon", "plattform", "student", "data", "eksamen", "fs-api":
			return true
		}
		return false
	})
	for _, text := range []string{
		"",
		"Integrasjonsplattformen feiler for studentdata. Integrasjonsplattformen igjen, og FS-API-et svarer ikke på eksamensdata.",
		"P360 og Entra ID: tilgangen til studentdata mangler. studentdata studentdata",
	} {
		p := Prepare(text)
		if !p.Of(text) || p.Of(text+" ") {
			t.Errorf("%q: Of does not recognise its own text only", text)
		}
		for _, voc := range []Vocab{nil, known} {
			got := CaseTermsPrepared(Prepare("Eksamensdata i FS"), p, voc)
			want := CaseTerms("Eksamensdata i FS", text, voc)
			if !maps.Equal(got, want) {
				t.Errorf("%q: prepared %v, want %v", text, got, want)
			}
		}
	}
	if p := Prepare("studentdata studentdata"); len(p.compounds) != 1 || p.compounds[0].n != 2 {
		t.Errorf("a repeated compound is prepared once with its count: %+v", p.compounds)
	}
}
