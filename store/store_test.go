package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	bolt "go.etcd.io/bbolt"

	kp "kontaktpunkt"
)

var t0 = time.Date(2026, 11, 24, 10, 30, 0, 123456789, time.UTC)

func fullMessage(id string, c kp.CaseID) *kp.Message {
	return &kp.Message{
		ID: id, Case: c, Direction: kp.In, Class: kp.ClassHuman, MatchedBy: kp.MatchNew, Kind: "request",
		From:     kp.Address{Name: "Kari Nordmann", Addr: "kari@example.no"},
		To:       []kp.Address{{Name: "Integrasjon", Addr: "integrasjon@uio.no"}},
		Cc:       []kp.Address{{Addr: "ola@example.no"}, {Name: "Åse", Addr: "ase@example.no"}},
		Subject:  "Feil i FS-integrasjonen – æøå",
		Date:     time.Date(2026, 11, 24, 11, 29, 58, 0, time.FixedZone("", 3600)),
		Received: t0, Text: "Hei,\n\nintegrasjonen feiler.\n" + strings.Repeat("mer tekst ", 40),
		Attachments: []kp.Attachment{{Name: "skjerm.png", ContentType: "image/png", Size: 12345}},
		Outsider:    true, Authenticated: true, Quarantine: "", Defects: []string{"bad base64"},
		Source: "imap:INBOX/1700000000/42", Size: 4321,
	}
}

func TestOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kp.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Path() != path {
		t.Errorf("Path() = %q, want %q", s.Path(), path)
	}
	view(t, s, func(tx *Tx) error {
		v, err := readVersion(tx.tx)
		if v != schemaVersion {
			t.Errorf("schema version %d, want %d", v, schemaVersion)
		}
		for _, b := range buckets {
			if tx.tx.Bucket(b.name) == nil {
				t.Errorf("bucket %s missing", b.name)
			}
		}
		return err
	})
	update(t, s, func(tx *Tx) error { return tx.PutMessage(fullMessage("a@x", 0), []byte("raw")) })
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopening keeps the data and needs no migration.
	s = reopen(t, path)
	view(t, s, func(tx *Tx) error {
		_, ok, err := tx.LookupID("a@x")
		if !ok {
			t.Error("message lost across reopen")
		}
		return err
	})
}

func reopen(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Error(err)
		}
		s.Close()
	})
	return s
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kp.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyVersion, []byte{schemaVersion + 1})
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(path, Options{}); !errors.Is(err, ErrSchema) {
		t.Fatalf("Open of a newer schema: %v, want ErrSchema", err)
	}
}

func TestOpenMigratesOlderFile(t *testing.T) {
	// A file without the version key and with a bucket missing is brought
	// up to date.
	path := filepath.Join(t.TempDir(), "kp.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket(bucketMsg)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := reopen(t, path)
	view(t, s, func(tx *Tx) error {
		ok, err := upToDate(tx.tx, false)
		if !ok {
			t.Error("not up to date after Open")
		}
		return err
	})
}

func TestOpenInUseInProcess(t *testing.T) {
	s := openTest(t)
	start := time.Now()
	_, err := Open(s.Path(), Options{})
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open: %v, want ErrInUse", err)
	}
	t.Logf("second Open failed after %v: %v", time.Since(start), err)
}

// TestOpenInUseOtherProcess holds the store in a child process (this test
// binary re-run as a helper) and opens it from here.
func TestOpenInUseOtherProcess(t *testing.T) {
	if os.Getenv("KP_STORE_HELPER") == "hold" {
		holdStore()
		return
	}
	path := filepath.Join(t.TempDir(), "kp.db")
	cmd := helperCommand(t, "TestOpenInUseOtherProcess", "hold", path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &lineWaiter{ch: make(chan string, 1)}
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line := <-out.ch; line != "ready" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper said %q", line)
	}
	start := time.Now()
	_, err = Open(path, Options{})
	t.Logf("Open while another process holds the store: %v after %v", err, time.Since(start))
	if !errors.Is(err, ErrInUse) {
		t.Errorf("Open while held: %v, want ErrInUse", err)
	}
	stdin.Close() // the helper closes the store and exits
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	s := reopen(t, path)
	view(t, s, func(tx *Tx) error {
		if _, ok, _ := tx.Cursor("INBOX"); !ok {
			t.Error("helper's write not visible")
		}
		return nil
	})
}

