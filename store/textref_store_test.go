package store

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	kp "kontaktpunkt"
)

// refCase stores, on a new case, a request from the person and the
// copies of the mail it caused: an acknowledgement quoting it and a
// notification repeating it with the sender's name, the latter queued
// with a spec that refers to its copy. It returns the case, the
// request's seq and the copies' Message-IDs.
func refCase(t *testing.T, s *Store) (kp.CaseID, uint64, []string) {
	t.Helper()
	person := kp.Address{Name: forgetName, Addr: forgetAddr}
	desk := kp.Address{Name: "Kontaktpunkt", Addr: "kontakt@uio.no"}
	at := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
	body := "Hei,\n\nJeg får ikke logget inn i Studentweb etter at passordet ble byttet.\nKan dere se på kontoen min?\n\nHilsen\n" + forgetName
	var id kp.CaseID
	var seq uint64
	ids := []string{"ack1@uio.no", "notify1@uio.no"}
	update(t, s, func(tx *Tx) error {
		var err error
		if id, err = tx.NextCaseID(); err != nil {
			return err
		}
		raw, m := personMail("req1@example.org", person, []kp.Address{desk}, "Innlogging", body, "", at)
		m.Case = id
		if err := tx.PutMessage(m, raw); err != nil {
			return err
		}
		seq = m.Seq
		c := &kp.Case{ID: id, Subject: m.Subject, Status: kp.StatusOpen, Requester: person, Priority: kp.PriorityNormal,
			Created: at, Updated: at, Messages: 3, ThreadID: m.ID}
		if err := tx.PutCase(c); err != nil {
			return err
		}
		texts := []string{
			"Hei " + forgetName + ",\n\nTakk for henvendelsen.\n\nDin henvendelse:\n> " + strings.ReplaceAll(body, "\n", "\n> ") + "\n\nVennlig hilsen\nKontaktpunkt\n",
			"Ny sak fra " + person.String() + ".\n\n" + body + "\n",
		}
		for i, text := range texts {
			to := []kp.Address{person}
			if i == 1 {
				to = []kp.Address{{Name: "Ola", Addr: "ola@uio.no"}}
			}
			out := &kp.Message{ID: ids[i], Case: id, Direction: kp.Out, Class: kp.ClassHuman, Kind: []string{"ack", "notify"}[i],
				From: desk, To: to, Subject: "[INT#1] Innlogging", Date: at, Received: at, Text: text, Size: int64(len(text))}
			if err := tx.PutMessage(out, nil); err != nil {
				return err
			}
			spec := &kp.OutSpec{From: desk, To: to, ReplyTo: desk, Subject: out.Subject, Text: text, MessageID: ids[i], Date: at}
			if err := tx.Enqueue(&kp.Outbound{Case: id, Kind: out.Kind, MessageID: ids[i], From: desk.Addr, To: []string{to[0].Addr},
				Subject: out.Subject, Spec: spec, NextTry: at, Queued: at}); err != nil {
				return err
			}
		}
		return nil
	})
	// Both copies are stored as references to the request.
	view(t, s, func(tx *Tx) error {
		for _, mid := range ids {
			e, _, err := tx.lookupID(mid)
			if err != nil {
				return err
			}
			p, err := tx.codec.unpack(tx.b(bucketMsg).Get(u64(e.seq)))
			if err != nil {
				return err
			}
			_, r, err := decodeMessageRef(p, e.seq)
			if err != nil {
				return err
			}
			if r == nil || r.seq != seq {
				t.Errorf("copy %s: text reference %+v, want one to message %d", mid, r, seq)
			}
		}
		return nil
	})
	return id, seq, ids
}

// texts returns the texts of the messages and the queued specs of ids.
func texts(t *testing.T, s *Store, ids []string) []string {
	t.Helper()
	var out []string
	view(t, s, func(tx *Tx) error {
		for _, id := range ids {
			m, err := tx.Message(id)
			if err != nil {
				return err
			}
			out = append(out, m.Text)
			e, _, err := tx.lookupID(id)
			if err != nil {
				return err
			}
			if e.outID != 0 {
				o, err := tx.Outbound(e.outID)
				if err != nil {
					return err
				}
				if o.Spec != nil {
					out = append(out, "spec: "+o.Spec.Text)
				}
			}
		}
		return nil
	})
	return out
}

