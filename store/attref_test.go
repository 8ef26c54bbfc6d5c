package store

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	kp "kontaktpunkt"
)

// bodyAttachment reads the body of a raw message as its one attachment:
// enough for the store's part (the gateway registers its MIME reading).
func bodyAttachment(raw []byte) []kp.OutAttachment {
	_, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok || len(body) == 0 {
		return nil
	}
	return []kp.OutAttachment{{Name: "body.txt", ContentType: "text/plain", Data: bytes.Clone(body)}}
}

// attCase stores a message with its "attachment" and queues a relay that
// passes it on; it returns the message and the relay's outbound id.
func attCase(t *testing.T, s *Store) (*kp.Message, uint64) {
	t.Helper()
	desk := kp.Address{Name: "Kontaktpunkt", Addr: "kontakt@uio.no"}
	from := kp.Address{Name: "Kari", Addr: "kari@example.org"}
	at := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
	var m *kp.Message
	var id uint64
	update(t, s, func(tx *Tx) error {
		c, err := tx.NextCaseID()
		if err != nil {
			return err
		}
		var raw []byte
		raw, m = personMail("att1@example.org", from, []kp.Address{desk}, "Vedlegg", "Se vedlagt avtale, side 1 av 3.", "", at)
		m.Case = c
		if err := tx.PutMessage(m, raw); err != nil {
			return err
		}
		if err := tx.PutCase(&kp.Case{ID: c, Subject: m.Subject, Status: kp.StatusOpen, Requester: from, Priority: kp.PriorityNormal,
			Created: at, Updated: at, Messages: 1, ThreadID: m.ID}); err != nil {
			return err
		}
		o := &kp.Outbound{Case: c, Kind: "relay", MessageID: "relay1@uio.no", From: desk.Addr, To: []string{"ola@uio.no"},
			Subject: "[INT#1] Vedlegg", NextTry: at, Queued: at,
			Spec: &kp.OutSpec{From: desk, To: []kp.Address{{Addr: "ola@uio.no"}}, Subject: "[INT#1] Vedlegg", Text: "Kari skrev.",
				MessageID: "relay1@uio.no", Date: at, Attachments: bodyAttachment(raw)}}
		if err := tx.Enqueue(o); err != nil {
			return err
		}
		id = o.ID
		return nil
	})
	return m, id
}

// specOf returns the spec of outbound id as read, and the attachment
// reference it is stored with.
func specOf(t *testing.T, s *Store, id uint64) (*kp.OutSpec, attRef) {
	t.Helper()
	var spec *kp.OutSpec
	var att attRef
	view(t, s, func(tx *Tx) error {
		o, err := tx.Outbound(id)
		if err != nil {
			return err
		}
		spec = o.Spec
		if v := tx.b(bucketOutSpec).Get(u64(id)); v != nil {
			_, _, att, err = tx.outSpecStored(v, o)
		}
		return err
	})
	return spec, att
}

func TestSpecReadsItsAttachmentsFromTheRawBytes(t *testing.T) {
	SetAttachmentReader(bodyAttachment)
	t.Cleanup(func() { SetAttachmentReader(nil) })
	for _, change := range []string{"none", "purge", "blank", "sent"} {
		t.Run(change, func(t *testing.T) {
			s := openTest(t)
			m, id := attCase(t, s)
			before, att := specOf(t, s, id)
			if att.seq != m.Seq || len(before.Attachments) != 1 || !bytes.Contains(before.Attachments[0].Data, []byte("side 1 av 3")) {
				t.Fatalf("spec %+v stored with reference %+v", before, att)
			}
			update(t, s, func(tx *Tx) error {
				switch change {
				case "purge":
					return tx.purgeMessage(m)
				case "blank":
					return tx.blankMessage(m, ForgottenNote)
				case "sent":
					o, err := tx.Outbound(id)
					if err != nil {
						return err
					}
					o.State, o.Sent = kp.OutSent, o.Queued.Add(time.Minute)
					return tx.PutOutbound(o)
				}
				return nil
			})
			after, att := specOf(t, s, id)
			switch change {
			case "sent":
				if after != nil {
					t.Errorf("sent, spec kept: %+v", after)
				}
			case "none":
				if !reflect.DeepEqual(after, before) {
					t.Errorf("spec read again:\n%+v\nwant\n%+v", after, before)
				}
			default:
				if att.seq != 0 || !reflect.DeepEqual(after, before) {
					t.Errorf("after %s: spec %+v, reference %+v; want %+v with its attachments", change, after, att, before)
				}
			}
			view(t, s, func(tx *Tx) error {
				if n := tx.b(bucketAttRef).Stats().KeyN; (n == 1) != (change == "none") {
					t.Errorf("after %s: %d att_ref entries", change, n)
				}
				return nil
			})
		})
	}
}

func TestSpecKeepsItsAttachmentsWithoutAReader(t *testing.T) {
	SetAttachmentReader(nil)
	s := openTest(t)
	_, id := attCase(t, s)
	spec, att := specOf(t, s, id)
	if att.seq != 0 || len(spec.Attachments) != 1 {
		t.Errorf("spec %+v, reference %+v: want the attachment held in the spec", spec, att)
	}
}
