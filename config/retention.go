package config

// Retention says how long mail is kept before it is purged. A zero
// period keeps that mail for ever.
type Retention struct {
	// ResolvedAfter: a resolved case is purged to a tombstone this long
	// after it was resolved.
	ResolvedAfter Duration `yaml:"resolved_after"`
	// UnfiledAfter: mail that belongs to no case and is not quarantined is
	// deleted this long after it arrived.
	UnfiledAfter Duration `yaml:"unfiled_after"`
	// QuarantineAfter: quarantined mail is deleted this long after it
	// arrived.
	QuarantineAfter Duration `yaml:"quarantine_after"`
}

// Enabled reports whether any retention period is set.
func (r Retention) Enabled() bool {
	return r.ResolvedAfter > 0 || r.UnfiledAfter > 0 || r.QuarantineAfter > 0
}

func (c *Config) validateRetention(ps *problems) {
	for _, p := range []struct {
		path string
		d    Duration
	}{
		{"retention.resolved_after", c.Retention.ResolvedAfter},
		{"retention.unfiled_after", c.Retention.UnfiledAfter},
		{"retention.quarantine_after", c.Retention.QuarantineAfter},
	} {
		if p.d != 0 && p.d < Day {
			ps.add(p.path, "must be at least 1d (or 0 to keep mail), not %s", p.d)
		}
	}
	// A reply within reopen_within reopens the case: its mail must still
	// be there.
	if r := c.Retention.ResolvedAfter; r != 0 && r < c.Contact.ReopenWithin {
		ps.add("retention.resolved_after", "must be at least contact.reopen_within (%s), not %s", c.Contact.ReopenWithin, r)
	}
}
