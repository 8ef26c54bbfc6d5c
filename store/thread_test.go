package store

import (
	"slices"
	"strings"
	"testing"

	kp "kontaktpunkt"
)

// putCases stores cases 1..n, so index entries name stored cases.
func putCases(tx *Tx, n int) error {
	for range n {
		id, err := tx.NextCaseID()
		if err != nil {
			return err
		}
		if err := tx.PutCase(&kp.Case{ID: id, Status: kp.StatusOpen, Priority: kp.PriorityNormal}); err != nil {
			return err
		}
	}
	return nil
}

func TestReferenceIndex(t *testing.T) {
	s := openTest(t)
	long := strings.Repeat("x", maxIDKey+10) + "@example.org"
	update(t, s, func(tx *Tx) error {
		if err := putCases(tx, 2); err != nil {
			return err
		}
		if err := tx.IndexReferences(2, []string{"ghost@x", "ghost@x", "", long}); err != nil {
			return err
		}
		if err := tx.IndexReferences(1, []string{"ghost@x"}); err != nil {
			return err
		}
		return tx.IndexReferences(0, []string{"unfiled@x"}) // case 0 is not indexed
	})
	view(t, s, func(tx *Tx) error {
		for _, tt := range []struct {
			id    string
			limit int
			want  []kp.CaseID
		}{
			{"ghost@x", 0, []kp.CaseID{1, 2}},
			{"ghost@x", 1, []kp.CaseID{1}},
			{long, 0, []kp.CaseID{2}},
			{"ghost@", 0, nil}, // a prefix of a key is another id
			{"unfiled@x", 0, nil},
			{"", 0, nil},
		} {
			got, err := tx.ReferencedBy(tt.id, tt.limit)
			if err != nil {
				return err
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ReferencedBy(%.20q, %d) = %v, want %v", tt.id, tt.limit, got, tt.want)
			}
		}
		return nil
	})
}

func TestSubjectIndex(t *testing.T) {
	s := openTest(t)
	long := strings.Repeat("å", maxSubjectKey)
	update(t, s, func(tx *Tx) error {
		if err := putCases(tx, 7); err != nil {
			return err
		}
		for _, e := range []struct {
			s string
			c kp.CaseID
		}{{"tilgang", 1}, {"tilgang", 7}, {"tilgang til fs", 3}, {"", 4}, {long, 5}, {long + "x", 6}} {
			if err := tx.IndexSubject(e.s, e.c); err != nil {
				return err
			}
		}
		return tx.UnindexSubject("tilgang", 7)
	})
	view(t, s, func(tx *Tx) error {
		for _, tt := range []struct {
			s    string
			want []kp.CaseID
		}{
			{"tilgang", []kp.CaseID{1}},
			{"tilgang til fs", []kp.CaseID{3}},
			{"tilgang til", nil},
			{long + "y", []kp.CaseID{6, 5}}, // long subjects compare by their start, newest first
		} {
			got, err := tx.SubjectCases(tt.s, 0)
			if err != nil {
				return err
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("SubjectCases(%.20q) = %v, want %v", tt.s, got, tt.want)
			}
		}
		return nil
	})
}

func TestContentHashKeptWithID(t *testing.T) {
	s := openTest(t)
	update(t, s, func(tx *Tx) error {
		if err := tx.PutMessage(&kp.Message{ID: "a@x", Direction: kp.In, ContentHash: 42}, []byte("raw a")); err != nil {
			return err
		}
		return tx.PutMessage(&kp.Message{ID: "b@x", Direction: kp.In}, []byte("raw b"))
	})
	view(t, s, func(tx *Tx) error {
		if h, ok, err := tx.ContentHash("a@x"); err != nil || !ok || h != 42 {
			t.Errorf("ContentHash(a@x) = %d, %v, %v", h, ok, err)
		}
		if _, ok, err := tx.ContentHash("b@x"); err != nil || ok {
			t.Errorf("ContentHash(b@x) = %v, %v: want none", ok, err)
		}
		if c, ok, err := tx.LookupID("a@x"); err != nil || !ok || c != 0 {
			t.Errorf("LookupID(a@x) = %d, %v, %v", c, ok, err)
		}
		return nil
	})
}

