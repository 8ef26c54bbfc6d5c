// Package store keeps cases, messages, the outbox and the intake cursors in
// one bbolt file. bbolt types never leave this package: callers see the
// domain types of package kontaktpunkt and the Store and Tx below.
//
// Invariants:
//
//   - Every bucket and key layout is listed in schema.go, with the schema
//     version and the ordered migrations Open applies.
//   - One Update is one bbolt read-write transaction, fsync'd on commit; an
//     inbound message, its case change, its index entries, its queued mail
//     and the mailbox cursor are written in one Update or not at all.
//     Network I/O never happens inside a transaction.
//   - Indexes (Message-ID, case messages, case status/assignee/due, outbox
//     state/due) and the per-status counters are changed in the same
//     transaction as the record they index; Check verifies them.
//   - Every value handed out is a copy: nothing returned points into the
//     bbolt memory map, so it stays valid after the transaction.
//   - Raw messages are kept byte for byte (compressed when that pays:
//     S2 with a mail dictionary below 64 KiB, zstd above; codec.go)
//     and never rewritten, only removed for good by retention or forget
//     (purge.go): zeroed in the raw log, whose free ranges Check counts.
//   - Only one process opens the file at a time; a second Open fails at
//     once with ErrInUse.
package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	kp "kontaktpunkt"
)

// Errors of the store. Test with errors.Is.
var (
	// ErrInUse means another process (or another Store in this one) has
	// the file open.
	ErrInUse = errors.New("store is in use by another process")
	// ErrNotFound means the record asked for does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrDuplicate means a message with the same Message-ID is stored.
	ErrDuplicate = errors.New("store: duplicate message id")
	// ErrSchema means the file was written by a newer version.
	ErrSchema = errors.New("store: unsupported schema version")
	// ErrCorrupt means a stored value could not be decoded.
	ErrCorrupt = errors.New("store: corrupt value")
	// ErrInvalid means a record given to the store is not storable
	// (empty Message-ID, unknown status, zero case id …).
	ErrInvalid = errors.New("store: invalid record")
)

// DefaultTimeout is how long Open waits for the file lock when
// Options.Timeout is zero: long enough to ride out a process that is just
// closing, short enough to report "in use" at once.
const DefaultTimeout = 100 * time.Millisecond

// allocSize is how much bbolt grows the file by at a time. bbolt's default
// (16 MiB, and the whole mmap size below that) would make a small store
// mostly empty space; 4 MiB keeps the slack small and still grows (one
// truncate and fsync) only every few transactions of bulk ingest.
const allocSize = 4 << 20

// initialMmapSize is the address space mapped at Open (not memory: pages
// are read on demand and the file does not grow to it).
const initialMmapSize = 1 << 30

// Options tune Open.
type Options struct {
	// Timeout is how long to wait for another process to release the
	// file; zero means DefaultTimeout.
	Timeout time.Duration
	// NoSync skips fsync on commit. Only for benchmarks and bulk loads
	// that can be redone: a crash may lose or corrupt the store.
	NoSync bool
	// ReadOnly opens the store for reading, under a shared lock: several
	// readers may open it at once, none while a writer holds it.
	ReadOnly bool
	// NoSearchIndex leaves the full-text index unwritten, so that
	// benchmarks can measure what it costs. Search then misses what was
	// stored meanwhile.
	NoSearchIndex bool
}

// Store is an open store file. Its methods are safe for concurrent use;
// bbolt allows one writer and many readers at a time.
type Store struct {
	db       *bolt.DB
	path     string
	codec    *codec
	rawBlock int // block size of the raw log (schema.go)
	readOnly bool
	noSearch bool
}

