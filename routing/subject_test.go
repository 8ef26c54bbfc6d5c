package routing

import (
	"testing"

	kp "kontaktpunkt"
)

func TestStripReplyPrefixes(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Re: x", "x"},
		{"RE: x", "x"},
		{"re:x", "x"},
		{"Sv: x", "x"},
		{"SV: x", "x"},
		{"Vs: x", "x"},
		{"VS: x", "x"},
		{"Fw: x", "x"},
		{"FW: x", "x"},
		{"Fwd: x", "x"},
		{"FWD: x", "x"},
		{"AW: x", "x"},
		{"WG: x", "x"},
		{"R: x", "x"},
		{"I: x", "x"},
		{"Antw: x", "x"},
		{"TR: x", "x"},
		{"Re[3]: x", "x"},
		{"RE[12]: x", "x"},
		{"Re(2): x", "x"},
		{"Re^2: x", "x"},
		{"Re : x", "x"},
		{"Re：x", "x"}, // full-width colon
		{"Re: Sv: Fwd: AW: x", "x"},
		{"Re:Re:Re:x", "x"},
		{"  Re:   SV :  Tilgang til FS  ", "Tilgang til FS"},
		{"Re: [INT#4] SV: x", "[INT#4] x"},
		{"[EXTERNAL] Re: x", "[EXTERNAL] x"},
		{"[EXTERNAL] [INT#4] Re: x", "[EXTERNAL] [INT#4] x"},
		{"[A] [B] x", "[A] [B] x"},
		{"[INT#4] x", "[INT#4] x"},
		// Not prefixes.
		{"Report for Q3", "Report for Q3"},
		{"Fwd notes", "Fwd notes"},
		{"Research: AI", "Research: AI"},
		{"Ref nr 42", "Ref nr 42"},
		{"Re[x]: y", "Re[x]: y"},
		{"Re[]: y", "Re[]: y"},
		{"Re", "Re"},
		{"Re:", ""},
		{"", ""},
		{"Svar: x", "Svar: x"},
		{"Sv: Rød pølse", "Rød pølse"},
	}
	for _, tt := range tests {
		if got := StripReplyPrefixes(tt.in); got != tt.want {
			t.Errorf("StripReplyPrefixes(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFindCaseTag(t *testing.T) {
	tests := []struct {
		subject, prefix string
		want            kp.CaseID
		ok              bool
	}{
		{"[INT#42] Tilgang", "INT", 42, true},
		{"Re: [INT#42] Tilgang", "INT", 42, true},
		{"[int#42] x", "INT", 42, true},
		{"[INT #42] x", "INT", 42, true},
		{"[ INT#42 ] x", "INT", 42, true},
		{"INT#42 without brackets", "INT", 42, true},
		{"about INT#42.", "INT", 42, true},
		{"(INT#42)", "INT", 42, true},
		{"x-INT#7", "INT", 7, true},
		{"[INT#1] and [INT#2]", "INT", 1, true},
		{"INT#007", "INT", 7, true},
		{"[SAK#9] x", "SAK", 9, true},
		{"[sak#9] x", "Sak", 9, true},
		{"[INT#5] default prefix", "", 5, true},
		{"[HD-IT#5] x", "HD-IT", 5, true},
		{"Ære INT#5", "INT", 5, true},
		// Not tags.
		{"XINT#4", "INT", 0, false},
		{"INT#4a", "INT", 0, false},
		{"INT#4_", "INT", 0, false},
		{"ØINT#4", "INT", 0, false},
		{"INT#4ø", "INT", 0, false},
		{"INT#", "INT", 0, false},
		{"INT#0", "INT", 0, false},
		{"[INT#0] x", "INT", 0, false},
		{"INT#99999999999999999999999", "INT", 0, false},
		{"INT 42", "INT", 0, false},
		{"INT# 42", "INT", 0, false},
		{"INT   #42", "INT", 0, false},
		{"[SAK#9] x", "INT", 0, false},
		{"", "INT", 0, false},
		{"INT", "INT", 0, false},
		// The first valid tag wins even after an invalid one.
		{"XINT#4 then INT#5", "INT", 5, true},
		{"INT#0 INT#3", "INT", 3, true},
	}
	for _, tt := range tests {
		got, ok := FindCaseTag(tt.subject, tt.prefix)
		if got != tt.want || ok != tt.ok {
			t.Errorf("FindCaseTag(%q, %q) = %d, %v; want %d, %v", tt.subject, tt.prefix, got, ok, tt.want, tt.ok)
		}
	}
}

func TestRemoveCaseTag(t *testing.T) {
	tests := []struct{ in, want string }{
		{"[INT#42] Tilgang til FS", "Tilgang til FS"},
		{"Re: [INT#42] Tilgang", "Re: Tilgang"},
		{"Tilgang [INT#42]", "Tilgang"},
		{"Tilgang [INT #42] igjen", "Tilgang igjen"},
		{"[INT#1] [int#2] x INT#3", "x"},
		{"x INT#3, y", "x , y"},
		{"no tag here", "no tag here"},
		{"keep  double  spaces without tag", "keep  double  spaces without tag"},
		{"XINT#4 stays", "XINT#4 stays"},
		{"[EXTERNAL] [INT#4] x", "[EXTERNAL] x"},
		{"[INT#4]", ""},
		{"INT[INT#1]#2 x", "x"}, // removal must not leave a tag behind
	}
	for _, tt := range tests {
		if got := RemoveCaseTag(tt.in, "INT"); got != tt.want {
			t.Errorf("RemoveCaseTag(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCaseSubject(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Tilgang til FS", "Tilgang til FS"},
		{"Re: [INT#4] SV: Tilgang", "Tilgang"},
		{"SV: [INT#4] Re: Tilgang", "Tilgang"},
		{"[INT#4] Re: [INT#4] x", "x"},
		{"Fwd: Re: x  y", "x y"},
		{"[EXTERNAL] SV: x", "[EXTERNAL] x"},
		{"Re:", ""},
		{"[INT#4]", ""},
		{"   ", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := CaseSubject(tt.in, "INT"); got != tt.want {
			t.Errorf("CaseSubject(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestTagRoundTrip checks that the tag kp.CaseID.Tag renders is the one
// FindCaseTag reads and RemoveCaseTag removes.
func TestTagRoundTrip(t *testing.T) {
	for _, id := range []kp.CaseID{1, 42, 1 << 40} {
		for _, prefix := range []string{"INT", "sak", "HD-IT"} {
			s := "Re: " + id.Tag(prefix) + " Tilgang"
			got, ok := FindCaseTag(s, prefix)
			if !ok || got != id {
				t.Errorf("FindCaseTag(%q) = %d, %v; want %d", s, got, ok, id)
			}
			if r := RemoveCaseTag(s, prefix); r != "Re: Tilgang" {
				t.Errorf("RemoveCaseTag(%q) = %q", s, r)
			}
		}
	}
}
