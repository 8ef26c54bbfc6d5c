package gateway

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/report"
	"kontaktpunkt/store"
)

// seedYear stores n cases spread over a year, each with a request, an
// acknowledgement, a notification to staff, a staff reply, a relay and
// status records, in batches of transactions.
func seedYear(b testing.TB, st *store.Store, n int, loc *time.Location) {
	b.Helper()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
	teams := []string{"fs", "lms", "hr", "ad", ""}
	const batch = 5000
	for done := 0; done < n; done += batch {
		err := st.Update(func(tx *store.Tx) error {
			for i := done; i < min(n, done+batch); i++ {
				id, err := tx.NextCaseID()
				if err != nil {
					return err
				}
				created := start.Add(time.Duration(i) * (365 * 24 * time.Hour / time.Duration(n)))
				req := kp.Address{Name: "Ola", Addr: fmt.Sprintf("u%d@d%d.example", i, i%300)}
				answer := created.Add(time.Duration(i%97) * time.Hour)
				c := &kp.Case{ID: id, Subject: fmt.Sprintf("Sak %d om tilgang til FS", i), Status: kp.StatusWaiting, Requester: req,
					Team: teams[i%len(teams)], Assignee: per, Priority: kp.PriorityNormal, Created: created, Updated: answer}
				msgs := []kp.Message{
					{Direction: kp.In, Kind: "request", Class: kp.ClassHuman, From: req, Subject: c.Subject, Date: created, Received: created, Text: reportText(i, 1500)},
					{Direction: kp.Out, Kind: "ack", From: kp.Address{Addr: contact}, To: []kp.Address{req}, Subject: c.Subject, Date: created, Received: created, Text: reportText(i+2, 600)},
					{Direction: kp.Out, Kind: "notify", From: kp.Address{Addr: contact}, To: []kp.Address{{Addr: kari}}, Subject: c.Subject, Date: created, Received: created, Text: reportText(i+3, 1600)},
					{Direction: kp.In, Kind: "reply", Class: kp.ClassHuman, From: kp.Address{Addr: per}, Subject: "Re: " + c.Subject, Date: answer, Received: answer, Text: reportText(i+1, 900), Authenticated: true},
					{Direction: kp.Out, Kind: "relay", From: kp.Address{Addr: contact}, To: []kp.Address{req}, Subject: c.Subject, Date: answer, Received: answer, Text: reportText(i+1, 900)},
					{Direction: kp.Out, Kind: kp.KindStatus, Subject: "status waiting", Date: answer, Received: answer},
				}
				if i%5 != 0 {
					at := answer.Add(time.Duration(i%131) * time.Hour)
					c.Status, c.ResolvedAt = kp.StatusResolved, at
					msgs = append(msgs, kp.Message{Direction: kp.Out, Kind: kp.KindStatus, Subject: "status resolved", Date: at, Received: at})
				}
				for j := range msgs {
					msgs[j].ID, msgs[j].Case, msgs[j].MatchedBy = fmt.Sprintf("m%d.%d@bench.example", i, j), id, kp.MatchNone
					if err := tx.PutMessage(&msgs[j], nil); err != nil {
						return err
					}
				}
				c.Messages = len(msgs)
				if err := tx.PutCase(c); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// reportText is about n bytes of mail text that differs from case to case,
// so the message records are compressed as a real mail's are.
func reportText(i, n int) string {
	words := []string{"Hei,", "jeg", "trenger", "tilgang", "til", "FS", "for", "et", "prosjekt", "om", "opptak", "og", "vurdering",
		"ved", "instituttet.", "Kan", "dere", "hjelpe", "meg", "med", "dette?", "Mvh", "Ola", "Nordmann", "semester", "emne"}
	var b strings.Builder
	for j := 0; b.Len() < n; j++ {
		b.WriteString(words[(i*7+j*j+j/3)%len(words)])
		if j%11 == 10 {
			b.WriteString(strconv.Itoa(i*31 + j))
		}
		b.WriteByte(' ')
	}
	return b.String()
}

// readHead is the report's read as it was before message briefs: every
// message's head decoded in full and copied to its case. The baseline of
// the "read" benchmark.
func readHead(st *store.Store) (n int, err error) {
	err = st.View(func(tx *store.Tx) error {
		var cases []report.Input
		index := map[kp.CaseID]int{}
		if err := tx.ForEachCase(func(c *kp.Case) error {
			index[c.ID] = len(cases)
			cases = append(cases, report.Input{Case: *c, Messages: make([]kp.Message, 0, c.Messages)})
			return nil
		}); err != nil {
			return err
		}
		return tx.ForEachMessage(true, func(m *kp.Message) error {
			if j, ok := index[m.Case]; ok {
				cases[j].Messages = append(cases[j].Messages, *m)
				n++
			}
			return nil
		})
	})
	return n, err
}

// BenchmarkReportFromStore100k is `report` over a year of 100,000 cases
// (about 650,000 messages, most with 1 KB of text or more):
// "read" is reading the cases and message facts from the store, "report"
// reading and computing, as the command does; "read-head" is the
// baseline, reading each message's head in full, and "read-brief" reading
// the brief of every message record instead of the facts.
//
// With KP_BENCH_CACHE=DIR the store is kept as DIR/report-year-100k.db and
// reused by the next run (and by `kontaktpunkt report -db` to time the
// command); delete it when the seed changes.
func BenchmarkReportFromStore100k(b *testing.B) {
	path, seeded := filepath.Join(b.TempDir(), "kp.db"), false
	if dir := os.Getenv("KP_BENCH_CACHE"); dir != "" {
		path = filepath.Join(dir, "report-year-100k.db")
		_, err := os.Stat(path)
		seeded = err == nil
	}
	st, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	g, err := New(testConfig(), st, nil)
	if err != nil {
		b.Fatal(err)
	}
	if !seeded {
		seedYear(b, st, 100_000, g.Clock.Loc)
	}
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, g.Clock.Loc), time.Date(2027, 1, 1, 0, 0, 0, 0, g.Clock.Loc)
	b.Run("read-head", func(b *testing.B) {
		reportCPU(b, func() {
			if _, err := readHead(st); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("read-brief", func(b *testing.B) {
		reportCPU(b, func() {
			if err := st.View(func(tx *store.Tx) error {
				_, _, _, _, err := g.reportInputsFrom(tx, from, to, false)
				return err
			}); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("read", func(b *testing.B) {
		reportCPU(b, func() {
			if _, _, _, _, err := g.ReportInputs(from, to); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("report", func(b *testing.B) {
		reportCPU(b, func() {
			r, err := g.Report(from, to, "")
			if err != nil || r.Totals.New != 100_000 {
				b.Fatalf("report: %v, %d new", err, r.Totals.New)
			}
		})
	})
}
