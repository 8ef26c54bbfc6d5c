package store

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	kp "kontaktpunkt"
	"kontaktpunkt/internal/benchmail"
	"kontaktpunkt/internal/testcorpus"
	"kontaktpunkt/mailbox/mailmsg"
)

// addTextTokens is TextTokens as uniqueTokens.addText collects them, the
// reference TextTokens must match.
func addTextTokens(text string) []string {
	if len(text) > maxIndexText {
		text = text[:maxIndexText]
	}
	var u uniqueTokens
	u.addText(text)
	return u.list
}

// checkMessageTokens compares a parsed message's index tokens found with
// its text's tokens given (as ingest does) and found by the store.
func checkMessageTokens(t *testing.T, name string, p *kp.Parsed) {
	t.Helper()
	m := &kp.Message{Direction: kp.In, From: p.From, To: p.To, Cc: p.Cc, Subject: p.Subject, Text: p.Text, Attachments: p.Attachments}
	if got, want := messageTokensWith(m, TextTokens(m.Text)), messageTokens(m); !slices.Equal(got, want) {
		t.Errorf("%s: with given text tokens %d tokens %.200q, found by the store %d %.200q", name, len(got), got, len(want), want)
	}
}

func checkTextTokens(t *testing.T, name, text string) {
	t.Helper()
	if got, want := TextTokens(text), addTextTokens(text); !slices.Equal(got, want) {
		t.Errorf("%s: TextTokens gives %d tokens %.200q, addText %d %.200q", name, len(got), got, len(want), want)
	}
}

func TestTextTokensAsAddTextOnEdgeCases(t *testing.T) {
	var many strings.Builder
	for i := range 7000 {
		many.WriteString(strings.Repeat("x", 1+i%40))
		many.WriteByte(byte('a' + i%26))
		many.WriteByte(' ')
	}
	for name, text := range map[string]string{
		"empty":        "",
		"spaces":       "  \n\t ",
		"norwegian":    "Bjørn Müller søker om TILGANG til Ærlig Åpen ÆØÅ æøå, bjørn!",
		"combining":    "a\u030a e\u0301 A\u030a x\u0301\u0301y",
		"long words":   strings.Repeat("ø", 40) + " " + strings.Repeat("a", 40) + strings.Repeat("é", 5),
		"invalid utf8": "abc\xff\xfedef \xc3 ghi",
		"repeats":      "ja ja JA Ja jA nei",
		"over limit":   many.String(),
		"over text":    strings.Repeat("ord"+strings.Repeat("x", 9)+" ", maxIndexText/10),
		"scripts":      "Ⱥ İstanbul ΣΊΣΥΦΟΣ Привет 東京 ß œ þ ǅ",
	} {
		checkTextTokens(t, name, text)
	}
}

// TestTextTokensAsAddTextOnRealisticMail compares the two on the texts
// of the benchmark mail stream and of the shared corpus, and on the raw
// bytes of both (text of any kind); and a message's index tokens with
// its text's tokens given and found.
func TestTextTokensAsAddTextOnRealisticMail(t *testing.T) {
	for i, raw := range benchmail.Generate(7, 400) {
		p, err := mailmsg.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		checkTextTokens(t, "benchmail text", p.Text)
		checkMessageTokens(t, "benchmail message", p)
		if i%10 == 0 {
			checkTextTokens(t, "benchmail raw", string(raw))
		}
	}
	n := 0
	err := filepath.WalkDir(testcorpus.Dir(t), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		checkTextTokens(t, path, string(raw))
		if p, err := mailmsg.Parse(raw); err == nil && p != nil {
			checkTextTokens(t, path+" text", p.Text)
			checkMessageTokens(t, path+" message", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no corpus files")
	}
}

// BenchmarkTextTokens finds the tokens of the texts of the benchmark
// mail stream, as the parsing cores do for each message, with
// TextTokens and with the reference it must match.
func BenchmarkTextTokens(b *testing.B) {
	var texts []string
	for _, raw := range benchmail.Generate(1, 500) {
		p, err := mailmsg.Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		texts = append(texts, p.Text)
	}
	for name, f := range map[string]func(string) []string{"TextTokens": TextTokens, "addText": addTextTokens} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, t := range texts {
					f(t)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(texts)), "ns/text")
		})
	}
}
