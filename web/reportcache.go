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

// SuggestReplay is how routing by example would have done on the latest
// assigned cases (gateway.ReplaySuggestions): of Cases, Right went to the
// top suggestion from the cases before them; NoSuggestion had none.
type SuggestReplay struct {
	Cases, Right, NoSuggestion int
}

// SuggestReplayFunc replays suggestions on the last n assigned cases.
type SuggestReplayFunc func(n int) (SuggestReplay, error)

const (
	// replayCases is how many of the latest assigned cases the statistics
	// page replays: a ranking each, about a millisecond apiece.
	replayCases = 200
	// replayEvery is how long a replay is shown after the store changed
	// before it is replayed again: a replay costs too much to run on
	// every change of a busy store, and its age is shown with it.
	replayEvery = 10 * time.Minute
)

// replayCache keeps the last replay, the store's generation it was made
// at and when.
type replayCache struct {
	mu  sync.Mutex
	gen uint64
	at  time.Time
	r   SuggestReplay
	ok  bool
}

// cachedReplay returns the replay of suggestions and when it was made:
// the cached one while the store is unchanged or it is younger than
// replayEvery, a new one otherwise. The lock is held while replaying, so
// page loads at the same time wait for one replay instead of each
// running their own. ok is false when there is none.
func (s *server) cachedReplay() (r SuggestReplay, at time.Time, current, ok bool) {
	if s.o.SuggestReplay == nil {
		return r, at, false, false
	}
	var gen uint64
	if err := s.o.Store.View(func(tx *store.Tx) error { gen = tx.Generation(); return nil }); err != nil {
		return r, at, false, false
	}
	c := &s.replay
	c.mu.Lock()
	defer c.mu.Unlock()
	now := s.now()
	if c.ok && (c.gen == gen || now.Sub(c.at) < replayEvery) {
		return c.r, c.at, c.gen == gen, true
	}
	nr, err := s.o.SuggestReplay(replayCases)
	if err != nil {
		s.log.Error("replaying suggestions", "err", err)
		return c.r, c.at, false, c.ok
	}
	c.gen, c.at, c.r, c.ok = gen, now, nr, true
	return nr, now, true, true
}
