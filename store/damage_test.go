package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// damageFixture is a real store with cases and messages, closed, and
// where its pages are.
type damageFixture struct {
	path     string
	ids      []string // Message-IDs stored
	pageSize int64
	hwm      int64 // pages in use
	branch   int64 // a branch page (the root of the Message-ID index)
	leaf     int64 // a leaf page (the root of a one-page bucket)
	freelist int64
	metaRoot int64 // the root page of the root bucket
}

func newDamageFixture(t *testing.T) *damageFixture {
	t.Helper()
	fx := &damageFixture{path: filepath.Join(t.TempDir(), "kp.db")}
	s, err := Open(fx.path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := newIngester(7)
	ms := in.mails(600)
	for i := 0; i < len(ms); i += 100 {
		update(t, s, func(tx *Tx) error {
			for _, m := range ms[i : i+100] {
				if err := in.apply(tx, m); err != nil {
					return err
				}
			}
			return nil
		})
	}
	for _, m := range ms {
		fx.ids = append(fx.ids, m.m.ID)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("fresh store: %v", err)
	}
	fx.pageSize = int64(s.db.Info().PageSize)
	if err := s.db.View(func(tx *bolt.Tx) error {
		fx.hwm = tx.Size() / fx.pageSize
		fx.metaRoot = int64(tx.Cursor().Bucket().Root())
		if p, _ := tx.Page(int(tx.Bucket(bucketMsgID).Root())); p == nil || p.Type != "branch" {
			t.Fatalf("msgid root is %+v, want a branch page", p)
		}
		fx.branch = int64(tx.Bucket(bucketMsgID).Root())
		// The branch's first child (element: pos u32, ksize u32, pgid u64).
		b := readFileAt(t, fx.path, fx.branch*fx.pageSize+pageHeaderSize+8, 8)
		fx.leaf = int64(binary.NativeEndian.Uint64(b))
		if p, _ := tx.Page(int(fx.leaf)); p == nil || p.Type != "leaf" {
			t.Fatalf("page %d is %+v, want a leaf page", fx.leaf, p)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	fx.freelist = int64(inspect(f).cur.freelist)
	f.Close()
	return fx
}

// readFileAt reads n bytes of the file at off.
func readFileAt(t *testing.T, path string, off int64, n int) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	return b
}

// overwrite writes garbage over page id.
func (fx *damageFixture) overwrite(t *testing.T, id int64) {
	t.Helper()
	garbage := bytes.Repeat([]byte("\xa5garbage"), int(fx.pageSize)/8)
	fx.writeAt(t, garbage, id*fx.pageSize)
}

func (fx *damageFixture) writeAt(t *testing.T, b []byte, off int64) {
	t.Helper()
	f, err := os.OpenFile(fx.path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// wantDamaged fails unless err is a *DamageError for the fixture's file
// whose text contains want.
func (fx *damageFixture) wantDamaged(t *testing.T, what string, err error, want string) {
	t.Helper()
	var d *DamageError
	if !errors.Is(err, ErrDamaged) || !errors.As(err, &d) {
		t.Fatalf("%s: err = %v, want a DamageError", what, err)
	}
	if d.Path != fx.path {
		t.Errorf("%s: DamageError.Path = %q, want %q", what, d.Path, fx.path)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("%s: %q does not say %q", what, err, want)
	}
}

// readAll reads what a command would: every case and every message by id.
func readAll(s *Store, ids []string) error {
	return s.View(func(tx *Tx) error { return readTx(tx, ids) })
}

func readTx(tx *Tx, ids []string) error {
	if _, err := tx.Cases(CaseFilter{}); err != nil {
		return err
	}
	for _, id := range ids {
		if _, _, err := tx.LookupID(id); err != nil {
			return err
		}
	}
	return nil
}

func TestOpenRefusesTruncatedStore(t *testing.T) {
	fx := newDamageFixture(t)
	if err := os.Truncate(fx.path, fx.hwm*fx.pageSize/2); err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{false, true} {
		_, err := Open(fx.path, Options{ReadOnly: ro})
		fx.wantDamaged(t, "Open", err, "truncated")
	}
	r, err := CheckFile(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() || !strings.Contains(strings.Join(r.Problems, "\n"), "truncated") || r.Pages != uint64(fx.hwm) {
		t.Errorf("CheckFile = %+v, want the truncation and %d pages", r, fx.hwm)
	}
}

func TestOpenRefusesStoreWithoutValidHeader(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pages func(fx *damageFixture) []int64
		want  string
	}{
		{"both meta pages", func(*damageFixture) []int64 { return []int64{0, 1} }, "neither header page is valid"},
		{"root page", func(fx *damageFixture) []int64 { return []int64{fx.metaRoot} }, "overwritten"},
		{"freelist page", func(fx *damageFixture) []int64 { return []int64{fx.freelist} }, "overwritten"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newDamageFixture(t)
			for _, id := range tc.pages(fx) {
				fx.overwrite(t, id)
			}
			for _, ro := range []bool{false, true} {
				_, err := Open(fx.path, Options{ReadOnly: ro})
				fx.wantDamaged(t, "Open", err, tc.want)
			}
			r, err := CheckFile(fx.path)
			if err != nil {
				t.Fatal(err)
			}
			if r.OK() {
				t.Errorf("CheckFile found nothing")
			}
		})
	}
}

func TestOneDamagedMetaPageOpensFromTheOther(t *testing.T) {
	for _, page := range []int64{0, 1} {
		fx := newDamageFixture(t)
		fx.overwrite(t, page)
		s, err := Open(fx.path, Options{ReadOnly: true})
		if err != nil {
			t.Fatalf("meta page %d damaged: %v", page, err)
		}
		if err := readAll(s, fx.ids[:300]); err != nil {
			t.Errorf("meta page %d damaged: reading: %v", page, err)
		}
		s.Close()
		r, err := CheckFile(fx.path)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Problems) != 1 || !strings.Contains(r.Problems[0], "header page") {
			t.Errorf("meta page %d damaged: CheckFile problems %q, want the header page", page, r.Problems)
		}
	}
}

func TestDamagedTreePageIsAnError(t *testing.T) {
	for _, tc := range []struct {
		name string
		page func(fx *damageFixture) int64
	}{
		{"branch", func(fx *damageFixture) int64 { return fx.branch }},
		{"leaf", func(fx *damageFixture) int64 { return fx.leaf }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newDamageFixture(t)
			fx.overwrite(t, tc.page(fx))
			s, err := Open(fx.path, Options{})
			if err != nil {
				// Open reads only the header pages and the schema version.
				t.Fatalf("Open: %v", err)
			}
			defer s.Close()
			fx.wantDamaged(t, "CheckPages", s.CheckPages(), "overwritten")
			fx.wantDamaged(t, "reading", readAll(s, fx.ids), "bbolt")
			in := newIngester(99)
			ml := in.mails(1)[0]
			fx.wantDamaged(t, "writing", s.Update(func(tx *Tx) error {
				if err := in.apply(tx, ml); err != nil {
					return err
				}
				return readTx(tx, fx.ids)
			}), "bbolt")
			var backup bytes.Buffer
			if _, err := s.Backup(&backup); !errors.Is(err, ErrDamaged) || backup.Len() != 0 {
				t.Errorf("Backup: %v after %d bytes, want ErrDamaged before any", err, backup.Len())
			}
			if err := s.Check(); !errors.Is(err, ErrDamaged) && (err == nil || !strings.Contains(err.Error(), "overwritten")) {
				t.Errorf("Check = %v, want the overwritten page", err)
			}
			s.Close()
			r, err := CheckFile(fx.path)
			if err != nil {
				t.Fatal(err)
			}
			if r.OK() || !strings.Contains(strings.Join(r.Problems, "\n"), "overwritten") {
				t.Errorf("CheckFile problems %q, want the overwritten page", r.Problems)
			}
		})
	}
}

// A branch element pointing past the end of the file (inside the memory
// map) makes bbolt read unbacked memory: SIGBUS, a fatal fault unless the
// transaction turns it into a panic.
func TestPagePastEndOfFileIsAnError(t *testing.T) {
	fx := newDamageFixture(t)
	fi, err := os.Stat(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	beyond := make([]byte, 8)
	binary.NativeEndian.PutUint64(beyond, uint64(fi.Size()/fx.pageSize+10))
	// The first element's child page number (pos u32, ksize u32, pgid u64).
	fx.writeAt(t, beyond, fx.branch*fx.pageSize+pageHeaderSize+8)
	s, err := Open(fx.path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fx.wantDamaged(t, "reading", readAll(s, fx.ids), "faulted")
	fx.wantDamaged(t, "CheckPages", s.CheckPages(), "outside the file")
}

func TestEmptyFileIsNotAStoreForReading(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kp.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{ReadOnly: true}); !errors.Is(err, ErrNotStore) {
		t.Fatalf("read-only Open of an empty file: %v, want ErrNotStore", err)
	}
	if _, err := CheckFile(path); !errors.Is(err, ErrNotStore) {
		t.Fatalf("CheckFile of an empty file: %v, want ErrNotStore", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
		t.Fatalf("reading changed the empty file: %v, %v", fi.Size(), err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open for writing initialises an empty file: %v", err)
	}
	if err := s.Check(); err != nil {
		t.Error(err)
	}
	s.Close()
}

func TestCheckFileOnSoundStore(t *testing.T) {
	fx := newDamageFixture(t)
	r, err := CheckFile(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Pages != uint64(fx.hwm) || r.PageSize != uint64(fx.pageSize) || r.Transaction == 0 {
		t.Errorf("CheckFile = %+v", r)
	}
}

func TestCheckFileFindsIndexProblems(t *testing.T) {
	fx := newDamageFixture(t)
	s, err := Open(fx.path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A case that lost its status index entry: a sound file, a broken store.
	update(t, s, func(tx *Tx) error {
		k, _ := tx.b(bucketCaseStatus).Cursor().First()
		return tx.b(bucketCaseStatus).Delete(append([]byte(nil), k...))
	})
	s.Close()
	r, err := CheckFile(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() || !strings.Contains(strings.Join(r.Problems, "\n"), "status index") {
		t.Errorf("CheckFile problems %q, want the missing status index entry", r.Problems)
	}
}

// The guard turns damage into errors, not every panic: a bug in the
// function given to View still panics.
func TestViewPanicsOnBugs(t *testing.T) {
	s := openTest(t)
	defer func() {
		if r := recover(); r != "bug" {
			t.Errorf("recovered %v, want the function's own panic", r)
		}
	}()
	_ = s.View(func(*Tx) error { panic("bug") })
	t.Error("View returned")
}

// Damage anywhere in the file, whole pages or a few bytes inside one,
// zeros or noise: every operation returns (an error or not), none panics
// or faults, and what a reader tripped over, CheckFile finds.
func TestDamageAnywhereIsNoCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("rewrites the store once per damaged page")
	}
	fx := newDamageFixture(t)
	good, err := os.ReadFile(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	noise := make([]byte, fx.pageSize)
	for i := range noise {
		noise[i] = byte(i*7919 + i>>8) // deterministic, not a pattern bbolt would accept
	}
	type hit struct {
		off  int64
		data []byte
	}
	var hits []hit
	for id := int64(0); id < fx.hwm; id += 3 {
		base := id * fx.pageSize
		switch id % 4 {
		case 0:
			hits = append(hits, hit{base, make([]byte, fx.pageSize)}) // a zeroed page
		case 1:
			hits = append(hits, hit{base, noise})
		case 2:
			hits = append(hits, hit{base + pageHeaderSize, noise[:64]}) // an element table
		case 3:
			hits = append(hits, hit{base + fx.pageSize/2, noise[:200]}) // keys and values
		}
	}
	for _, h := range hits {
		b := append([]byte(nil), good...)
		copy(b[h.off:], h.data)
		if err := os.WriteFile(fx.path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		what := func(s string) string { return fmt.Sprintf("%d bytes at %d: %s", len(h.data), h.off, s) }
		var readErr error
		s, err := Open(fx.path, Options{ReadOnly: true})
		switch {
		case err == nil:
			readErr = readAll(s, fx.ids)
			s.Close()
		case !errors.Is(err, ErrDamaged):
			t.Errorf("%v", what(fmt.Sprintf("Open: %v, want a DamageError", err)))
			continue
		default:
			readErr = err
		}
		if readErr != nil && !errors.Is(readErr, ErrDamaged) && !errors.Is(readErr, ErrCorrupt) {
			t.Errorf("%v", what(fmt.Sprintf("reading: %v, want ErrDamaged or ErrCorrupt", readErr)))
		}
		r, err := CheckFile(fx.path)
		if err != nil {
			t.Errorf("%v", what(fmt.Sprintf("CheckFile: %v", err)))
			continue
		}
		if readErr != nil && r.OK() {
			t.Errorf("%v", what(fmt.Sprintf("reading failed (%v) but CheckFile found nothing", readErr)))
		}
	}
}

// FuzzStoreFile feeds arbitrary files to CheckFile and, when it finds
// them sound, to Open and a reader: a damaged or foreign file gives
// errors, never a panic or a fault.
func FuzzStoreFile(f *testing.F) {
	dir := f.TempDir()
	seed := filepath.Join(dir, "seed.db")
	s, err := Open(seed, Options{})
	if err != nil {
		f.Fatal(err)
	}
	in := newIngester(5)
	ms := in.mails(20)
	if err := s.Update(func(tx *Tx) error {
		for _, m := range ms {
			if err := in.apply(tx, m); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		f.Fatal(err)
	}
	var used int64
	if err := s.db.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil }); err != nil {
		f.Fatal(err)
	}
	s.Close()
	b, err := os.ReadFile(seed)
	if err != nil {
		f.Fatal(err)
	}
	b = b[:used] // the file grows ahead of its pages
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add(b[:4096*2])
	f.Add([]byte("not a store"))
	n := 0
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return // an empty file is not a store: ErrNotStore, tested elsewhere
		}
		path := newFuzzFile(t, dir, &n, b)
		r, err := CheckFile(path)
		if err != nil || !r.OK() {
			return
		}
		s, err := Open(path, Options{ReadOnly: true})
		if err != nil {
			return
		}
		defer s.Close()
		_ = readAll(s, []string{"x@example.org"})
	})
}

// FuzzInspect feeds arbitrary files to the header check and the page walk
// alone, which parse the file without bbolt: they must give problems,
// never a panic, a loop or a huge allocation.
func FuzzInspect(f *testing.F) {
	f.Add(make([]byte, 4*4096))
	f.Add([]byte("not a store"))
	f.Add(tinyStoreFile())
	dir := f.TempDir()
	n := 0
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := os.Open(newFuzzFile(t, dir, &n, b))
		if err != nil {
			t.Fatal(err)
		}
		defer file.Close()
		h := inspect(file)
		if len(b) == 0 || h.fatal {
			return
		}
		w := newWalker(file, h.cur.pageSize, h.cur.pgid)
		w.walk(h.cur.root, h.cur.freelist)
		if len(w.problems) > maxPageProblems {
			t.Fatalf("%d problems", len(w.problems))
		}
	})
}

// tinyStoreFile is a bbolt file of four pages: meta 0 and 1, the
// freelist (2) and the root leaf (3) holding one bucket whose leaf follows
// inline, as bbolt writes it.
func tinyStoreFile() []byte {
	p := make([]byte, 4*4096)
	for i := 0; i < 2; i++ {
		m := p[i*4096:]
		ne.PutUint64(m[0:], uint64(i))
		ne.PutUint16(m[8:], pageMeta)
		d := m[pageHeaderSize:]
		ne.PutUint32(d[0:], metaMagic)
		ne.PutUint32(d[4:], metaVersion)
		ne.PutUint32(d[8:], 4096)
		ne.PutUint64(d[16:], 3) // root
		ne.PutUint64(d[32:], 2) // freelist
		ne.PutUint64(d[40:], 4) // pgid
		ne.PutUint64(d[48:], uint64(i))
		h := fnv.New64a()
		h.Write(d[:metaSummed])
		ne.PutUint64(d[metaSummed:], h.Sum64())
	}
	ne.PutUint64(p[2*4096:], 2)
	ne.PutUint16(p[2*4096+8:], pageFreelist)
	leaf := p[3*4096:]
	ne.PutUint64(leaf[0:], 3)
	ne.PutUint16(leaf[8:], pageLeaf)
	ne.PutUint16(leaf[10:], 1)
	e := leaf[pageHeaderSize:]
	ne.PutUint32(e[0:], leafBucket)
	ne.PutUint32(e[4:], elementSize) // the key follows the element
	ne.PutUint32(e[8:], 4)
	ne.PutUint32(e[12:], 16+pageHeaderSize)
	copy(e[elementSize:], "meta")
	ne.PutUint16(e[elementSize+4+16+8:], pageLeaf) // the inline page, no elements
	return p
}

func TestTinyStoreFileIsSound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kp.db")
	if err := os.WriteFile(path, tinyStoreFile(), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := inspect(f)
	if len(h.problems) > 0 {
		t.Fatal(h.problems)
	}
	w := newWalker(f, h.cur.pageSize, h.cur.pgid)
	w.walk(h.cur.root, h.cur.freelist)
	if len(w.problems) > 0 {
		t.Fatal(w.problems)
	}
}

// newFuzzFile writes b to a new file in dir, removed when the test ends.
// A new file each time: rewriting one (O_TRUNC) makes ext4 flush it on
// close, milliseconds per run.
func newFuzzFile(t *testing.T, dir string, n *int, b []byte) string {
	*n++
	path := filepath.Join(dir, fmt.Sprintf("kp%d.db", *n))
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(path) })
	return path
}
