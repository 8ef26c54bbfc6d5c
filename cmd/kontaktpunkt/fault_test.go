package main

// Crash-safety of the whole program: `kontaktpunkt serve` is killed with
// SIGKILL at random moments while it works through a backlog on a real
// Dovecot, and restarted, many times. docs/architecture.md promises that a
// crash anywhere means the message is fetched again, recognised as stored
// and only moved: so in the end every message is in exactly one case (or
// quarantined), none twice, none missing, and all have left INBOX.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"kontaktpunkt/internal/dovecottest"
	"kontaktpunkt/internal/smtptest"
)

// backlogMsg is one message of the generated backlog.
type backlogMsg struct {
	raw    []byte
	id     string // canonical Message-ID ("" for the one without)
	testID string // X-Test-Id
	conv   int    // conversation index, or -1 for a message that must be quarantined
}

// backlog is a generated mailbox content and what must come of it.
type backlog struct {
	msgs       []backlogMsg
	convs      int
	requesters []string   // per conversation
	convIDs    [][]string // Message-IDs per conversation
	bad        []string   // X-Test-Ids of the messages that must be quarantined
}

// makeBacklog builds convs conversations with about 1.8 replies each,
// interleaved (threaded by In-Reply-To, by References only, or by headers
// under a changed subject; many answer a reply), and three messages that
// cannot be handled, spread through the mailbox. Every reply comes after
// what it answers.
func makeBacklog(convs int) *backlog {
	b := &backlog{convs: convs, requesters: make([]string, convs), convIDs: make([][]string, convs)}
	subject := func(c int) string { return fmt.Sprintf("Integrasjon %d mot Felles studentsystem", c) }
	date := func(n int) string {
		return time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Minute).Format(time.RFC1123Z)
	}
	add := func(conv int, id, header, body string) {
		testID := fmt.Sprintf("m%d", len(b.msgs))
		raw := fmt.Sprintf("X-Test-Id: %s\r\nMessage-ID: <%s>\r\nDate: %s\r\n%sMIME-Version: 1.0\r\n"+
			"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s\r\n",
			testID, id, date(len(b.msgs)), header, body)
		b.msgs = append(b.msgs, backlogMsg{raw: []byte(raw), id: canonicalMsgID(id), testID: testID, conv: conv})
		b.convIDs[conv] = append(b.convIDs[conv], canonicalMsgID(id))
	}
	bad := []string{
		// A human message without any sender: nobody to answer.
		"X-Test-Id: bad-1\r\nMessage-ID: <bad1@fault.example>\r\nTo: integrasjon@example.org\r\n" +
			"Subject: Uten avsender\r\nDate: Wed, 25 Nov 2026 10:00:00 +0100\r\n\r\nHvem skrev dette?\r\n",
		// No sender, no subject, no readable text (bad base64, no end boundary).
		"X-Test-Id: bad-2\r\nMessage-ID: <bad2@fault.example>\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: multipart/mixed; boundary=zzz\r\n\r\n--zzz\r\nContent-Type: application/octet-stream\r\n" +
			"Content-Transfer-Encoding: base64\r\n\r\n!!!!not base64!!!!\r\n",
		// Header garbage and raw 8-bit bytes, no Message-ID.
		"X-Test-Id: bad-3\r\n:::: \x01\x02 not a header\r\n\xff\xfe\xfd\r\n\r\n\x80\x81\r\n",
	}
	reply := func(r, kind int) {
		ids := b.convIDs[r]
		last := ids[len(ids)-1]
		from := fmt.Sprintf("From: Requester %d <%s>\r\nTo: integrasjon@example.org\r\n", r, b.requesters[r])
		id := fmt.Sprintf("c%d.%d@fault.example", r, len(ids))
		switch kind {
		case 0: // In-Reply-To and References, "SV:" subject
			add(r, id, from+fmt.Sprintf("Subject: SV: %s\r\nIn-Reply-To: <%s>\r\nReferences: <%s>\r\n", subject(r), last, strings.Join(ids, "> <")),
				"Takk, et tillegg.")
		case 1: // References only, as some clients write
			add(r, id, from+fmt.Sprintf("Subject: Re: %s\r\nReferences: <%s>\r\n", subject(r), strings.Join(ids, "> <")),
				"Enda et spørsmål.")
		default: // the subject changed; the header alone decides
			add(r, id, from+fmt.Sprintf("Subject: Noe helt annet\r\nIn-Reply-To: <%s>\r\n", last), "Ny vri.")
		}
	}
	for c := range convs {
		req := fmt.Sprintf("requester%d@example.net", c)
		b.requesters[c] = req
		add(c, fmt.Sprintf("c%d.0@Fault.Example", c),
			fmt.Sprintf("From: Requester %d <%s>\r\nTo: Integrasjon <integrasjon@example.org>\r\nSubject: %s\r\n", c, req, subject(c)),
			fmt.Sprintf("Hei, jeg har et spørsmål om integrasjon %d.", c))
		// Replies to the three conversations before, to the last message
		// of each (so some answer replies), in a fixed pattern.
		for k := range 3 {
			if r := c - 1 - k; r >= 0 && (c*7+k)%5 < 3 {
				reply(r, (c+k)%3)
			}
		}
		if c > 0 && c%max(convs/(len(bad)+1), 1) == 0 && len(b.bad) < len(bad) {
			i := len(b.bad)
			b.msgs = append(b.msgs, backlogMsg{raw: []byte(bad[i]), testID: fmt.Sprintf("bad-%d", i+1), conv: -1})
			b.bad = append(b.bad, fmt.Sprintf("bad-%d", i+1))
		}
	}
	for i := len(b.bad); i < len(bad); i++ { // a small backlog still gets all three
		b.msgs = append(b.msgs, backlogMsg{raw: []byte(bad[i]), testID: fmt.Sprintf("bad-%d", i+1), conv: -1})
		b.bad = append(b.bad, fmt.Sprintf("bad-%d", i+1))
	}
	return b
}

