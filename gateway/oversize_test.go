package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	kp "kontaktpunkt"
	"kontaktpunkt/mailbox/imapintake"
	"kontaktpunkt/mailbox/mailmsg"
	"kontaktpunkt/store"
)

// sized returns a request of exactly n bytes with Message-ID id.
func sized(id string, n int) []byte {
	raw := request(id)
	line := "Mer tekst om saken, linje for linje, til meldingen er stor nok.\r\n"
	for len(raw) < n {
		raw = append(raw, line...)
	}
	return append(raw[:n-2], "\r\n"...)
}

func (h *harness) stored(id string) (*kp.Message, []byte) {
	h.t.Helper()
	var m *kp.Message
	var raw []byte
	if err := h.st.View(func(tx *store.Tx) error {
		var err error
		if m, err = tx.Message(id); err != nil {
			return err
		}
		raw, err = tx.Raw(id)
		return err
	}); err != nil {
		h.t.Fatalf("message %s: %v", id, err)
	}
	return m, raw
}

// TestOversizeIsQuarantinedWithStub: with a 100 KB limit, a 300 KB message
// in a batch with good mail is quarantined with a stub record (its header,
// parsed, its whole size and the reason) and queues nothing; the good mail
// and a message of exactly the limit open cases. Given whole or already
// cut to its header (Item.Oversize), the result is the same.
func TestOversizeIsQuarantinedWithStub(t *testing.T) {
	for _, cut := range []bool{false, true} {
		t.Run(fmt.Sprintf("cut=%v", cut), func(t *testing.T) {
			cfg := testConfig()
			cfg.Limits.MaxMessageBytes = 100_000
			h := newHarness(t, cfg)
			big := sized("big@example.org", 300_000)
			item := Item{Source: "big.eml", Raw: big}
			if cut {
				item = Item{Source: "big.eml", Raw: mailmsg.HeaderPart(big), Oversize: int64(len(big))}
			}
			items := []Item{
				{Source: "a.eml", Raw: request("a@example.org")},
				item,
				{Source: "exact.eml", Raw: sized("exact@example.org", 100_000)},
			}
			res, err := h.g.Ingest(context.Background(), items)
			if err != nil {
				t.Fatal(err)
			}
			want := "message too large: 300000 bytes, limit 100000"
			if r := res[1]; r.Status != ResultQuarantined || r.Error != want || r.Case != nil || r.MessageID != "big@example.org" || r.Class != kp.ClassHuman {
				t.Errorf("oversize = %+v, want quarantined %q under its own Message-ID", r, want)
			}
			for _, i := range []int{0, 2} {
				if res[i].Status != ResultStored || res[i].Case == nil {
					t.Errorf("%s = %+v, want stored on a case", res[i].Source, res[i])
				}
			}
			m, raw := h.stored("big@example.org")
			if m.Quarantine != want || m.Size != 300_000 || m.Subject != "Tilgang til studentdata fra FS" || m.From.Addr != ola || m.Case != 0 {
				t.Errorf("stub record = %+v", m)
			}
			if string(raw) != string(mailmsg.HeaderPart(big)) {
				t.Errorf("stub raw is %d bytes, want the %d-byte header", len(raw), len(mailmsg.HeaderPart(big)))
			}
			if _, raw := h.stored("exact@example.org"); len(raw) != 100_000 {
				t.Errorf("message at the limit kept %d bytes, want 100000", len(raw))
			}
			if acks := h.mailsTo(ola, "ack"); len(acks) != 2 {
				t.Errorf("%d acks to the requester, want 2 (not for the oversize message)", len(acks))
			}
			// Fetched again (a crash before the IMAP move): a duplicate
			// that keeps its quarantine.
			again := h.one(big)
			if again.Status != ResultDuplicate || again.Error != want {
				t.Errorf("again = %+v, want a duplicate with the reason", again)
			}
		})
	}
}

// TestOversizeThroughSink: the IMAP intake's stub is quarantined, so the
// poller moves it to Quarantine, in the transaction of the cursor.
func TestOversizeThroughSink(t *testing.T) {
	cfg := testConfig()
	cfg.Limits.MaxMessageBytes = 100_000
	h := newHarness(t, cfg)
	big := sized("big@example.org", 300_000)
	cur := kp.Cursor{Mailbox: "INBOX", UIDValidity: 7, LastUID: 2}
	disp, err := h.g.Sink().Deliver(context.Background(), cur, []imapintake.Fetched{
		{UID: 1, Raw: mailmsg.HeaderPart(big), Oversize: int64(len(big))},
		{UID: 2, Raw: request("good@example.org")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(disp) != 2 || disp[0] != imapintake.Quarantined || disp[1] != imapintake.Processed {
		t.Fatalf("dispositions = %v, want [quarantined processed]", disp)
	}
	if m, _ := h.stored("big@example.org"); m.Size != 300_000 || !strings.HasPrefix(m.Quarantine, "message too large") || m.Source != "imap:INBOX/7/1" {
		t.Errorf("stub record = %+v", m)
	}
	got, ok, err := h.g.Sink().Cursor(context.Background(), "INBOX")
	if err != nil || !ok || got != cur {
		t.Errorf("cursor = %+v %v %v, want %+v", got, ok, err, cur)
	}
}

// TestPreparedBatchThroughSink: a batch the sink prepared (parsed ahead)
// commits with the cursor and gets the same dispositions as Deliver; one
// delivered under another mailbox's cursor is refused, nothing stored.
func TestPreparedBatchThroughSink(t *testing.T) {
	cfg := testConfig()
	cfg.Limits.MaxMessageBytes = 100_000
	h := newHarness(t, cfg)
	big := sized("big2@example.org", 300_000)
	msgs := []imapintake.Fetched{
		{UID: 3, Raw: mailmsg.HeaderPart(big), Oversize: int64(len(big))},
		{UID: 4, Raw: request("prepared@example.org")},
	}
	pr, ok := h.g.Sink().(imapintake.Preparer)
	if !ok {
		t.Fatal("the gateway's sink does not prepare batches")
	}
	if _, err := pr.Prepare("INBOX", 7, msgs).Deliver(context.Background(), kp.Cursor{Mailbox: "Other", UIDValidity: 7, LastUID: 4}); err == nil {
		t.Error("a batch delivered under another mailbox's cursor was taken")
	}
	if err := h.st.View(func(tx *store.Tx) error { _, err := tx.Message("prepared@example.org"); return err }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after the refused batch: %v, want the message not stored", err)
	}
	cur := kp.Cursor{Mailbox: "INBOX", UIDValidity: 7, LastUID: 4}
	disp, err := pr.Prepare("INBOX", 7, msgs).Deliver(context.Background(), cur)
	if err != nil {
		t.Fatal(err)
	}
	if len(disp) != 2 || disp[0] != imapintake.Quarantined || disp[1] != imapintake.Processed {
		t.Fatalf("dispositions = %v, want [quarantined processed]", disp)
	}
	if m, _ := h.stored("prepared@example.org"); m.Source != "imap:INBOX/7/4" || m.Case == 0 {
		t.Errorf("stored %+v, want a filed message from imap:INBOX/7/4", m)
	}
	if got, ok, err := h.g.Sink().Cursor(context.Background(), "INBOX"); err != nil || !ok || got != cur {
		t.Errorf("cursor = %+v %v %v, want %+v", got, ok, err, cur)
	}
}