func TestRecordsWrittenBeforeNewFields(t *testing.T) {
	// A case and a message record as written before MergedInto, Links,
	// OpenedBy and CollidedID end where those fields would start.
	c := &kp.Case{ID: 3, Subject: "x", Status: kp.StatusOpen, MergedInto: 9, Links: []kp.CaseID{4, 5}, OpenedBy: "kari@uio.no"}
	full := encodeCase(c)
	old := encodeCase(&kp.Case{ID: 3, Subject: "x", Status: kp.StatusOpen})
	withoutRule := old[:len(old)-1]     // empty Rule is one byte
	withoutArchived := old[:len(old)-2] // and empty Archived one more
	old = old[:len(old)-5]              // and MergedInto 0, no links, empty OpenedBy: one byte each
	got, err := decodeCase(full, 3)
	if err != nil || got.MergedInto != 9 || !slices.Equal(got.Links, []kp.CaseID{4, 5}) || got.OpenedBy != "kari@uio.no" {
		t.Fatalf("decodeCase(new) = %+v, %v", got, err)
	}
	if got, err := decodeCase(withoutArchived, 3); err != nil || got.Archived != "" || got.Subject != "x" {
		t.Errorf("decodeCase(without Archived) = %+v, %v", got, err)
	}
	c.Archived = "2026/1234"
	if got, err := decodeCase(encodeCase(c), 3); err != nil || got.Archived != "2026/1234" || got.OpenedBy != "kari@uio.no" {
		t.Errorf("decodeCase(with Archived) = %+v, %v", got, err)
	}
	if got, err := decodeCase(withoutRule, 3); err != nil || got.Rule != "" || got.Subject != "x" {
		t.Errorf("decodeCase(without Rule) = %+v, %v", got, err)
	}
	c.Rule = "team lms; subject ~ canvas"
	if got, err := decodeCase(encodeCase(c), 3); err != nil || got.Rule != c.Rule || got.Archived != "2026/1234" {
		t.Errorf("decodeCase(with Rule) = %+v, %v", got, err)
	}
	got, err = decodeCase(old, 3)
	if err != nil || got.MergedInto != 0 || got.Links != nil || got.OpenedBy != "" || got.Subject != "x" {
		t.Errorf("decodeCase(old) = %+v, %v", got, err)
	}
	m := encodeMessage(&kp.Message{ID: "a@x", Subject: "s"})
	m = m[:len(m)-1] // empty CollidedID is one byte
	if got, err := decodeMessage(m, 1); err != nil || got.Subject != "s" || got.CollidedID != "" {
		t.Errorf("decodeMessage(old) = %+v, %v", got, err)
	}
	e := idEntry{seq: 1, cas: 2, rawLen: 3, rawOff: 4}
	if got, err := decodeIDEntry(e.encode()); err != nil || got != e {
		t.Errorf("idEntry without hash: %+v, %v", got, err)
	}
	e.hash = 1 << 60
	if got, err := decodeIDEntry(e.encode()); err != nil || got != e {
		t.Errorf("idEntry with hash: %+v, %v", got, err)
	}
}

func TestCheckFindsStrayThreadIndexEntries(t *testing.T) {
	s, err := Open(t.TempDir()+"/kp.db", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	update(t, s, func(tx *Tx) error {
		if err := tx.IndexReferences(9, []string{"ghost@x"}); err != nil {
			return err
		}
		return tx.b(bucketCaseSubject).Put([]byte("short"), nil)
	})
	err = s.Check()
	if err == nil || !strings.Contains(err.Error(), "ref_by") || !strings.Contains(err.Error(), "names case 9") || !strings.Contains(err.Error(), "case_subject: key") {
		t.Fatalf("Check = %v, want both stray entries reported", err)
	}
}
