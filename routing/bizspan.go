package routing

import "time"

// Between is the business time from a to b: how long the office is open
// in [a, b). It is zero when b is not after a. It is the inverse of Add
// for hours and minutes: Between(t, Add(t, 4h)) is 4h when t is an open
// instant. Like Add it counts on the wall clock of each working day.
func (c *Clock) Between(a, b time.Time) time.Duration {
	if !b.After(a) || c.End <= c.Start {
		return 0
	}
	loc := c.loc()
	a, b = a.In(loc), b.In(loc)
	y, m, d := a.Date()
	var total time.Duration
	for i := 0; i <= maxScanDays; i++ {
		day := time.Date(y, m, d+i, 0, 0, 0, 0, loc)
		if !day.Before(b) {
			break
		}
		if !c.workday(day) {
			continue
		}
		lo, hi := c.at(day, c.Start), c.at(day, c.End)
		if a.After(lo) {
			lo = a
		}
		if b.Before(hi) {
			hi = b
		}
		if hi.After(lo) {
			total += hi.Sub(lo)
		}
	}
	return total
}

// Calendar is business time over a range of days, computed once, for
// measuring many spans (a report over a year of cases): Between gives
// the same answer as Clock.Between without walking the days of each span.
// A Calendar is not modified after Calendar returns it.
type Calendar struct {
	clk   *Clock
	first time.Time // midnight of the first day, in the clock's zone
	// days holds per civil day the business time before it (from
	// first) and its opening and closing instants (zero when closed).
	days []calDay
}

type calDay struct {
	before      time.Duration
	open, close time.Time
}

// maxCalendarDays bounds a Calendar; spans outside it are measured day
// by day.
const maxCalendarDays = 20 * 366

// Calendar builds the business calendar of the civil days from the one
// holding from to the one holding to.
func (c *Clock) Calendar(from, to time.Time) *Calendar {
	loc := c.loc()
	f := from.In(loc)
	y, m, d := f.Date()
	cal := &Calendar{clk: c, first: time.Date(y, m, d, 0, 0, 0, 0, loc)}
	if c.End <= c.Start {
		return cal
	}
	var sum time.Duration
	for i := 0; i < maxCalendarDays; i++ {
		day := time.Date(y, m, d+i, 0, 0, 0, 0, loc)
		if day.After(to) {
			break
		}
		cd := calDay{before: sum}
		if c.workday(day) {
			cd.open, cd.close = c.at(day, c.Start), c.at(day, c.End)
			sum += cd.close.Sub(cd.open)
		}
		cal.days = append(cal.days, cd)
	}
	return cal
}

// Between is Clock.Between.
func (cal *Calendar) Between(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	pa, oka := cal.pos(a)
	pb, okb := cal.pos(b)
	if !oka || !okb {
		return cal.clk.Between(a, b)
	}
	return pb - pa
}

// pos is the business time from the calendar's start to t.
func (cal *Calendar) pos(t time.Time) (time.Duration, bool) {
	t = t.In(cal.clk.loc())
	y, m, d := t.Date()
	y0, m0, d0 := cal.first.Date()
	i := int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Sub(time.Date(y0, m0, d0, 0, 0, 0, 0, time.UTC)) / (24 * time.Hour))
	if i < 0 || i >= len(cal.days) {
		return 0, false
	}
	cd := &cal.days[i]
	switch {
	case cd.open.IsZero() || !t.After(cd.open):
		return cd.before, true
	case t.Before(cd.close):
		return cd.before + t.Sub(cd.open), true
	}
	return cd.before + cd.close.Sub(cd.open), true
}
