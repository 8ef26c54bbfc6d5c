package web

import (
	"sync"
	"time"

	"kontaktpunkt/report"
	"kontaktpunkt/store"
)

// reportCache keeps computed reports keyed by the store's generation,
// so a report is computed once per change of the store and never served
// stale: a write makes every entry old.
type reportCache struct {
	mu      sync.Mutex
	gen     uint64
	entries map[reportKey]*report.Report
}

type reportKey struct {
	from, to time.Time
	team     string
	week     time.Time // the running week: the report's last week and backlog depend on it
}

// maxCachedReports bounds the entries of one generation (periods asked for).
const maxCachedReports = 32

// cachedReport returns the report of [from, to) for team, from the cache when
// the store has not changed since it was computed.
func (s *server) cachedReport(from, to time.Time, team string) (*report.Report, error) {
	var gen uint64
	if err := s.o.Store.View(func(tx *store.Tx) error { gen = tx.Generation(); return nil }); err != nil {
		return nil, err
	}
	key := reportKey{from: from, to: to, team: team, week: report.WeekStart(s.now(), s.loc)}
	c := &s.reports
	c.mu.Lock()
	if c.gen == gen && c.entries != nil {
		if r, ok := c.entries[key]; ok {
			c.mu.Unlock()
			return r, nil
		}
	}
	c.mu.Unlock()
	// Computed outside the lock: a slow report does not hold up others.
	r, err := s.o.Report(from, to, team)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || c.entries == nil || len(c.entries) >= maxCachedReports {
		if gen < c.gen {
			return r, nil // an older state than the cache holds: do not keep it
		}
		c.gen, c.entries = gen, map[reportKey]*report.Report{}
	}
	c.entries[key] = r
	return r, nil
}
