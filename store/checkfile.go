package store

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Report is what CheckFile found in a store file.
type Report struct {
	Path        string   `json:"path"`
	Size        int64    `json:"size"`
	PageSize    uint64   `json:"page_size,omitempty"`
	Pages       uint64   `json:"pages,omitempty"`       // pages in use (the high-water mark)
	Transaction uint64   `json:"transaction,omitempty"` // the last committed transaction
	Problems    []string `json:"problems"`              // empty when the store is sound
}

// OK says whether no problem was found.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// CheckFile checks the store file at path without writing to it: its
// header pages, its page tree, bbolt's consistency check and the store's
// own indexes (Check). Damage is reported in the Report, not as an error;
// the error is for a file that cannot be checked: missing, empty
// (ErrNotStore), held by a writer (ErrInUse) or of a schema version this
// program cannot read (ErrSchema).
func CheckFile(path string) (*Report, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Size() == 0 {
		return nil, fmt.Errorf("checking %s: %w", path, ErrNotStore)
	}
	st, openErr := Open(path, Options{ReadOnly: true})
	if openErr == nil {
		defer st.Close()
		return st.CheckReport(), nil
	}
	if !errors.Is(openErr, ErrDamaged) {
		return nil, openErr
	}
	// Open refused the file: say why as precisely as the pages allow.
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := inspect(f)
	r := &Report{Path: path, Size: h.size, Problems: h.problems}
	if h.cur.pageSize != 0 {
		r.PageSize, r.Pages, r.Transaction = h.cur.pageSize, h.cur.pgid, h.cur.txid
	}
	if !h.fatal {
		w := newWalker(f, h.cur.pageSize, h.cur.pgid)
		w.walk(h.cur.root, h.cur.freelist)
		r.Problems = append(r.Problems, w.problems...)
	}
	if len(r.Problems) == 0 {
		var d *DamageError
		errors.As(openErr, &d)
		r.Problems = append(r.Problems, d.Problem)
	}
	return r, nil
}

// CheckReport checks the open store as CheckFile does, on one snapshot,
// while other transactions go on.
func (s *Store) CheckReport() *Report {
	r := &Report{Path: s.path, Problems: []string{}}
	for _, e := range s.check(r) {
		r.Problems = append(r.Problems, e.Error())
	}
	return r
}

// preflight checks the header pages of the file at path, if it exists,
// is not empty and no writer holds it, and returns a *DamageError when
// bolt must not open it.
func preflight(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil // bolt creates it, or says why it cannot
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() == 0 || !tryLockShared(f) {
		return nil
	}
	defer unlock(f)
	if h := inspect(f); h.fatal {
		return &DamageError{Path: path, Problem: strings.Join(h.problems, "; ")}
	}
	return nil
}

// diagnose explains why bolt could not open the file at path, from its
// header pages, or returns nil when they look sound.
func diagnose(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if h := inspect(f); h.fatal {
		return &DamageError{Path: path, Problem: strings.Join(h.problems, "; ")}
	}
	return nil
}
