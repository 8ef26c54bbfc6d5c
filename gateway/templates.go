package gateway

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/template"

	"kontaktpunkt/routing"
)

//go:embed templates
var builtinTemplates embed.FS

// Templates renders the bodies of outbound mail. Each kind of mail has one
// template per language ("nb", "en"); an override folder may replace any of
// them with a file of the same name (DIR/nb/ack.tmpl).
type Templates struct {
	lang string
	// one parses one template once, on first use: "nb/ack" -> its parser.
	one map[string]func() (*template.Template, error)
	// set parses every template (for the quote trimmer).
	set func() map[string]*template.Template
	// fragments are the literal lines of internal templates (see
	// withholdInternal).
	fragments func() []string
	trim      func() *routing.QuoteTrimmer // knows the lines of set
}

// templateKinds lists every template the gateway renders.
var templateKinds = []string{
	"ack", "notify", "assign", "relay", "note", "outsider", "receipt",
	"delivery-failure", "triage", "respond", "escalate", "waiting",
	"auto-resolve", "snooze", "digest", "flood", "relay-paused", "followup-digest",
	"weekly",
}

// LoadTemplates loads the built-in templates and, if dir is not empty, the
// overrides in it. With overrides every template is parsed at once, so a
// broken override is reported at start, not when the first mail of its
// kind goes out. The built-in ones alone (tested, they parse) are each
// parsed on first use: a command pays only for the mail it renders (an
// ingest piped in by an MTA: the acknowledgement and the notification;
// cases, case show: none).
func LoadTemplates(lang, dir string) (*Templates, error) {
	if lang == "" {
		lang = "nb"
	}
	if lang != "nb" && lang != "en" {
		return nil, fmt.Errorf("templates: unknown language %q (nb or en)", lang)
	}
	t := &Templates{lang: lang}
	var errs []error
	sources := map[string]string{}
	overridden := false
	for _, l := range []string{"nb", "en"} {
		for _, kind := range templateKinds {
			name := l + "/" + kind
			src, err := fs.ReadFile(builtinTemplates, "templates/"+name+".tmpl")
			if err != nil {
				errs = append(errs, fmt.Errorf("built-in template %s: %w", name, err))
				continue
			}
			if dir != "" {
				override, err := os.ReadFile(filepath.Join(dir, l, kind+".tmpl"))
				switch {
				case err == nil:
					src, overridden = override, true
				case !errors.Is(err, fs.ErrNotExist):
					errs = append(errs, fmt.Errorf("template override %s: %w", name, err))
				}
			}
			sources[name] = string(src)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	t.one = make(map[string]func() (*template.Template, error), len(sources))
	for name, src := range sources {
		t.one[name] = sync.OnceValues(func() (*template.Template, error) {
			tmpl, err := template.New(name).Option("missingkey=zero").Parse(src)
			if err != nil {
				return nil, fmt.Errorf("template %s: %w", name, err)
			}
			return tmpl, nil
		})
	}
	if overridden {
		for _, name := range slices.Sorted(maps.Keys(t.one)) {
			if _, err := t.one[name](); err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
	}
	t.set = sync.OnceValue(func() map[string]*template.Template {
		set := make(map[string]*template.Template, len(t.one))
		for name, parse := range t.one {
			if tmpl, err := parse(); err == nil {
				set[name] = tmpl
			}
		}
		return set
	})
	// Both are built on first use: a command that sends no mail (cases,
	// case show) should not pay for them at start-up.
	t.fragments = sync.OnceValue(func() []string { return internalTemplateFragments(sources) })
	t.trim = sync.OnceValue(func() *routing.QuoteTrimmer { return trimmerFor(t.set()) })
	return t, nil
}

// internalTemplateFragments are the literal lines of the internal
// templates that no requester-facing template shares.
func internalTemplateFragments(sources map[string]string) []string {
	public := map[string]bool{}
	for name, src := range sources {
		_, kind, _ := strings.Cut(name, "/")
		if !internalKinds[kind] {
			for _, f := range templateFragments(src) {
				public[f] = true
			}
		}
	}
	seen := map[string]bool{}
	var out []string
	for name, src := range sources {
		_, kind, _ := strings.Cut(name, "/")
		if !internalKinds[kind] {
			continue
		}
		for _, f := range templateFragments(src) {
			if !public[f] && !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	sort.Strings(out)
	return out
}

// internalFragments returns the literal lines of the internal templates.
func (t *Templates) internalFragments() []string {
	if t == nil {
		return nil
	}
	if t.fragments == nil {
		return nil
	}
	return t.fragments()
}

// Render executes the template of kind in the configured language.
func (t *Templates) Render(kind string, data any) (string, error) {
	parse := t.one[t.lang+"/"+kind]
	if parse == nil {
		return "", fmt.Errorf("no template %q", kind)
	}
	tmpl, err := parse()
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("rendering %s: %w", kind, err)
	}
	return strings.TrimRight(b.String(), "\n") + "\n", nil
}

// Lang is the configured template language.
func (t *Templates) Lang() string { return t.lang }
