package routing

import (
	"testing"
	"time"
)

func TestWeeklySlot(t *testing.T) {
	c, err := NewClock("", "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := func(mo time.Month, d, h, mi int) time.Time { return time.Date(2026, mo, d, h, mi, 0, 0, c.Loc) }
	for _, tc := range []struct {
		name     string
		day      time.Weekday
		clock    time.Duration
		now      time.Time
		wantSlot time.Time
	}{
		{"monday after the hour", time.Monday, 8 * time.Hour, at(11, 30, 9, 0), at(11, 30, 8, 0)},
		{"monday before the hour", time.Monday, 8 * time.Hour, at(11, 30, 7, 0), at(11, 23, 8, 0)},
		{"later in the week", time.Monday, 8 * time.Hour, at(12, 3, 12, 0), at(11, 30, 8, 0)},
		{"saturday moves to monday", time.Saturday, 10 * time.Hour, at(11, 30, 9, 0), at(11, 30, 8, 0)},
		{"evening moves to next morning", time.Tuesday, 20 * time.Hour, at(12, 2, 8, 30), at(12, 2, 8, 0)},
		{"christmas day moves past the holidays", time.Friday, 9 * time.Hour, at(12, 28, 9, 0), at(12, 28, 8, 0)},
	} {
		if got := WeeklySlot(c, tc.day, tc.clock, tc.now); !got.Equal(tc.wantSlot) {
			t.Errorf("%s: slot %v, want %v", tc.name, got, tc.wantSlot)
		}
	}
}
