package store

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	kp "kontaktpunkt"
)

// TestCompactCopyEndsAtLastPage checks that the compacted copy holds no
// preallocated room past its pages, that its buckets are packed full, and
// that it opens and takes writes.
func TestCompactCopyEndsAtLastPage(t *testing.T) {
	s := openTest(t)
	in := newIngester(1)
	mails := in.mails(3000)
	for _, ml := range mails {
		update(t, s, func(tx *Tx) error { return in.apply(tx, ml) })
	}
	out := filepath.Join(t.TempDir(), "compact.db")
	if err := s.CompactTo(out); err != nil {
		t.Fatal(err)
	}
	c, err := Open(out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	sizes, pageSize, err := c.Sizes()
	if err != nil {
		t.Fatal(err)
	}
	var alloc, use int
	for _, b := range sizes {
		alloc += b.TotalAlloc
		use += b.Use()
	}
	// What is not a bucket page: two meta pages, the freelist, the root
	// and what the last transactions of the copy freed.
	if slack := fi.Size() - int64(alloc); slack > int64(16*pageSize) {
		t.Errorf("copy is %d bytes, its buckets take %d: %d bytes more", fi.Size(), alloc, slack)
	}
	if float64(use) < 0.9*float64(alloc) {
		t.Errorf("buckets of the copy are %d of %d bytes full", use, alloc)
	}
	if sizes[0].Keys == 0 {
		t.Errorf("largest bucket %+v has no keys", sizes[0])
	}
	// Message records and raw messages are packed again, tighter, and
	// read the same.
	orig, _, _ := s.Sizes()
	for _, name := range [][]byte{bucketMsg, bucketRaw} {
		var before, after int
		for _, b := range sizes {
			if b.Name == string(name) {
				after = b.LeafUse
			}
		}
		for _, b := range orig {
			if b.Name == string(name) {
				before = b.LeafUse
			}
		}
		if after >= before*9/10 {
			t.Errorf("bucket %s takes %d bytes in the copy, %d in the store", name, after, before)
		}
	}
	view(t, c, func(tx *Tx) error {
		repacked := 0
		tx.b(bucketMsg).ForEach(func(k, v []byte) error {
			if v[0] == codecZstdDict || v[0] == codecZstdRecDict {
				repacked++
			}
			return nil
		})
		if repacked < len(mails)/2 {
			t.Errorf("%d of %d message records repacked", repacked, len(mails))
		}
		for _, ml := range mails[:200] {
			var want *kp.Message
			view(t, s, func(tx *Tx) error {
				var err error
				want, err = tx.Message(ml.m.ID)
				return err
			})
			got, err := tx.Message(ml.m.ID)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("message %s in the copy: %+v, %v; want %+v", ml.m.ID, got, err, want)
			}
			raw, err := tx.Raw(ml.m.ID)
			if err != nil || !bytes.Equal(raw, ml.raw) {
				t.Fatalf("raw message %s in the copy: %d bytes, %v; want %d", ml.m.ID, len(raw), err, len(ml.raw))
			}
		}
		return nil
	})
	more := newIngester(2)
	for _, ml := range more.mails(10) {
		update(t, c, func(tx *Tx) error { return more.apply(tx, ml) })
	}
	if r := c.CheckReport(); !r.OK() {
		t.Errorf("copy after writes: %v", r.Problems)
	}
}
