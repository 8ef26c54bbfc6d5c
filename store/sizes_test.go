package store

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCompactCopyEndsAtLastPage checks that the compacted copy holds no
// preallocated room past its pages, that its buckets are packed full, and
// that it opens and takes writes.
func TestCompactCopyEndsAtLastPage(t *testing.T) {
	s := openTest(t)
	in := newIngester(1)
	for _, ml := range in.mails(3000) {
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
	more := newIngester(2)
	for _, ml := range more.mails(10) {
		update(t, c, func(tx *Tx) error { return more.apply(tx, ml) })
	}
	if r := c.CheckReport(); !r.OK() {
		t.Errorf("copy after writes: %v", r.Problems)
	}
}
