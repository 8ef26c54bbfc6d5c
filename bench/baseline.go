package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// boltBaseline is the ingest row's baseline: the least a store can do
// with the same Maildir. It reads every file, takes the Message-ID from
// the header, and stores the raw bytes under a sequence number and the
// Message-ID in an index, 512 messages per commit, each commit fsync'd.
func boltBaseline(path, maildir string) (proc, error) {
	cpu0, start := selfCPU(), time.Now()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return proc{}, err
	}
	defer db.Close()
	ents, err := os.ReadDir(filepath.Join(maildir, "new"))
	if err != nil {
		return proc{}, err
	}
	names := make([]string, len(ents))
	for i, d := range ents {
		names[i] = d.Name()
	}
	slices.Sort(names)
	const batch = 512
	seq := uint64(0)
	for i := 0; i < len(names); i += batch {
		err := db.Update(func(tx *bolt.Tx) error {
			raw, err := tx.CreateBucketIfNotExists([]byte("raw"))
			if err != nil {
				return err
			}
			idx, err := tx.CreateBucketIfNotExists([]byte("msgid"))
			if err != nil {
				return err
			}
			for _, name := range names[i:min(i+batch, len(names))] {
				data, err := os.ReadFile(filepath.Join(maildir, "new", name))
				if err != nil {
					return err
				}
				seq++
				key := binary.BigEndian.AppendUint64(nil, seq)
				if err := raw.Put(key, data); err != nil {
					return err
				}
				if err := idx.Put(messageID(data), key); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return proc{}, err
		}
	}
	return proc{wall: time.Since(start), cpu: selfCPU() - cpu0}, nil
}

// messageID is the Message-ID field's value in the header of raw, or the
// first 64 bytes of the message when it has none.
func messageID(raw []byte) []byte {
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for line := range bytes.SplitSeq(head, []byte("\r\n")) {
		if len(line) > 11 && bytes.EqualFold(line[:11], []byte("Message-ID:")) {
			return bytes.Trim(bytes.TrimSpace(line[11:]), "<>")
		}
	}
	return raw[:min(len(raw), 64)]
}
