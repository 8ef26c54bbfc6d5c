package gateway

import (
	"fmt"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/report"
	"kontaktpunkt/store"
)

// ReportInputs reads every case with the messages a report counts into a
// report.Builder, and counts the unfiled, quarantined and spam messages
// received in [from, to) (zero times leave a side open), in one read
// transaction.
func (g *Gateway) ReportInputs(from, to time.Time) (b *report.Builder, unfiled, quarantined, spam int, err error) {
	err = g.Store.View(func(tx *store.Tx) error {
		var err error
		b, unfiled, quarantined, spam, err = g.reportInputs(tx, from, to)
		return err
	})
	return b, unfiled, quarantined, spam, err
}

// reportInputs is ReportInputs in the caller's transaction. It reads the
// brief of every case, then the fact of every message that may count
// (store.Tx.ForEachMessageFact: a few uncompressed bytes each, no message
// record read), or where the store has no facts the brief of every
// message, in one sequential pass: the report needs neither text nor
// names, and keeps of a message only what it means to the figures.
func (g *Gateway) reportInputs(tx *store.Tx, from, to time.Time) (b *report.Builder, unfiled, quarantined, spam int, err error) {
	return g.reportInputsFrom(tx, from, to, true)
}

// eachReportMessage calls fn with the messages a report may count: their
// facts when facts is true and the store has them, else their briefs.
func eachReportMessage(tx *store.Tx, facts bool, fn func(m *kp.Message) error) error {
	if facts {
		if ok, err := tx.ForEachMessageFact(fn); ok || err != nil {
			return err
		}
	}
	return tx.ForEachMessageBrief(fn)
}

// reportInputsFrom is reportInputs reading message facts or (facts false)
// message briefs.
func (g *Gateway) reportInputsFrom(tx *store.Tx, from, to time.Time, facts bool) (b *report.Builder, unfiled, quarantined, spam int, err error) {
	b = report.NewBuilder(g.staffSide)
	if n, err := tx.CountByStatus(); err == nil {
		total := 0
		for _, k := range n {
			total += k
		}
		b.Grow(total)
	}
	err = tx.ForEachCaseBrief(func(c *kp.Case) error {
		b.AddCase(c)
		return nil
	})
	if err != nil {
		return nil, 0, 0, 0, err
	}
	err = eachReportMessage(tx, facts, func(m *kp.Message) error {
		if m.Case != 0 {
			if report.Counts(m) {
				b.AddMessage(m)
			}
			return nil
		}
		at := m.Received
		if !m.Date.IsZero() && m.Date.Before(at) {
			at = m.Date // an archive import: the mail's own time
		}
		if (!from.IsZero() && at.Before(from)) || (!to.IsZero() && !at.Before(to)) {
			return nil
		}
		switch {
		case m.Class == kp.ClassSpam:
			spam++
		case m.Quarantine != "" || m.Kind == "quarantined":
			quarantined++
		default:
			unfiled++
		}
		return nil
	})
	if err != nil {
		return nil, 0, 0, 0, err
	}
	return b, unfiled, quarantined, spam, nil
}

// Report computes the report of [from, to) (zero times leave a side open)
// for team ("" for all), in business time on the follow-up clock.
func (g *Gateway) Report(from, to time.Time, team string) (*report.Report, error) {
	b, unfiled, quarantined, spam, err := g.ReportInputs(from, to)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	r := b.Report(g.ReportOptions(from, to, team))
	r.Unfiled, r.Quarantined, r.Spam = unfiled, quarantined, spam
	return r, nil
}

// ReportOptions are the report options of this gateway's configuration.
func (g *Gateway) ReportOptions(from, to time.Time, team string) report.Options {
	return report.Options{
		From: from, To: to, Team: team, Clock: g.Clock, Now: g.now(),
		StaffSide:     g.staffSide,
		RespondWithin: g.Policy.RespondWithin,
		Rules:         g.ruleKeys(),
	}
}

// ruleKeys are the keys of the configured routing rules, in order.
func (g *Gateway) ruleKeys() []string {
	keys := make([]string, len(g.Rules))
	for i := range g.Rules {
		keys[i] = g.Rules[i].Key
	}
	return keys
}

// staffSide reports whether an address speaks for the contact point in
// the figures: staff, a team member, a responsible party.
func (g *Gateway) staffSide(addr string) bool {
	return g.Dir.IsStaff(addr) || g.Dir.IsResponsible(addr)
}
