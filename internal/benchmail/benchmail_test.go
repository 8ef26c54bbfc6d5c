package benchmail_test

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/gateway"
	"kontaktpunkt/internal/benchmail"
	"kontaktpunkt/mailbox/mailmsg"
	"kontaktpunkt/store"
)

func TestSameSeedSameBytesOtherSeedOtherBytes(t *testing.T) {
	a, b := benchmail.Generate(7, 500), benchmail.Generate(7, 500)
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("message %d differs between two streams of seed 7", i)
		}
	}
	c := benchmail.Generate(8, 500)
	same := 0
	for i := range a {
		if bytes.Equal(a[i], c[i]) {
			same++
		}
	}
	if same > 0 {
		t.Errorf("%d of 500 messages of seeds 7 and 8 are equal", same)
	}
}

func TestPrefixKeepsMessageIDsApartAcrossStreams(t *testing.T) {
	ids := map[string]bool{}
	for _, prefix := range []string{"fill", "run"} {
		g := benchmail.New(benchmail.Options{Seed: 1, Prefix: prefix})
		for range 3000 {
			p, _ := mailmsg.Parse(g.Next())
			if ids[p.MessageID] {
				t.Fatalf("Message-ID %s repeats", p.MessageID)
			}
			ids[p.MessageID] = true
		}
	}
}

func TestSizesAreVariedAroundTheMean(t *testing.T) {
	msgs := benchmail.Generate(1, 10000)
	sizes := make([]int, len(msgs))
	total := 0
	for i, m := range msgs {
		sizes[i] = len(m)
		total += len(m)
	}
	slices.Sort(sizes)
	mean := total / len(msgs)
	p5, p50, p95 := sizes[len(sizes)*5/100], sizes[len(sizes)/2], sizes[len(sizes)*95/100]
	t.Logf("mean %d, p5 %d, median %d, p95 %d, max %d bytes", mean, p5, p50, p95, sizes[len(sizes)-1])
	if mean < 2400 || mean > 3300 {
		t.Errorf("mean size %d bytes, want about 2.8 KB", mean)
	}
	if p95 < 2*p5 {
		t.Errorf("sizes are not varied: p5 %d, p95 %d", p5, p95)
	}
	// no sentence repeated across the stream's texts: count distinct lines
	lines := map[string]bool{}
	n := 0
	for _, m := range msgs[:1000] {
		for l := range strings.SplitSeq(string(m), "\r\n") {
			if len(l) > 40 && !strings.HasPrefix(l, ">") {
				lines[l] = true
				n++
			}
		}
	}
	if len(lines) < n/3 {
		t.Errorf("%d distinct long lines of %d: the text repeats itself", len(lines), n)
	}
}

func TestDatesAdvanceInWorkingHours(t *testing.T) {
	g := benchmail.New(benchmail.Options{Seed: 3, Start: benchmail.OldStart})
	var last time.Time
	for i := range 2000 {
		p, err := mailmsg.Parse(g.Next())
		if err != nil {
			t.Fatal(err)
		}
		d := p.Date
		if d.Before(last) {
			t.Fatalf("message %d dated %v before the previous %v", i, d, last)
		}
		if d.Year() > 2022 {
			t.Fatalf("message %d dated %v: an old stream should stay in the past", i, d)
		}
		if l := d.In(benchmail.OldStart.Location()); l.Hour() < 7 || l.Hour() >= 17 ||
			l.Weekday() == time.Saturday || l.Weekday() == time.Sunday {
			t.Fatalf("message %d dated %v: outside working hours", i, l)
		}
		last = d
	}
}

// TestGatewayStoresEveryMessageUnquarantinedInTheStreamsMix runs the
// stream through the gateway's ingest (parse, classify, thread, apply)
// with the stream's configuration: nothing is quarantined, and the shares
// of classes, thread matches and staff commands applied are what the
// package comment promises.
func TestGatewayStoresEveryMessageUnquarantinedInTheStreamsMix(t *testing.T) {
	const n = 3000
	st, err := store.Open(filepath.Join(t.TempDir(), "kp.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	g, err := gateway.New(benchmail.Config(), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	g.Quiet = true
	msgs := benchmail.Generate(11, n)
	items := make([]gateway.Item, len(msgs))
	for i, m := range msgs {
		items[i] = gateway.Item{Source: "bench", Raw: m}
	}
	res, err := g.Ingest(context.Background(), items)
	if err != nil {
		t.Fatal(err)
	}
	classes, matched, statuses := map[kp.Class]int{}, map[kp.MatchedBy]int{}, map[string]int{}
	for i, r := range res {
		if r.Status == gateway.ResultQuarantined || r.Error != "" {
			t.Errorf("message %d quarantined: %s\n%s", i, r.Error, msgs[i])
		}
		classes[r.Class]++
		matched[r.MatchedBy]++
		statuses[r.Status]++
	}
	t.Logf("classes %v; matched by %v; status %v", classes, matched, statuses)
	share := func(k int) float64 { return float64(k) / n }
	if s := share(classes[kp.ClassHuman]); s < 0.7 || s > 0.9 {
		t.Errorf("human share %.2f", s)
	}
	if classes[kp.ClassAutoReply] == 0 || classes[kp.ClassBounce] == 0 {
		t.Errorf("no auto-replies or no bounces: %v", classes)
	}
	if s := share(matched[kp.MatchNew]); s < 0.15 || s > 0.35 {
		t.Errorf("new-case share %.2f, want about a fifth", s)
	}
	if matched[kp.MatchBounce]+matched[kp.MatchReferences]+matched[kp.MatchInReplyTo] < n/2 {
		t.Errorf("replies do not thread by their headers: %v", matched)
	}
	// staff tags are obeyed: some cases closed, some assigned to the team member
	var resolved, assigned []kp.Case
	if err := st.View(func(tx *store.Tx) error {
		var err error
		if resolved, err = tx.Cases(store.CaseFilter{Status: kp.StatusResolved}); err != nil {
			return err
		}
		assigned, err = tx.Cases(store.CaseFilter{Assignee: benchmail.TeamMember})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d cases resolved, %d assigned to %s", len(resolved), len(assigned), benchmail.TeamMember)
	if len(resolved) == 0 || len(assigned) == 0 {
		t.Errorf("staff commands not applied: %d cases resolved, %d assigned", len(resolved), len(assigned))
	}
}

func TestNorwegianLettersSurviveBothCharsets(t *testing.T) {
	latin1, utf8 := 0, 0
	for _, m := range benchmail.Generate(5, 2000) {
		s := string(m)
		isLatin1 := strings.Contains(s, `charset="iso-8859-1"`)
		p, err := mailmsg.Parse(m)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.ContainsAny(p.Text+p.Subject+p.From.Name, "æøåÆØÅü") {
			continue
		}
		if isLatin1 {
			latin1++
		} else {
			utf8++
		}
	}
	if latin1 < 20 || utf8 < 20 {
		t.Errorf("decoded Norwegian letters in %d ISO-8859-1 and %d UTF-8 messages; want both", latin1, utf8)
	}
}
