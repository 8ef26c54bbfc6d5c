package web

import (
	"net/netip"
	"sync"
	"time"
)

// Failed logins are limited per client address: after maxFailures within
// failWindow, every request from that address is answered 429 for
// blockFor, whatever credentials it carries (so that guessing cannot go
// on, and a right guess is not told apart from a wrong one).
const (
	maxFailures = 5
	failWindow  = time.Minute
	blockFor    = 5 * time.Minute
	// maxTracked bounds the table; when full, entries that no longer
	// matter are dropped, and if none, the oldest window goes.
	maxTracked = 10000
)

// failures counts failed logins per client address.
type failures struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[netip.Addr]*failCount
}

type failCount struct {
	n            int       // failures since start
	start        time.Time // when the current window began
	blockedUntil time.Time
}

func newFailures(now func() time.Time) *failures {
	return &failures{now: now, m: make(map[netip.Addr]*failCount)}
}

// blocked reports whether client is refused for now.
func (f *failures) blocked(client netip.Addr) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.m[client]
	return c != nil && f.now().Before(c.blockedUntil)
}

// add counts one failed login from client and reports whether the
// address is now blocked.
func (f *failures) add(client netip.Addr) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	c := f.m[client]
	if c == nil {
		if len(f.m) >= maxTracked {
			f.prune(now)
		}
		c = &failCount{start: now}
		f.m[client] = c
	}
	if now.Sub(c.start) >= failWindow {
		c.n, c.start = 0, now
	}
	c.n++
	if c.n >= maxFailures {
		c.blockedUntil = now.Add(blockFor)
		c.n, c.start = 0, c.blockedUntil
	}
	return now.Before(c.blockedUntil)
}

// reset forgets the failures of client after a successful login.
func (f *failures) reset(client netip.Addr) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, client)
}

// prune drops entries whose window and block are over; if that frees
// nothing, it drops the entry with the oldest window.
func (f *failures) prune(now time.Time) {
	var oldest netip.Addr
	var oldestStart time.Time
	for a, c := range f.m {
		if now.Sub(c.start) >= failWindow && !now.Before(c.blockedUntil) {
			delete(f.m, a)
			continue
		}
		if oldestStart.IsZero() || c.start.Before(oldestStart) {
			oldest, oldestStart = a, c.start
		}
	}
	if len(f.m) >= maxTracked {
		delete(f.m, oldest)
	}
}
