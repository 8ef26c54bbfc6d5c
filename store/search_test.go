package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/search"
)

func searchIDs(t *testing.T, s *Store, q string) []kp.CaseID {
	t.Helper()
	var ids []kp.CaseID
	if err := s.View(func(tx *Tx) error {
		res, err := tx.Search(search.ParseQuery(q), time.UTC, 0)
		for _, h := range res.Hits {
			ids = append(ids, h.Case.ID)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestSearchFindsByWordsPeopleDomainsAndDates(t *testing.T) {
	s := openTest(t)
	d := func(m time.Month, day int) time.Time { return time.Date(2026, m, day, 10, 0, 0, 0, time.UTC) }
	put := func(c kp.Case, msgs ...kp.Message) kp.CaseID {
		t.Helper()
		err := s.Update(func(tx *Tx) error {
			id, err := tx.NextCaseID()
			if err != nil {
				return err
			}
			c.ID, c.Priority = id, kp.PriorityNormal
			if err := tx.PutCase(&c); err != nil {
				return err
			}
			for i := range msgs {
				msgs[i].Case, msgs[i].ID = id, c.Subject+string(rune('a'+i))+"@x"
				if err := tx.PutMessage(&msgs[i], []byte("raw")); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	canvas := put(kp.Case{Subject: "Canvas-emner mangler", Status: kp.StatusOpen, Team: "fs", Created: d(4, 2),
		Requester:    kp.Address{Name: "Åse Bjørnstad", Addr: "ase@hf.uib.no"},
		Counterparts: []kp.CounterpartRef{{Addr: "rt@uib.no", Ref: "[rt.uib.no #4711]"}}},
		kp.Message{Direction: kp.In, From: kp.Address{Name: "Åse Bjørnstad", Addr: "ase@hf.uib.no"}, Subject: "Canvas-emner mangler",
			Text:        "Hei,\nintegrasjonen mot Canvas har stoppet. Emnene for vårsemesteret mangler.\n> Sitert: eksamensplan\n",
			Attachments: []kp.Attachment{{Name: "skjermbilde-feil.png"}}})
	other := put(kp.Case{Subject: "Passord", Status: kp.StatusResolved, Created: d(1, 10),
		Requester: kp.Address{Name: "José Müller", Addr: "jose@ntnu.no"}},
		kp.Message{Direction: kp.In, From: kp.Address{Name: "José Müller", Addr: "jose@ntnu.no"}, Subject: "Passord", Text: "Jeg får ikke logget inn i Canvas."},
		kp.Message{Direction: kp.Out, Kind: "ack", To: []kp.Address{{Addr: "jose@ntnu.no"}}, Subject: "Re: Passord", Text: "Vi har mottatt henvendelsen om integrasjonen."})

	for _, tc := range []struct {
		q    string
		want []kp.CaseID
	}{
		{"canvas", []kp.CaseID{other, canvas}},
		{"integr", []kp.CaseID{canvas}}, // prefix; the ack's text is not indexed
		{"INTEGRASJONEN canvas", []kp.CaseID{canvas}},
		{"vårsemesteret", []kp.CaseID{canvas}},
		{"varsemesteret", nil}, // å is a letter, not a decorated a
		{"jose muller", []kp.CaseID{other}},
		{"josé", []kp.CaseID{other}},
		{"bjørnstad", []kp.CaseID{canvas}},
		{"eksamensplan", []kp.CaseID{canvas}}, // quoted text
		{"skjermbilde", []kp.CaseID{canvas}},  // attachment name
		{"4711", []kp.CaseID{canvas}},         // counterpart reference
		{"from:@uib.no", []kp.CaseID{canvas}},
		{"from:jose@ntnu.no canvas", []kp.CaseID{other}},
		{"canvas status:open", []kp.CaseID{canvas}},
		{"canvas team:fs", []kp.CaseID{canvas}},
		{"canvas after:2026-03-01", []kp.CaseID{canvas}},
		{"canvas before:2026-03-01", []kp.CaseID{other}},
		{"status:resolved", []kp.CaseID{other}},
		{"team:fs", []kp.CaseID{canvas}},
		{"after:2026-04-02", []kp.CaseID{canvas}},
		{"after:2026-04-03", nil},
		{"before:2026-01-11", []kp.CaseID{other}},
		{"before:2026-01-10", nil},
		{"canvas nothingmatches", nil},
		{"", nil},
	} {
		if got := searchIDs(t, s, tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("search %q = %v, want %v", tc.q, got, tc.want)
		}
	}
	s.View(func(tx *Tx) error {
		res, err := tx.Search(search.ParseQuery("integr"), time.UTC, 10)
		if err != nil || len(res.Hits) != 1 || res.Hits[0].Snippet == "" {
			t.Fatalf("snippet: %+v %v", res, err)
		}
		if want := "integrasjonen mot Canvas"; !strings.Contains(res.Hits[0].Snippet, want) {
			t.Errorf("snippet %q lacks %q", res.Hits[0].Snippet, want)
		}
		return nil
	})
}

// TestSearchBlocksSplit indexes one token on more cases than a posting
// block holds, in and out of order, and finds every case.
func TestSearchBlocksSplit(t *testing.T) {
	s := openTest(t)
	n := 3*blockMax + 7
	order := make([]int, n)
	for i := range order {
		order[i] = i + 1
	}
	// Every third case later and backwards, as moves and merges would.
	var late []int
	var first []int
	for _, i := range order {
		if i%3 == 0 {
			late = append([]int{i}, late...)
		} else {
			first = append(first, i)
		}
	}
	// In three transactions: the later ones add to blocks on disk.
	for _, part := range [][]int{first[:len(first)/2], first[len(first)/2:], late} {
		update(t, s, func(tx *Tx) error {
			for _, i := range part {
				if err := tx.indexSearch(kp.CaseID(i), []string{"felles", "felles"}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	err := s.View(func(tx *Tx) error {
		set, _, err := tx.postings("felles", true)
		if err != nil {
			return err
		}
		if len(set) != n {
			t.Errorf("%d cases found, want %d", len(set), n)
		}
		for i := 1; i <= n; i++ {
			if _, ok := slices.BinarySearch(set, kp.CaseID(i)); !ok {
				t.Errorf("case %d missing", i)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReindexSearch: a store written without the index finds nothing
// until ReindexSearch, and then what an indexed store finds.
func TestReindexSearch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kp.db")
	s, err := Open(path, Options{NoSearchIndex: true})
	if err != nil {
		t.Fatal(err)
	}
	in := newIngester(5)
	ingestBatches(t, s, in, in.mails(300))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := searchIDs(t, s, "canvas"); len(got) != 0 {
		t.Fatalf("found %d cases before reindexing", len(got))
	}
	n, err := s.ReindexSearch(64)
	if err != nil || n != 300 {
		t.Fatalf("ReindexSearch = %d, %v", n, err)
	}
	got := searchIDs(t, s, "canvas")
	if len(got) == 0 {
		t.Fatal("nothing found after reindexing")
	}
	if n, err = s.ReindexSearch(0); err != nil || n != 300 || !slices.Equal(searchIDs(t, s, "canvas"), got) {
		t.Fatalf("second reindex changed the result: %d %v", n, err)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestSearchWindowsFindNewestFirst searches more cases than one window
// holds: prefixes that match several tokens, words on both ends of the
// range of ids, and a page limit, against the answer worked out by hand.
func TestSearchWindowsFindNewestFirst(t *testing.T) {
	s := openTest(t)
	const n = 3*epochCases + 500
	tokens := func(id int) []string {
		var ts []string
		if id%7 == 0 {
			ts = append(ts, "alpha")
		}
		if id%11 == 0 {
			ts = append(ts, "alpine")
		}
		if id%13 == 0 {
			ts = append(ts, "beta")
		}
		if id == 5 || id == n-1 {
			ts = append(ts, "sjelden")
		}
		return ts
	}
	update(t, s, func(tx *Tx) error {
		for i := 1; i <= n; i++ {
			id, err := tx.NextCaseID()
			if err != nil || id != kp.CaseID(i) {
				return fmt.Errorf("case id %d, want %d: %v", id, i, err)
			}
			c := &kp.Case{ID: id, Subject: "x", Status: kp.StatusOpen, Priority: kp.PriorityNormal}
			if err := tx.PutCase(c); err != nil {
				return err
			}
			if err := tx.indexSearch(c.ID, tokens(i)); err != nil {
				return err
			}
		}
		return nil
	})
	want := func(match func(id int) bool) []kp.CaseID {
		var out []kp.CaseID
		for i := n; i >= 1; i-- {
			if match(i) {
				out = append(out, kp.CaseID(i))
			}
		}
		return out
	}
	for _, tc := range []struct {
		q    string
		want []kp.CaseID
	}{
		{"alp", want(func(i int) bool { return i%7 == 0 || i%11 == 0 })},
		{"alpha", want(func(i int) bool { return i%7 == 0 })},
		{"alp beta", want(func(i int) bool { return (i%7 == 0 || i%11 == 0) && i%13 == 0 })},
		{"alpine beta", want(func(i int) bool { return i%11 == 0 && i%13 == 0 })},
		{"sjelden", []kp.CaseID{n - 1, 5}},
		{"sjelden alpha", nil},
	} {
		if got := searchIDs(t, s, tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("search %q: %d cases, want %d (first %v, want %v)", tc.q, len(got), len(tc.want), got[:min(3, len(got))], tc.want[:min(3, len(tc.want))])
		}
	}
	view(t, s, func(tx *Tx) error {
		res, err := tx.Search(search.ParseQuery("alpine"), time.UTC, 50)
		if err != nil {
			return err
		}
		all := want(func(i int) bool { return i%11 == 0 })
		var got []kp.CaseID
		for _, h := range res.Hits {
			got = append(got, h.Case.ID)
		}
		if !slices.Equal(got, all[:50]) || !res.More {
			t.Errorf("a page of 50: %v (more %v), want %v", got, res.More, all[:50])
		}
		return nil
	})
}

// TestSearchUpgradesIndexWithoutEpochs: posting blocks of the layout
// before epochs (token | 0x00 | first case) are moved into their epochs
// when the store is opened for writing, a block spanning epochs split.
func TestSearchUpgradesIndexWithoutEpochs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kp.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ids := []kp.CaseID{1, 7, epochCases + 3, 2*epochCases + 9}
	update(t, s, func(tx *Tx) error {
		b := tx.b(bucketSearch)
		if err := b.Put(searchKey("felles", ids[0]), encodeBlock(ids)); err != nil {
			return err
		}
		return b.Put(searchKey("from:ola@uib.no", 7), nil)
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Read-only, the old layout stays, and a search says so instead of
	// finding nothing.
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	view(t, ro, func(tx *Tx) error {
		if _, err := tx.Search(search.ParseQuery("felles"), time.UTC, 10); !errors.Is(err, ErrSchema) {
			t.Errorf("read-only search of the old layout: %v, want ErrSchema", err)
		}
		return nil
	})
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	view(t, s, func(tx *Tx) error {
		if k, _ := tx.b(bucketSearch).Cursor().Seek([]byte{0x20}); k != nil {
			t.Errorf("a key of the old layout is left: %q", k)
		}
		got, _, err := tx.postings("fel", false)
		if err != nil || !slices.Equal(got, ids) {
			t.Errorf("felles: %v %v, want %v", got, err, ids)
		}
		got, _, err = tx.postings("from:ola@uib.no", true)
		if err != nil || !slices.Equal(got, []kp.CaseID{7}) {
			t.Errorf("from: %v %v", got, err)
		}
		return nil
	})
}

// TestSearchLogMergesIntoBlocks: postings go to the search log a
// transaction at a time and into the posting blocks every searchLogMax
// transactions; a search finds them in both.
func TestSearchLogMergesIntoBlocks(t *testing.T) {
	s := openTest(t)
	const n = 2*searchLogMax + 3
	for i := 1; i <= n; i++ {
		update(t, s, func(tx *Tx) error {
			id, err := tx.NextCaseID()
			if err != nil {
				return err
			}
			c := &kp.Case{ID: id, Subject: fmt.Sprintf("felles sak%dz", i), Status: kp.StatusOpen, Priority: kp.PriorityNormal}
			return tx.PutCase(c)
		})
	}
	view(t, s, func(tx *Tx) error {
		segs, err := searchLog(tx.b(bucketSearch))
		if err != nil || len(segs) >= searchLogMax || len(segs) == 0 {
			t.Errorf("%d segments in the log (%v), want 1 to %d", len(segs), err, searchLogMax-1)
		}
		if _, ok := lastEpoch(tx.b(bucketSearch)); !ok {
			t.Error("nothing was merged into the posting blocks")
		}
		return nil
	})
	if got := searchIDs(t, s, "felles"); len(got) != n || got[0] != n || got[n-1] != 1 {
		t.Errorf("felles: %v", got)
	}
	for _, i := range []int{1, searchLogMax, n} {
		if got := searchIDs(t, s, fmt.Sprintf("sak%dz", i)); !slices.Equal(got, []kp.CaseID{kp.CaseID(i)}) {
			t.Errorf("sak%d: %v", i, got)
		}
	}
}
