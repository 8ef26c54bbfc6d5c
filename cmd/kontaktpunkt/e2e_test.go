package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/mailbox/mailmsg"
	"kontaktpunkt/store"
)

// TestEndToEnd starts the whole program (IMAP intake, outbox, follow-up,
// HTTP) against the demo's in-process IMAP and SMTP servers and plays the
// demo's conversation, then checks what a contact point's lead would: each
// mail once, machine mail unanswered, forged staff mail powerless, the
// mailbox emptied into Processed.
func TestEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	d, err := startDemo(ctx, t.TempDir(), &out, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	if err := d.play(ctx); err != nil {
		t.Fatalf("conversation: %v\n%s", err, out.String())
	}
	count := func(kind, to string) int {
		n := 0
		for _, del := range d.world.Deliveries() {
			if !strings.Contains(string(del.Raw), "X-Kontaktpunkt-Kind: "+kind+"\r\n") {
				continue
			}
			for _, r := range del.To {
				if strings.EqualFold(r, to) {
					n++
				}
			}
		}
		return n
	}
	for _, c := range []struct {
		kind, to string
		want     int
	}{
		{"ack", demoOla.Addr, 1}, {"notify", demoKari.Addr, 1}, {"assign", demoPer.Addr, 1},
		{"escalate", demoFSLeder.Addr, 1}, {"escalate", demoKari.Addr, 1},
		{"relay", demoOla.Addr, 2}, {"relay", demoPer.Addr, 1},
		{"respond", demoPer.Addr, 2},
	} {
		if got := count(c.kind, c.to); got != c.want {
			t.Errorf("%s mails to %s = %d, want %d", c.kind, c.to, got, c.want)
		}
	}
	// Per's answer reached Ola from the contact address, with the tag.
	relays := 0
	for _, del := range d.world.Deliveries() {
		p, err := mailmsg.Parse(del.Raw)
		if err != nil || p.Get("X-Kontaktpunkt-Kind") != "relay" || del.To[0] != demoOla.Addr {
			continue
		}
		relays++
		if p.From.Addr != demoContact.Addr || len(p.ReplyTo) != 1 || p.ReplyTo[0].Addr != demoContact.Addr || !strings.HasPrefix(p.Subject, "[INT#1] ") {
			t.Errorf("relay to Ola: From %v, Reply-To %v, Subject %q", p.From, p.ReplyTo, p.Subject)
		}
	}
	if relays != 2 {
		t.Errorf("relays to Ola = %d", relays)
	}
	// Ola's tagless reply was threaded by its headers onto case 1.
	var msgs []kp.Message
	if err := d.srv.Store.View(func(tx *store.Tx) error {
		var err error
		msgs, err = tx.CaseMessages(1)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	tagless := 0
	for _, m := range msgs {
		if m.Direction == kp.In && kp.SameAddr(m.From.Addr, demoOla.Addr) && m.MatchedBy != kp.MatchNew {
			tagless++
			if m.MatchedBy != kp.MatchInReplyTo && m.MatchedBy != kp.MatchReferences {
				t.Errorf("Ola's tagless reply matched by %q, want in-reply-to or references", m.MatchedBy)
			}
		}
	}
	if tagless != 1 {
		t.Errorf("case 1 holds %d replies from Ola, want 1", tagless)
	}

	// Weeks later nothing more is sent about the resolved case.
	before := len(d.world.Deliveries())
	d.advanceTo(d.clock.Now().Add(21 * 24 * time.Hour))
	if n, err := d.srv.Gateway.FireDueFollowUps(ctx); err != nil || n != 0 {
		t.Errorf("follow-ups on a resolved case: %d, %v", n, err)
	}

	// A new case; Ola's out-of-office answer to its acknowledgement gets no
	// answer; a forged [close] from Kari's address without authentication
	// does nothing; Ola's real reply is relayed to staff.
	if _, err := d.write(demoOla, false, "Nytt spørsmål om Cristin-eksport", "Hei igjen!\n"); err != nil {
		t.Fatal(err)
	}
	ack, err := d.expect(ctx, "the second acknowledgement", kindTo("ack", demoOla))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.write(demoOla, false, "Automatisk svar: "+ack.Subject, "Jeg er på ferie.\n",
		"Auto-Submitted: auto-replied", "In-Reply-To: <"+ack.MessageID+">"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.write(demoKari, false, "[close] "+ack.Subject, "Lukker.\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.write(demoOla, false, "SV: "+ack.Subject, "Glemte å si: det haster.\n", "In-Reply-To: <"+ack.MessageID+">"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.expect(ctx, "the relay of Ola's reply", kindTo("relay", demoKari)); err != nil {
		t.Fatal(err)
	}
	if got := count("ack", demoOla.Addr); got != 2 {
		t.Errorf("acks to Ola = %d, want 2 (no answer to the out-of-office)", got)
	}
	var c2 *kp.Case
	d.srv.Store.View(func(tx *store.Tx) error { c2, _ = tx.Case(2); return nil })
	if c2 == nil || c2.Status != kp.StatusOpen {
		t.Fatalf("case 2 after a forged [close] = %+v", c2)
	}
	if len(d.world.Deliveries()) < before {
		t.Fatal("deliveries went backwards")
	}

	// Everything was moved out of the contact mailbox. Stop the program
	// first: the move to Processed may still be under way while the mail
	// it caused is already delivered.
	d.stop()
	runErr := <-d.done
	d.done <- runErr
	if runErr != nil {
		t.Errorf("Run: %v", runErr)
	}
	// Five mails in the first conversation, four in the second.
	checkContactMailbox(t, d, 9)
}

func TestDemoCommand(t *testing.T) {
	out, errOut, code := run(t, "", "demo")
	if code != 0 {
		t.Fatalf("demo exit %d: %s\n%s", code, errOut, out)
	}
	for _, want := range []string{"[ack]", "[assign]", "[respond]", "[escalate]", "[relay]", "status resolved", "the case was resolved"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}
