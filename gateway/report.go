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

// reportInputs is ReportInputs in the caller's transaction.
func reportInputs(tx *store.Tx, from, to time.Time) (cases []report.Input, unfiled, quarantined, spam int, err error) {
	err = func() error {
		list, err := tx.Cases(store.CaseFilter{})
		if err != nil {
			return err
		}
		cases = make([]report.Input, 0, len(list))
		for i := len(list) - 1; i >= 0; i-- { // oldest first
			msgs, err := tx.CaseMessages(list[i].ID)
			if err != nil {
				return fmt.Errorf("case %d: %w", list[i].ID, err)
			}
			cases = append(cases, report.Input{Case: list[i], Messages: msgs})
		}
		loose, err := tx.Unfiled(0)
		if err != nil {
			return err
		}
		for i := range loose {
			m := &loose[i]
			at := m.Received
			if !m.Date.IsZero() && m.Date.Before(at) {
				at = m.Date // an archive import: the mail's own time
			}
			if (!from.IsZero() && at.Before(from)) || (!to.IsZero() && !at.Before(to)) {
				continue
			}
			switch {
			case m.Class == kp.ClassSpam:
				spam++
			case m.Quarantine != "" || m.Kind == "quarantined":
				quarantined++
			default:
				unfiled++
			}
		}
		return nil
	}()
	return cases, unfiled, quarantined, spam, err
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
