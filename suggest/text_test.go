package suggest

import (
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestStem(t *testing.T) {
	// Each group holds forms that must meet in one stem.
	groups := [][]string{
		{"eksamen", "eksamenen", "eksamener", "eksamenene", "eksamens"},
		{"emne", "emnet", "emner", "emnene"},
		{"saken", "sakene", "saker", "sak"},
		{"rapport", "rapporten", "rapporter", "rapportene", "rapportens"},
		{"gruppe", "gruppa", "gruppen", "grupper", "gruppene"},
		{"integrasjon", "integrasjonen", "integrasjoner", "integrasjonane", "integrasjonens"},
		{"innlevering", "innleveringen", "innleveringer", "innleveringa", "innleveringane"},
		{"oppdatere", "oppdaterer", "oppdaterte", "oppdatert"},
		{"rom", "rommet"},
		{"student", "studenten", "studentene", "studentens"},
		{"bruker", "brukeren", "brukerne"},
	}
	for _, g := range groups {
		want := Stem(g[0])
		for _, w := range g[1:] {
			if got := Stem(w); got != want {
				t.Errorf("Stem(%q) = %q, Stem(%q) = %q: want the same", w, got, g[0], want)
			}
		}
	}
	// Words that keep their shape, and a doubled final consonant that
	// goes whichever way the word is inflected.
	for w, want := range map[string]string{"status": "status", "canvas": "canvas", "sak": "sak", "api": "api", "prosess": "proses", "prosessen": "proses"} {
		if got := Stem(w); got != want {
			t.Errorf("Stem(%q) = %q, want %q", w, got, want)
		}
	}
}

func TestTerms(t *testing.T) {
	known := func(s string) bool {
		return map[string]bool{"integrasjon": true, "plattform": true, "student": true, "dat": true, "emn": true, "rom": true}[s]
	}
	tests := []struct {
		text string
		want []string
	}{
		{"Problem med FS-API-et", []string{"api", "fs", "fs-api", "problem"}},
		{"Entra ID virker ikke", []string{"entr", "id", "virk"}},
		{"LMS-et og P360", []string{"lms", "p360"}},
		{"Hei, jeg lurer på noe. Mvh Kari", []string{"kari"}},
		{"Ærlig talt: blåbær på ØL", []string{"blåbær", "talt", "ærlig", "øl"}},
		{"Café Müller", []string{"caf", "mul"}},
		{"integrasjonsplattformen", []string{"integrasjon", "integrasjonsplattform", "plattform"}},
		{"studentdata", []string{"dat", "student", "studentdat"}},
		{"emnerommet", []string{"emn", "emnerom", "rom"}},
		{"2026 12 01 x", nil},
		{"Eg får ikkje logga inn, kva gjer eg?", []string{"gjer", "log"}},
	}
	for _, tt := range tests {
		got := slices.Sorted(maps.Keys(Terms(tt.text, known)))
		if !slices.Equal(got, tt.want) {
			t.Errorf("Terms(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestCaseTermsWeighsSubject(t *testing.T) {
	got := CaseTerms("Eksamen", "eksamenen er flyttet", nil)
	if got["eksam"] != 3 {
		t.Errorf("eksam counted %d, want 3 (subject twice, text once): %v", got["eksam"], got)
	}
}

func FuzzTerms(f *testing.F) {
	for _, s := range []string{"FS-API-et", "Entra ID", "integrasjonsplattformen", "æøå ÆØÅ", "a-", "-a", "--", "P360s", strings.Repeat("x", maxTextBytes+3), "\xff\xfe", "ǅ-ǅ-en"} {
		f.Add(s)
	}
	known := func(s string) bool { return len(s)%3 == 0 }
	f.Fuzz(func(t *testing.T, s string) {
		for term, n := range CaseTerms(s, s, known) {
			if term == "" || n <= 0 {
				t.Fatalf("term %q count %d", term, n)
			}
			if utf8.ValidString(s) && !utf8.ValidString(term) {
				t.Fatalf("invalid term %q from valid text", term)
			}
		}
	})
}

// TestImports keeps the package pure: the root package and the standard
// library, no I/O.
func TestImports(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("go tool not found: %v", err)
		}
		t.Skipf("go tool not found: %v", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "kontaktpunkt/suggest" || dep == "kontaktpunkt" {
			continue
		}
		for _, f := range []string{"kontaktpunkt/", "github.com/", "go.etcd.io/", "net/", "os/exec", "database/"} {
			if strings.HasPrefix(dep, f) {
				t.Errorf("suggest depends on %s", dep)
			}
		}
	}
}
