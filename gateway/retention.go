package gateway

import (
	"strconv"
	"time"

	"kontaktpunkt/store"
)

// RetentionPolicy is the store's retention policy for the configured
// periods at now; its zero times keep that kind of mail.
func (g *Gateway) RetentionPolicy(now time.Time) store.RetentionPolicy {
	r := g.Config.Retention
	p := store.RetentionPolicy{Now: now}
	if r.ResolvedAfter > 0 {
		p.ResolvedBefore = now.Add(-r.ResolvedAfter.D())
	}
	if r.UnfiledAfter > 0 {
		p.UnfiledBefore = now.Add(-r.UnfiledAfter.D())
	}
	if r.QuarantineAfter > 0 {
		p.QuarantineBefore = now.Add(-r.QuarantineAfter.D())
	}
	return p
}

// PurgeExpired applies the configured retention periods (see
// store.Store.Purge) and records what it removed in the audit trail as
// actor on channel. It does nothing when no period is set.
func (g *Gateway) PurgeExpired(actor, channel string, dryRun bool) (store.PurgeReport, error) {
	if !g.Config.Retention.Enabled() {
		return store.PurgeReport{}, nil
	}
	now := g.now()
	p := g.RetentionPolicy(now)
	p.DryRun = dryRun
	rep, err := g.Store.Purge(p)
	if err != nil || dryRun || rep.Cases+rep.Messages == 0 {
		return rep, err
	}
	err = g.Store.Update(func(tx *store.Tx) error {
		return tx.AddAudit(&store.AuditEntry{At: now, Actor: actor, Channel: channel, Action: "purge",
			Detail: purgeSummary(rep)})
	})
	return rep, err
}

// purgeSummary says in a line what a purge removed.
func purgeSummary(r store.PurgeReport) string {
	return fmtCounts(r.Cases, "case", r.Messages, "message", r.Unfiled, "unfiled message", r.Outbound, "outbound mail", r.Index, "index entry")
}

// fmtCounts renders pairs of count and noun: "3 cases, 1 message".
func fmtCounts(pairs ...any) string {
	s := ""
	for i := 0; i+1 < len(pairs); i += 2 {
		n, noun := pairs[i].(int), pairs[i+1].(string)
		if s != "" {
			s += ", "
		}
		s += itoa(n) + " " + noun
		if n != 1 {
			if noun[len(noun)-1] == 'y' {
				s = s[:len(s)-1] + "ies"
			} else {
				s += "s"
			}
		}
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }
