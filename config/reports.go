package config

// Reports configures the reports the gateway mails by itself.
type Reports struct {
	// Weekly is the weekly report to the staff lead.
	Weekly Weekly `yaml:"weekly"`
}

// Weekly is the weekly report mail to staff.lead: last week's figures
// against the four weeks before, the oldest open cases and the cases that
// escalated. It goes out once a week, at Day and At, or at the first
// working hour after when that falls outside working hours.
type Weekly struct {
	// Enabled sends the weekly report. Default false. Needs staff.lead.
	Enabled bool `yaml:"enabled"`
	// Day is the weekday, "mon".."sun" or a full English name. Default mon.
	Day string `yaml:"day"`
	// At is the local time "HH:MM" on that day. Default 08:00.
	At string `yaml:"at"`
}

func (r *Reports) applyDefaults() {
	if r.Weekly.Day == "" {
		r.Weekly.Day = "mon"
	}
	if r.Weekly.At == "" {
		r.Weekly.At = "08:00"
	}
}

func (c *Config) validateReports(ps *problems) {
	w := &c.Reports.Weekly
	if _, ok := ParseWeekday(w.Day); !ok {
		ps.add("reports.weekly.day", "%q must be one of mon, tue, wed, thu, fri, sat, sun", w.Day)
	}
	if _, ok := ParseClock(w.At); !ok {
		ps.add("reports.weekly.at", "%q must be a time HH:MM", w.At)
	}
	if w.Enabled && c.Staff.Lead == "" {
		ps.add("reports.weekly.enabled", "needs staff.lead, who receives the report")
	}
}
