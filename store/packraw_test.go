package store

import (
	"bytes"
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
