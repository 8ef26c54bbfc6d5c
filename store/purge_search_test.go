package store

import (
	"testing"
	"time"

	kp "kontaktpunkt"
)

// TestPurgeRemovesSearchPostings: the words of a purged case's mail leave
// the search index with the mail; another case's postings stay.
func TestPurgeRemovesSearchPostings(t *testing.T) {
	s := openTest(t)
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	var ids [2]kp.CaseID
	update(t, s, func(tx *Tx) error {
		for i, word := range []string{"hemmeligprosjekt", "offentligprosjekt"} {
			id, err := tx.NextCaseID()
			if err != nil {
				return err
			}
			ids[i] = id
			c := &kp.Case{ID: id, Subject: "Sak om " + word, Status: kp.StatusResolved, Priority: kp.PriorityNormal,
				Requester: kp.Address{Name: "Ola", Addr: "ola@example.org"}, Created: now, Updated: now, ResolvedAt: now}
			if err := tx.PutCase(c); err != nil {
				return err
			}
			m := &kp.Message{ID: word + "@example.org", Case: id, Direction: kp.In, Class: kp.ClassHuman, Kind: "request",
				From: c.Requester, Subject: c.Subject, Text: "Teksten nevner " + word + " og felles ord.", Date: now, Received: now}
			if err := tx.PutMessage(m, []byte("Subject: x\r\n\r\n"+m.Text)); err != nil {
				return err
			}
		}
		return nil
	})
	has := func(token string) bool {
		found := false
		if err := s.View(func(tx *Tx) error {
			ids, _, err := tx.postings(token, true)
			found = len(ids) > 0
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return found
	}
	if !has("hemmeligprosjekt") || !has("offentligprosjekt") {
		t.Fatal("the words were not indexed")
	}
	update(t, s, func(tx *Tx) error {
		_, err := tx.PurgeCase(ids[0], now.Add(400*24*time.Hour))
		return err
	})
	if has("hemmeligprosjekt") {
		t.Error("a purged case's word is still in the search index")
	}
	if !has("offentligprosjekt") || !has("felles") {
		t.Error("purging one case removed another case's postings")
	}
}
