package routing

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// osloClock is the default clock: Europe/Oslo, Mon-Fri 08:00-16:00.
func osloClock(t testing.TB, closed ...string) *Clock {
	t.Helper()
	c, err := NewClock("", "", nil, closed)
	if err != nil {
		t.Fatalf("NewClock: %v", err)
	}
	return c
}

// at parses "2006-01-02 15:04" as Oslo wall time.
func at(t testing.TB, clk *Clock, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, clk.Loc)
	if err != nil {
		t.Fatalf("bad test time %q: %v", s, err)
	}
	return v
}

func fmtOslo(clk *Clock, t time.Time) string {
	return t.In(clk.Loc).Format("2006-01-02 15:04 Mon")
}

func TestNorwegianHolidaysExactDates(t *testing.T) {
	want := map[int][]string{
		2025: {"01-01", "04-17", "04-18", "04-20", "04-21", "05-01", "05-17", "05-29", "06-08", "06-09", "12-25", "12-26"},
		2026: {"01-01", "04-02", "04-03", "04-05", "04-06", "05-01", "05-14", "05-17", "05-24", "05-25", "12-25", "12-26"},
		// 2027: Whit Monday is 17 May, listed once.
		2027: {"01-01", "03-25", "03-26", "03-28", "03-29", "05-01", "05-06", "05-16", "05-17", "12-25", "12-26"},
	}
	for year, dates := range want {
		var got []string
		for _, d := range NorwegianHolidays(year) {
			if d.Year() != year || d.Location() != time.UTC || d.Hour() != 0 {
				t.Errorf("%d: %v is not a civil date of that year", year, d)
			}
			got = append(got, d.Format("01-02"))
		}
		if strings.Join(got, " ") != strings.Join(dates, " ") {
			t.Errorf("NorwegianHolidays(%d)\n got %v\nwant %v", year, got, dates)
		}
	}
}

func TestEasterSundayKnownYears(t *testing.T) {
	for _, s := range []string{"2000-04-23", "2008-03-23", "2011-04-24", "2019-04-21", "2024-03-31",
		"2025-04-20", "2026-04-05", "2027-03-28", "2038-04-25", "2285-03-22"} {
		want, _ := time.Parse(time.DateOnly, s)
		if got := easterSunday(want.Year()); !got.Equal(want) {
			t.Errorf("easterSunday(%d) = %s, want %s", want.Year(), got.Format(time.DateOnly), s)
		}
	}
}

func TestHolidayLookupMatchesList(t *testing.T) {
	for y := 1990; y <= 2100; y++ {
		set := map[string]bool{}
		for _, d := range NorwegianHolidays(y) {
			set[d.Format(time.DateOnly)] = true
		}
		for d := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() == y; d = d.AddDate(0, 0, 1) {
			if got := isNorwegianHoliday(d.Year(), d.Month(), d.Day()); got != set[d.Format(time.DateOnly)] {
				t.Fatalf("isNorwegianHoliday(%s) = %v, list says %v", d.Format(time.DateOnly), got, !got)
			}
		}
	}
}

func TestIsWorkdayHolidaysWeekendsClosed(t *testing.T) {
	clk := osloClock(t, "2026-12-28", "2026-12-29")
	for _, tc := range []struct {
		day  string
		want bool
		why  string
	}{
		{"2026-03-31", true, "Tuesday before Easter"},
		{"2026-04-01", true, "Wednesday before Easter"},
		{"2026-04-02", false, "Maundy Thursday"},
		{"2026-04-03", false, "Good Friday"},
		{"2026-04-04", false, "Saturday"},
		{"2026-04-05", false, "Easter Sunday"},
		{"2026-04-06", false, "Easter Monday"},
		{"2026-04-07", true, "Tuesday after Easter"},
		{"2026-05-01", false, "1 May (Friday)"},
		{"2026-05-14", false, "Ascension Day"},
		{"2026-05-25", false, "Whit Monday"},
		{"2028-05-17", false, "17 May on a Wednesday"},
		{"2024-05-17", false, "17 May on a Friday"},
		{"2028-05-16", true, "the day before 17 May"},
		{"2026-12-24", true, "Christmas Eve is not a public holiday"},
		{"2026-12-25", false, "Christmas Day"},
		{"2027-12-27", true, "Monday after Christmas 2027"},
		{"2026-12-28", false, "configured closed day"},
		{"2026-12-29", false, "configured closed day"},
		{"2026-12-30", true, "ordinary Wednesday"},
		{"2027-01-01", false, "New Year's Day"},
		{"2026-11-28", false, "Saturday"},
		{"2026-11-29", false, "Sunday"},
	} {
		for _, hm := range []string{"00:00", "12:00", "23:59"} {
			if got := clk.IsWorkday(at(t, clk, tc.day+" "+hm)); got != tc.want {
				t.Errorf("IsWorkday(%s %s) = %v, want %v (%s)", tc.day, hm, got, tc.want, tc.why)
			}
		}
	}
	// The civil date is taken in the clock's zone, not the instant's.
	utcLate := time.Date(2026, 4, 1, 23, 30, 0, 0, time.UTC) // 01:30 on Maundy Thursday in Oslo
	if clk.IsWorkday(utcLate) {
		t.Errorf("IsWorkday(%v) = true; it is Maundy Thursday in Oslo", utcLate)
	}
}