// holdStore is the helper process: open the store, write, say "ready",
// hold it until stdin closes.
func holdStore() {
	s, err := Open(os.Getenv("KP_STORE_PATH"), Options{})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	if err := s.Update(func(tx *Tx) error {
		return tx.PutCursor(kp.Cursor{Mailbox: "INBOX", UIDValidity: 1, LastUID: 1})
	}); err != nil {
		fmt.Println("update:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	buf := make([]byte, 1)
	for {
		if _, err := os.Stdin.Read(buf); err != nil {
			break
		}
	}
	if err := s.Close(); err != nil {
		os.Exit(1)
	}
	os.Exit(0)
}

func TestMessages(t *testing.T) {
	s := openTest(t)
	in := fullMessage("first@example.no", 1)
	raw := []byte("From: kari@example.no\r\nMessage-ID: <first@example.no>\r\n\r\nhei\r\n\x00\xff")
	unfiled := &kp.Message{ID: "bounce@mx.example.no", Class: kp.ClassBounce, MatchedBy: kp.MatchNone, Received: t0}
	quarantined := &kp.Message{ID: "broken@x", MatchedBy: kp.MatchNone, Quarantine: "no usable part", Received: t0}
	outCopy := &kp.Message{ID: "out1@uio.no", Case: 1, Direction: kp.Out, Kind: "ack", Received: t0}
	long := &kp.Message{ID: strings.Repeat("x", 2000) + "@example.no", Case: 2, Received: t0}
	hashLike := &kp.Message{ID: "#" + strings.Repeat("0", 64), Case: 2, Received: t0}
	update(t, s, func(tx *Tx) error {
		for _, x := range []struct {
			m   *kp.Message
			raw []byte
		}{{in, raw}, {unfiled, []byte("bounce")}, {quarantined, []byte("\x00garbage")}, {outCopy, nil}, {long, []byte("l")}, {hashLike, []byte("h")}} {
			if err := tx.PutMessage(x.m, x.raw); err != nil {
				return err
			}
			if x.m.Seq == 0 {
				t.Errorf("%q: Seq not set", x.m.ID)
			}
		}
		return nil
	})
	if in.Seq != 1 || unfiled.Seq != 2 {
		t.Errorf("seqs %d, %d: want 1, 2", in.Seq, unfiled.Seq)
	}

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			fn   func(tx *Tx) error
			want error
		}{
			{"duplicate", func(tx *Tx) error { return tx.PutMessage(fullMessage("first@example.no", 3), nil) }, ErrDuplicate},
			{"duplicate long id", func(tx *Tx) error { return tx.PutMessage(&kp.Message{ID: long.ID}, nil) }, ErrDuplicate},
			{"empty id", func(tx *Tx) error { return tx.PutMessage(&kp.Message{}, nil) }, ErrInvalid},
			{"update unknown", func(tx *Tx) error { return tx.UpdateMessage(&kp.Message{ID: "nope@x"}) }, ErrNotFound},
			{"update wrong seq", func(tx *Tx) error { return tx.UpdateMessage(&kp.Message{ID: "first@example.no", Seq: 99}) }, ErrInvalid},
			{"message unknown", func(tx *Tx) error { _, err := tx.Message("nope@x"); return err }, ErrNotFound},
			{"raw unknown", func(tx *Tx) error { _, err := tx.Raw("nope@x"); return err }, ErrNotFound},
			{"raw of outbound copy", func(tx *Tx) error { _, err := tx.Raw("out1@uio.no"); return err }, ErrNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := s.Update(tc.fn)
				if !errors.Is(err, tc.want) {
					t.Errorf("got %v, want %v", err, tc.want)
				}
			})
		}
	})

	t.Run("lookup", func(t *testing.T) {
		view(t, s, func(tx *Tx) error {
			for _, tc := range []struct {
				id   string
				cas  kp.CaseID
				want bool
			}{
				{"first@example.no", 1, true},
				{"bounce@mx.example.no", 0, true},
				{"out1@uio.no", 1, true},
				{long.ID, 2, true},
				{hashLike.ID, 2, true},
				{"unknown@example.no", 0, false},
				{"", 0, false},
			} {
				c, ok, err := tx.LookupID(tc.id)
				if err != nil || ok != tc.want || c != tc.cas {
					t.Errorf("LookupID(%.30q) = %d, %v, %v; want %d, %v", tc.id, c, ok, err, tc.cas, tc.want)
				}
			}
			return nil
		})
	})

	t.Run("record and raw round trip", func(t *testing.T) {
		view(t, s, func(tx *Tx) error {
			got, err := tx.Message("first@example.no")
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(got, in) {
				t.Errorf("Message:\n got %+v\nwant %+v", got, in)
			}
			r, err := tx.Raw("first@example.no")
			if err != nil {
				return err
			}
			if !bytes.Equal(r, raw) {
				t.Errorf("Raw = %q, want %q", r, raw)
			}
			return nil
		})
	})

	t.Run("unfiled newest first", func(t *testing.T) {
		view(t, s, func(tx *Tx) error {
			for _, tc := range []struct {
				limit int
				want  []string
			}{
				{0, []string{"broken@x", "bounce@mx.example.no"}},
				{1, []string{"broken@x"}},
			} {
				ms, err := tx.Unfiled(tc.limit)
				if err != nil {
					return err
				}
				if got := ids(ms); !reflect.DeepEqual(got, tc.want) {
					t.Errorf("Unfiled(%d) = %v, want %v", tc.limit, got, tc.want)
				}
			}
			return nil
		})
	})

	t.Run("update moves case", func(t *testing.T) {
		update(t, s, func(tx *Tx) error {
			m, err := tx.Message("bounce@mx.example.no")
			if err != nil {
				return err
			}
			m.Case, m.MatchedBy = 1, kp.MatchBounce
			return tx.UpdateMessage(m)
		})
		view(t, s, func(tx *Tx) error {
			ms, err := tx.CaseMessages(1)
			if err != nil {
				return err
			}
			if got, want := ids(ms), []string{"first@example.no", "bounce@mx.example.no", "out1@uio.no"}; !reflect.DeepEqual(got, want) {
				t.Errorf("CaseMessages(1) = %v, want %v (storage order)", got, want)
			}
			if ms[1].MatchedBy != kp.MatchBounce {
				t.Errorf("updated record not stored: %+v", ms[1])
			}
			if c, _, _ := tx.LookupID("bounce@mx.example.no"); c != 1 {
				t.Errorf("LookupID after move: case %d, want 1", c)
			}
			un, err := tx.Unfiled(0)
			if got := ids(un); !reflect.DeepEqual(got, []string{"broken@x"}) {
				t.Errorf("Unfiled after move = %v", got)
			}
			if r, _ := tx.Raw("bounce@mx.example.no"); string(r) != "bounce" {
				t.Errorf("raw changed by UpdateMessage: %q", r)
			}
			return err
		})
	})
}

