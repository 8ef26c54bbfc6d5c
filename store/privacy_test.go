package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	kp "kontaktpunkt"
)

const (
	forgetName  = "Solveig Brattbakken"
	forgetAddr  = "Solveig.Brattbakken@Example.ORG"
	forgetLocal = "solveig.brattbakken"
)

// personMail builds a raw mail and its record.
func personMail(id string, from kp.Address, to []kp.Address, subject, body, extraHeader string, at time.Time) ([]byte, *kp.Message) {
	raw := fmt.Sprintf("From: %s\r\nTo: %s\r\n%sSubject: %s\r\nMessage-ID: <%s>\r\nDate: %s\r\n\r\n%s\r\n",
		from, to[0], extraHeader, subject, id, at.Format(time.RFC1123Z), body)
	return []byte(raw), &kp.Message{
		ID: id, Direction: kp.In, Class: kp.ClassHuman, Kind: "request", From: from, To: to,
		Subject: subject, Date: at, Received: at, Text: body, Size: int64(len(raw)),
	}
}

// buildPrivacyStore fills a store with generated mail and, among it, a
// person's requests, a colleague's mail that names them only in its raw
// header, another that names them in its text, queued mail to them, a
// suppression and send-log entries.
func buildPrivacyStore(t testing.TB, s *Store, n int) {
	in := newIngester(7)
	mails := in.mails(n)
	for i := 0; i < len(mails); i += 500 {
		update(t, s, func(tx *Tx) error {
			for _, ml := range mails[i:min(i+500, len(mails))] {
				if err := in.apply(tx, ml); err != nil {
					return err
				}
			}
			return nil
		})
	}
	desk := kp.Address{Name: "Kontaktpunkt", Addr: "kontakt@uio.no"}
	person := kp.Address{Name: forgetName, Addr: forgetAddr}
	at := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
	update(t, s, func(tx *Tx) error {
		id, err := tx.NextCaseID()
		if err != nil {
			return err
		}
		raw, m := personMail("p1@example.org", person, []kp.Address{desk}, "Eksamen for "+forgetName, "Hei, jeg heter "+forgetName+".", "", at)
		m.Case = id
		if err := tx.PutMessage(m, raw); err != nil {
			return err
		}
		c := &kp.Case{ID: id, Subject: m.Subject, Status: kp.StatusOpen, Requester: person, Priority: kp.PriorityNormal,
			Created: at, Updated: at, Messages: 2, ThreadID: m.ID, Participants: []string{"other@uio.no", strings.ToLower(forgetAddr)}}
		if err := tx.PutCase(c); err != nil {
			return err
		}
		if err := tx.IndexSubject(strings.ToLower(c.Subject), id); err != nil {
			return err
		}
		// A colleague writes on the case; only a raw header names the person.
		raw, m = personMail("p2@uio.no", kp.Address{Name: "Ola Saksbehandler", Addr: "ola@uio.no"}, []kp.Address{desk}, "Svar", "Ser på saken.", "Reply-To: <"+strings.ToUpper(forgetAddr)+">\r\n", at.Add(time.Hour))
		m.Case = id
		if err := tx.PutMessage(m, raw); err != nil {
			return err
		}
		// Unfiled mail that names the person in its text, big enough for
		// the big-value bucket.
		big := strings.Repeat(fmt.Sprintf("linje %x om noe annet\n", at.UnixNano()), 1) + "Kontakt "
		for i := 0; len(big) < 3*bigRaw; i++ {
			big += fmt.Sprintf("%d:%x ", i, uint64(i)*0x9e3779b97f4a7c15)
		}
		raw, m = personMail("p3@uio.no", kp.Address{Addr: "noreply@fs.uio.no"}, []kp.Address{desk}, "Rapport", big+" "+forgetLocal, "", at.Add(2*time.Hour))
		if err := tx.PutMessage(m, raw); err != nil {
			return err
		}
		if err := tx.Enqueue(&kp.Outbound{Case: id, Kind: "ack", MessageID: "out1@uio.no", From: "kontakt@uio.no",
			To: []string{strings.ToLower(forgetAddr)}, Subject: "Mottatt: Eksamen for " + forgetName, NextTry: at, Queued: at,
			Raw: []byte("To: " + forgetName + " <" + forgetAddr + ">\r\nSubject: Mottatt\r\n\r\nHei " + forgetName + "\r\n")}); err != nil {
			return err
		}
		if err := tx.Suppress(forgetAddr, at.Add(24*time.Hour)); err != nil {
			return err
		}
		if err := tx.RecordSent(forgetAddr, at); err != nil {
			return err
		}
		if err := tx.RecordSent("new-case:"+forgetAddr, at); err != nil {
			return err
		}
		// an entry of the send log as written before it was kept by the hour
		if err := tx.b(bucketSentLog).Put(appendU64(appendT12(appendLstr(nil, "relay-told:"+strings.ToLower(forgetAddr)), at), 1), nil); err != nil {
			return err
		}
		return tx.AddAudit(&AuditEntry{At: at, Actor: forgetAddr, Channel: "mail", Action: "close", Case: id})
	})
}

