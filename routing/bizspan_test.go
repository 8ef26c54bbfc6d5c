package routing

import (
	"testing"
	"time"
)

func TestBetweenCountsOnlyOpenTime(t *testing.T) {
	c, err := NewClock("", "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := func(mo time.Month, d, h, mi int) time.Time { return time.Date(2026, mo, d, h, mi, 0, 0, c.Loc) }
	for _, tc := range []struct {
		name string
		a, b time.Time
		want time.Duration
	}{
		{"same morning", at(11, 23, 9, 0), at(11, 23, 11, 30), 150 * time.Minute},
		{"before opening to noon", at(11, 23, 6, 0), at(11, 23, 12, 0), 4 * time.Hour},
		{"evening to next morning", at(11, 23, 15, 0), at(11, 24, 9, 0), 2 * time.Hour},
		{"friday to monday", at(11, 27, 14, 0), at(11, 30, 10, 0), 4 * time.Hour},
		{"whole week", at(11, 23, 0, 0), at(11, 30, 0, 0), 40 * time.Hour},
		{"weekend only", at(11, 28, 9, 0), at(11, 29, 15, 0), 0},
		{"christmas holidays", at(12, 24, 8, 0), at(12, 28, 8, 0), 8 * time.Hour}, // 24 Dec is a Thursday, 25-26 holidays
		{"reversed", at(11, 24, 9, 0), at(11, 23, 9, 0), 0},
	} {
		if got := c.Between(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: Between = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestBetweenInvertsAdd(t *testing.T) {
	c, err := NewClock("", "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 20, 13, 17, 0, 0, c.Loc)
	for _, d := range []BizDuration{{Hours: 1}, {Hours: 4}, {Hours: 7, Minutes: 59}, {Hours: 30}, {Minutes: 5}} {
		end := c.Add(start, d)
		want := time.Duration(d.Hours)*time.Hour + time.Duration(d.Minutes)*time.Minute
		if got := c.Between(start, end); got != want {
			t.Errorf("Between(%v, Add(%v)) = %v, want %v", start, d, got, want)
		}
	}
}

// TestCalendarAgreesWithBetween: over a year of spans, including ones
// outside the calendar and across the clock changes, Calendar.Between and
// Clock.Between give the same time.
func TestCalendarAgreesWithBetween(t *testing.T) {
	c, err := NewClock("", "", nil, []string{"2026-07-15"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, c.Loc)
	cal := c.Calendar(start, start.AddDate(1, 0, 0))
	step := 7*time.Hour + 13*time.Minute + 7*time.Second
	for a := start.AddDate(0, 0, -3); a.Before(start.AddDate(1, 0, 5)); a = a.Add(step) {
		for _, span := range []time.Duration{0, 20 * time.Minute, 3 * time.Hour, 30 * time.Hour, 9 * 24 * time.Hour} {
			b := a.Add(span)
			if got, want := cal.Between(a, b), c.Between(a, b); got != want {
				t.Fatalf("Calendar.Between(%v, %v) = %v, Clock.Between = %v", a, b, got, want)
			}
		}
	}
}