func ids(ms []kp.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func caseIDs(cs []kp.Case) []kp.CaseID {
	var out []kp.CaseID
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func TestCaseRecordRoundTrip(t *testing.T) {
	s := openTest(t)
	c := &kp.Case{
		Subject: "Tilgang til API", Status: kp.StatusWaiting,
		Requester:    kp.Address{Name: "Kari", Addr: "Kari@Example.no"},
		Participants: []string{"ola@example.no"}, Assignee: "per@uio.no", Team: "team-fs",
		Priority: kp.PriorityHigh, Escalation: 2, Created: t0, Updated: t0.Add(time.Hour),
		ResolvedAt: time.Time{}, Messages: 7, PreviousCase: 3, LastInbound: t0.Add(time.Minute),
		LastStaffReply: t0.Add(2 * time.Minute), AssignedAt: t0.Add(3 * time.Minute),
		WaitingSince: t0.Add(4 * time.Minute).In(time.FixedZone("", -7200)), ThreadID: "a@b", LastMessageID: "c@d",
		Next: &kp.FollowUp{Kind: kp.FollowWaiting, Due: t0.Add(48 * time.Hour), Count: 1},
	}
	update(t, s, func(tx *Tx) error {
		var err error
		if c.ID, err = tx.NextCaseID(); err != nil {
			return err
		}
		return tx.PutCase(c)
	})
	view(t, s, func(tx *Tx) error {
		got, err := tx.Case(c.ID)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("Case:\n got %+v\nwant %+v", got, c)
		}
		return nil
	})
}

// putCase stores c under a fresh id.
func putCase(t *testing.T, s *Store, c *kp.Case) *kp.Case {
	t.Helper()
	update(t, s, func(tx *Tx) error {
		var err error
		if c.ID == 0 {
			if c.ID, err = tx.NextCaseID(); err != nil {
				return err
			}
		}
		return tx.PutCase(c)
	})
	return c
}

func TestCases(t *testing.T) {
	s := openTest(t)
	c1 := putCase(t, s, &kp.Case{Subject: "one", Status: kp.StatusOpen, Created: t0})
	putCase(t, s, &kp.Case{Subject: "two", Status: kp.StatusWaiting, Assignee: "Per@UiO.no", Created: t0})
	c3 := putCase(t, s, &kp.Case{Subject: "three", Status: kp.StatusOpen, Assignee: "per@uio.no", Created: t0})
	c4 := putCase(t, s, &kp.Case{Subject: "four", Status: kp.StatusResolved, Created: t0})
	if c1.ID != 1 || c4.ID != 4 {
		t.Fatalf("case ids %d..%d, want 1..4", c1.ID, c4.ID)
	}

	for _, tc := range []struct {
		name string
		f    CaseFilter
		want []kp.CaseID
	}{
		{"all newest first", CaseFilter{}, []kp.CaseID{4, 3, 2, 1}},
		{"status open", CaseFilter{Status: kp.StatusOpen}, []kp.CaseID{3, 1}},
		{"status waiting", CaseFilter{Status: kp.StatusWaiting}, []kp.CaseID{2}},
		{"assignee any case", CaseFilter{Assignee: "PER@uio.no"}, []kp.CaseID{3, 2}},
		{"assignee and status", CaseFilter{Assignee: "per@uio.no", Status: kp.StatusWaiting}, []kp.CaseID{2}},
		{"limit", CaseFilter{Limit: 2}, []kp.CaseID{4, 3}},
		{"offset", CaseFilter{Limit: 2, Offset: 2}, []kp.CaseID{2, 1}},
		{"offset past end", CaseFilter{Offset: 10}, nil},
		{"status limit offset", CaseFilter{Status: kp.StatusOpen, Limit: 1, Offset: 1}, []kp.CaseID{1}},
		{"unknown status", CaseFilter{Status: "nope"}, nil},
		{"unknown assignee", CaseFilter{Assignee: "nobody@x"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			view(t, s, func(tx *Tx) error {
				cs, err := tx.Cases(tc.f)
				if got := caseIDs(cs); !reflect.DeepEqual(got, tc.want) {
					t.Errorf("Cases(%+v) = %v, want %v", tc.f, got, tc.want)
				}
				return err
			})
		})
	}

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			fn   func(tx *Tx) error
			want error
		}{
			{"not found", func(tx *Tx) error { _, err := tx.Case(99); return err }, ErrNotFound},
			{"zero id", func(tx *Tx) error { return tx.PutCase(&kp.Case{Status: kp.StatusOpen}) }, ErrInvalid},
			{"bad status", func(tx *Tx) error { return tx.PutCase(&kp.Case{ID: 1, Status: "gone"}) }, ErrInvalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if err := s.Update(tc.fn); !errors.Is(err, tc.want) {
					t.Errorf("got %v, want %v", err, tc.want)
				}
			})
		}
	})

	t.Run("status change moves the index key", func(t *testing.T) {
		c1.Status = kp.StatusResolved
		c1.ResolvedAt = t0
		putCase(t, s, c1)
		c3.Assignee = ""
		putCase(t, s, c3)
		view(t, s, func(tx *Tx) error {
			if k := tx.b(bucketCaseStatus).Get(caseStatusKey(kp.StatusOpen, 1)); k != nil {
				t.Error("stale open|1 key left in the status index")
			}
			if k := tx.b(bucketCaseStatus).Get(caseStatusKey(kp.StatusResolved, 1)); k == nil {
				t.Error("resolved|1 key missing from the status index")
			}
			if k := tx.b(bucketCaseAssignee).Get(caseAssigneeKey("per@uio.no", 3)); k != nil {
				t.Error("stale assignee key left after unassigning case 3")
			}
			open, err := tx.Cases(CaseFilter{Status: kp.StatusOpen})
			if got := caseIDs(open); !reflect.DeepEqual(got, []kp.CaseID{3}) {
				t.Errorf("open cases %v, want [3]", got)
			}
			res, _ := tx.Cases(CaseFilter{Status: kp.StatusResolved})
			if got := caseIDs(res); !reflect.DeepEqual(got, []kp.CaseID{4, 1}) {
				t.Errorf("resolved cases %v, want [4 1]", got)
			}
			counts, _ := tx.CountByStatus()
			want := map[kp.Status]int{kp.StatusOpen: 1, kp.StatusWaiting: 1, kp.StatusResolved: 2}
			if !reflect.DeepEqual(counts, want) {
				t.Errorf("CountByStatus = %v, want %v", counts, want)
			}
			return err
		})
	})

	t.Run("rolled back case id is reused", func(t *testing.T) {
		err := s.Update(func(tx *Tx) error {
			id, err := tx.NextCaseID()
			if err != nil {
				return err
			}
			if id != 5 {
				t.Errorf("NextCaseID = %d, want 5", id)
			}
			if err := tx.PutCase(&kp.Case{ID: id, Status: kp.StatusOpen}); err != nil {
				return err
			}
			return errors.New("abort")
		})
		if err == nil {
			t.Fatal("Update did not return fn's error")
		}
		view(t, s, func(tx *Tx) error {
			if _, err := tx.Case(5); !errors.Is(err, ErrNotFound) {
				t.Errorf("case of rolled-back tx: %v", err)
			}
			return nil
		})
		c := putCase(t, s, &kp.Case{Status: kp.StatusOpen})
		if c.ID != 5 {
			t.Errorf("id after rollback = %d, want 5", c.ID)
		}
	})
}

