package store

import "testing"

func TestFindTextRefResolvesToTheText(t *testing.T) {
	src := "Dear,\n\nAs and rule the please.\nIs but and, department we, there will can maintenance.\n\nThanks,\nIngrid"
	quoted := "Hei Ingrid,\n\nDin henvendelse:\n> Dear,\n> \n> As and rule the please.\n> Is but and, department we, there will can maintenance.\n> \n> Thanks,\n> Ingrid\n\nVennlig hilsen\n"
	relay := "Ingrid <i@example.no> skrev i sak [INT#7]:\n\nDear,\n\nAs and rule the please.\nIs but and, department we, there will can maintenance.\n\nThanks,\n"
	for _, tc := range []struct {
		name, text, line string
	}{{"quoted", quoted, "> "}, {"repeated", relay, ""}} {
		r, ok := findTextRef(tc.text, 3, src)
		if !ok {
			t.Fatalf("%s: no reference found", tc.name)
		}
		if r.line != tc.line || r.seq != 3 {
			t.Errorf("%s: reference %+v", tc.name, r)
		}
		if got, ok := r.resolve(src); !ok || got != tc.text {
			t.Errorf("%s: resolves to %q, want %q", tc.name, got, tc.text)
		}
		if len(r.prefix)+len(r.suffix) > len(tc.text)/2 {
			t.Errorf("%s: %d bytes of %d left as they are", tc.name, len(r.prefix)+len(r.suffix), len(tc.text))
		}
	}
	if _, ok := findTextRef("Something else entirely, with no words of the request in it at all.", 3, src); ok {
		t.Error("a reference for a text that repeats nothing")
	}
}
