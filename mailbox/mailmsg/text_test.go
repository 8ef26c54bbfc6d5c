package mailmsg

import (
	"testing"
)

func TestUnflow(t *testing.T) {
	tests := []struct {
		in    string
		delsp bool
		want  string
	}{
		{"en lang \nlinje som \nfortsetter.\nNy linje.", false, "en lang linje som fortsetter.\nNy linje."},
		{"delt-\nord", false, "delt-\nord"},
		{"sp \nlit", true, "split"},
		{"> sitert \n> tekst\nsvar", false, "> sitert tekst\nsvar"},
		{"-- \nsignatur", false, "-- \nsignatur"},
		{" From stuffed \nline", false, "From stuffed line"},
	}
	for _, tt := range tests {
		if got := unflow(tt.in, tt.delsp); got != tt.want {
			t.Errorf("unflow(%q, %v) = %q, want %q", tt.in, tt.delsp, got, tt.want)
		}
	}
}