// Open opens or creates the store at path, creates missing buckets and
// brings the schema up to date. It fails with ErrInUse when another
// process holds the file, and with ErrSchema when the file is newer than
// this program. Nothing is scanned, so Open takes the same time at any
// store size.
func Open(path string, opts Options) (*Store, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if opts.ReadOnly {
		// bbolt would try to initialise it, through a read-only handle.
		if fi, err := os.Stat(path); err == nil && fi.Size() == 0 {
			return nil, fmt.Errorf("opening %s: %w", path, ErrNotStore)
		}
	}
	// Refuse a damaged file before bolt maps it and follows its pages.
	if err := preflight(path); err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	var (
		db   *bolt.DB
		file *os.File
	)
	err := guard(path, func() error {
		var err error
		db, err = bolt.Open(path, 0o600, &bolt.Options{
			Timeout:  timeout,
			NoSync:   opts.NoSync,
			ReadOnly: opts.ReadOnly,
			// The map freelist stays fast when a large store has many free
			// pages; the array freelist searches linearly.
			FreelistType: bolt.FreelistMapType,
			// Map address space, not memory, up front: while the file fits,
			// a commit never remaps, and a remap makes bolt copy every dirty
			// value to the heap first (25 MB more for a 25 MB message) and
			// blocks readers. The file itself still grows by allocSize.
			InitialMmapSize: initialMmapSize,
			// Kept to release the file (and its lock) if bolt panics.
			OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
				f, err := os.OpenFile(name, flag, perm)
				file = f
				return f, err
			},
		})
		return err
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("opening %s: %w", path, ErrInUse)
	}
	var pe *os.PathError
	if err != nil && !errors.As(err, &pe) {
		if db == nil && file != nil {
			unlock(file) // bolt panicked holding it
			file.Close()
		}
		// bolt's own errors (invalid, checksum, file size too small) and
		// its panics say little; the header pages say what is wrong.
		if d := diagnose(path); d != nil {
			err = d
		}
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	// Check the header pages under the lock bolt now holds, before any
	// page beyond them is read.
	if f, err := os.Open(path); err == nil {
		h := inspect(f)
		f.Close()
		if h.fatal {
			db.Close()
			return nil, fmt.Errorf("opening %s: %w", path, &DamageError{Path: path, Problem: strings.Join(h.problems, "; ")})
		}
	}
	db.AllocSize = allocSize
	c, err := newCodec()
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	s := &Store{db: db, path: path, codec: c, readOnly: opts.ReadOnly, noSearch: opts.NoSearchIndex}
	if err := s.init(); err != nil {
		s.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if !s.readOnly {
		if err := s.upgradeSearch(); err != nil {
			s.Close()
			return nil, fmt.Errorf("opening %s: %w", path, err)
		}
		if err := s.buildFacts(); err != nil {
			s.Close()
			return nil, fmt.Errorf("opening %s: %w", path, err)
		}
	}
	return s, nil
}

// init migrates the schema if needed. The common case (up to date) is a
// read-only transaction, so Open does not write or fsync.
func (s *Store) init() error {
	var ok bool
	if err := s.view(func(tx *bolt.Tx) error {
		var err error
		if ok, err = upToDate(tx, s.readOnly); ok && err == nil {
			s.rawBlock, err = readRawBlock(tx)
		}
		return err
	}); err != nil || ok {
		return err
	}
	if s.readOnly {
		return fmt.Errorf("%w: the store must be upgraded first; open it once for writing (e.g. serve or ingest)", ErrSchema)
	}
	return s.update(func(tx *bolt.Tx) error {
		err := migrate(tx)
		if err == nil {
			s.rawBlock, err = readRawBlock(tx)
		}
		return err
	})
}

// Close closes the file and releases the lock. It waits for open
// transactions to end.
func (s *Store) Close() error {
	err := s.db.Close()
	s.codec.close()
	if err != nil {
		return fmt.Errorf("closing %s: %w", s.path, err)
	}
	return nil
}

// Path returns the file name given to Open.
func (s *Store) Path() string { return s.path }

// Update runs fn in one read-write transaction. If fn returns an error
// (or panics) nothing is written; otherwise the transaction is committed
// and fsync'd before Update returns. Only one Update runs at a time.
//
// A damaged file makes it fail with a *DamageError (errors.Is ErrDamaged)
// instead of crashing the program; so do View and Backup.
func (s *Store) Update(fn func(tx *Tx) error) error {
	return s.update(func(btx *bolt.Tx) error {
		tx := s.newTx(btx)
		if err := fn(tx); err != nil {
			return err
		}
		if err := tx.flushCounters(); err != nil {
			return err
		}
		return tx.flushSearch()
	})
}

// update and view are bolt's Update and View under guard.
func (s *Store) update(fn func(*bolt.Tx) error) error {
	return guard(s.path, func() error { return s.db.Update(fn) })
}

func (s *Store) view(fn func(*bolt.Tx) error) error {
	return guard(s.path, func() error { return s.db.View(fn) })
}

// View runs fn in a read-only transaction that sees one consistent
// snapshot. Keep it short: pages freed while a View runs cannot be reused.
func (s *Store) View(fn func(tx *Tx) error) error {
	return s.view(func(btx *bolt.Tx) error {
		return fn(s.newTx(btx))
	})
}

// Backup writes a consistent copy of the whole store to w while others
// keep writing, and returns the number of bytes written. It walks the
// page tree first (CheckPages) and copies nothing from a damaged store,
// so that a backup rotation does not replace good copies with bad ones.
func (s *Store) Backup(w io.Writer) (int64, error) {
	var n int64
	err := s.view(func(tx *bolt.Tx) error {
		// A damaged header page is not copied: the copy's are written
		// from the snapshot.
		if _, pages := s.checkPages(tx); len(pages) > 0 {
			return s.damage(pages)
		}
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("backing up %s: %w", s.path, err)
	}
	return n, nil
}

// BackupFile writes a consistent copy of the store to path: first to
// path+".tmp", fsync'd, then renamed, so path is either the old file or a
// complete new copy. The copy opens with Open like the original.
func (s *Store) BackupFile(path string) (err error) {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := s.Backup(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("backup: syncing %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("backup: closing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	// The rename is durable only once the directory is synced.
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Check verifies the bbolt file (page structure, freelist) and then the
// store's own invariants: every index entry points to a record that
// agrees with it, every record has its index entries, and the counters
// match. It reads the whole store; use it in tests and for diagnosis.
func (s *Store) Check() error {
	if errs := s.check(nil); len(errs) > 0 {
		return fmt.Errorf("checking %s: %w", s.path, errors.Join(errs...))
	}
	return nil
}

// check runs, in one read transaction, the header and page walk, then
// bbolt's check, then the index check; each only when the one before
// found nothing it depends on, as a broken level says nothing reliable
// about the next. bbolt's check also reads both header pages, on a
// goroutine of its own where a panic cannot be caught, so it is skipped
// when one of them is damaged. If r is not nil, check fills in what it
// says about the file.
func (s *Store) check(r *Report) []error {
	var errs []error
	err := s.view(func(btx *bolt.Tx) error {
		if r != nil {
			r.PageSize = uint64(s.db.Info().PageSize)
			r.Pages, r.Transaction = uint64(btx.Size())/r.PageSize, uint64(btx.ID())
			if fi, err := os.Stat(s.path); err == nil {
				r.Size = fi.Size()
			}
		}
		hdr, pages := s.checkPages(btx)
		if errs = append(hdr, pages...); len(pages) > 0 {
			return nil
		}
		if len(hdr) == 0 {
			for err := range btx.Check() {
				errs = append(errs, err)
			}
			if len(errs) > 0 {
				return nil
			}
		}
		errs = append(errs, s.newTx(btx).checkIndexes()...)
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	return errs
}

// CheckPages walks the page tree of the store with bounds-checked reads
// of the file and returns a *DamageError naming the first problems found,
// if any. It reads about one page per tree page, not the values, so it is
// much faster than Check; serve runs it before it starts.
func (s *Store) CheckPages() error {
	var errs []error
	err := s.view(func(btx *bolt.Tx) error {
		_, errs = s.checkPages(btx)
		return nil
	})
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		return s.damage(errs)
	}
	return nil
}

// damage makes a *DamageError of the first problems found.
func (s *Store) damage(errs []error) error {
	var msgs []string
	for _, e := range errs[:min(len(errs), 3)] {
		msgs = append(msgs, e.Error())
	}
	if len(errs) > 3 {
		msgs = append(msgs, fmt.Sprintf("and %d more", len(errs)-3))
	}
	return &DamageError{Path: s.path, Problem: strings.Join(msgs, "; ")}
}

// checkPages checks the header pages and walks the page tree of the
// snapshot btx sees, and returns the problems of each. Pages of a
// snapshot are not reused while it is open, so the walk reads the file
// while other transactions write.
func (s *Store) checkPages(btx *bolt.Tx) (hdr, pages []error) {
	f, err := os.Open(s.path)
	if err != nil {
		return nil, []error{err}
	}
	defer f.Close()
	ps := uint64(s.db.Info().PageSize)
	w := newWalker(f, ps, uint64(btx.Size())/ps)
	freelist := noFreelist
	if h := inspect(f); h.cur.txid == uint64(btx.ID()) {
		// Header problems are those of this snapshot, not of a commit
		// made since.
		for _, p := range h.problems {
			hdr = append(hdr, errors.New(p))
		}
		if !h.fatal {
			freelist = h.cur.freelist
		}
	}
	w.walk(uint64(btx.Cursor().Bucket().Root()), freelist)
	for _, p := range w.problems {
		pages = append(pages, errors.New(p))
	}
	return hdr, pages
}

// Tx is one transaction; it is valid only inside the function given to
// Update or View, and must not be used from other goroutines.
type Tx struct {
	tx       *bolt.Tx
	codec    *codec
	rawBlock int
	bkts     map[string]*bolt.Bucket
	pending  *pendingTerms // suggestion terms not yet in the postings (suggest.go)
	// search holds the full-text postings added in this transaction,
	// written to the index when fn of Update returns (flushSearch): one
	// read and write per token and transaction rather than per message.
	search map[string][]kp.CaseID
	// textTokens are the tokens of one message text computed before the
	// transaction (GivenTextTokens).
	textTokens struct {
		text   string
		tokens []string
	}
	noSearch bool
	// packedRaw is the packed raw bytes of one message, packed before
	// the transaction (GivenPackedRaw).
	packedRaw PackedRaw
	// counters are the sums AddCounter collected, written when fn of
	// Update returns (flushCounters).
	counters map[string]int64
	// ids are Message-ID entries read or written in this transaction
	// (lookupID).
	ids map[string]keptID
	// recent are messages written or read in this transaction whose
	// text a copy of outbound mail written next may refer to (textref.go).
	recent []recentText
}

func (s *Store) newTx(btx *bolt.Tx) *Tx {
	return &Tx{tx: btx, codec: s.codec, rawBlock: s.rawBlock, noSearch: s.noSearch}
}

// late returns a bucket of lateBuckets (schema.go), or nil when the
// store, opened read-only, predates it: read it as empty.
func (tx *Tx) late(name []byte) *bolt.Bucket {
	if tx.tx.Bucket(name) == nil {
		return nil
	}
	return tx.b(name)
}

// b returns a bucket with its schema FillPercent set (bolt does not
// persist FillPercent, so it is set on every transaction's handle).
func (tx *Tx) b(name []byte) *bolt.Bucket {
	if b, ok := tx.bkts[string(name)]; ok {
		return b
	}
	b := tx.tx.Bucket(name)
	if b == nil {
		// Open creates every bucket; a missing one is a damaged file.
		panic(damagePanic(fmt.Sprintf("bucket %s missing", name)))
	}
	b.FillPercent = fillPercent(name)
	if tx.bkts == nil {
		tx.bkts = make(map[string]*bolt.Bucket, 8)
	}
	tx.bkts[string(name)] = b
	return b
}
