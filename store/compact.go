package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// truncateSync cuts the file at path to size bytes and syncs it.
func truncateSync(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if fi, err := f.Stat(); err == nil && fi.Size() > size {
		err = f.Truncate(size)
		if err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// compactTxSize is how many bytes of keys and values one transaction of
// the copy writes before it commits and starts the next, so a large store
// is copied with bounded memory.
const compactTxSize = 64 << 20

// CompactTo writes a compacted copy of the store to path: only the live
// keys and values, packed full, without the free pages bbolt keeps for
// reuse (bbolt never shrinks a file, and freed pages still hold the bytes
// of deleted records until they are reused). It reads one consistent
// snapshot, so it runs while others write; writes made after it started
// are not in the copy. The copy is written to path+".tmp" and renamed, so
// path is either absent or complete. path must not exist.
//
// To put the copy in place: stop serve, run compact, move the copy over
// the store file, start serve. A copy made while serve ran lacks what
// serve wrote since, so swap only a copy made with serve stopped.
func (s *Store) CompactTo(path string) (err error) {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("compact: %s exists; give a new file name", path)
	}
	tmp := path + ".tmp"
	os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{
		PageSize:     s.db.Info().PageSize, // the raw log's block size follows from it
		FreelistType: bolt.FreelistMapType,
		NoSync:       true, // synced once at the end
	})
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	defer func() {
		if err != nil {
			dst.Close()
			os.Remove(tmp)
		}
	}()
	if err := guard(s.path, func() error { return bolt.Compact(dst, s.db, compactTxSize) }); err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	// bbolt grows a file ahead of its pages (by up to 16 MiB at a time):
	// the copy ends at its last page instead.
	var used int64
	if err := dst.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil }); err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	if err := dst.Close(); err != nil {
		return fmt.Errorf("compact: closing %s: %w", tmp, err)
	}
	if err := truncateSync(tmp, used); err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("compact: %s appeared while copying", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("compact: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
