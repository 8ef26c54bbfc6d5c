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
// brief of every case, then the brief of every message in one sequential
// pass (faster than a lookup per case): the report needs neither text
// nor names, nor the messages it does not count.
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
	index := caseIndex{limit: 4*n + 1024}
	err = tx.ForEachCaseBrief(func(c *kp.Case) error {
		index.put(c.ID, len(cases))
		// A case's status records, relay and answer are about half its
		// messages; a longer case grows its slice.
		cases = append(cases, report.Input{Case: *c, Messages: make([]kp.Message, 0, min(c.Messages, 4))})
		return nil
	})
	if err != nil {
		return nil, 0, 0, 0, err
	}
	err = tx.ForEachMessageBrief(func(m *kp.Message) error {
		if m.Case != 0 {
			if j, ok := index.get(m.Case); ok && report.Counts(m) {
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

// caseIndex finds a case's place among the inputs by its id. Case ids are
// handed out in sequence, so a slice indexed by id is dense and faster
// than a map; ids beyond limit (a store with far fewer cases than ids)
// go to a map.
type caseIndex struct {
	dense  []int32 // place+1 by id; 0 for none
	sparse map[kp.CaseID]int
	limit  int
}

func (x *caseIndex) put(id kp.CaseID, place int) {
	if uint64(id) >= uint64(x.limit) {
		if x.sparse == nil {
			x.sparse = map[kp.CaseID]int{}
		}
		x.sparse[id] = place
		return
	}
	if int(id) >= len(x.dense) {
		x.dense = append(x.dense, make([]int32, int(id)+1-len(x.dense)+len(x.dense)/4)...)
	}
	x.dense[id] = int32(place) + 1
}

func (x *caseIndex) get(id kp.CaseID) (int, bool) {
	if uint64(id) < uint64(len(x.dense)) && x.dense[id] > 0 {
		return int(x.dense[id]) - 1, true
	}
	place, ok := x.sparse[id]
	return place, ok
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
