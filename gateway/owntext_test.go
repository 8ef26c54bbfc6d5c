package gateway

import (
	"testing"

	"kontaktpunkt/internal/benchmail"
)

// The own text of a reply found with its parse is the one the writer
// would find: the templates' trimmer's, and for the body-tag rule the
// built-in trimmer's.
func TestParsedOwnTextIsTheWritersOwn(t *testing.T) {
	h := newHarness(t, nil)
	o, pre := h.g.classifyOptions(), h.g.prepare()
	replies := 0
	var reply []byte
	for _, raw := range benchmail.Generate(3, 400) {
		pi := parseOne(Item{Raw: raw}, 0, o, pre)
		p := pi.parsed
		refers := len(p.InReplyTo) > 0 || len(p.References) > 0
		if pi.own.ok != (refers && pi.parseErr == nil) {
			t.Fatalf("%s: own text found = %v, refers to others = %v", p.MessageID, pi.own.ok, refers)
		}
		if !pi.own.ok {
			continue
		}
		replies++
		reply = raw
		if got, want := pi.own.own, h.g.Templates.Trimmer().Split(p.Text).Own; got != want {
			t.Errorf("%s: own text %q, the trimmer's %q", p.MessageID, got, want)
		}
		if got, want := h.g.taggedOwnText(p.Text, pi.own), h.g.taggedOwnText(p.Text, ownText{}); got != want {
			t.Errorf("%s: tagged own text %q, found without the parse's %q", p.MessageID, got, want)
		}
	}
	if replies == 0 {
		t.Fatal("no replies among the generated mail")
	}
	h.g.Quiet = true
	if pi := parseOne(Item{Raw: reply}, 0, o, h.g.prepare()); pi.own.ok {
		t.Error("an archive import finds own texts it never sends")
	}
}
