package routing

// Business time (docs/behaviour.md, Follow-up).
//
// A Clock knows when the contact point is open: a time zone, daily working
// hours, the working days of the week, Norwegian public holidays and extra
// closed days. All arithmetic is done on the wall clock of that zone, so a
// working day starts at 08:00 local time whether or not the clocks changed
// the Sunday before. A BizDuration counts only open time.

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrBizTime is wrapped by every error of ParseBizDuration, NewClock and
// ParseTimeOfDay.
var ErrBizTime = errors.New("routing: invalid business time")

// Limits of a BizDuration, so that arithmetic stays cheap and cannot
// overflow on configuration or subject-line input.
const (
	maxBizDays    = 3660
	maxBizHours   = 24 * 3660
	maxBizMinutes = 60 * 24 * 3660
)

// BizDuration is a span of business time. Days are working days, Hours
// and Minutes are working hours and minutes; the zero value is no time at
// all, and in a Policy it switches the rule off.
type BizDuration struct {
	Days, Hours, Minutes int
}

// IsZero reports whether d is no time at all.
func (d BizDuration) IsZero() bool { return d.Days == 0 && d.Hours == 0 && d.Minutes == 0 }

// ParseBizDuration reads "2d", "4h", "30m", "1d4h", "1d4h30m" or "0".
// Units come in the order d, h, m, each at most once; numbers are
// non-negative decimal integers. Surrounding space and upper-case units are
// accepted.
func ParseBizDuration(s string) (BizDuration, error) {
	in := strings.ToLower(strings.TrimSpace(s))
	if in == "0" {
		return BizDuration{}, nil
	}
	if in == "" {
		return BizDuration{}, fmt.Errorf("%w: empty duration", ErrBizTime)
	}
	var d BizDuration
	order := 0 // index into "dhm" of the last unit read, +1
	for rest := in; rest != ""; {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) {
			return BizDuration{}, fmt.Errorf("%w: duration %q: want a number followed by d, h or m, e.g. 2d, 4h, 1d4h", ErrBizTime, s)
		}
		if i > 7 {
			return BizDuration{}, fmt.Errorf("%w: duration %q: number too large", ErrBizTime, s)
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil {
			return BizDuration{}, fmt.Errorf("%w: duration %q: %w", ErrBizTime, s, err)
		}
		u := strings.IndexByte("dhm", rest[i])
		if u < 0 {
			return BizDuration{}, fmt.Errorf("%w: duration %q: unit %q is not d, h or m", ErrBizTime, s, rest[i])
		}
		if u+1 <= order {
			return BizDuration{}, fmt.Errorf("%w: duration %q: units must come once each, in the order d, h, m", ErrBizTime, s)
		}
		order = u + 1
		switch u {
		case 0:
			d.Days = n
		case 1:
			d.Hours = n
		case 2:
			d.Minutes = n
		}
		rest = rest[i+1:]
	}
	if d.Days > maxBizDays || d.Hours > maxBizHours || d.Minutes > maxBizMinutes {
		return BizDuration{}, fmt.Errorf("%w: duration %q: too long", ErrBizTime, s)
	}
	return d, nil
}

// String renders d the way ParseBizDuration reads it: "1d4h", "30m", "0".
func (d BizDuration) String() string {
	if d.IsZero() {
		return "0"
	}
	var b strings.Builder
	if d.Days != 0 {
		b.WriteString(strconv.Itoa(d.Days) + "d")
	}
	if d.Hours != 0 {
		b.WriteString(strconv.Itoa(d.Hours) + "h")
	}
	if d.Minutes != 0 {
		b.WriteString(strconv.Itoa(d.Minutes) + "m")
	}
	return b.String()
}

