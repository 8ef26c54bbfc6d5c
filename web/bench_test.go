package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
)

// seedMany stores n cases in one transaction: a third open, a tenth
// waiting, the rest resolved; every seventh open case overdue, every
// eleventh escalated, assignees spread over 20 people. Each case has a
// request message, so the case page has a timeline.
func seedMany(b *testing.B, st *store.Store, n int) {
	b.Helper()
	err := st.Update(func(tx *store.Tx) error {
		for i := range n {
			id, err := tx.NextCaseID()
			if err != nil {
				return err
			}
			at := t0.Add(-time.Duration(n-i) * time.Hour)
			c := &kp.Case{
				ID: id, Subject: fmt.Sprintf("Integrasjon feiler siden i går, sak %d: studentdata fra FS til Canvas", i),
				Status: kp.StatusResolved, Priority: kp.PriorityNormal,
				Requester: kp.Address{Name: "Kari Nordmann", Addr: fmt.Sprintf("kari.%d@student.example.no", i)},
				Assignee:  fmt.Sprintf("person%d@uio.no", i%20), Team: "team-fs",
				Created: at, Updated: at.Add(time.Hour), Messages: 1,
			}
			switch {
			case i%3 == 0:
				c.Status = kp.StatusOpen
				if i%7 == 0 {
					c.Next = &kp.FollowUp{Kind: kp.FollowRespond, Due: at.Add(48 * time.Hour)}
				} else {
					c.Next = &kp.FollowUp{Kind: kp.FollowRespond, Due: t0.Add(time.Duration(i) * time.Minute)}
				}
			case i%10 == 1:
				c.Status = kp.StatusWaiting
				c.Next = &kp.FollowUp{Kind: kp.FollowWaiting, Due: t0.Add(time.Duration(i) * time.Minute)}
			}
			if i%11 == 0 && c.Status != kp.StatusResolved {
				c.Escalation = 1
			}
			if err := tx.PutCase(c); err != nil {
				return err
			}
			m := &kp.Message{
				ID: fmt.Sprintf("req%d@student.example.no", i), Case: id, Direction: kp.In, Class: kp.ClassHuman,
				MatchedBy: kp.MatchNew, Kind: "request", From: c.Requester, Subject: c.Subject, Date: at, Received: at,
				Text: strings.Repeat("Hei, vi får ikke oppdatert studentdata fra FS til Canvas. ", 30),
			}
			if err := tx.PutMessage(m, nil); err != nil {
				return err
			}
		}
		return tx.AddCounter("messages_class:human", int64(n))
	})
	if err != nil {
		b.Fatal(err)
	}
}

func benchStore(b *testing.B) *store.Store {
	b.Helper()
	st := openStore(b)
	seedMany(b, st, 10000)
	return st
}

func serve(b *testing.B, h http.Handler, target string) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
		if w.Code != http.StatusOK {
			b.Fatalf("%s: status %d", target, w.Code)
		}
	}
}

// BenchmarkCaseList10k renders the case list with 10,000 cases in the
// store. Target: under 50 ms per page.
func BenchmarkCaseList10k(b *testing.B) {
	st := benchStore(b)
	h := newHandler(b, st, &clock{t: t0}, nil)
	for _, target := range []string{"/", "/?f=all", "/?f=waiting", "/?f=resolved&page=50", "/?f=overdue", "/?f=escalated",
		"/?f=all&assignee=person7@uio.no"} {
		b.Run(strings.TrimPrefix(target, "/?"), func(b *testing.B) { serve(b, h, target) })
	}
}

// BenchmarkCasePage renders one case with its timeline.
func BenchmarkCasePage(b *testing.B) {
	st := benchStore(b)
	serve(b, newHandler(b, st, &clock{t: t0}, nil), "/case/5000")
}

// BenchmarkMetrics scrapes /metrics with 10,000 cases in the store.
// Target: under 10 ms.
func BenchmarkMetrics(b *testing.B) {
	st := benchStore(b)
	serve(b, newHandler(b, st, &clock{t: t0}, nil), "/metrics")
}
