package web

import (
	"embed"
	"fmt"
	"html/template"

	"kontaktpunkt/report"
)

//go:embed templates/*.html
var templateFS embed.FS

// parseTemplates parses the page templates. html/template escapes every
// value for its context, which is what keeps hostile mail (subjects,
// names, bodies) inert on the page.
func parseTemplates(lang string) (*template.Template, error) {
	if lang != "nb" {
		lang = "en"
	}
	t, err := template.New("").Funcs(template.FuncMap{
		"list":  func(s ...string) []string { return s },
		"t":     func(s string) string { return translate(lang, s) },
		"lang":  func() string { return lang },
		"hours": report.Hours,
	}).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: parsing templates: %w", err)
	}
	return t, nil
}
