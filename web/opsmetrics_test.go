package web

import (
	"runtime"
	"testing"
	"time"

	kp "kontaktpunkt"
)

func TestMetricsBuildInfoIMAPAndOverdue(t *testing.T) {
	st := openStore(t)
	for i, due := range []time.Duration{-26 * time.Hour, -time.Minute, time.Hour} {
		addCase(t, st, kp.Case{
			Subject: "Sak", Status: kp.StatusOpen, Requester: kp.Address{Addr: "a@example.no"},
			Created: t0.Add(-48 * time.Hour), Updated: t0.Add(-time.Duration(i) * time.Hour),
			Next: &kp.FollowUp{Kind: kp.FollowTriage, Due: t0.Add(due)},
		})
	}
	synced := t0.Add(-90 * time.Second)
	h := newHandler(t, st, &clock{t: t0}, func(o *Options) {
		o.Version = "1.4.0"
		o.Health = func() Health {
			return Health{StoreOK: true, IMAPConfigured: true, IMAPConnected: true, IMAPLastSync: synced}
		}
	})
	fams := scrape(t, h)
	if got := value(t, fams, "kontaktpunkt_build_info", "goversion", runtime.Version(), "version", "1.4.0"); got != 1 {
		t.Errorf("build_info = %v, want 1", got)
	}
	if got := value(t, fams, "kontaktpunkt_imap_connected"); got != 1 {
		t.Errorf("imap_connected = %v, want 1", got)
	}
	if got := value(t, fams, "kontaktpunkt_imap_last_sync_timestamp_seconds"); got != float64(synced.Unix()) {
		t.Errorf("last sync = %v, want %v", got, synced.Unix())
	}
	if got := value(t, fams, "kontaktpunkt_followups_overdue"); got != 2 {
		t.Errorf("overdue follow-ups = %v, want 2 (one is due later)", got)
	}

	// Disconnected, never synced.
	h = newHandler(t, st, &clock{t: t0}, func(o *Options) {
		o.Health = func() Health { return Health{StoreOK: true, IMAPConfigured: true} }
	})
	fams = scrape(t, h)
	if got := value(t, fams, "kontaktpunkt_imap_connected"); got != 0 {
		t.Errorf("imap_connected while down = %v, want 0", got)
	}
	if got := value(t, fams, "kontaktpunkt_imap_last_sync_timestamp_seconds"); got != 0 {
		t.Errorf("last sync before the first = %v, want 0", got)
	}
	if got := value(t, fams, "kontaktpunkt_build_info", "goversion", runtime.Version(), "version", "devel"); got != 1 {
		t.Errorf("build_info without a version = %v, want 1 labelled devel", got)
	}
}
