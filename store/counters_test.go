package store

import (
	"errors"
	"testing"
)

// TestCountersAddUpWithinAndAcrossTransactions: sums collected in a
// transaction are seen by Counters in it, are stored on commit, start a
// counter at zero, and are dropped with a transaction that fails.
func TestCountersAddUpWithinAndAcrossTransactions(t *testing.T) {
	s := openTest(t)
	update(t, s, func(tx *Tx) error {
		for range 3 {
			if err := tx.AddCounter("messages_class:human", 1); err != nil {
				return err
			}
		}
		if err := tx.AddCounter("outbound_failed", 0); err != nil {
			return err
		}
		got, err := tx.Counters("messages_class:")
		if err != nil {
			return err
		}
		if got["messages_class:human"] != 3 {
			t.Errorf("within the transaction: %v, want 3", got)
		}
		return tx.AddCounter("messages_class:human", 2)
	})
	boom := errors.New("boom")
	if err := s.Update(func(tx *Tx) error {
		_ = tx.AddCounter("messages_class:human", 100)
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("failed transaction: %v", err)
	}
	if err := s.Update(func(tx *Tx) error { return tx.AddCounter("", 1) }); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty counter name: %v, want ErrInvalid", err)
	}
	view(t, s, func(tx *Tx) error {
		got, err := tx.Counters("")
		if err != nil {
			return err
		}
		if got["messages_class:human"] != 5 {
			t.Errorf("messages_class:human = %d, want 5", got["messages_class:human"])
		}
		if v, ok := got["outbound_failed"]; !ok || v != 0 {
			t.Errorf("outbound_failed = %d, %v: want created at 0", v, ok)
		}
		return nil
	})
}