func TestFollowUps(t *testing.T) {
	s := openTest(t)
	c1 := putCase(t, s, &kp.Case{Status: kp.StatusOpen, Next: &kp.FollowUp{Kind: kp.FollowTriage, Due: t0.Add(4 * time.Hour)}})
	c2 := putCase(t, s, &kp.Case{Status: kp.StatusOpen, Next: &kp.FollowUp{Kind: kp.FollowTriage, Due: t0.Add(time.Hour)}})
	putCase(t, s, &kp.Case{Status: kp.StatusOpen})
	// A follow-up before 1970 and one far in the future still sort right.
	c4 := putCase(t, s, &kp.Case{Status: kp.StatusOpen, Next: &kp.FollowUp{Kind: kp.FollowSnooze, Due: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)}})
	c5 := putCase(t, s, &kp.Case{Status: kp.StatusOpen, Next: &kp.FollowUp{Kind: kp.FollowSnooze, Due: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)}})

	due := func(now time.Time, limit int) []kp.CaseID {
		var out []kp.CaseID
		view(t, s, func(tx *Tx) error {
			var err error
			out, err = tx.DueFollowUps(now, limit)
			return err
		})
		return out
	}
	for _, tc := range []struct {
		name  string
		now   time.Time
		limit int
		want  []kp.CaseID
	}{
		{"before any", time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC), 0, nil},
		{"only the past one", t0, 0, []kp.CaseID{c5.ID}},
		{"exactly due counts", t0.Add(time.Hour), 0, []kp.CaseID{c5.ID, c2.ID}},
		{"all due earliest first", t0.Add(5 * time.Hour), 0, []kp.CaseID{c5.ID, c2.ID, c1.ID}},
		{"limit", t0.Add(5 * time.Hour), 2, []kp.CaseID{c5.ID, c2.ID}},
		{"far future", time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), 0, []kp.CaseID{c5.ID, c2.ID, c1.ID, c4.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := due(tc.now, tc.limit); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("DueFollowUps(%v, %d) = %v, want %v", tc.now, tc.limit, got, tc.want)
			}
		})
	}

	t.Run("reschedule replaces the due key", func(t *testing.T) {
		c2.Next = &kp.FollowUp{Kind: kp.FollowTriage, Due: t0.Add(30 * time.Hour), Count: 1}
		putCase(t, s, c2)
		c5.Next = nil
		putCase(t, s, c5)
		if got := due(t0.Add(5*time.Hour), 0); !reflect.DeepEqual(got, []kp.CaseID{c1.ID}) {
			t.Errorf("due after reschedule = %v, want [%d]", got, c1.ID)
		}
		view(t, s, func(tx *Tx) error {
			if n := tx.b(bucketCaseDue).Stats().KeyN; n != 3 {
				t.Errorf("due index has %d keys, want 3", n)
			}
			next, ok, err := tx.NextDue()
			if !ok || !next.Equal(t0.Add(4*time.Hour)) {
				t.Errorf("NextDue = %v, %v; want %v", next, ok, t0.Add(4*time.Hour))
			}
			return err
		})
	})

	t.Run("nothing scheduled", func(t *testing.T) {
		s := openTest(t)
		view(t, s, func(tx *Tx) error {
			_, ok, err := tx.NextDue()
			if ok {
				t.Error("NextDue on an empty store reports a time")
			}
			return err
		})
	})
}

