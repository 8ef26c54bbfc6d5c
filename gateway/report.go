package gateway

import (
	"fmt"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/report"
	"kontaktpunkt/store"
)

// ReportInputs reads every case with its messages, and the unfiled,
// quarantined and spam messages received in [from, to) (zero times leave
// a side open), in one read transaction.
func (g *Gateway) ReportInputs(from, to time.Time) (cases []report.Input, unfiled, quarantined, spam int, err error) {
	err = g.Store.View(func(tx *store.Tx) error {
		var err error
		cases, unfiled, quarantined, spam, err = reportInputs(tx, from, to)
		return err
	})
	return cases, unfiled, quarantined, spam, err
}

// reportInputs is ReportInputs in the caller's transaction. It reads the
// cases, then every message in one sequential pass (faster than a lookup
// per case), keeping the messages' text out: the report does not need it.
func reportInputs(tx *store.Tx, from, to time.Time) (cases []report.Input, unfiled, quarantined, spam int, err error) {
	byStatus, err := tx.CountByStatus()
	if err != nil {
		return nil, 0, 0, 0, err
	}
	n := 0
	for _, k := range byStatus {
		n += k
	}
	cases = make([]report.Input, 0, n)
	index := make(map[kp.CaseID]int, n)
	err = tx.ForEachCase(func(c *kp.Case) error {
		index[c.ID] = len(cases)
		cases = append(cases, report.Input{Case: *c, Messages: make([]kp.Message, 0, c.Messages)})
		return nil
	})
	if err != nil {
		return nil, 0, 0, 0, err
	}
	err = tx.ForEachMessage(true, func(m *kp.Message) error {
		if m.Case != 0 {
			if j, ok := index[m.Case]; ok {
				cases[j].Messages = append(cases[j].Messages, *m)
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
	return cases, unfiled, quarantined, spam, nil
}

// Report computes the report of [from, to) (zero times leave a side open)
// for team ("" for all), in business time on the follow-up clock.
func (g *Gateway) Report(from, to time.Time, team string) (*report.Report, error) {
	cases, unfiled, quarantined, spam, err := g.ReportInputs(from, to)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	r := report.Compute(cases, g.ReportOptions(from, to, team))
	r.Unfiled, r.Quarantined, r.Spam = unfiled, quarantined, spam
	return r, nil
}

// ReportOptions are the report options of this gateway's configuration.
func (g *Gateway) ReportOptions(from, to time.Time, team string) report.Options {
	return report.Options{
		From: from, To: to, Team: team, Clock: g.Clock, Now: g.now(),
		StaffSide:     func(a string) bool { return g.Dir.IsStaff(a) || g.Dir.IsResponsible(a) },
		RespondWithin: g.Policy.RespondWithin,
	}
}
