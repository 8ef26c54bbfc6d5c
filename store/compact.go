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

// compactReleaseSize is how many bytes of keys and values the copy writes
// between releases of the pages it mapped.
const compactReleaseSize = 8 << 20

// CompactTo writes a compacted copy of the store to path: only the live
// keys and values, packed full, without the free pages bbolt keeps for
// reuse (bbolt never shrinks a file, and freed pages still hold the bytes
// of deleted records until they are reused), message records packed
// again with zstd and the mail dictionary (repack.go), as are queued
// outbound mail (raw bytes and render specs) and the raw messages, whose log is written anew without
// the ranges purged messages left. It reads one consistent
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
	repack, err := newRepacker(s.codec)
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	defer repack.close()
	if err := guard(s.path, func() error { return s.copyPacked(dst, repack) }); err != nil {
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

// copyPacked copies every bucket of the store, on one snapshot, into dst,
// packing pages full and committing every compactTxSize bytes. Message
// records and queued outbound mail (values read only through
// codec.unpack) are packed again with repack: zstd with the mail
// dictionary, tighter than the S2 the write path affords; compaction runs
// offline. The raw log is written anew, in Message-ID order, as the
// Message-ID index is copied: each message's raw bytes packed again the
// same way and its entry given the new offset and length, so the copy's
// log has no purged ranges and raw_free is empty.
func (s *Store) copyPacked(dst *bolt.DB, repack *repacker) error {
	return s.view(func(stx *bolt.Tx) error {
		src := s.newTx(stx)
		tx, err := dst.Begin(true)
		if err != nil {
			return err
		}
		defer func() { tx.Rollback() }()
		var size, released int64
		// put writes k, v into the bucket at path, in a new transaction
		// when this one has written compactTxSize bytes.
		put := func(path [][]byte, k, v []byte) error {
			if size += int64(len(k) + len(v)); size > compactTxSize {
				if err := tx.Commit(); err != nil {
					return err
				}
				if tx, err = dst.Begin(true); err != nil {
					return err
				}
				size = int64(len(k) + len(v))
			}
			// Let go of the pages of both files mapped so far, so the
			// resident set does not grow with the store (releasePages).
			if released += int64(len(k) + len(v)); released > compactReleaseSize {
				src.releasePages()
				s.newTx(tx).releasePages()
				released = 0
			}
			d, err := dstBucket(tx, path)
			if err != nil {
				return err
			}
			return d.Put(k, v)
		}
		// rawEntry copies the raw bytes an index entry points to into the
		// copy's log and returns the entry pointing there.
		rawEntry := func(k, v []byte) ([]byte, error) {
			e, err := decodeIDEntry(v)
			if err != nil {
				return nil, fmt.Errorf("msgid %q: %w", k, err)
			}
			if e.rawLen == 0 || e.rawLen >= bigRaw { // none, or in raw_big: copied as they are
				return v, nil
			}
			packed, err := src.readRawLog(e.rawOff, e.rawLen)
			if err != nil {
				return nil, fmt.Errorf("msgid %q: %w", k, err)
			}
			packed = repack.rawValue(packed)
			size += int64(len(packed))
			e.rawLen = uint64(len(packed))
			if e.rawOff, err = s.newTx(tx).appendRawLog(packed); err != nil {
				return nil, err
			}
			return e.encode(), nil
		}
		var copyBucket func(path [][]byte, b *bolt.Bucket) error
		copyBucket = func(path [][]byte, b *bolt.Bucket) error {
			top := ""
			if len(path) == 1 {
				top = string(path[0])
			}
			switch top {
			case string(bucketRaw), string(bucketRawFree):
				return nil // written with the Message-ID index
			case string(bucketMsgID):
				if err := ensureBucket(tx, bucketRaw, stx.Bucket(bucketRaw)); err != nil {
					return err
				}
			}
			return b.ForEach(func(k, v []byte) error {
				if v == nil {
					sub := b.Bucket(k)
					d, err := dstBucket(tx, path)
					if err != nil {
						return err
					}
					nb, err := d.CreateBucket(k)
					if err != nil {
						return err
					}
					if err := nb.SetSequence(sub.Sequence()); err != nil {
						return err
					}
					return copyBucket(append(append([][]byte(nil), path...), k), sub)
				}
				switch top {
				case string(bucketMsg), string(bucketOutRaw), string(bucketOutSpec):
					v = repack.value(v)
				case string(bucketMsgID):
					var err error
					if v, err = rawEntry(k, v); err != nil {
						return err
					}
				}
				return put(path, k, v)
			})
		}
		err = stx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if err := ensureBucket(tx, name, b); err != nil {
				return err
			}
			return copyBucket([][]byte{name}, b)
		})
		if err != nil {
			return err
		}
		return tx.Commit()
	})
}

// ensureBucket creates the top-level bucket name in tx, with the sequence
// of src (nil: none), unless it exists.
func ensureBucket(tx *bolt.Tx, name []byte, src *bolt.Bucket) error {
	if tx.Bucket(name) != nil {
		return nil
	}
	nb, err := tx.CreateBucket(name)
	if err != nil {
		return err
	}
	if src != nil {
		return nb.SetSequence(src.Sequence())
	}
	return nil
}

// dstBucket returns the bucket at path in tx, set to pack its pages full:
// the copy writes keys in order, so full pages never split.
func dstBucket(tx *bolt.Tx, path [][]byte) (*bolt.Bucket, error) {
	b := tx.Bucket(path[0])
	for _, k := range path[1:] {
		if b == nil {
			break
		}
		b = b.Bucket(k)
	}
	if b == nil {
		return nil, fmt.Errorf("bucket %q missing in the copy", path)
	}
	b.FillPercent = 1.0
	return b, nil
}