func TestOutbox(t *testing.T) {
	s := openTest(t)
	mk := func(n int, c kp.CaseID, next time.Time) *kp.Outbound {
		return &kp.Outbound{
			Case: c, Kind: "ack", MessageID: fmt.Sprintf("out%d@uio.no", n), From: "integrasjon@uio.no",
			To: []string{"kari@example.no"}, Subject: "[INT#1] hei", Raw: []byte(fmt.Sprintf("raw %d\r\n", n)),
			NextTry: next, Queued: t0.Add(time.Duration(n) * time.Minute),
		}
	}
	o1, o2, o3 := mk(1, 1, t0.Add(time.Minute)), mk(2, 1, t0), mk(3, 2, t0.Add(time.Hour))
	update(t, s, func(tx *Tx) error {
		for _, o := range []*kp.Outbound{o1, o2, o3} {
			if err := tx.Enqueue(o); err != nil {
				return err
			}
		}
		// The copy of a queued message is stored on its case.
		return tx.PutMessage(&kp.Message{ID: o1.MessageID, Case: 1, Direction: kp.Out, Kind: "ack"}, nil)
	})
	if o1.ID != 1 || o3.ID != 3 || o1.State != kp.OutQueued {
		t.Fatalf("ids %d, %d, state %q", o1.ID, o3.ID, o1.State)
	}

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			fn   func(tx *Tx) error
			want error
		}{
			{"duplicate message id", func(tx *Tx) error { return tx.Enqueue(mk(1, 1, t0)) }, ErrDuplicate},
			{"duplicate copy", func(tx *Tx) error { return tx.PutMessage(&kp.Message{ID: o1.MessageID}, nil) }, ErrDuplicate},
			{"not found", func(tx *Tx) error { _, err := tx.Outbound(99); return err }, ErrNotFound},
			{"update unknown", func(tx *Tx) error { return tx.PutOutbound(&kp.Outbound{ID: 99, State: kp.OutSent}) }, ErrNotFound},
			{"bad state", func(tx *Tx) error { return tx.PutOutbound(&kp.Outbound{ID: 1, State: "lost"}) }, ErrInvalid},
			{"changed message id", func(tx *Tx) error {
				o := *o1
				o.MessageID = "other@x"
				return tx.PutOutbound(&o)
			}, ErrInvalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if err := s.Update(tc.fn); !errors.Is(err, tc.want) {
					t.Errorf("got %v, want %v", err, tc.want)
				}
			})
		}
	})

	t.Run("lookup threads replies", func(t *testing.T) {
		view(t, s, func(tx *Tx) error {
			for _, o := range []*kp.Outbound{o1, o2, o3} {
				c, ok, err := tx.LookupID(o.MessageID)
				if err != nil || !ok || c != o.Case {
					t.Errorf("LookupID(%q) = %d, %v, %v; want %d", o.MessageID, c, ok, err, o.Case)
				}
			}
			return nil
		})
	})

	t.Run("due oldest first with raw", func(t *testing.T) {
		view(t, s, func(tx *Tx) error {
			due, err := tx.DueOutbound(t0.Add(time.Minute), 0)
			if err != nil {
				return err
			}
			if len(due) != 2 || due[0].ID != o2.ID || due[1].ID != o1.ID {
				t.Fatalf("DueOutbound = %+v", due)
			}
			if !reflect.DeepEqual(&due[1], o1) {
				t.Errorf("round trip:\n got %+v\nwant %+v", due[1], *o1)
			}
			if one, _ := tx.DueOutbound(t0.Add(time.Hour), 1); len(one) != 1 || one[0].ID != o2.ID {
				t.Errorf("DueOutbound limit 1 = %+v", one)
			}
			next, ok, err := tx.NextOutboundDue()
			if !ok || !next.Equal(t0) {
				t.Errorf("NextOutboundDue = %v, %v", next, ok)
			}
			return err
		})
	})

	t.Run("retry, send, fail", func(t *testing.T) {
		update(t, s, func(tx *Tx) error {
			o2.Attempts, o2.NextTry, o2.LastError = 1, t0.Add(10*time.Minute), "451 try later"
			if err := tx.PutOutbound(o2); err != nil {
				return err
			}
			o1.State, o1.Attempts, o1.Sent = kp.OutSent, 1, t0.Add(time.Minute)
			if err := tx.PutOutbound(o1); err != nil {
				return err
			}
			o3.State, o3.Attempts, o3.LastError = kp.OutFailed, 1, "550 no such user"
			return tx.PutOutbound(o3)
		})
		view(t, s, func(tx *Tx) error {
			due, err := tx.DueOutbound(t0.Add(5*time.Minute), 0)
			if len(due) != 0 {
				t.Errorf("due before the retry time: %+v", due)
			}
			due, _ = tx.DueOutbound(t0.Add(24*time.Hour), 0)
			if len(due) != 1 || due[0].ID != o2.ID || due[0].Attempts != 1 || string(due[0].Raw) != "raw 2\r\n" {
				t.Errorf("due after the retry time: %+v", due)
			}
			sent, _ := tx.Outbound(o1.ID)
			if sent.Raw != nil || sent.State != kp.OutSent || !sent.Sent.Equal(o1.Sent) {
				t.Errorf("sent: %+v (raw should be dropped)", sent)
			}
			failed, _ := tx.Outbound(o3.ID)
			if string(failed.Raw) != "raw 3\r\n" || failed.LastError != "550 no such user" {
				t.Errorf("failed keeps raw for a retry: %+v", failed)
			}
			for _, tc := range []struct {
				state kp.OutState
				limit int
				want  []uint64
			}{
				{"", 0, []uint64{3, 2, 1}},
				{"", 2, []uint64{3, 2}},
				{kp.OutQueued, 0, []uint64{2}},
				{kp.OutSent, 0, []uint64{1}},
				{kp.OutFailed, 0, []uint64{3}},
			} {
				l, err := tx.ListOutbound(tc.state, tc.limit)
				if err != nil {
					return err
				}
				var got []uint64
				for _, o := range l {
					got = append(got, o.ID)
					if o.Raw != nil {
						t.Errorf("ListOutbound includes Raw of %d", o.ID)
					}
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("ListOutbound(%q, %d) = %v, want %v", tc.state, tc.limit, got, tc.want)
				}
			}
			st, _ := tx.OutboxStats()
			if want := (OutboxStats{Queued: 1, Failed: 1, Sent: 1, Oldest: o2.Queued}); st != want {
				t.Errorf("OutboxStats = %+v, want %+v", st, want)
			}
			return err
		})
	})

	t.Run("sent is final", func(t *testing.T) {
		o := *o1
		o.State = kp.OutQueued
		if err := s.Update(func(tx *Tx) error { return tx.PutOutbound(&o) }); !errors.Is(err, ErrInvalid) {
			t.Errorf("requeueing a sent message: %v, want ErrInvalid", err)
		}
	})

	t.Run("empty outbox", func(t *testing.T) {
		s := openTest(t)
		view(t, s, func(tx *Tx) error {
			st, err := tx.OutboxStats()
			if st != (OutboxStats{}) {
				t.Errorf("OutboxStats = %+v", st)
			}
			if _, ok, _ := tx.NextOutboundDue(); ok {
				t.Error("NextOutboundDue on an empty outbox")
			}
			return err
		})
	})

	t.Run("copy stored before queueing", func(t *testing.T) {
		update(t, s, func(tx *Tx) error {
			if err := tx.PutMessage(&kp.Message{ID: "later@uio.no", Case: 7, Direction: kp.Out}, nil); err != nil {
				return err
			}
			return tx.Enqueue(&kp.Outbound{Case: 7, MessageID: "later@uio.no", NextTry: t0})
		})
	})
}

