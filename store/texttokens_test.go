package store

import (
	"slices"
	"strings"
	"testing"

	kp "kontaktpunkt"
)

// TestGivenTextTokensIndexLikeTheStore: tokens computed before the
// transaction give the same postings as the store's own tokenising.
func TestGivenTextTokensIndexLikeTheStore(t *testing.T) {
	long := strings.Repeat("integrasjonen mot Canvas og FS-API-et feiler igjen ", maxIndexText/40)
	for _, m := range []*kp.Message{
		{Direction: kp.In, From: kp.Address{Name: "Ola Nordmann", Addr: "ola@hf.uio.no"}, Subject: "Tilgang til FS", Text: "Hei, tilgang til FS for Ola. Vennlig hilsen Ola"},
		{Direction: kp.In, From: kp.Address{Addr: "kari@uib.no"}, Subject: "Canvas", Text: long, Attachments: []kp.Attachment{{Name: "skjema.pdf"}}},
		{Direction: kp.In, Text: ""},
	} {
		got := messageTokensWith(m, TextTokens(m.Text))
		if want := messageTokens(m); !slices.Equal(got, want) {
			t.Errorf("with given tokens %d tokens, want %d: %q / %q", len(got), len(want), got, want)
		}
	}
	s := openTest(t)
	update(t, s, func(tx *Tx) error {
		tx.GivenTextTokens("another text", []string{"wrong"})
		if tx.givenTokens("this text") != nil {
			t.Error("tokens given for another text were used")
		}
		return nil
	})
}
