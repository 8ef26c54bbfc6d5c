package gateway

import (
	"fmt"
	"strings"
	"testing"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/mailbox/mailmsg"
)

func TestThousandCcRequestIsCapped(t *testing.T) {
	h := newHarness(t, nil)
	var cc []string
	for i := range 1000 {
		cc = append(cc, fmt.Sprintf("Person %d <p%d@example.net>", i, i))
	}
	r := h.one(msg([]string{
		"From: Ola <" + ola + ">", "To: " + contact, "Cc: " + strings.Join(cc, ", "),
		"Subject: Til alle", "Message-ID: <many@example.org>",
	}, "Hei alle sammen\n"))
	id := caseNo(t, r)
	c := h.caseOf(id)
	if n := 1 + len(c.Participants); n != 20 {
		t.Errorf("case holds %d addresses, want 20", n)
	}
	if ev := strings.Join(h.events(id), "\n"); !strings.Contains(ev, "981 addresses over the limit of 20") {
		t.Errorf("events do not name the addresses left out: %q", ev)
	}
	h.one(msg([]string{
		"From: Kari Integrasjon <" + kari + ">", "To: " + contact, trustedAR,
		"Subject: Re: [INT#1] Til alle", "Message-ID: <kari-many@uio.no>",
	}, "Vi ser på det.\n"))
	relays := h.mailsTo(ola, "relay")
	if len(relays) != 1 {
		t.Fatalf("relays = %d", len(relays))
	}
	if n := len(relays[0].To); n > 20 {
		t.Errorf("one relay went to %d addresses, want at most 20", n)
	}
}

func TestCcCommandRespectsParticipantLimit(t *testing.T) {
	cfg := testConfig()
	cfg.Limits.MaxParticipants = 2
	h := newHarness(t, cfg)
	id := caseNo(t, h.one(request("req1@example.org")))
	h.one(msg([]string{"From: Kari Integrasjon <" + kari + ">", "To: " + contact, trustedAR,
		"Subject: [cc:a@example.net] [INT#1] x", "Message-ID: <cc1@uio.no>"}, ""))
	h.one(msg([]string{"From: Kari Integrasjon <" + kari + ">", "To: " + contact, trustedAR,
		"Subject: [cc:b@example.net] [INT#1] x", "Message-ID: <cc2@uio.no>"}, ""))
	c := h.caseOf(id)
	if len(c.Participants) != 1 || c.Participants[0] != "a@example.net" {
		t.Fatalf("participants = %v, want only a@example.net", c.Participants)
	}
	receipts := h.mailsTo(kari, "receipt")
	if len(receipts) != 2 || !strings.Contains(textOf(t, receipts[1]), "så mange deltakere som tillatt") { // nb receipt
		t.Errorf("the refused [cc:] is not explained in the receipt")
	}
}

func robotMail(from, subject, id string, date time.Time) []byte {
	return msg([]string{
		"From: Robot <" + from + ">", "To: " + contact, "Subject: " + subject,
		"Message-ID: <" + id + ">", "Date: " + date.Format(time.RFC1123Z),
	}, "Automatisk melding om "+subject+"\n")
}

func TestNewCaseLimitPerSender(t *testing.T) {
	h := newHarness(t, nil)
	robot := "robot@example.net"
	var results []Result
	for i := range 15 {
		h.clock.Advance(time.Minute)
		results = append(results, h.one(robotMail(robot, fmt.Sprintf("Varsel %d", i), fmt.Sprintf("r%d@example.net", i), h.clock.Now())))
	}
	stored, unfiled := 0, 0
	for _, r := range results {
		switch r.Status {
		case ResultStored:
			stored++
		case ResultUnfiled:
			unfiled++
		}
	}
	if stored != 10 || unfiled != 5 {
		t.Fatalf("stored %d, unfiled %d; want 10 and 5", stored, unfiled)
	}
	if n := len(h.mailsTo(kari, "flood")); n != 1 {
		t.Errorf("staff told %d times, want once", n)
	}
	if n := len(h.mailsTo(robot, "ack")); n != 10 {
		t.Errorf("acks to the robot = %d, want 10", n)
	}
	// Someone else is not held back.
	if r := h.one(request("other@example.org")); r.Status != ResultStored {
		t.Errorf("another sender: %+v", r)
	}
	// An hour later the robot's mail opens cases again.
	h.clock.Advance(61 * time.Minute)
	if r := h.one(robotMail(robot, "Varsel etterpå", "late@example.net", h.clock.Now())); r.Status != ResultStored {
		t.Errorf("after an hour: %+v", r)
	}
}

