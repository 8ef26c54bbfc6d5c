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
