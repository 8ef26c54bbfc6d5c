//go:build unix

package suggest_test

import (
	"syscall"
	"testing"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
	"kontaktpunkt/suggest"
)

// BenchmarkRankVotes measures the ranking alone as a new case's
// notification asks for it (voters only, the case itself excluded), the
// request's terms found beforehand, over 10,000 past cases of every
// status. cpu-µs/op is the process's CPU time, steadier than wall time
// on a busy machine.
func BenchmarkRankVotes(b *testing.B) {
	s := openStore(b)
	g := newGen(9)
	hist := g.history(10000, false)
	statuses := []kp.Status{kp.StatusResolved, kp.StatusOpen, kp.StatusWaiting, kp.StatusResolved}
	for i := 0; i < len(hist); i += 2000 {
		err := s.Update(func(tx *store.Tx) error {
			for j, gc := range hist[i:min(i+2000, len(hist))] {
				id, err := tx.NextCaseID()
				if err != nil {
					return err
				}
				c := kpCase(id, gc, statuses[j%len(statuses)])
				c.Messages = 3
				if err := tx.PutCase(c); err != nil {
					return err
				}
				if err := tx.PutCaseTerms(id, suggest.CaseTerms(gc.subject, gc.text, suggest.VocabOf(tx))); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	var queries []map[string]int
	err := s.View(func(tx *store.Tx) error {
		for _, c := range g.history(200, true) {
			queries = append(queries, suggest.CaseTerms(c.subject, c.text, suggest.VocabOf(tx)))
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	err = s.View(func(tx *store.Tx) error {
		cpu := cpuTime()
		for b.Loop() {
			if _, err := suggest.Rank(tx, queries[i%len(queries)], suggest.Options{Exclude: kp.CaseID(10001 + i), VotesOnly: true}); err != nil {
				return err
			}
			i++
		}
		b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
