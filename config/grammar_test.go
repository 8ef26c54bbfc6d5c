package config

import (
	"strings"
	"testing"
	"time"

	"kontaktpunkt/routing"
)

// The configuration and the follow-up clock read durations, clock times
// and weekdays with one grammar: whatever one accepts, so does the other,
// with the same value.
func TestOneGrammarWithRouting(t *testing.T) {
	for _, in := range []string{"4h", "4H", "2d", "2D", "1d4h", "1D4H30M", "30m", " 4h ", "0", "", "4", "1w", "4h2d", "1 d", "-1d", "1.5d", "99999999d", "d"} {
		b, err := ParseBusinessDuration(in)
		r, rerr := routing.ParseBizDuration(in)
		if (err == nil) != (rerr == nil) {
			t.Errorf("%q: config %v, routing %v", in, err, rerr)
			continue
		}
		if err == nil && (b.Days != r.Days || b.Time != time.Duration(r.Hours)*time.Hour+time.Duration(r.Minutes)*time.Minute) {
			t.Errorf("%q: config %+v, routing %+v", in, b, r)
		}
	}
	for _, in := range []string{"mon", "Mon", "MON", "monday", "Monday", "fri", "Friday", "sun", "mandag", "", "mo", "Fri day"} {
		a, ok := ParseWeekday(in)
		b, rok := routing.ParseWeekday(in)
		if ok != rok || a != b {
			t.Errorf("weekday %q: config %v %v, routing %v %v", in, a, ok, b, rok)
		}
	}
	for _, in := range []string{"08:00", "8:00", "23:59", "24:00", "16:30", "25:00", "12:60", "", "0800"} {
		c, ok := ParseClock(in)
		r, err := routing.ParseTimeOfDay(in)
		// A time of day stops before 24:00; working hours may end at it.
		want := err == nil && r < 24*time.Hour
		if ok != want || (ok && c != r) {
			t.Errorf("clock %q: config %v %v, routing %v %v", in, c, ok, r, err)
		}
	}
}

// A follow-up section written in the words the clock accepts ("4H",
// "Monday") is valid; the same day twice under two names is not.
func TestFollowUpAcceptsWhatTheClockAccepts(t *testing.T) {
	base := "contact: {address: integrasjon@example.org}\nstaff: {require_authenticated: false}\n"
	if _, err := Parse([]byte(base + "followup:\n  triage_within: 4H\n  respond_within: 2D\n  workdays: [Monday, tue, WED, Thursday, fri]\n  work_hours: 08:00-24:00\n")); err != nil {
		t.Errorf("rejected: %v", err)
	}
	_, err := Parse([]byte(base + "followup:\n  workdays: [mon, Monday]\n"))
	if err == nil || !strings.Contains(err.Error(), `"Monday" is listed twice`) {
		t.Errorf("mon and Monday: %v", err)
	}
}
