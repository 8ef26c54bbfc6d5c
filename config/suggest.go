package config

// Suggest tunes the suggestions drawn from past cases' assignments. It is
// a section of its own because routing is the list of rules.
type Suggest struct {
	// AutoAssignAbove: a new case no routing rule matched is assigned to
	// the suggested team when the suggestion's confidence (0-1) is above
	// this. 0, the default, never assigns automatically.
	AutoAssignAbove float64 `yaml:"auto_assign_above"`
	// MinVotes is how many similar cases must have gone to the team
	// before it is assigned automatically. Default 3.
	MinVotes int `yaml:"min_votes"`
}

func (c *Config) validateSuggest(ps *problems) {
	s := &c.Suggest
	if s.AutoAssignAbove < 0 || s.AutoAssignAbove >= 1 {
		ps.add("suggest.auto_assign_above", "must be from 0 (off) up to below 1, not %g", s.AutoAssignAbove)
	}
	if s.MinVotes < 1 {
		ps.add("suggest.min_votes", "must be at least 1, not %d", s.MinVotes)
	}
}