func TestTextRefReadsAsWrittenEverywhere(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kp.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	id, _, ids := refCase(t, s)
	before := texts(t, s, ids)
	if len(before) != 4 || !strings.Contains(before[0], "> Jeg får ikke logget inn") || before[1] != "spec: "+before[0] {
		t.Fatalf("texts %q", before)
	}
	var walked, caseTexts []string
	view(t, s, func(tx *Tx) error {
		ms, err := tx.CaseMessages(id)
		if err != nil {
			return err
		}
		for _, m := range ms[1:] {
			caseTexts = append(caseTexts, m.Text)
		}
		return tx.ForEachMessage(false, func(m *kp.Message) error {
			if m.Direction == kp.Out {
				walked = append(walked, m.Text)
			}
			return nil
		})
	})
	for i, got := range [][]string{caseTexts, walked} {
		if len(got) != 2 || got[0] != before[0] || got[1] != before[2] {
			t.Errorf("walk %d: texts %q", i, got)
		}
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// After a restart and in the compacted copy: the same texts.
	for _, p := range []string{path, filepath.Join(t.TempDir(), "compact.db")} {
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if p != path {
			if err := s.CompactTo(p); err != nil {
				t.Fatal(err)
			}
			s.Close()
			if s, err = Open(p, Options{}); err != nil {
				t.Fatal(err)
			}
		}
		if got := texts(t, s, ids); strings.Join(got, "|") != strings.Join(before, "|") {
			t.Errorf("%s: texts %q, want %q", p, got, before)
		}
		if err := s.Check(); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		s.Close()
	}
}

func TestTextRefSurvivesItsSourceChanging(t *testing.T) {
	for _, change := range []string{"text", "case", "purge", "blank"} {
		t.Run(change, func(t *testing.T) {
			s := openTest(t)
			_, seq, ids := refCase(t, s)
			before := texts(t, s, ids)
			update(t, s, func(tx *Tx) error {
				m, err := tx.messageBySeq(seq)
				if err != nil {
					return err
				}
				switch change {
				case "text":
					m.Text = "Ny tekst."
					return tx.UpdateMessage(m)
				case "case":
					id, err := tx.NextCaseID()
					if err != nil {
						return err
					}
					m.Case = id
					return tx.UpdateMessage(m)
				case "purge":
					return tx.purgeMessage(m)
				default:
					return tx.blankMessage(m, ForgottenNote)
				}
			})
			if got := texts(t, s, ids); strings.Join(got, "|") != strings.Join(before, "|") {
				t.Errorf("texts %q, want %q", got, before)
			}
		})
	}
}

func TestTextRefKeptWhenOnlyTheCopyChanges(t *testing.T) {
	s := openTest(t)
	_, seq, ids := refCase(t, s)
	update(t, s, func(tx *Tx) error {
		m, err := tx.Message(ids[1])
		if err != nil {
			return err
		}
		m.Class = kp.ClassHuman
		m.Kind = "notify-again"
		return tx.UpdateMessage(m)
	})
	view(t, s, func(tx *Tx) error {
		e, _, err := tx.lookupID(ids[1])
		if err != nil {
			return err
		}
		p, err := tx.codec.unpack(tx.b(bucketMsg).Get(u64(e.seq)))
		if err != nil {
			return err
		}
		if _, r, err := decodeMessageRef(p, e.seq); err != nil || r == nil || r.seq != seq {
			t.Errorf("rewritten copy: reference %+v, %v", r, err)
		}
		return nil
	})
}

func TestForgetReachesThroughTextRefs(t *testing.T) {
	for _, thorough := range []bool{false, true} {
		s := openTest(t)
		buildPrivacyStore(t, s, 50)
		_, _, ids := refCase(t, s)
		if _, err := s.Forget(forgetAddr, ForgetOptions{Now: time.Now(), Actor: "operator", Channel: "cli", Thorough: thorough}); err != nil {
			t.Fatal(err)
		}
		for _, text := range texts(t, s, ids) {
			low := strings.ToLower(text)
			if strings.Contains(low, strings.ToLower(forgetName)) || strings.Contains(low, strings.ToLower(forgetAddr)) {
				t.Errorf("thorough %v: a copy still names the person: %q", thorough, text)
			}
		}
		out := filepath.Join(t.TempDir(), "compact.db")
		if err := s.CompactTo(out); err != nil {
			t.Fatal(err)
		}
		if found := findPerson(t, out); len(found) > 0 {
			t.Errorf("thorough %v: the compacted store still names the person:\n%s", thorough, strings.Join(found, "\n"))
		}
	}
}

func TestCheckFindsABrokenTextRef(t *testing.T) {
	s := openTest(t)
	_, seq, _ := refCase(t, s)
	// The source's record replaced behind the store's back by one with
	// a shorter text: the reference no longer resolves.
	var saved []byte
	update(t, s, func(tx *Tx) error {
		saved = append([]byte(nil), tx.b(bucketMsg).Get(u64(seq))...)
		m, err := tx.messageBySeq(seq)
		if err != nil {
			return err
		}
		m.Text = "kort"
		return tx.b(bucketMsg).Put(u64(seq), tx.codec.packRecord(encodeMessage(m)))
	})
	err := s.Check()
	if err == nil || !strings.Contains(err.Error(), "text refers to") {
		t.Fatalf("check: %v", err)
	}
	// Put it right again so the cleanup check passes.
	update(t, s, func(tx *Tx) error {
		return tx.b(bucketMsg).Put(u64(seq), saved)
	})
}

// outRecords returns the queued outbound records of ids as read, and
// the seqs of the copies their stored records refer to.
func outRecords(t *testing.T, s *Store, ids []string) ([]kp.Outbound, []uint64) {
	t.Helper()
	var out []kp.Outbound
	var refs []uint64
	view(t, s, func(tx *Tx) error {
		for _, id := range ids {
			e, _, err := tx.lookupID(id)
			if err != nil {
				return err
			}
			o, err := tx.Outbound(e.outID)
			if err != nil {
				return err
			}
			o.Spec = nil
			out = append(out, *o)
			p, err := tx.codec.unpack(tx.b(bucketOut).Get(u64(e.outID)))
			if err != nil {
				return err
			}
			_, r, err := decodeOutbound(p, e.outID)
			if err != nil {
				return err
			}
			refs = append(refs, r.seq)
		}
		return nil
	})
	return out, refs
}

func TestOutboundRecordReadsItsCopy(t *testing.T) {
	for _, change := range []string{"none", "subject", "purge", "blank", "sent"} {
		t.Run(change, func(t *testing.T) {
			s := openTest(t)
			_, _, ids := refCase(t, s)
			before, refs := outRecords(t, s, ids)
			for i, o := range before {
				if refs[i] == 0 || o.MessageID != ids[i] || o.Subject != "[INT#1] Innlogging" || len(o.To) != 1 || !o.NextTry.Equal(o.Queued) {
					t.Fatalf("outbound %d: %+v, refers to %d", i, o, refs[i])
				}
			}
			update(t, s, func(tx *Tx) error {
				m, err := tx.Message(ids[0])
				if err != nil {
					return err
				}
				switch change {
				case "subject":
					m.Subject = "Endret"
					return tx.UpdateMessage(m)
				case "purge":
					return tx.purgeMessage(m)
				case "blank":
					return tx.blankMessage(m, ForgottenNote)
				case "sent":
					e, _, err := tx.lookupID(ids[0])
					if err != nil {
						return err
					}
					o, err := tx.Outbound(e.outID)
					if err != nil {
						return err
					}
					o.State, o.Sent = kp.OutSent, o.Queued.Add(time.Minute)
					if err := tx.PutOutbound(o); err != nil {
						return err
					}
					before[0].State, before[0].Sent = o.State, o.Sent
				}
				return nil
			})
			after, refs := outRecords(t, s, ids)
			for i := range after {
				if !reflect.DeepEqual(after[i], before[i]) {
					t.Errorf("outbound %d after %s:\n%+v\nwant\n%+v", i, change, after[i], before[i])
				}
			}
			if change != "none" && change != "blank" && refs[0] != 0 {
				t.Errorf("after %s the record still refers to message %d", change, refs[0])
			}
		})
	}
}

func TestCompactPacksCopiesWithTheRecordDictionary(t *testing.T) {
	s := openTest(t)
	_, _, ids := refCase(t, s)
	before := texts(t, s, ids)
	out := filepath.Join(t.TempDir(), "compact.db")
	if err := s.CompactTo(out); err != nil {
		t.Fatal(err)
	}
	c, err := Open(out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n := 0
	view(t, c, func(tx *Tx) error {
		return tx.b(bucketMsg).ForEach(func(k, v []byte) error {
			if v[0] == codecZstdRecDict {
				n++
			}
			return nil
		})
	})
	if n == 0 {
		t.Error("no record of the copy packed with the record dictionary")
	}
	if got := texts(t, c, ids); strings.Join(got, "|") != strings.Join(before, "|") {
		t.Errorf("texts in the copy %q, want %q", got, before)
	}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
}
