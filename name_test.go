package kontaktpunkt

import "testing"

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"Kari Nordmann":                 "Kari Nordmann",
		"Kari  Nordmann":                "Kari  Nordmann", // only what was cleaned is squeezed
		"Ola\r\nBcc: x@evil.example":    "Ola Bcc: x@evil.example",
		"Ola\nFake line":                "Ola Fake line",
		"\tOla\x00Nordmann\x7f":         "Ola Nordmann",
		"Ola\u0085Fake\u2028line\u2029": "Ola Fake line",
		"Ola\u009bNordmann":             "Ola Nordmann",
		"Ærlig Åse":                     "Ærlig Åse",
		"bad \xff utf8":                 "bad \uFFFD utf8",
		"":                              "",
	} {
		if got := CleanName(in); got != want {
			t.Errorf("CleanName(%q) = %q, want %q", in, got, want)
		}
	}
	if s := (Address{Name: "Ola\r\nBcc: x", Addr: "ola@example.org"}).String(); s != "Ola Bcc: x <ola@example.org>" {
		t.Errorf("String() = %q", s)
	}
	if s := (Address{Name: "\r\n", Addr: "ola@example.org"}).String(); s != "ola@example.org" {
		t.Errorf("String() of a name of line breaks = %q", s)
	}
}
