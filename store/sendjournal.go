package store

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sync"
	"time"

	kp "kontaktpunkt"
)

// A SendJournal records that outbound messages were sent, each record
// made durable with one synchronous write (O_DSYNC) of a file beside the
// store (STORE.sent), which is much quicker than a store commit (two
// fsyncs and the pages of every index the outcome touches). The outbox
// writes a send there before it counts as recorded, and folds the sends
// into the store in large groups afterwards; after a crash the journal's
// sends not yet folded are folded before anything is sent, so a message
// whose send was journaled is never sent again.
//
// The file holds fixed-size records in slots of space written (zeros)
// and synced beforehand, so that a record's fdatasync has no file size to
// flush. A record is the outbound id, the first 8 bytes of the SHA-256 of
// its Message-ID (so that a journal left beside a store restored from an
// older backup cannot mark another message with the same id as sent), the
// time of the send, and a CRC. Appends run concurrently, each in slots
// of its own, so a crash can leave an empty or torn slot between records:
// reading skips every slot that does not check. Reset empties the journal
// (writes zeros over the records) once its sends are in the store.
type SendJournal struct {
	mu     sync.RWMutex // held shared by Appends, exclusively to close or reset
	f      *os.File
	noSync bool
	dsync  bool // f is opened O_DSYNC: a write is durable when it returns

	slots      sync.Mutex // guards next and size
	next, size int64      // the first slot after the last record, and the end of the space written
}

// JournaledSend is one record of a SendJournal.
type JournaledSend struct {
	ID     uint64 // outbound id
	IDHash uint64 // MessageIDHash of its Message-ID
	Sent   time.Time
}

const (
	journalRecord = 32
	journalChunk  = 2048 * journalRecord
	journalMagic  = 0x4b50534a // "KPSJ"
)

// MessageIDHash is the Message-ID check a journal record carries.
func MessageIDHash(id string) uint64 {
	h := sha256.Sum256([]byte(id))
	return binary.BigEndian.Uint64(h[:8])
}

// Matches reports whether the record concerns the message with
// Message-ID id.
func (e JournaledSend) Matches(id string) bool { return e.IDHash == MessageIDHash(id) }

// OpenSendJournal opens or creates the journal at path. With noSync
// nothing is fsync'd (for a store opened with NoSync).
func OpenSendJournal(path string, noSync bool) (*SendJournal, error) {
	flags := os.O_RDWR | os.O_CREATE
	dsync := !noSync && dsyncFlag != 0
	if dsync {
		flags |= dsyncFlag
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return nil, fmt.Errorf("send journal: %w", err)
	}
	j := &SendJournal{f: f, noSync: noSync, dsync: dsync}
	_, end, size, err := j.read()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("send journal %s: %w", path, err)
	}
	j.next, j.size = end, size
	return j, nil
}

// read returns the records of the file, the end of the last one and the
// file's size in whole slots.
func (j *SendJournal) read() (sends []JournaledSend, end, size int64, err error) {
	data, err := io.ReadAll(io.NewSectionReader(j.f, 0, 1<<40))
	if err != nil {
		return nil, 0, 0, err
	}
	for off := 0; off+journalRecord <= len(data); off += journalRecord {
		if e, ok := decodeJournaled(data[off : off+journalRecord]); ok {
			sends = append(sends, e)
			end = int64(off + journalRecord)
		}
	}
	return sends, end, int64(len(data)) / journalRecord * journalRecord, nil
}

// Pending returns the sends in the journal: those a crash or a failed
// store commit left to fold into the store.
func (j *SendJournal) Pending() ([]JournaledSend, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil, ErrJournalClosed
	}
	if j.next == 0 {
		return nil, nil
	}
	sends, _, _, err := j.read()
	if err != nil {
		return nil, fmt.Errorf("send journal: %w", err)
	}
	return sends, nil
}

func encodeJournaled(b []byte, e JournaledSend) {
	binary.BigEndian.PutUint64(b[0:], e.ID)
	binary.BigEndian.PutUint64(b[8:], e.IDHash)
	binary.BigEndian.PutUint64(b[16:], uint64(e.Sent.UnixNano()))
	binary.BigEndian.PutUint32(b[24:], crc32.ChecksumIEEE(b[:24]))
	binary.BigEndian.PutUint32(b[28:], journalMagic)
}

func decodeJournaled(b []byte) (JournaledSend, bool) {
	if binary.BigEndian.Uint32(b[28:]) != journalMagic || binary.BigEndian.Uint32(b[24:]) != crc32.ChecksumIEEE(b[:24]) {
		return JournaledSend{}, false
	}
	return JournaledSend{
		ID: binary.BigEndian.Uint64(b[0:]), IDHash: binary.BigEndian.Uint64(b[8:]),
		Sent: time.Unix(0, int64(binary.BigEndian.Uint64(b[16:]))),
	}, true
}

// ErrJournalClosed is returned by a closed journal.
var ErrJournalClosed = errors.New("send journal closed")

// Append makes sends durable: one O_DSYNC write (where there is none, a
// write and an fdatasync), unless the space had to grow. Appends run concurrently, each into slots of its own.
func (j *SendJournal) Append(sends []JournaledSend) error {
	if len(sends) == 0 {
		return nil
	}
	j.mu.RLock()
	defer j.mu.RUnlock()
	if j.f == nil {
		return ErrJournalClosed
	}
	need := int64(len(sends) * journalRecord)
	j.slots.Lock()
	off := j.next
	if off+need > j.size {
		// Write the next chunk as zeros and sync it (size and all), so
		// that records written into it need only their data synced.
		grow := max(journalChunk, need)
		if _, err := j.f.WriteAt(make([]byte, grow), j.size); err != nil {
			j.slots.Unlock()
			return fmt.Errorf("send journal: %w", err)
		}
		if err := j.sync(true); err != nil {
			j.slots.Unlock()
			return err
		}
		j.size += grow
	}
	j.next += need
	j.slots.Unlock()
	b := make([]byte, need)
	for i, e := range sends {
		encodeJournaled(b[i*journalRecord:], e)
	}
	if _, err := j.f.WriteAt(b, off); err != nil {
		return fmt.Errorf("send journal: %w", err)
	}
	return j.sync(false)
}

func (j *SendJournal) sync(full bool) error {
	if j.noSync || j.dsync && !full {
		return nil
	}
	var err error
	if full {
		err = j.f.Sync()
	} else {
		err = fdatasync(j.f)
	}
	if err != nil {
		return fmt.Errorf("send journal: %w", err)
	}
	return nil
}

// Reset empties the journal once every send in it is in the store.
func (j *SendJournal) Reset() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return ErrJournalClosed
	}
	if j.next == 0 {
		return nil
	}
	// Zeros over the records, not a truncation: the space stays written,
	// so the next records need no size synced.
	if _, err := j.f.WriteAt(make([]byte, j.next), 0); err != nil {
		return fmt.Errorf("send journal: %w", err)
	}
	if err := j.sync(false); err != nil {
		return err
	}
	j.next = 0
	return nil
}

// Close closes the file; later Appends fail with ErrJournalClosed.
func (j *SendJournal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}

// OutboundState returns outbound message id without its Spec or Raw
// bytes: what recording a send's outcome reads and PutOutbound writes,
// without decoding the message it does not need.
func (tx *Tx) OutboundState(id uint64) (*kp.Outbound, error) {
	return tx.outbound(id, false)
}
