package routing

import "time"

// WeeklySlot is the latest instant at or before now when a weekly mail
// set for day at the wall-clock time at falls due: that day and time of
// this week or, before it, of last week. A slot outside working hours
// (a holiday, an evening) moves to the next opening, so the mail goes
// when someone is at work.
func WeeklySlot(clk *Clock, day time.Weekday, at time.Duration, now time.Time) time.Time {
	n := now.In(clk.loc())
	back := (int(n.Weekday()) - int(day) + 7) % 7
	y, m, d := n.Date()
	slot := clk.NextOpen(time.Date(y, m, d-back, 0, 0, 0, int(at), clk.loc()))
	if slot.After(n) {
		slot = clk.NextOpen(time.Date(y, m, d-back-7, 0, 0, 0, int(at), clk.loc()))
	}
	return slot
}
