package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	kp "kontaktpunkt"
)

// AuditEntry is one recorded staff or operator action.
type AuditEntry struct {
	Seq uint64    `json:"seq"`
	At  time.Time `json:"at"`
	// Actor is who acted: a staff address, "operator USER@HOST" …
	Actor string `json:"actor"`
	// Channel is how: "mail", "cli", "web", "schedule".
	Channel string `json:"channel"`
	// Action is what: a command verb, "purge", "forget", "export" …
	Action string    `json:"action"`
	Case   kp.CaseID `json:"case,omitempty"`
	// Detail says what changed, in a few words (never message text).
	Detail string `json:"detail,omitempty"`
}

func encodeAudit(a *AuditEntry) []byte {
	e := enc{b: []byte{recordFormat}}
	e.time(a.At)
	e.str(a.Actor)
	e.str(a.Channel)
	e.str(a.Action)
	e.uvarint(uint64(a.Case))
	e.str(a.Detail)
	return e.b
}

func decodeAudit(b []byte, seq uint64) (*AuditEntry, error) {
	d := dec{b: b}
	d.header("audit")
	a := &AuditEntry{Seq: seq, At: d.time(), Actor: d.str(), Channel: d.str(), Action: d.str(), Case: kp.CaseID(d.uvarint()), Detail: d.str()}
	if d.err != nil {
		return nil, fmt.Errorf("audit %d: %w", seq, d.err)
	}
	return a, nil
}

// AddAudit records a and sets a.Seq.
func (tx *Tx) AddAudit(a *AuditEntry) error {
	b := tx.b(bucketAudit)
	seq, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := b.Put(u64(seq), tx.codec.pack(encodeAudit(a), true)); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if a.Case != 0 {
		if err := tx.b(bucketAuditCase).Put(caseMsgKey(a.Case, seq), nil); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	a.Seq = seq
	return nil
}

func (tx *Tx) auditBySeq(seq uint64, v []byte) (*AuditEntry, error) {
	if v == nil {
		v = tx.b(bucketAudit).Get(u64(seq))
		if v == nil {
			return nil, fmt.Errorf("audit %d: %w", seq, ErrNotFound)
		}
	}
	p, err := tx.codec.unpack(v)
	if err != nil {
		return nil, fmt.Errorf("audit %d: %w", seq, err)
	}
	return decodeAudit(p, seq)
}

// Audit returns the audit records in order; with c != 0 only those of
// case c.
func (tx *Tx) Audit(c kp.CaseID) ([]AuditEntry, error) {
	var out []AuditEntry
	if c == 0 {
		err := tx.b(bucketAudit).ForEach(func(k, v []byte) error {
			a, err := tx.auditBySeq(binary.BigEndian.Uint64(k), v)
			if err == nil {
				out = append(out, *a)
			}
			return err
		})
		return out, err
	}
	prefix := u64(uint64(c))
	cur := tx.b(bucketAuditCase).Cursor()
	for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
		if len(k) != 16 {
			return nil, fmt.Errorf("audit_case key %x: %w", k, ErrCorrupt)
		}
		a, err := tx.auditBySeq(binary.BigEndian.Uint64(k[8:]), nil)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, nil
}

// rewriteAudit rewrites every audit record for which fn reports a change.
func (tx *Tx) rewriteAudit(fn func(a *AuditEntry) bool) (int, error) {
	type upd struct {
		key []byte
		val []byte
	}
	var ups []upd
	err := tx.b(bucketAudit).ForEach(func(k, v []byte) error {
		a, err := tx.auditBySeq(binary.BigEndian.Uint64(k), v)
		if err != nil {
			return err
		}
		if fn(a) {
			ups = append(ups, upd{bytes.Clone(k), tx.codec.pack(encodeAudit(a), true)})
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, u := range ups {
		if err := tx.b(bucketAudit).Put(u.key, u.val); err != nil {
			return 0, err
		}
	}
	return len(ups), nil
}
