package store

import (
	"reflect"
	"testing"
	"time"

	kp "kontaktpunkt"
)

// TestCaseCounterpartsRoundTripAndIndex checks that counterpart references
// survive the codec, that a case record written before the field existed
// still decodes, and that the reference index follows every change.
func TestCaseCounterpartsRoundTripAndIndex(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	c := &kp.Case{ID: 0, Subject: "Tilgang", Status: kp.StatusOpen, Priority: kp.PriorityNormal, Created: now, Updated: now,
		Counterparts: []kp.CounterpartRef{
			{Team: "fs", Addr: "rt@uio.no", System: "rt", Ref: "[rt.uio.no #4711]"},
			{Addr: "servicenow@vendor.example", System: "servicenow", Ref: "INC0012345"},
		}}
	c.ID = 7
	got, err := decodeCase(encodeCase(c), 7)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Counterparts, c.Counterparts) {
		t.Fatalf("round trip: %+v", got.Counterparts)
	}

	// A record from before: the same encoding without the trailing field.
	old := *c
	old.Counterparts = nil
	b := encodeCase(&old)
	// The zero count is followed by the later fields' zero bytes
	// (MergedInto, the Links count, an empty OpenedBy, an empty Archived,
	// an empty Rule).
	b = b[:len(b)-6]
	got, err = decodeCase(b, 7)
	if err != nil || got.Counterparts != nil || got.Subject != "Tilgang" {
		t.Fatalf("older record: %+v, %v", got, err)
	}

	s := openTest(t)
	c.ID = 0
	update(t, s, func(tx *Tx) error {
		for c.ID < 7 {
			var err error
			if c.ID, err = tx.NextCaseID(); err != nil {
				return err
			}
		}
		return tx.PutCase(c)
	})
	cases := func(key string) []kp.CaseID {
		var ids []kp.CaseID
		view(t, s, func(tx *Tx) error {
			var err error
			ids, err = tx.CounterpartCases(key)
			return err
		})
		return ids
	}
	if ids := cases("[RT.uio.no  #4711]"); len(ids) != 1 || ids[0] != 7 {
		t.Fatalf("lookup rt = %v", ids)
	}
	if ids := cases("inc0012345"); len(ids) != 1 || ids[0] != 7 {
		t.Fatalf("lookup servicenow = %v", ids)
	}
	if ids := cases("rt.uio.no #47"); len(ids) != 0 {
		t.Fatalf("a prefix of a key matched: %v", ids)
	}
	// RT merges the ticket: the team's reference changes.
	c.Counterparts[0].Ref = "[rt.uio.no #4800]"
	update(t, s, func(tx *Tx) error { return tx.PutCase(c) })
	if ids := cases("rt.uio.no #4711"); len(ids) != 0 {
		t.Fatalf("replaced reference still indexed: %v", ids)
	}
	if ids := cases("rt.uio.no #4800"); len(ids) != 1 {
		t.Fatalf("new reference not indexed: %v", ids)
	}
	// openTest's cleanup checks the index against the records.
}
