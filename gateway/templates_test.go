package gateway

import "testing"

// TestBuiltinTemplatesParse: every built-in template of both languages
// parses, so parsing them on first use (LoadTemplates without overrides)
// cannot fail while mail is being sent.
func TestBuiltinTemplatesParse(t *testing.T) {
	for _, lang := range []string{"nb", "en"} {
		ts, err := LoadTemplates(lang, "")
		if err != nil {
			t.Fatal(err)
		}
		set := ts.set()
		for _, l := range []string{"nb", "en"} {
			for _, kind := range templateKinds {
				if set[l+"/"+kind] == nil {
					t.Errorf("%s: no template %s/%s", lang, l, kind)
				}
			}
		}
		if _, err := ts.Render("ack", &caseData{}); err != nil {
			t.Errorf("%s: rendering ack: %v", lang, err)
		}
	}
}
