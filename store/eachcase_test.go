package store

import (
	"fmt"
	"testing"
	"time"

	kp "kontaktpunkt"
)

func TestEachCaseStopsAndPages(t *testing.T) {
	s := openTest(t)
	update(t, s, func(tx *Tx) error {
		for i := range 10 {
			id, err := tx.NextCaseID()
			if err != nil {
				return err
			}
			st := kp.StatusOpen
			if i%2 == 1 {
				st = kp.StatusWaiting
			}
			if err := tx.PutCase(&kp.Case{ID: id, Subject: fmt.Sprint("sak ", i), Status: st, Priority: kp.PriorityNormal, Created: time.Now()}); err != nil {
				return err
			}
		}
		return nil
	})
	var ids []kp.CaseID
	err := s.View(func(tx *Tx) error {
		return tx.EachCase(CaseFilter{Status: kp.StatusOpen, Limit: 2, Offset: 1}, func(c *kp.Case) error {
			ids = append(ids, c.ID)
			return nil
		})
	})
	if err != nil || fmt.Sprint(ids) != "[7 5]" {
		t.Fatalf("open cases, page of 2 after 1 = %v, %v; want [7 5]", ids, err)
	}
	stop := fmt.Errorf("stop")
	n := 0
	err = s.View(func(tx *Tx) error {
		return tx.EachCase(CaseFilter{}, func(c *kp.Case) error {
			if n++; n == 3 {
				return stop
			}
			return nil
		})
	})
	if err != stop || n != 3 {
		t.Fatalf("an error from fn: walked %d, returned %v", n, err)
	}
}

// BenchmarkEachCase reports how fast a listing walks the cases (cases/s);
// memory stays that of one case whatever the store holds.
func BenchmarkEachCase(b *testing.B) {
	const total = 100_000
	s := openTest(b)
	for batch := 0; batch < total; batch += 10_000 {
		update(b, s, func(tx *Tx) error {
			for i := range 10_000 {
				id, err := tx.NextCaseID()
				if err != nil {
					return err
				}
				c := &kp.Case{ID: id, Subject: fmt.Sprintf("Tilgang til data for prosjekt %d", batch+i), Status: kp.StatusOpen,
					Requester: kp.Address{Name: "Ola", Addr: fmt.Sprintf("p%d@example.org", i)}, Priority: kp.PriorityNormal, Created: time.Now(), Updated: time.Now()}
				if err := tx.PutCase(c); err != nil {
					return err
				}
			}
			return nil
		})
	}
	b.ResetTimer()
	for b.Loop() {
		n := 0
		if err := s.View(func(tx *Tx) error {
			return tx.EachCase(CaseFilter{}, func(*kp.Case) error { n++; return nil })
		}); err != nil || n != total {
			b.Fatal(n, err)
		}
	}
	b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "cases/s")
}

// TestEachCaseAcrossPageReleases lists more cases than EachCase reads
// between releases of the mapped pages and checks every one comes back
// whole and in order, by both walks (every case, and a status index).
func TestEachCaseAcrossPageReleases(t *testing.T) {
	s := openTest(t)
	const n = 3*releaseEvery + 17
	update(t, s, func(tx *Tx) error {
		for i := range n {
			id, err := tx.NextCaseID()
			if err != nil {
				return err
			}
			c := &kp.Case{ID: id, Subject: fmt.Sprintf("sak %d om søknad", id), Status: kp.StatusOpen,
				Priority: kp.PriorityNormal, Created: time.Unix(int64(i), 0), Requester: kp.Address{Addr: fmt.Sprintf("p%d@uio.no", id)}}
			if err := tx.PutCase(c); err != nil {
				return err
			}
		}
		return nil
	})
	for _, f := range []CaseFilter{{}, {Status: kp.StatusOpen}} {
		next := kp.CaseID(n)
		err := s.View(func(tx *Tx) error {
			return tx.EachCase(f, func(c *kp.Case) error {
				if c.ID != next || c.Subject != fmt.Sprintf("sak %d om søknad", c.ID) || c.Requester.Addr != fmt.Sprintf("p%d@uio.no", c.ID) {
					return fmt.Errorf("case %d (want %d): %q %q", c.ID, next, c.Subject, c.Requester.Addr)
				}
				next--
				return nil
			})
		})
		if err != nil || next != 0 {
			t.Errorf("filter %+v: %v; %d cases not listed", f, err, next)
		}
	}
}