// MarshalText renders d with String, so configuration can hold "2d".
func (d BizDuration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses d with ParseBizDuration.
func (d *BizDuration) UnmarshalText(b []byte) error {
	v, err := ParseBizDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// valid reports whether d is within the limits ParseBizDuration enforces;
// Clock.Add treats anything else as zero rather than looping for ages.
func (d BizDuration) valid() bool {
	return d.Days >= 0 && d.Hours >= 0 && d.Minutes >= 0 &&
		d.Days <= maxBizDays && d.Hours <= maxBizHours && d.Minutes <= maxBizMinutes
}

// minutes is d in business minutes, a day being dayLen long.
func (d BizDuration) minutes(dayLen time.Duration) int {
	return d.Days*int(dayLen/time.Minute) + d.Hours*60 + d.Minutes
}

// Clock is business time: when the contact point is open. Build one with
// NewClock; a Clock is never modified after that and is safe for
// concurrent use.
type Clock struct {
	// Loc is the time zone of working hours and dates; nil means UTC.
	Loc *time.Location
	// Start and End are the working hours as wall-clock offsets from
	// midnight, e.g. 8h and 16h; the office is open in [Start, End).
	Start, End time.Duration
	// Workdays says which weekdays (indexed by time.Weekday) are working days.
	Workdays [7]bool
	// Closed holds extra closed dates, "YYYY-MM-DD", besides the Norwegian
	// public holidays.
	Closed map[string]bool
}

// Defaults of NewClock.
const (
	DefaultTimezone  = "Europe/Oslo"
	DefaultWorkHours = "08:00-16:00"
)

var weekdayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// ParseWeekday reads a weekday: its English name or three-letter
// abbreviation, in any letter case ("Monday", "mon", "MON"). It is the one
// weekday grammar: the configuration's followup.workdays and the clock
// both read days with it.
func ParseWeekday(s string) (time.Weekday, bool) {
	wd, ok := weekdayNames[strings.ToLower(strings.TrimSpace(s))]
	return wd, ok
}

// NewClock builds a Clock. tz is an IANA zone ("" means Europe/Oslo),
// workHours is "HH:MM-HH:MM" ("" means 08:00-16:00; "24:00" may end it),
// workdays are "mon".."sun" or full English names (nil means Monday to
// Friday), closed are extra closed dates "YYYY-MM-DD". Every problem is
// reported, joined in one error. The zone comes from time.LoadLocation:
// the system's zone database, or Go's embedded copy when the program
// imports time/tzdata (advisable for minimal container images).
func NewClock(tz, workHours string, workdays []string, closed []string) (*Clock, error) {
	var errs []error
	c := &Clock{Closed: map[string]bool{}}
	if tz == "" {
		tz = DefaultTimezone
	}
	if loc, err := time.LoadLocation(tz); err != nil || tz == "Local" {
		errs = append(errs, fmt.Errorf("%w: time zone %q is not an IANA zone such as Europe/Oslo", ErrBizTime, tz))
	} else {
		c.Loc = loc
	}
	if workHours == "" {
		workHours = DefaultWorkHours
	}
	from, to, ok := strings.Cut(strings.TrimSpace(workHours), "-")
	start, err1 := ParseTimeOfDay(from)
	end, err2 := ParseTimeOfDay(to)
	switch {
	case !ok || err1 != nil || err2 != nil:
		errs = append(errs, fmt.Errorf("%w: working hours %q: want HH:MM-HH:MM, e.g. 08:00-16:00", ErrBizTime, workHours))
	case end <= start:
		errs = append(errs, fmt.Errorf("%w: working hours %q end before they start", ErrBizTime, workHours))
	default:
		c.Start, c.End = start, end
	}
	if workdays == nil {
		workdays = []string{"mon", "tue", "wed", "thu", "fri"}
	}
	for _, w := range workdays {
		wd, ok := ParseWeekday(w)
		if !ok {
			errs = append(errs, fmt.Errorf("%w: workday %q: want mon, tue, wed, thu, fri, sat or sun", ErrBizTime, w))
			continue
		}
		c.Workdays[wd] = true
	}
	if !slices.Contains(c.Workdays[:], true) && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%w: no working days", ErrBizTime))
	}
	for _, d := range closed {
		t, err := time.Parse(time.DateOnly, strings.TrimSpace(d))
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: closed day %q: want YYYY-MM-DD", ErrBizTime, d))
			continue
		}
		c.Closed[t.Format(time.DateOnly)] = true
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// ParseTimeOfDay reads a wall-clock time "HH:MM" (00:00 to 24:00) as an
// offset from midnight.
func ParseTimeOfDay(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, fmt.Errorf("%w: time %q: want HH:MM", ErrBizTime, s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("%w: time %q: want HH:MM between 00:00 and 24:00", ErrBizTime, s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

// NorwegianHolidays returns the Norwegian public holidays of a year as
// civil dates (midnight UTC), in date order: New Year's Day, Maundy
// Thursday, Good Friday, Easter Sunday, Easter Monday, 1 May, 17 May,
// Ascension Day, Whit Sunday, Whit Monday, Christmas Day and Boxing Day.
// Easter and Whit Sunday are listed because they are holidays by law; they
// matter only to a clock that works on Sundays. Days that coincide (Whit
// Monday on 17 May in 2027) are listed once.
func NorwegianHolidays(year int) []time.Time {
	day := func(m time.Month, d int) time.Time { return time.Date(year, m, d, 0, 0, 0, 0, time.UTC) }
	easter := easterSunday(year)
	e := func(off int) time.Time { return easter.AddDate(0, 0, off) }
	hs := []time.Time{
		day(time.January, 1),
		e(-3), e(-2), e(0), e(1),
		day(time.May, 1), day(time.May, 17),
		e(39), e(49), e(50),
		day(time.December, 25), day(time.December, 26),
	}
	slices.SortFunc(hs, func(a, b time.Time) int { return a.Compare(b) })
	return slices.CompactFunc(hs, func(a, b time.Time) bool { return a.Equal(b) })
}

// easterSunday is Western (Gregorian) Easter Sunday, by the anonymous
// Gregorian algorithm (Meeus/Jones/Butcher).
func easterSunday(y int) time.Time {
	a := y % 19
	b, c := y/100, y%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return time.Date(y, time.Month(month), day, 0, 0, 0, 0, time.UTC)
}

// isNorwegianHoliday reports whether the civil date y-m-d is a public
// holiday, without allocating.
func isNorwegianHoliday(y int, m time.Month, d int) bool {
	switch {
	case m == time.January && d == 1,
		m == time.May && (d == 1 || d == 17),
		m == time.December && (d == 25 || d == 26):
		return true
	case m < time.March || m > time.June:
		return false // Easter-based holidays fall between 19 March and 14 June
	}
	off := int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Sub(easterSunday(y)) / (24 * time.Hour))
	switch off {
	case -3, -2, 0, 1, 39, 49, 50:
		return true
	}
	return false
}

func (c *Clock) loc() *time.Location {
	if c.Loc == nil {
		return time.UTC
	}
	return c.Loc
}

// wallOffset is the wall-clock time of day of t in c's zone.
func (c *Clock) wallOffset(t time.Time) time.Duration {
	h, m, s := t.Clock()
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second +
		time.Duration(t.Nanosecond())
}

// at is the instant of wall-clock offset off on the civil date of t.
func (c *Clock) at(t time.Time, off time.Duration) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, int(off), c.loc())
}

// workday reports whether the civil date of t (already in c's zone) is a
// working day.
func (c *Clock) workday(t time.Time) bool {
	if !c.Workdays[t.Weekday()] {
		return false
	}
	y, m, d := t.Date()
	if isNorwegianHoliday(y, m, d) {
		return false
	}
	return len(c.Closed) == 0 || !c.Closed[t.Format(time.DateOnly)]
}

// maxScanDays bounds the search for the next working day, so that a
// Clock without any (built by hand, not by NewClock) cannot loop forever.
const maxScanDays = 100 * 366

// nextWorkday returns midnight of the first working day after the civil
// date of t (in c's zone).
func (c *Clock) nextWorkday(t time.Time) time.Time {
	y, m, d := t.Date()
	for i := 1; i <= maxScanDays; i++ {
		n := time.Date(y, m, d+i, 0, 0, 0, 0, c.loc())
		if c.workday(n) {
			return n
		}
	}
	return time.Date(y, m, d+maxScanDays, 0, 0, 0, 0, c.loc())
}

// IsWorkday reports whether t falls, in c's zone, on a working day: a
// configured weekday that is neither a Norwegian public holiday nor a
// closed day.
func (c *Clock) IsWorkday(t time.Time) bool { return c.workday(t.In(c.loc())) }

// IsOpen reports whether t is on a working day within working hours
// (Start inclusive, End exclusive).
func (c *Clock) IsOpen(t time.Time) bool {
	t = t.In(c.loc())
	off := c.wallOffset(t)
	return off >= c.Start && off < c.End && c.workday(t)
}

// NextOpen returns t if the office is open at t, else the next instant
// it opens.
func (c *Clock) NextOpen(t time.Time) time.Time {
	t = t.In(c.loc())
	off := c.wallOffset(t)
	if c.workday(t) {
		if off >= c.Start && off < c.End {
			return t
		}
		if off < c.Start {
			return c.at(t, c.Start)
		}
	}
	return c.at(c.nextWorkday(t), c.Start)
}

// Add returns the instant d of business time after t.
//
// Counting starts at NextOpen(t): from a closed instant the clock starts
// at the next opening. Days move that many working days ahead at the same
// wall-clock time ("2d" from Friday 15:00 is Tuesday 15:00; from Saturday
// it is Tuesday 08:00). Hours and Minutes then run only inside working
// hours and spill over into the next working day ("4h" from 14:00 with
// 08:00-16:00 hours is the next working day 10:00). A count that ends
// exactly at closing time ends at the next opening instead, so the result
// is always an instant when the office is open: Add(Monday 12:00, 4h) is
// Tuesday 08:00, the same business instant as Monday 16:00. A zero d gives
// NextOpen(t). Time is counted on the wall clock, so a day on which the
// clocks change is as long as any other. An out-of-range d (negative, or
// beyond what ParseBizDuration accepts) counts as zero.
func (c *Clock) Add(t time.Time, d BizDuration) time.Time {
	s := c.NextOpen(t)
	if !d.valid() || c.End <= c.Start {
		return s
	}
	for range d.Days {
		s = c.at(c.nextWorkday(s), c.wallOffset(s))
	}
	rest := time.Duration(d.Hours)*time.Hour + time.Duration(d.Minutes)*time.Minute
	for rest > 0 {
		off := c.wallOffset(s)
		left := c.End - off
		if rest < left {
			return c.at(s, off+rest)
		}
		rest -= left
		s = c.at(c.nextWorkday(s), c.Start)
	}
	return s
}

// Date returns the opening instant of the civil date y-m-d in c's zone,
// or the next opening after it when that date is closed. It gives
// "[remind:2026-12-01]" its meaning.
func (c *Clock) Date(y int, m time.Month, d int) time.Time {
	return c.NextOpen(time.Date(y, m, d, 0, 0, 0, 0, c.loc()))
}

// DayLength is the length of one working day.
func (c *Clock) DayLength() time.Duration { return c.End - c.Start }