func TestIsOpenBoundaries(t *testing.T) {
	clk := osloClock(t)
	for _, tc := range []struct {
		at   string
		want bool
	}{
		{"2026-11-25 07:59", false},
		{"2026-11-25 08:00", true},
		{"2026-11-25 12:00", true},
		{"2026-11-25 15:59", true},
		{"2026-11-25 16:00", false},
		{"2026-11-28 10:00", false}, // Saturday
		{"2026-12-25 10:00", false}, // Christmas Day
	} {
		if got := clk.IsOpen(at(t, clk, tc.at)); got != tc.want {
			t.Errorf("IsOpen(%s) = %v, want %v", tc.at, got, tc.want)
		}
	}
}

func TestNextOpen(t *testing.T) {
	clk := osloClock(t)
	for _, tc := range []struct{ from, want string }{
		{"2026-11-25 10:17", "2026-11-25 10:17"}, // open: t itself
		{"2026-11-25 06:00", "2026-11-25 08:00"},
		{"2026-11-25 16:00", "2026-11-26 08:00"},
		{"2026-11-27 17:00", "2026-11-30 08:00"}, // Friday evening -> Monday
		{"2026-11-28 12:00", "2026-11-30 08:00"}, // Saturday
		{"2026-04-01 16:30", "2026-04-07 08:00"}, // Easter 2026
		{"2026-12-24 16:00", "2026-12-28 08:00"}, // Christmas 2026
		{"2026-12-31 16:00", "2027-01-04 08:00"}, // New Year 2027 (Friday) and weekend
		{"2028-05-16 18:00", "2028-05-18 08:00"}, // 17 May on a Wednesday
	} {
		if got := clk.NextOpen(at(t, clk, tc.from)); !got.Equal(at(t, clk, tc.want)) {
			t.Errorf("NextOpen(%s) = %s, want %s", tc.from, fmtOslo(clk, got), tc.want)
		}
	}
}

func TestAddBusinessTime(t *testing.T) {
	clk := osloClock(t)
	for _, tc := range []struct {
		from, d, want, why string
	}{
		{"2026-11-27 15:00", "2d", "2026-12-01 15:00", "Friday 15:00 + 2d = Tuesday 15:00"},
		{"2026-11-25 14:00", "4h", "2026-11-26 10:00", "4h from 14:00 = next workday 10:00"},
		{"2026-11-25 12:00", "4h", "2026-11-26 08:00", "ending at closing time = next opening"},
		{"2026-11-25 11:00", "4h", "2026-11-25 15:00", "within the day"},
		{"2026-11-28 10:00", "2d", "2026-12-02 08:00", "from Saturday: start Monday 08:00"},
		{"2026-11-25 17:30", "1d", "2026-11-27 08:00", "from the evening: start next morning"},
		{"2026-11-27 14:00", "4h", "2026-11-30 10:00", "hours across a weekend"},
		{"2026-11-25 09:00", "1d4h", "2026-11-26 13:00", "days then hours"},
		{"2026-11-25 15:00", "1d4h", "2026-11-27 11:00", "days then hours spilling over"},
		{"2026-11-25 15:45", "30m", "2026-11-26 08:15", "minutes spill over"},
		{"2026-11-25 09:00", "16h", "2026-11-27 09:00", "16 working hours = 2 working days"},
		{"2026-11-25 09:00", "0", "2026-11-25 09:00", "zero from an open instant"},
		{"2026-11-25 19:00", "0", "2026-11-26 08:00", "zero from a closed instant = NextOpen"},
		{"2026-04-01 10:00", "1d", "2026-04-07 10:00", "Easter 2026: Wed + 1d = Tue after Easter Monday"},
		{"2026-04-01 14:00", "4h", "2026-04-07 10:00", "Easter 2026 in hours"},
		{"2026-03-31 10:00", "5d", "2026-04-10 10:00", "Easter 2026: 5 working days"},
		{"2026-05-13 10:00", "1d", "2026-05-15 10:00", "Ascension Day 2026"},
		{"2026-05-22 10:00", "1d", "2026-05-26 10:00", "Whit Monday 2026"},
		{"2028-05-16 10:00", "1d", "2028-05-18 10:00", "17 May on a Wednesday"},
		{"2026-12-23 10:00", "2d", "2026-12-28 10:00", "Christmas 2026: Wed + 2d (Thu 24 open, Fri 25 closed)"},
		{"2026-12-24 12:00", "8h", "2026-12-28 12:00", "Christmas 2026 in hours"},
		{"2026-03-27 10:00", "1d", "2026-03-30 10:00", "across the spring DST change (wall clock)"},
		{"2026-10-23 15:00", "2h", "2026-10-26 09:00", "across the autumn DST change (wall clock)"},
		{"2026-11-25 10:00", "15d", "2026-12-16 10:00", "three working weeks"},
	} {
		d, err := ParseBizDuration(tc.d)
		if err != nil {
			t.Fatalf("ParseBizDuration(%q): %v", tc.d, err)
		}
		got := clk.Add(at(t, clk, tc.from), d)
		if !got.Equal(at(t, clk, tc.want)) {
			t.Errorf("Add(%s, %s) = %s, want %s (%s)", tc.from, tc.d, fmtOslo(clk, got), tc.want, tc.why)
		}
		if !clk.IsOpen(got) {
			t.Errorf("Add(%s, %s) = %s is not an open instant", tc.from, tc.d, fmtOslo(clk, got))
		}
	}
}

func TestAddDSTInstants(t *testing.T) {
	clk := osloClock(t)
	// Friday 10:00 CET is 09:00Z; Monday 10:00 CEST is 08:00Z: a working
	// day is wall-clock time, not 24h multiples.
	got := clk.Add(time.Date(2026, 3, 27, 9, 0, 0, 0, time.UTC), BizDuration{Days: 1})
	if want := time.Date(2026, 3, 30, 8, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("spring: got %v, want %v", got.UTC(), want)
	}
	got = clk.Add(time.Date(2026, 10, 23, 8, 0, 0, 0, time.UTC), BizDuration{Days: 1}) // Fri 10:00 CEST
	if want := time.Date(2026, 10, 26, 9, 0, 0, 0, time.UTC); !got.Equal(want) {       // Mon 10:00 CET
		t.Errorf("autumn: got %v, want %v", got.UTC(), want)
	}

	// A clock open around the clock on every day meets the missing hour
	// itself: hours are counted on the wall clock.
	all, err := NewClock("Europe/Oslo", "00:00-24:00", []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got = all.Add(at(t, all, "2026-03-28 23:00"), BizDuration{Hours: 4})
	if want := at(t, all, "2026-03-29 03:00"); !got.Equal(want) {
		t.Errorf("24h clock over DST: got %s, want %s", fmtOslo(all, got), fmtOslo(all, want))
	}
	// Easter Sunday and Whit Sunday are holidays for a clock that works Sundays.
	if all.IsWorkday(at(t, all, "2026-04-05 12:00")) || all.IsWorkday(at(t, all, "2026-05-24 12:00")) {
		t.Error("Easter Sunday or Whit Sunday counted as a workday")
	}
	if !all.IsWorkday(at(t, all, "2026-04-12 12:00")) {
		t.Error("an ordinary Sunday is a workday on a seven-day clock")
	}
}

func TestAddIsMonotoneAndOpen(t *testing.T) {
	clk := osloClock(t)
	durs := []BizDuration{{}, {Minutes: 15}, {Hours: 4}, {Hours: 7, Minutes: 45}, {Days: 1}, {Days: 2}, {Days: 1, Hours: 4}, {Hours: 8}}
	start := at(t, clk, "2026-03-20 00:00")
	for tt := start; tt.Before(start.AddDate(0, 0, 30)); tt = tt.Add(35 * time.Minute) {
		for _, d := range durs {
			got := clk.Add(tt, d)
			if got.Before(tt) || !clk.IsOpen(got) {
				t.Fatalf("Add(%s, %s) = %s: before start or not open", fmtOslo(clk, tt), d, fmtOslo(clk, got))
			}
			if later := clk.Add(tt.Add(35*time.Minute), d); later.Before(got) {
				t.Fatalf("Add is not monotone at %s + %s", fmtOslo(clk, tt), d)
			}
		}
	}
}

func TestClockDate(t *testing.T) {
	clk := osloClock(t)
	for _, tc := range []struct {
		y    int
		m    time.Month
		d    int
		want string
	}{
		{2026, time.December, 1, "2026-12-01 08:00"},
		{2026, time.December, 25, "2026-12-28 08:00"}, // Christmas Day (Friday) -> Monday
		{2026, time.May, 17, "2026-05-18 08:00"},      // Sunday
		{2026, time.April, 2, "2026-04-07 08:00"},     // Maundy Thursday -> Tuesday after Easter
	} {
		if got := clk.Date(tc.y, tc.m, tc.d); !got.Equal(at(t, clk, tc.want)) {
			t.Errorf("Date(%d-%d-%d) = %s, want %s", tc.y, tc.m, tc.d, fmtOslo(clk, got), tc.want)
		}
	}
}

func TestParseBizDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want BizDuration
		str  string
	}{
		{"4h", BizDuration{Hours: 4}, "4h"},
		{"2d", BizDuration{Days: 2}, "2d"},
		{"1d4h", BizDuration{Days: 1, Hours: 4}, "1d4h"},
		{"1d4h30m", BizDuration{Days: 1, Hours: 4, Minutes: 30}, "1d4h30m"},
		{"30m", BizDuration{Minutes: 30}, "30m"},
		{" 2D ", BizDuration{Days: 2}, "2d"},
		{"0", BizDuration{}, "0"},
		{"0d", BizDuration{}, "0"},
		{"36h", BizDuration{Hours: 36}, "36h"},
	} {
		got, err := ParseBizDuration(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseBizDuration(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if got.String() != tc.str {
			t.Errorf("String(%+v) = %q, want %q", got, got.String(), tc.str)
		}
	}
	for _, in := range []string{"", "d", "4", "4x", "-1d", "1h2d", "1d1d", "2 d", "1.5d", "99999999d", "4000d", "h4", "1d 4h"} {
		if d, err := ParseBizDuration(in); err == nil {
			t.Errorf("ParseBizDuration(%q) = %+v, want an error", in, d)
		} else if !errors.Is(err, ErrBizTime) {
			t.Errorf("ParseBizDuration(%q): error %v does not wrap ErrBizTime", in, err)
		}
	}
	var d BizDuration
	if err := d.UnmarshalText([]byte("1d4h")); err != nil || d != (BizDuration{Days: 1, Hours: 4}) {
		t.Errorf("UnmarshalText: %+v, %v", d, err)
	}
	if b, _ := d.MarshalText(); string(b) != "1d4h" {
		t.Errorf("MarshalText = %q", b)
	}
}

func TestNewClockReportsEveryProblem(t *testing.T) {
	_, err := NewClock("Mars/Olympus", "16:00-08:00", []string{"mon", "funday"}, []string{"2026-13-01"})
	if err == nil {
		t.Fatal("NewClock accepted a bad configuration")
	}
	for _, want := range []string{"Mars/Olympus", "16:00-08:00", "funday", "2026-13-01"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if !errors.Is(err, ErrBizTime) {
		t.Errorf("error does not wrap ErrBizTime")
	}
	if _, err := NewClock("", "8-16", nil, nil); err == nil {
		t.Error(`NewClock accepted work hours "8-16"`)
	}
	if _, err := NewClock("", "", []string{}, nil); err == nil {
		t.Error("NewClock accepted a week without working days")
	}
	c, err := NewClock("UTC", "09:30-17:00", []string{"Monday", "sat"}, []string{" 2026-12-24 "})
	if err != nil {
		t.Fatal(err)
	}
	if c.Start != 9*time.Hour+30*time.Minute || c.End != 17*time.Hour || !c.Workdays[time.Monday] ||
		!c.Workdays[time.Saturday] || c.Workdays[time.Tuesday] || !c.Closed["2026-12-24"] {
		t.Errorf("NewClock built %+v", c)
	}
}

func TestZeroClockDoesNotHang(t *testing.T) {
	var c Clock // no working days and no hours at all: searches are bounded
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	if got := c.Add(now, BizDuration{Days: 2, Hours: 3}); got.Before(now) {
		t.Errorf("zero Clock Add went backwards: %v", got)
	}
}

func FuzzParseBizDuration(f *testing.F) {
	for _, s := range []string{"4h", "2d", "1d4h", "30m", "0", "", "1h2d", "99999d", "-3d"} {
		f.Add(s)
	}
	clk, err := NewClock("", "", nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	from := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseBizDuration(s)
		if err != nil {
			return
		}
		back, err := ParseBizDuration(d.String())
		if err != nil || back != d {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, d, d.String(), back, err)
		}
		if got := clk.Add(from, d); got.Before(from) || !clk.IsOpen(got) {
			t.Fatalf("Add(%s) = %v", d, got)
		}
	})
}
