package gateway

import (
	"context"
	"fmt"
	"sort"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/routing"
	"kontaktpunkt/store"
)

// digestCounter holds the Unix time of the last daily digest. Counters are
// the store's only small mutable scalars, and a digest sent twice or not at
// all after a crash is the only thing at stake, so it is kept in the same
// transaction as the digests it records.
const digestCounter = "digest:last_unix"

// SendDigests queues the daily digest to each assignee with open cases,
// when it is due (followup.digest). It returns how many were queued.
func (g *Gateway) SendDigests(ctx context.Context) (int, error) {
	if !g.Config.FollowUp.Digest.Enabled || g.Quiet {
		return 0, nil
	}
	now := g.now()
	n := 0
	err := g.Store.Update(func(tx *store.Tx) error {
		n = 0
		counters, err := tx.Counters(digestCounter)
		if err != nil {
			return err
		}
		lastUnix := counters[digestCounter]
		var last time.Time
		if lastUnix > 0 {
			last = time.Unix(lastUnix, 0)
		}
		due, _ := routing.DigestDue(g.Clock, g.Config.FollowUp.Digest.At, last, now)
		if !due {
			return nil
		}
		if err := tx.AddCounter(digestCounter, now.Unix()-lastUnix); err != nil {
			return err
		}
		byAssignee := map[string][]*kp.Case{}
		for _, st := range []kp.Status{kp.StatusOpen, kp.StatusWaiting} {
			cases, err := tx.Cases(store.CaseFilter{Status: st})
			if err != nil {
				return err
			}
			for i := range cases {
				c := &cases[i]
				if c.Assignee != "" {
					byAssignee[c.Assignee] = append(byAssignee[c.Assignee], c)
				}
			}
		}
		assignees := make([]string, 0, len(byAssignee))
		for a := range byAssignee {
			assignees = append(assignees, a)
		}
		sort.Strings(assignees)
		out := &outbox{g: g, tx: tx, now: now}
		for _, a := range assignees {
			open, overdue := routing.Digest(a, byAssignee[a], g.Policy, g.Clock, now)
			if len(open)+len(overdue) == 0 {
				continue
			}
			d := &caseData{ContactName: g.contactName()}
			for _, c := range overdue {
				d.Cases = append(d.Cases, digestLine{Tag: c.ID.Tag(g.Config.Contact.TagPrefix), Subject: c.Subject, Status: c.Status, Overdue: true})
			}
			for _, c := range open {
				d.Cases = append(d.Cases, digestLine{Tag: c.ID.Tag(g.Config.Contact.TagPrefix), Subject: c.Subject, Status: c.Status})
			}
			if err := g.queueDigest(out, a, d, now); err != nil {
				return err
			}
			n++
		}
		return out.err
	})
	if err != nil {
		return 0, fmt.Errorf("daily digest: %w", err)
	}
	if n > 0 {
		g.wake()
	}
	return n, nil
}

// queueDigest queues one digest. A digest belongs to no case, so it is
// composed on a pseudo-case 0 whose subject names the digest.
func (g *Gateway) queueDigest(out *outbox, assignee string, d *caseData, now time.Time) error {
	to := out.filter("digest", []kp.Address{{Name: g.Dir.Name(assignee), Addr: assignee}})
	if out.err != nil || len(to) == 0 {
		return out.err
	}
	body, err := g.Templates.Render("digest", d)
	if err != nil {
		return err
	}
	subject := "Dine saker " + now.In(g.Clock.Loc).Format("2006-01-02")
	if g.Templates.Lang() == "en" {
		subject = "Your cases " + now.In(g.Clock.Loc).Format("2006-01-02")
	}
	return g.queueLoose(out.tx, "digest", to, subject, body, now)
}