// TestFaultKillServeDuringBacklog fills a real Dovecot's INBOX with a
// backlog, kills serve with SIGKILL at random moments over many rounds
// (every fifth round stops it with SIGTERM instead, which must exit 0),
// then lets one run finish, and checks that every message ends in exactly
// one case or in Quarantine, none twice, none missing, all moved.
// KP_FAULT_SEED=N replays one sequence of kill delays.
func TestFaultKillServeDuringBacklog(t *testing.T) {
	dc := dovecottest.Start(t)
	kpBinary(t)
	relay := smtptest.Start(t)
	dir := t.TempDir()
	const staff = "kari@example.org"
	cfgPath, dbPath := writeServeConfig(t, dir, serveSetup{dc: dc, smtp: relay, security: "plain", http: "off", staff: staff})

	bl := makeBacklog(300)
	cl := dialDC(t, dc)
	start := time.Now()
	raws := make([][]byte, len(bl.msgs))
	for i, m := range bl.msgs {
		raws[i] = m.raw
	}
	cl.appendMsgs("INBOX", raws...)
	t.Logf("backlog: %d messages (%d conversations, %d to quarantine) appended in %v",
		len(bl.msgs), bl.convs, len(bl.bad), time.Since(start))

	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("KP_FAULT_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("KP_FAULT_SEED: %v", err)
		}
	}
	t.Logf("kill delays from seed %d (replay with KP_FAULT_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	const rounds = 15
	for round := range rounds {
		// Random delays are the point here: they place the kill anywhere in
		// start-up, fetch, commit, move or send. serve starts in ~50-100 ms
		// and then commits well over 1000 messages a second, so kills
		// within 200 ms fall in start-up and throughout the backlog; the
		// later rounds hit the outbox and idle.
		delay := time.Duration(rng.Int64N(int64(200 * time.Millisecond)))
		p := startServe(t, cfgPath, filepath.Join(dir, fmt.Sprintf("serve-%02d.log", round+1)))
		how := "SIGKILL"
		if round%5 == 4 {
			// Every fifth round is an orderly stop in the middle of the
			// work instead, once serve handles signals.
			how = "SIGTERM"
			p.waitServing(t)
			time.Sleep(delay)
			start := time.Now()
			if code := p.stop(30 * time.Second); code != 0 {
				t.Fatalf("round %d: serve after SIGTERM: exit %d, want 0\n%s", round+1, code, tail(p.logText(), 40))
			}
			how = fmt.Sprintf("SIGTERM (stopped in %v)", time.Since(start).Round(time.Millisecond))
		} else {
			time.Sleep(delay)
			p.kill()
		}
		t.Logf("round %2d: %s after %3dms: INBOX %d, Processed %d, Quarantine %d, mails received %d",
			round+1, how, delay.Milliseconds(), cl.count("INBOX"), cl.count("Processed"), cl.count("Quarantine"), len(relay.Messages()))
	}

	// The last run may finish.
	final := startServe(t, cfgPath, filepath.Join(dir, "serve-final.log"))
	finishStart := time.Now()
	if !waitUntil(40*time.Second, func() bool { return cl.count("INBOX") == 0 }) {
		t.Fatalf("INBOX still holds %d messages after 40s (Processed %d, Quarantine %d)\nserve log:\n%s",
			cl.count("INBOX"), cl.count("Processed"), cl.count("Quarantine"), tail(final.logText(), 60))
	}
	t.Logf("last run emptied INBOX in %v", time.Since(finishStart))

	// Every requester's acknowledgement reaches the relay. The wait is
	// for liveness, not speed: a loaded machine sends slowly.
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var missing []string
	for {
		msgs := relay.Messages()
		got := acksByRequester(msgs)
		missing = missing[:0]
		for _, r := range bl.requesters {
			if got[r] == 0 {
				missing = append(missing, r)
			}
		}
		if len(missing) == 0 {
			break
		}
		if _, err := relay.WaitFor(ctx, len(msgs)+1); err != nil {
			t.Errorf("%d acknowledgements never arrived (e.g. to %s): %v", len(missing), missing[0], err)
			break
		}
	}
	final.waitServing(t)
	if code := final.stop(30 * time.Second); code != 0 {
		t.Fatalf("serve after SIGTERM: exit %d, want 0\n%s", code, tail(final.logText(), 40))
	}
	if !strings.Contains(final.logText(), "msg=stopped") {
		t.Errorf("serve did not log its clean stop:\n%s", tail(final.logText(), 10))
	}
	reportSMTPDuplicates(t, relay.Messages(), bl)
	if len(missing) > 0 {
		t.Logf("warnings and errors of the runs:\n%s", problemLines(dir))
		out, errOut, code := kpExec(t, "outbox", "-json", "-db", dbPath)
		t.Logf("outbox, newest first (exit %d): %s\n%s", code, errOut, head(out, 120))
	}

	checkMailbox(t, cl, bl)
	checkCases(t, bl, "-db", dbPath)
	checkQuarantineStored(t, cl, dir, dbPath)
}