// findPerson reports every place in the file at path, as bytes and in
// every decoded record and raw message, that names the person.
func findPerson(t *testing.T, path string) []string {
	t.Helper()
	needles := [][]byte{[]byte(strings.ToLower(forgetAddr)), []byte(forgetLocal), []byte(strings.ToLower(forgetName))}
	var found []string
	look := func(where string, b []byte) {
		low := bytes.ToLower(b)
		for _, n := range needles {
			if bytes.Contains(low, n) {
				found = append(found, fmt.Sprintf("%s: %q", where, n))
			}
		}
	}
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	look("file bytes", file)
	s, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Check(); err != nil {
		t.Errorf("check of %s: %v", path, err)
	}
	err = s.View(func(tx *Tx) error {
		return tx.tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error {
				look(string(name)+" key", k)
				if p, err := tx.codec.unpack(v); err == nil {
					look(fmt.Sprintf("%s %x value", name, k), p)
				}
				if string(name) == string(bucketMsgID) {
					e, err := decodeIDEntry(v)
					if err == nil && e.rawLen > 0 {
						raw, err := tx.raw(e)
						if err != nil {
							return err
						}
						look(fmt.Sprintf("raw of %q", k), raw)
					}
				}
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestForgetLeavesNoTraceAfterCompact(t *testing.T) {
	s := openTest(t)
	buildPrivacyStore(t, s, 2000)
	dry, err := s.Forget(forgetAddr, ForgetOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := s.Forget(forgetAddr, ForgetOptions{Now: time.Now(), Actor: "operator", Channel: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Messages != 3 || rep.Cases != 1 || rep.Outbound != 1 || rep.Cancelled != 1 || dry.Messages != rep.Messages {
		t.Errorf("forget: %+v (dry run %+v), want 3 messages, 1 case, 1 cancelled outbound", rep, dry)
	}
	if !strings.HasPrefix(rep.Pseudonym, "forgotten-") || !strings.HasSuffix(rep.Pseudonym, "@invalid") {
		t.Errorf("pseudonym %q", rep.Pseudonym)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	view(t, s, func(tx *Tx) error {
		c, err := tx.Case(1 + kp.CaseID(tx.b(bucketCase).Sequence()) - 1)
		if err != nil {
			return err
		}
		if c.Requester.Addr != rep.Pseudonym || strings.Contains(strings.ToLower(c.Subject), "brattbakken") {
			t.Errorf("case after forget: %+v", c)
		}
		m, err := tx.Message("p2@uio.no")
		if err != nil {
			return err
		}
		if m.Text != ForgottenNote || m.From.Addr != "ola@uio.no" {
			t.Errorf("colleague's message: %+v", m)
		}
		if _, err := tx.Raw("p2@uio.no"); err == nil {
			t.Error("raw bytes of a message naming the person kept")
		}
		if ok, _ := tx.Suppressed(rep.Pseudonym, time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)); !ok {
			t.Error("suppression not carried over to the pseudonym")
		}
		a, err := tx.Audit(0)
		if err != nil || len(a) != 2 || a[1].Action != "forget" || !strings.Contains(a[1].Detail, rep.Pseudonym) {
			t.Errorf("audit: %+v %v", a, err)
		}
		return nil
	})
	out := filepath.Join(t.TempDir(), "compact.db")
	if err := s.CompactTo(out); err != nil {
		t.Fatal(err)
	}
	if found := findPerson(t, out); len(found) > 0 {
		t.Errorf("the compacted store still names the person:\n%s", strings.Join(found, "\n"))
	}
	// Without forget the scan finds them, so it can fail.
	s2 := openTest(t)
	buildPrivacyStore(t, s2, 10)
	out2 := filepath.Join(t.TempDir(), "compact2.db")
	if err := s2.CompactTo(out2); err != nil {
		t.Fatal(err)
	}
	if found := findPerson(t, out2); len(found) < 3 {
		t.Errorf("scan of a store that was not forgotten found only %v", found)
	}
}

func TestPurgeLeavesTombstonesAndFreesRaw(t *testing.T) {
	s := openTest(t)
	buildPrivacyStore(t, s, 3000)
	resolvedAt := time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
	var resolved []kp.CaseID
	var msgsBefore int
	update(t, s, func(tx *Tx) error {
		cs, err := tx.Cases(CaseFilter{})
		if err != nil {
			return err
		}
		for i := range cs {
			c := &cs[i]
			msgsBefore += c.Messages
			if i%2 == 0 {
				c.Status, c.ResolvedAt, c.Next = kp.StatusResolved, resolvedAt, nil
				if err := tx.PutCase(c); err != nil {
					return err
				}
				resolved = append(resolved, c.ID)
			}
		}
		return nil
	})
	before, _ := os.Stat(s.Path())
	p := RetentionPolicy{ResolvedBefore: resolvedAt.Add(time.Second), UnfiledBefore: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Now: time.Now()}
	dry := p
	dry.DryRun = true
	drep, err := s.Purge(dry)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := s.Purge(p)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Cases != len(resolved) || drep.Cases != rep.Cases || rep.Unfiled != 1 || drep.Messages != rep.Messages {
		t.Errorf("purge %+v, dry run %+v; want %d cases and 1 unfiled", rep, drep, len(resolved))
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	var msgsAfter int
	view(t, s, func(tx *Tx) error {
		for _, id := range resolved {
			c, err := tx.Case(id)
			if err != nil {
				return err
			}
			tb, ok, err := tx.Tombstone(id)
			if err != nil || !ok || c.Subject != "" || c.Requester.Addr != "" || c.Messages == 0 || tb.Inbound != c.Messages {
				t.Fatalf("case %d after purge: %+v, tombstone %+v %v %v", id, c, tb, ok, err)
			}
			if ms, err := tx.CaseMessages(id); err != nil || len(ms) != 0 {
				t.Fatalf("case %d keeps %d messages (%v)", id, len(ms), err)
			}
		}
		purged := map[kp.CaseID]bool{}
		for _, id := range resolved {
			purged[id] = true
		}
		_ = tx.b(bucketSearch).ForEach(func(k, v []byte) error {
			i := bytes.IndexByte(k, 0)
			ids, _ := decodeBlock(kp.CaseID(binary.BigEndian.Uint64(k[i+1:])), v, nil)
			for _, id := range ids {
				if purged[id] {
					t.Errorf("search token %q still finds purged case %d", k[:i], id)
				}
			}
			return nil
		})
		cs, err := tx.Cases(CaseFilter{})
		for _, c := range cs {
			msgsAfter += c.Messages
		}
		return err
	})
	if msgsAfter != msgsBefore {
		t.Errorf("message counts of cases: %d before, %d after", msgsBefore, msgsAfter)
	}
	again, err := s.Purge(p)
	if err != nil || again.Cases != 0 || again.Messages != 0 {
		t.Errorf("second purge: %+v %v", again, err)
	}
	out := filepath.Join(t.TempDir(), "c.db")
	if err := s.CompactTo(out); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(out)
	t.Logf("purged %+v; file %d bytes, compacted %d", rep, before.Size(), after.Size())
	if after.Size() >= before.Size()*3/4 {
		t.Errorf("compacted copy %d bytes, store was %d", after.Size(), before.Size())
	}
	c, err := Open(out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestForgetIndexedAtScale forgets on a store of 10,000 mails where the
// person is also named where only some index leads: by display name in
// the text of a stranger's case, by address in another's text, as the
// assignee of a case, and past the indexed part of a long text. The
// indexed read must find what reading every message finds, and leave no
// trace after compacting.
func TestForgetIndexedAtScale(t *testing.T) {
	s := openTest(t)
	buildPrivacyStore(t, s, 10000)
	desk := []kp.Address{{Name: "Kontaktpunkt", Addr: "kontakt@uio.no"}}
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	long := strings.Repeat("ord ", maxIndexText/4+100) + " hilsen " + forgetName
	mails := []struct{ id, text string }{
		{"n1@uio.no", "Jeg snakket med " + forgetName + " i går om saken."},
		{"n2@uio.no", "Kopi til " + strings.ToLower(forgetAddr) + ", som ba om det."},
		{"n3@uio.no", long},
	}
	update(t, s, func(tx *Tx) error {
		for i, ml := range mails {
			id, err := tx.NextCaseID()
			if err != nil {
				return err
			}
			raw, m := personMail(ml.id, kp.Address{Name: "Kari Fremmed", Addr: fmt.Sprintf("kari%d@uib.no", i)}, desk, "Spørsmål", ml.text, "", at.Add(time.Duration(i)*time.Hour))
			m.Case = id
			if err := tx.PutMessage(m, raw); err != nil {
				return err
			}
			if err := tx.PutCase(&kp.Case{ID: id, Subject: m.Subject, Status: kp.StatusOpen, Requester: m.From, Priority: kp.PriorityNormal,
				Created: m.Received, Updated: m.Received, Messages: 1, ThreadID: m.ID}); err != nil {
				return err
			}
		}
		id, err := tx.NextCaseID()
		if err != nil {
			return err
		}
		return tx.PutCase(&kp.Case{ID: id, Subject: "Tildelt", Status: kp.StatusOpen, Requester: kp.Address{Addr: "per@uio.no"},
			Assignee: strings.ToLower(forgetAddr), Priority: kp.PriorityNormal, Created: at, Updated: at})
	})
	thorough, err := s.Forget(forgetAddr, ForgetOptions{DryRun: true, Thorough: true})
	if err != nil {
		t.Fatal(err)
	}
	indexed, err := s.Forget(forgetAddr, ForgetOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !indexed.Indexed || thorough.Indexed || indexed.Messages != thorough.Messages || indexed.Cases != thorough.Cases ||
		indexed.Outbound != thorough.Outbound || indexed.Names != thorough.Names || indexed.Messages != 6 || indexed.Cases != 2 {
		t.Errorf("indexed read found %+v, reading every message %+v; want the same, 6 messages and 2 cases", indexed, thorough)
	}
	if indexed.Read*10 > thorough.Read {
		t.Errorf("indexed read %d messages of %d", indexed.Read, thorough.Read)
	}
	rep, err := s.Forget(forgetAddr, ForgetOptions{Now: time.Now(), Actor: "operator", Channel: "cli", Budget: time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Messages != indexed.Messages || rep.Cancelled != 1 || rep.Batches < 4 {
		t.Errorf("forget: %+v, want %d messages, 1 cancelled, a transaction per step", rep, indexed.Messages)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	view(t, s, func(tx *Tx) error {
		for _, ml := range mails {
			m, err := tx.Message(ml.id)
			if err != nil {
				return err
			}
			if m.Text != ForgottenNote {
				t.Errorf("message %s keeps its text", ml.id)
			}
		}
		if ids := tx.assignedTo(rep.Pseudonym); len(ids) != 1 {
			t.Errorf("cases assigned to the pseudonym: %v", ids)
		}
		return nil
	})
	out := filepath.Join(t.TempDir(), "compact.db")
	if err := s.CompactTo(out); err != nil {
		t.Fatal(err)
	}
	if found := findPerson(t, out); len(found) > 0 {
		t.Errorf("the compacted store still names the person:\n%s", strings.Join(found, "\n"))
	}
}

// TestUnindexManyKeepsTheOthers takes cases spread over several posting
// blocks of two tokens out at once and checks that exactly they left.
func TestUnindexManyKeepsTheOthers(t *testing.T) {
	// The 400 cases straddle two epochs of the index.
	base := kp.CaseID(epochCases - 200)
	s := openTest(t)
	update(t, s, func(tx *Tx) error {
		for id := base + 1; id <= base+400; id++ {
			if err := tx.indexSearch(id, []string{"ord", "annet"}); err != nil {
				return err
			}
		}
		return nil
	})
	var drop []kp.CaseID
	for _, n := range []kp.CaseID{1000, 5, 130, 131, 199, 200, 201, 256, 399, 400, 1} {
		drop = append(drop, base+n)
	}
	update(t, s, func(tx *Tx) error {
		u := unindexer{}
		for _, id := range drop {
			u.add(id, []string{"ord"})
		}
		u.add(base+128, []string{"annet", "ukjent"})
		_, err := tx.unindexMany(u)
		return err
	})
	view(t, s, func(tx *Tx) error {
		for tok, gone := range map[string][]kp.CaseID{"ord": drop, "annet": {base + 128}} {
			ids, _, err := tx.postings(tok, true)
			if err != nil {
				return err
			}
			var want []kp.CaseID
			for id := base + 1; id <= base+400; id++ {
				if !slices.Contains(gone, id) {
					want = append(want, id)
				}
			}
			if !slices.Equal(ids, want) {
				t.Errorf("%s: %d cases left, want %d: %v", tok, len(ids), len(want), ids)
			}
		}
		return nil
	})
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestForgetWithoutSearchIndexReadsEverything: a store that keeps no
// full-text index cannot say which messages name the person, so every
// message is read.
func TestForgetWithoutSearchIndexReadsEverything(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "kp.db"), Options{NoSearchIndex: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	buildPrivacyStore(t, s, 300)
	rep, err := s.Forget(forgetAddr, ForgetOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Indexed || rep.Messages != 3 || rep.Read < 300 {
		t.Errorf("forget on a store without the index: %+v, want every message read and 3 found", rep)
	}
}
