package store

import (
	"path/filepath"
	"testing"
)

func TestGenerationGrowsWithEveryWrite(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "kp.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	gen := func() uint64 {
		var g uint64
		if err := s.View(func(tx *Tx) error { g = tx.Generation(); return nil }); err != nil {
			t.Fatal(err)
		}
		return g
	}
	a, b := gen(), gen()
	if a != b {
		t.Fatalf("two reads without a write: %d, %d", a, b)
	}
	var inWrite uint64
	if err := s.Update(func(tx *Tx) error { inWrite = tx.Generation(); return tx.AddCounter("x", 1) }); err != nil {
		t.Fatal(err)
	}
	if inWrite != a {
		t.Errorf("inside a write: %d, want the state it started from, %d", inWrite, a)
	}
	if c := gen(); c <= a {
		t.Errorf("after a write: %d, want more than %d", c, a)
	}
}