func TestCursor(t *testing.T) {
	s := openTest(t)
	update(t, s, func(tx *Tx) error {
		if err := tx.PutCursor(kp.Cursor{Mailbox: "INBOX", UIDValidity: 7, LastUID: 1}); err != nil {
			return err
		}
		if err := tx.PutCursor(kp.Cursor{Mailbox: "INBOX", UIDValidity: 8, LastUID: 4294967295}); err != nil {
			return err
		}
		return tx.PutCursor(kp.Cursor{Mailbox: "Innboks/Æøå", UIDValidity: 1, LastUID: 2})
	})
	if err := s.Update(func(tx *Tx) error { return tx.PutCursor(kp.Cursor{}) }); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty mailbox: %v", err)
	}
	view(t, s, func(tx *Tx) error {
		for _, tc := range []struct {
			mailbox string
			want    kp.Cursor
			ok      bool
		}{
			{"INBOX", kp.Cursor{Mailbox: "INBOX", UIDValidity: 8, LastUID: 4294967295}, true},
			{"Innboks/Æøå", kp.Cursor{Mailbox: "Innboks/Æøå", UIDValidity: 1, LastUID: 2}, true},
			{"Other", kp.Cursor{}, false},
		} {
			got, ok, err := tx.Cursor(tc.mailbox)
			if err != nil || ok != tc.ok || got != tc.want {
				t.Errorf("Cursor(%q) = %+v, %v, %v", tc.mailbox, got, ok, err)
			}
		}
		return nil
	})
}

func TestSuppression(t *testing.T) {
	s := openTest(t)
	update(t, s, func(tx *Tx) error {
		return tx.Suppress(" Kari@Example.NO", t0.Add(30*24*time.Hour))
	})
	view(t, s, func(tx *Tx) error {
		for _, tc := range []struct {
			addr string
			now  time.Time
			want bool
		}{
			{"kari@example.no", t0, true},
			{"KARI@example.no", t0.Add(29 * 24 * time.Hour), true},
			{"kari@example.no", t0.Add(30 * 24 * time.Hour), false},
			{"ola@example.no", t0, false},
		} {
			got, err := tx.Suppressed(tc.addr, tc.now)
			if err != nil || got != tc.want {
				t.Errorf("Suppressed(%q, %v) = %v, %v; want %v", tc.addr, tc.now, got, err, tc.want)
			}
		}
		return nil
	})
}

func TestSentLog(t *testing.T) {
	s := openTest(t)
	update(t, s, func(tx *Tx) error {
		for i := 0; i < 5; i++ {
			if err := tx.RecordSent("Kari@example.no", t0.Add(time.Duration(i)*time.Hour)); err != nil {
				return err
			}
		}
		// Same instant twice, and an address that is a prefix of another.
		for _, a := range []string{"ka@example.no", "ka@example.no", "kari@example.no.evil"} {
			if err := tx.RecordSent(a, t0); err != nil {
				return err
			}
		}
		return nil
	})
	count := func(addr string, since time.Time) int {
		var n int
		view(t, s, func(tx *Tx) error {
			var err error
			n, err = tx.CountSent(addr, since)
			return err
		})
		return n
	}
	for _, tc := range []struct {
		addr  string
		since time.Time
		want  int
	}{
		{"kari@example.no", t0, 5},
		{"KARI@example.no", t0.Add(3 * time.Hour), 2},
		{"kari@example.no", t0.Add(5 * time.Hour), 0},
		{"ka@example.no", t0, 2},
		{"nobody@example.no", t0, 0},
	} {
		if got := count(tc.addr, tc.since); got != tc.want {
			t.Errorf("CountSent(%q, %v) = %d, want %d", tc.addr, tc.since, got, tc.want)
		}
	}
	var pruned int
	update(t, s, func(tx *Tx) error {
		var err error
		pruned, err = tx.PruneSent(t0.Add(2 * time.Hour))
		return err
	})
	if pruned != 5 {
		t.Errorf("PruneSent removed %d, want 5", pruned)
	}
	if got := count("kari@example.no", time.Time{}); got != 3 {
		t.Errorf("after prune: %d entries for kari, want 3", got)
	}
}

