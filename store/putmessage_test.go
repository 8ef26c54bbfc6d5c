package store

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	kp "kontaktpunkt"
)

// TestPackRawStoresTheSameBytes: raw bytes packed before the
// transaction are stored as PutMessage would pack them and read back
// byte for byte; bytes packed for another slice are not used.
func TestPackRawStoresTheSameBytes(t *testing.T) {
	s := openTest(t)
	raw := []byte("From: a@example.org\r\nMessage-ID: <p1@example.org>\r\n\r\n" + strings.Repeat("Hei, vi trenger tilgang til FS. ", 80))
	other := bytes.Clone(raw)
	update(t, s, func(tx *Tx) error {
		p := s.PackRaw(raw)
		if want := tx.codec.pack(raw, true); !bytes.Equal(p.packed, want) {
			t.Errorf("PackRaw packs %d bytes, PutMessage %d", len(p.packed), len(want))
		}
		tx.GivenPackedRaw(p)
		if err := tx.PutMessage(&kp.Message{ID: "p1@example.org", Direction: kp.In}, raw); err != nil {
			return err
		}
		tx.GivenPackedRaw(s.PackRaw([]byte("From: b@example.org\r\n\r\nsomething else entirely, long enough to be compressed: " + strings.Repeat("x", 200))))
		return tx.PutMessage(&kp.Message{ID: "p2@example.org", Direction: kp.In}, other)
	})
	view(t, s, func(tx *Tx) error {
		for _, id := range []string{"p1@example.org", "p2@example.org"} {
			got, err := tx.Raw(id)
			if err != nil {
				return err
			}
			if !bytes.Equal(got, raw) {
				t.Errorf("%s: raw read back differs (%d bytes, want %d)", id, len(got), len(raw))
			}
		}
		return nil
	})
}

// TestLookupIDSeesTheTransactionsOwnWrites: the Message-ID entries kept
// for the transaction follow its writes: an id asked about before it is
// stored is found after, a moved message is on its new case, and so past
// the bound on kept entries.
func TestLookupIDSeesTheTransactionsOwnWrites(t *testing.T) {
	s := openTest(t)
	update(t, s, func(tx *Tx) error {
		for i := range maxKeptIDs + 10 {
			id := fmt.Sprintf("m%d@example.org", i)
			if _, ok, err := tx.LookupID(id); err != nil || ok {
				return fmt.Errorf("%s before storing: %v, %v", id, ok, err)
			}
			m := &kp.Message{ID: id, Direction: kp.In, Case: 1}
			if err := tx.PutMessage(m, nil); err != nil {
				return err
			}
			if c, ok, err := tx.LookupID(id); err != nil || !ok || c != 1 {
				return fmt.Errorf("%s after storing: %d, %v, %v", id, c, ok, err)
			}
			m.Case = 2
			if err := tx.UpdateMessage(m); err != nil {
				return err
			}
			if c, _, _ := tx.LookupID(id); c != 2 {
				return fmt.Errorf("%s after moving to case 2: case %d", id, c)
			}
		}
		return nil
	})
	view(t, s, func(tx *Tx) error {
		if c, ok, err := tx.LookupID("m0@example.org"); err != nil || !ok || c != 2 {
			t.Errorf("after commit: %d, %v, %v", c, ok, err)
		}
		return nil
	})
}
