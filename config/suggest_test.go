package config

import (
	"strings"
	"testing"
)

func TestSuggestSettings(t *testing.T) {
	c, err := Parse([]byte("contact: {address: integrasjon@uio.no}\nstaff: {members: [{address: a@uio.no}], require_authenticated: false}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Suggest.AutoAssignAbove != 0 || c.Suggest.MinVotes != 3 {
		t.Errorf("defaults: auto_assign_above %g min_votes %d, want 0 (off) and 3", c.Suggest.AutoAssignAbove, c.Suggest.MinVotes)
	}
	_, err = Parse([]byte("contact: {address: integrasjon@uio.no}\nstaff: {members: [{address: a@uio.no}], require_authenticated: false}\nsuggest: {auto_assign_above: 1.5, min_votes: -1}\n"))
	for _, want := range []string{"suggest.auto_assign_above: must be from 0 (off) up to below 1, not 1.5", "suggest.min_votes: must be at least 1, not -1"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to say %q", err, want)
		}
	}
}