// checkQuarantineStored feeds the messages in Quarantine, as serve read
// them, to `ingest -json`: each must be known already (stored, not
// dropped), with its reason, and belong to no case.
func checkQuarantineStored(t *testing.T, cl *dcClient, dir, dbPath string) {
	t.Helper()
	var files []string
	for i, raw := range cl.raws("Quarantine") {
		f := filepath.Join(dir, fmt.Sprintf("quarantined-%d.eml", i))
		if err := os.WriteFile(f, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return // checkMailbox has said so
	}
	out, errOut, code := kpExec(t, append([]string{"ingest", "-json", "-quiet", "-db", dbPath}, files...)...)
	if code != 0 {
		t.Fatalf("ingest -json of the quarantined messages: exit %d: %s", code, errOut)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r struct {
			Source    string `json:"source"`
			MessageID string `json:"message_id"`
			Case      *int   `json:"case"`
			Status    string `json:"status"`
			Error     string `json:"error"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Errorf("ingest -json line %q: %v", line, err)
			continue
		}
		if r.Status != "duplicate" || r.Error == "" || r.Case != nil {
			t.Errorf("quarantined %s (%s) again: status %q, case %v, reason %q; want duplicate of a stored message, no case, with its reason",
				filepath.Base(r.Source), r.MessageID, r.Status, r.Case, r.Error)
		}
	}
}

// checkMailbox asserts INBOX is empty, Processed holds every good message
// exactly once, and Quarantine exactly the bad ones.
func checkMailbox(t *testing.T, cl *dcClient, bl *backlog) {
	t.Helper()
	if n := cl.count("INBOX"); n != 0 {
		t.Errorf("INBOX holds %d messages, want 0", n)
	}
	ids, _ := cl.headers("Processed")
	seen := map[string]int{}
	for _, id := range ids {
		seen[id]++
	}
	for _, m := range bl.msgs {
		if m.conv < 0 {
			continue
		}
		if seen[m.id] != 1 {
			t.Errorf("Processed holds %s (%s) %d times, want once", m.id, m.testID, seen[m.id])
		}
		delete(seen, m.id)
	}
	for id, n := range seen {
		t.Errorf("Processed holds %d × %q, which is not a good message of the backlog", n, id)
	}
	_, testIDs := cl.headers("Quarantine")
	slices.Sort(testIDs)
	if !slices.Equal(testIDs, bl.bad) {
		t.Errorf("Quarantine holds %q, want %q", testIDs, bl.bad)
	}
}

// checkCases reads the store with `cases -json` and `case show N -json`:
// one case per conversation, each message of a conversation exactly once
// and in its conversation's case, the quarantined ones in none, and one
// acknowledgement queued per case.
func checkCases(t *testing.T, bl *backlog, storeFlags ...string) {
	t.Helper()
	cases := kpCases(t, storeFlags...)
	if len(cases) != bl.convs {
		t.Errorf("%d cases, want one per conversation: %d", len(cases), bl.convs)
	}
	convOf := map[string]int{}
	for c, ids := range bl.convIDs {
		for _, id := range ids {
			convOf[id] = c
		}
	}
	type shown struct {
		c    kpCase
		msgs []kpCaseMessage
		err  error
	}
	// One at a time: an offline command holds the store alone, a second
	// one at the same moment is told the store is in use (docs/behaviour.md, Command line).
	bin := kpBinary(t)
	results := make([]shown, len(cases))
	for i, c := range cases {
		results[i].c = c
		results[i].msgs, results[i].err = kpCaseMessages(bin, c.ID, storeFlags...)
	}

	caseOfMsg := map[string]int{} // Message-ID → case
	caseOfConv := map[int]int{}   // conversation → case
	for _, r := range results {
		if r.err != nil {
			t.Errorf("%v", r.err)
			continue
		}
		acks := 0
		for _, m := range r.msgs {
			if m.Direction == "out" {
				if m.Kind == "ack" {
					acks++
				}
				continue
			}
			conv, ok := convOf[m.MessageID]
			if !ok {
				t.Errorf("case %d holds inbound %q, which is not a good message of the backlog", r.c.ID, m.MessageID)
				continue
			}
			if prev, dup := caseOfMsg[m.MessageID]; dup {
				t.Errorf("message %s is stored twice: in case %d and case %d", m.MessageID, prev, r.c.ID)
			}
			caseOfMsg[m.MessageID] = r.c.ID
			if prev, ok := caseOfConv[conv]; ok && prev != r.c.ID {
				t.Errorf("conversation %d is split over cases %d and %d (%s matched by %s)", conv, prev, r.c.ID, m.MessageID, m.MatchedBy)
			}
			caseOfConv[conv] = r.c.ID
			if r.c.Requester != bl.requesters[conv] {
				t.Errorf("case %d: requester %s, want %s", r.c.ID, r.c.Requester, bl.requesters[conv])
			}
		}
		if acks != 1 {
			t.Errorf("case %d has %d acknowledgements queued, want exactly 1", r.c.ID, acks)
		}
	}
	for id := range convOf {
		if _, ok := caseOfMsg[id]; !ok {
			t.Errorf("message %s (conversation %d) is in no case", id, convOf[id])
		}
	}
	if len(caseOfConv) != bl.convs || len(caseOfConv) != len(cases) {
		t.Errorf("%d conversations found in %d cases, want %d in as many", len(caseOfConv), len(cases), bl.convs)
	}
}

// reportSMTPDuplicates logs how many messages the relay got more than once.
// Sending is at-least-once across a SIGKILL between the relay's answer and
// the outbox commit, so duplicates are reported, not failed.
func reportSMTPDuplicates(t *testing.T, msgs []smtptest.Message, bl *backlog) {
	t.Helper()
	byID := map[string]int{}
	for _, m := range msgs {
		id := ""
		for _, line := range strings.Split(string(m.Data), "\r\n") {
			if line == "" {
				break
			}
			if v, ok := cutHeader(line, "Message-ID"); ok {
				id = canonicalMsgID(v)
				break
			}
		}
		byID[id]++
	}
	dups := 0
	for _, n := range byID {
		dups += n - 1
	}
	acks := acksByRequester(msgs)
	ackDups := 0
	for _, r := range bl.requesters {
		ackDups += max(acks[r]-1, 0)
	}
	t.Logf("relay received %d messages, %d distinct; %d duplicate deliveries (%d of them acknowledgements) across the kills",
		len(msgs), len(byID), dups, ackDups)
}

// cutHeader returns the value of line if it is the header name (any case).
func cutHeader(line, name string) (string, bool) {
	k, v, ok := strings.Cut(line, ":")
	if !ok || !strings.EqualFold(strings.TrimSpace(k), name) {
		return "", false
	}
	return strings.TrimSpace(v), true
}

// head returns the first n lines of s.
func head(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// problemLines returns the WARN and ERROR lines of every serve log in dir.
func problemLines(dir string) string {
	logs, _ := filepath.Glob(filepath.Join(dir, "serve-*.log"))
	var b strings.Builder
	for _, l := range logs {
		data, _ := os.ReadFile(l)
		for _, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
				fmt.Fprintf(&b, "%s: %s\n", filepath.Base(l), line)
			}
		}
	}
	return b.String()
}