// TestSentLogCountsBothLayoutsByTheHour: entries of the older layout
// (address first) are counted and pruned with those kept by the hour;
// counts are right across hour boundaries, before 1970 too, and the
// entries of one hour lie together, whatever their address.
func TestSentLogCountsBothLayoutsByTheHour(t *testing.T) {
	s := openTest(t)
	h0 := t0.Truncate(time.Hour)
	times := []time.Time{h0.Add(-time.Nanosecond), h0, h0.Add(59 * time.Minute), h0.Add(time.Hour), h0.Add(3 * time.Hour)}
	update(t, s, func(tx *Tx) error {
		for i, at := range times {
			if err := tx.b(bucketSentLog).Put(appendU64(appendT12(appendLstr(nil, "old@example.no"), at), uint64(i+1)), nil); err != nil {
				return err
			}
			for _, a := range []string{"kari@example.no", "ola@example.no", "new-case:kari@example.no"} {
				if err := tx.RecordSent(a, at); err != nil {
					return err
				}
			}
		}
		for _, at := range []time.Time{time.Unix(-3601, 0), time.Unix(-1, 0), time.Unix(0, 0)} {
			if err := tx.RecordSent("epoch@example.no", at); err != nil {
				return err
			}
		}
		return nil
	})
	count := func(key string, from, to time.Time) int {
		var n int
		view(t, s, func(tx *Tx) error {
			var err error
			if to.IsZero() {
				n, err = tx.CountSent(key, from)
			} else {
				n, err = tx.CountSentIn(key, from, to)
			}
			return err
		})
		return n
	}
	for _, tc := range []struct {
		key      string
		from, to time.Time
		want     int
	}{
		{"kari@example.no", time.Time{}, time.Time{}, 5},
		{"kari@example.no", h0, time.Time{}, 4},
		{"kari@example.no", h0.Add(-time.Nanosecond), h0, 2},
		{"kari@example.no", h0.Add(-time.Hour), h0.Add(time.Hour), 4},
		{"kari@example.no", h0.Add(time.Minute), h0.Add(2 * time.Hour), 2},
		{"KARI@example.no", h0.Add(59 * time.Minute), h0.Add(59 * time.Minute), 1},
		{"new-case:kari@example.no", h0.Add(-time.Hour), h0.Add(-time.Nanosecond), 1},
		{"new-case:kari@example.no", h0.Add(-time.Hour), h0.Add(-2 * time.Nanosecond), 0},
		{"kari@example.no", h0.Add(4 * time.Hour), time.Time{}, 0},
		{"old@example.no", time.Time{}, time.Time{}, 5},
		{"old@example.no", h0, h0.Add(time.Hour), 3},
		{"epoch@example.no", time.Unix(-3601, 0), time.Unix(-1, 0), 2},
		{"epoch@example.no", time.Unix(-1, 0), time.Unix(0, 0), 2},
		{"epoch@example.no", time.Unix(-3600, 0), time.Unix(0, 0), 2},
		{"nobody@example.no", time.Time{}, time.Time{}, 0},
	} {
		if got := count(tc.key, tc.from, tc.to); got != tc.want {
			t.Errorf("count of %q from %v to %v = %d, want %d", tc.key, tc.from, tc.to, got, tc.want)
		}
	}
	// every entry of the hour h0 before every entry of later hours
	view(t, s, func(tx *Tx) error {
		var hours []uint64
		_ = tx.b(bucketSentHour).ForEach(func(k, _ []byte) error {
			hours = append(hours, binary.BigEndian.Uint64(k))
			return nil
		})
		if len(hours) != 18 || !slices.IsSorted(hours) {
			t.Errorf("hours of the keys: %v", hours)
		}
		return nil
	})
	var pruned int
	update(t, s, func(tx *Tx) error {
		var err error
		pruned, err = tx.PruneSent(h0.Add(59 * time.Minute))
		return err
	})
	// before h0+59m: 2 of each of the four keys, and 3 of epoch@
	if pruned != 11 {
		t.Errorf("PruneSent removed %d, want 11", pruned)
	}
	if got := count("kari@example.no", time.Time{}, time.Time{}); got != 3 {
		t.Errorf("after prune: %d entries for kari, want 3", got)
	}
	if got := count("old@example.no", time.Time{}, time.Time{}); got != 3 {
		t.Errorf("after prune: %d older entries, want 3", got)
	}
}

// TestOpenReadOnlyBeforeSentHour: a store written before the send log
// was kept by the hour opens read-only as it is and counts its older
// entries; the first open for writing adds the bucket.
func TestOpenReadOnlyBeforeSentHour(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kp.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketSentHour); err != nil {
			return err
		}
		return tx.Bucket(bucketSentLog).Put(appendU64(appendT12(appendLstr(nil, "kari@example.no"), t0), 1), nil)
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open of a store without %s: %v", bucketSentHour, err)
	}
	view(t, ro, func(tx *Tx) error {
		if n, err := tx.CountSent("kari@example.no", t0); err != nil || n != 1 {
			t.Errorf("CountSent = %d, %v; want 1", n, err)
		}
		if moves, err := tx.forgetKeyMoves(&forgetter{addr: "kari@example.no", needles: []string{"kari@example.no"}, pseudo: "forgotten-1@invalid"}); err != nil || len(moves) != 1 {
			t.Errorf("forget's key moves: %d, %v; want 1", len(moves), err)
		}
		return nil
	})
	ro.Close()
	s = reopen(t, path)
	update(t, s, func(tx *Tx) error { return tx.RecordSent("kari@example.no", t0) })
	view(t, s, func(tx *Tx) error {
		if ok, err := upToDate(tx.tx, false); !ok || err != nil {
			t.Errorf("not up to date after an open for writing: %v", err)
		}
		if n, err := tx.CountSent("kari@example.no", t0); err != nil || n != 2 {
			t.Errorf("CountSent = %d, %v; want 2", n, err)
		}
		return nil
	})
}

func TestCounters(t *testing.T) {
	s := openTest(t)
	update(t, s, func(tx *Tx) error {
		for _, c := range []struct {
			name  string
			delta int64
		}{{"messages.class.human", 3}, {"messages.class.bounce", 1}, {"messages.class.human", 2}, {"followups.sent", 1}, {"followups.sent", -1}} {
			if err := tx.AddCounter(c.name, c.delta); err != nil {
				return err
			}
		}
		return nil
	})
	if err := s.Update(func(tx *Tx) error { return tx.AddCounter("", 1) }); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty counter name: %v", err)
	}
	view(t, s, func(tx *Tx) error {
		for _, tc := range []struct {
			prefix string
			want   map[string]int64
		}{
			{"messages.", map[string]int64{"messages.class.human": 5, "messages.class.bounce": 1}},
			{"", map[string]int64{"messages.class.human": 5, "messages.class.bounce": 1, "followups.sent": 0}},
			{"nope", map[string]int64{}},
		} {
			got, err := tx.Counters(tc.prefix)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Counters(%q) = %v, %v; want %v", tc.prefix, got, err, tc.want)
			}
		}
		return nil
	})
}