// TestNewCaseLimitCountsByDate: an archive of one person's requests spread
// over weeks is not a flood, though it arrives in one batch; a Date in the
// future counts as the arrival time.
func TestNewCaseLimitCountsByDate(t *testing.T) {
	h := newHarness(t, nil)
	var batch [][]byte
	start := h.clock.Now().Add(-60 * 24 * time.Hour)
	for i := range 30 {
		batch = append(batch, robotMail(ola, fmt.Sprintf("Sak %d", i), fmt.Sprintf("a%d@example.org", i), start.Add(time.Duration(i)*48*time.Hour)))
	}
	for _, r := range h.ingest(batch...) {
		if r.Status != ResultStored {
			t.Fatalf("archived request: %+v", r)
		}
	}
	batch = nil
	for i := range 11 {
		batch = append(batch, robotMail("future@example.org", fmt.Sprintf("Fremtid %d", i), fmt.Sprintf("f%d@example.org", i), h.clock.Now().Add(time.Duration(i+1)*24*time.Hour)))
	}
	res := h.ingest(batch...)
	if res[9].Status != ResultStored || res[10].Status != ResultUnfiled {
		t.Errorf("future-dated burst: 10th %s, 11th %s; want stored, unfiled", res[9].Status, res[10].Status)
	}
}

func TestRelayLimitPerCaseStopsRobotConversation(t *testing.T) {
	h := newHarness(t, nil)
	id := caseNo(t, h.one(request("req1@example.org")))
	for i := range 50 {
		h.clock.Advance(time.Second)
		from := "From: Ola <" + ola + ">"
		hs := []string{"To: " + contact, "Subject: Re: [INT#1] Tilgang", fmt.Sprintf("Message-ID: <loop%d@x>", i)}
		if i%2 == 1 {
			from = "From: Kari Integrasjon <" + kari + ">"
			hs = append(hs, trustedAR)
		}
		h.one(msg(append(hs, from), fmt.Sprintf("Svar nummer %d\n", i)))
	}
	relays := len(h.mailsTo(ola, "relay")) + len(h.mailsTo(kari, "relay"))
	if relays != 30 {
		t.Errorf("relays = %d, want 30", relays)
	}
	if n := len(h.mailsTo(kari, "relay-paused")); n != 1 {
		t.Errorf("staff told %d times, want once", n)
	}
	if ev := strings.Join(h.events(id), "\n"); !strings.Contains(ev, "relay paused") {
		t.Errorf("no event on the case: %q", ev)
	}
	c := h.caseOf(id)
	if c.Messages < 50 {
		t.Errorf("messages on the case = %d, every message must be stored", c.Messages)
	}
	h.clock.Advance(61 * time.Minute)
	h.one(msg([]string{"From: Ola <" + ola + ">", "To: " + contact, "Subject: Re: [INT#1] Tilgang", "Message-ID: <after@x>"}, "Er det noen der?\n"))
	if n := len(h.mailsTo(kari, "relay")); n != 16 {
		t.Errorf("relays to kari after an hour = %d, want 16", n)
	}
}

// textOf is the text of a queued mail as its recipient reads it.
func textOf(t *testing.T, o kp.Outbound) string {
	t.Helper()
	p, err := mailmsg.Parse(o.Raw)
	if err != nil {
		t.Fatal(err)
	}
	return p.Text
}