func TestReturnedBytesOutliveTheTransaction(t *testing.T) {
	s := openTest(t)
	raw := bytes.Repeat([]byte("x"), 100) // stored plain (too small to compress)
	update(t, s, func(tx *Tx) error { return tx.PutMessage(&kp.Message{ID: "a@b"}, raw) })
	var got []byte
	view(t, s, func(tx *Tx) error {
		var err error
		got, err = tx.Raw("a@b")
		return err
	})
	// Writing enough to remap the file would fault on an mmap slice.
	in := newIngester(3)
	ms := in.mails(300)
	update(t, s, func(tx *Tx) error {
		for _, m := range ms {
			if err := in.apply(tx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if !bytes.Equal(got, raw) {
		t.Errorf("raw changed after the transaction: %q", got)
	}
}

func TestBackup(t *testing.T) {
	s := openTest(t)
	in := newIngester(1)
	ms := in.mails(600)
	apply := func(ms []mail) {
		update(t, s, func(tx *Tx) error {
			for _, m := range ms {
				if err := in.apply(tx, m); err != nil {
					return err
				}
			}
			return nil
		})
	}
	apply(ms[:300])
	// A writer runs while the backup is taken; the backup is one snapshot.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 300; i < 600; i += 50 {
			if err := s.Update(func(tx *Tx) error {
				for _, m := range ms[i : i+50] {
					if err := in.apply(tx, m); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	path := filepath.Join(t.TempDir(), "backup.db")
	if err := s.BackupFile(path); err != nil {
		t.Fatal(err)
	}
	<-done
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file left behind: %v", err)
	}
	b := reopen(t, path)
	view(t, b, func(tx *Tx) error {
		// Every message the backup holds is complete, raw and all.
		for _, m := range ms {
			_, ok, err := tx.LookupID(m.m.ID)
			if err != nil || !ok {
				continue
			}
			raw, err := tx.Raw(m.m.ID)
			if err != nil || !bytes.Equal(raw, m.raw) {
				t.Errorf("backup raw of %q: %v", m.m.ID, err)
			}
		}
		return nil
	})
	var buf bytes.Buffer
	n, err := s.Backup(&buf)
	if err != nil || n != int64(buf.Len()) || n == 0 {
		t.Errorf("Backup = %d, %v (wrote %d)", n, err, buf.Len())
	}
}

// TestSizeRatio stores 10,000 generated ~3 KB mails as intake would and
// requires the file, after Close, to be no larger than their raw bytes.
func TestSizeRatio(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	path := filepath.Join(t.TempDir(), "kp.db")
	s, err := Open(path, Options{NoSync: true}) // fsync does not change the layout
	if err != nil {
		t.Fatal(err)
	}
	in := newIngester(2)
	ms := in.mails(10_000)
	var raw int64
	for _, m := range ms {
		raw += int64(len(m.raw))
	}
	ingestBatches(t, s, in, ms)
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	st := s.db.Stats()
	s.db.View(func(tx *bolt.Tx) error {
		for _, b := range buckets {
			bs := tx.Bucket(b.name).Stats()
			if bs.KeyN > 0 {
				t.Logf("  %-14s %6d keys %6d pages %9d bytes in use", b.name, bs.KeyN,
					bs.BranchPageN+bs.LeafPageN+bs.BranchOverflowN+bs.LeafOverflowN, bs.BranchInuse+bs.LeafInuse)
			}
		}
		return nil
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("10,000 mails: raw %d bytes (%.0f avg), file %d bytes: ratio %.3f (free pages %d)",
		raw, float64(raw)/10_000, fi.Size(), float64(fi.Size())/float64(raw), st.FreePageN)
	if fi.Size() > raw {
		t.Errorf("file %d bytes is larger than the raw mail (%d bytes)", fi.Size(), raw)
	}
}

// TestCorpusRoundTrip stores every file of the shared corpus as a raw
// message (broken MIME, NUL bytes, CR-only line ends, 8-bit headers) and
// reads each back byte for byte.
func TestCorpusRoundTrip(t *testing.T) {
	dir := corpusDir(t)
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 100 {
		t.Fatalf("corpus has only %d files", len(files))
	}
	s := openTest(t)
	var raw int64
	update(t, s, func(tx *Tx) error {
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			raw += int64(len(b))
			if err := tx.PutMessage(&kp.Message{ID: f, Source: f, Size: int64(len(b))}, b); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx *Tx) error {
		for _, f := range files {
			want, _ := os.ReadFile(f)
			got, err := tx.Raw(f)
			if err != nil {
				return err
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s: raw bytes differ", f)
			}
		}
		return nil
	})
	// How much the dictionary helps on mail it was not written from: the
	// corpus's small messages packed with and without it.
	var small, withDict, without int
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if len(b) < minCompress || len(b) >= zstdFrom {
			continue
		}
		small += len(b)
		withDict += len(s.codec.pack(b, true))
		without += len(s2.Encode(nil, b)) + 1
	}
	t.Logf("%d corpus files, %d bytes; small ones (%d bytes) packed %.3f with the mail dictionary, %.3f without",
		len(files), raw, small, float64(withDict)/float64(small), float64(without)/float64(small))
}

func TestReadOnlyOpensShareTheStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kp.db")
	w, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{ReadOnly: true}); !errors.Is(err, ErrInUse) {
		t.Fatalf("read-only open while a writer holds the store: %v, want ErrInUse", err)
	}
	w.Close()
	r1, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close()
	r2, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("second reader: %v", err)
	}
	defer r2.Close()
	if err := r2.View(func(tx *Tx) error { _, err := tx.CountByStatus(); return err }); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{}); !errors.Is(err, ErrInUse) {
		t.Fatalf("writer while readers hold the store: %v, want ErrInUse", err)
	}
}
