package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
)

// A store file can be damaged by a disk, a bad copy or a truncation. bbolt
// trusts its file: it maps it into memory and follows page numbers
// without bounds checks, so a truncated file faults (SIGBUS) and an
// overwritten page trips an assertion (a panic). This file keeps such a
// file from crashing the program:
//
//   - Open checks the header pages (both meta pages, their checksums, the
//     page size and the high-water mark) against the file size and the
//     headers of the root and freelist pages before anything else is read.
//   - Every transaction runs with memory faults turned into panics, and a
//     panic raised inside bbolt or by a fault is returned as a
//     *DamageError instead of ending the process.
//   - Check walks the page tree with bounds-checked reads of the file
//     (never through the map) before handing the file to bbolt's own
//     consistency check, which runs on a goroutine of its own where a
//     panic could not be recovered.

// ErrDamaged means the store file is damaged: truncated, overwritten or
// not a store file at all. Retrying does not help; the errors are
// *DamageError values, which say what was found.
var ErrDamaged = errors.New("store file is damaged")

// ErrNotStore means an empty file was opened for reading. An empty file is
// not a store; Open initialises one only when it may write.
var ErrNotStore = errors.New("not a store (empty file)")

// DamageError is returned when the store file is damaged. errors.Is(err,
// ErrDamaged) is true for it.
type DamageError struct {
	Path    string // the store file
	Problem string // what was found, one line
}

func (e *DamageError) Error() string { return ErrDamaged.Error() + ": " + e.Problem }

// Is makes errors.Is(err, ErrDamaged) true.
func (e *DamageError) Is(target error) bool { return target == ErrDamaged }

// bbolt's file layout (go.etcd.io/bbolt/internal/common), in the byte
// order of the machine that wrote it. Every page starts with a 16-byte
// header: page id u64, flags u16, element count u16, overflow u32.
const (
	pageHeaderSize = 16
	elementSize    = 16 // branch: pos u32, ksize u32, pgid u64; leaf: flags u32, pos u32, ksize u32, vsize u32
	metaSize       = 64 // magic, version, page size, flags u32; root u64, sequence u64; freelist, pgid, txid, checksum u64
	metaSummed     = 56 // the checksum covers the meta up to itself
	metaMagic      = 0xED0CDAED
	metaVersion    = 2

	pageBranch   = 0x01
	pageLeaf     = 0x02
	pageMeta     = 0x04
	pageFreelist = 0x10

	leafBucket = 0x01 // a leaf element whose value is a bucket header

	noFreelist = ^uint64(0)
	minPage    = 512
	maxPage    = 16 << 20 // the largest page size bbolt looks for
)

var ne = binary.NativeEndian

// meta is one decoded meta page.
type meta struct {
	page     int    // 0 or 1
	err      string // why it is not valid, "" when it is
	pageSize uint64
	root     uint64
	freelist uint64
	pgid     uint64 // high-water mark: pages in use
	txid     uint64
}

func decodeMeta(page int, b []byte) meta {
	m := meta{page: page}
	if len(b) < pageHeaderSize+metaSize {
		m.err = "cut short"
		return m
	}
	d := b[pageHeaderSize:]
	switch {
	case ne.Uint32(d[0:]) != metaMagic:
		m.err = "no store header (overwritten, or not a store file)"
		return m
	case ne.Uint32(d[4:]) != metaVersion:
		m.err = fmt.Sprintf("unknown file format version %d", ne.Uint32(d[4:]))
		return m
	}
	h := fnv.New64a()
	h.Write(d[:metaSummed])
	if h.Sum64() != ne.Uint64(d[metaSummed:]) {
		m.err = "checksum mismatch (overwritten or torn)"
		return m
	}
	m.pageSize = uint64(ne.Uint32(d[8:]))
	m.root = ne.Uint64(d[16:])
	m.freelist = ne.Uint64(d[32:])
	m.pgid = ne.Uint64(d[40:])
	m.txid = ne.Uint64(d[48:])
	return m
}

// header is what inspect learnt from a file's header pages.
type header struct {
	size     int64
	cur      meta // the meta page bbolt opens the file with
	problems []string
	fatal    bool // bbolt must not open the file
}

func (h *header) add(fatal bool, format string, args ...any) {
	h.problems = append(h.problems, fmt.Sprintf(format, args...))
	h.fatal = h.fatal || fatal
}

// inspect reads the header pages of a non-empty store file with bounds
// checks and says whether bbolt can open it safely: a valid meta page, a
// file long enough for the pages that meta page counts, and a root and
// freelist page that are what it says they are. A damaged meta page next
// to a valid one is a problem, but not fatal: bbolt writes the two in
// turn so that a commit torn by a crash leaves the previous one.
func inspect(f *os.File) header {
	var h header
	fi, err := f.Stat()
	if err != nil {
		h.add(true, "%v", err)
		return h
	}
	h.size = fi.Size()
	if h.size < pageHeaderSize+metaSize {
		h.add(true, "the file is %d bytes, too short for a store", h.size)
		return h
	}
	buf := make([]byte, pageHeaderSize+metaSize)
	read := func(off int64) []byte {
		n, _ := f.ReadAt(buf, off)
		return buf[:n]
	}
	m0 := decodeMeta(0, read(0))
	var m1 meta
	if m0.err == "" && validPageSize(m0.pageSize) {
		m1 = decodeMeta(1, read(int64(m0.pageSize)))
	} else {
		// Without page 0 the page size is unknown: look for page 1 where
		// each possible page size would put it, as bbolt does.
		m1 = meta{page: 1, err: "not found"}
		for ps := int64(minPage); ps <= maxPage && ps+pageHeaderSize+metaSize <= h.size; ps *= 2 {
			if m := decodeMeta(1, read(ps)); m.err == "" && m.pageSize == uint64(ps) {
				m1 = m
				break
			}
		}
	}
	for _, m := range []*meta{&m0, &m1} {
		if m.err == "" && !validPageSize(m.pageSize) {
			m.err = fmt.Sprintf("page size %d", m.pageSize)
		}
	}
	switch {
	case m0.err != "" && m1.err != "":
		h.add(true, "neither header page is valid (page 0: %s; page 1: %s)", m0.err, m1.err)
		return h
	case m0.err != "":
		h.cur = m1
		h.add(false, "header page 0 is damaged (%s); the store opens from page 1, transaction %d, and the next write rewrites page 0", m0.err, m1.txid)
	case m1.err != "":
		h.cur = m0
		h.add(false, "header page 1 is damaged (%s); the store opens from page 0, transaction %d, and the next write rewrites page 1", m1.err, m0.txid)
	case m1.txid > m0.txid:
		h.cur = m1
	default:
		h.cur = m0
	}
	m := h.cur
	ps := m.pageSize
	if m.pgid < 4 {
		h.add(true, "header page %d counts %d pages", m.page, m.pgid)
		return h
	}
	if uint64(h.size)/ps < m.pgid {
		h.add(true, "the file is %d bytes but its header (transaction %d) counts %d pages of %d bytes: it is truncated",
			h.size, m.txid, m.pgid, ps)
		return h
	}
	pr := pageReader{f: f, pageSize: ps, hwm: m.pgid}
	if m.root < 2 || m.root >= m.pgid {
		h.add(true, "the root page %d is outside the file's %d pages", m.root, m.pgid)
	} else if hd, err := pr.header(m.root); err != nil {
		h.add(true, "%v", err)
	} else if hd.flags != pageBranch && hd.flags != pageLeaf {
		h.add(true, "the root page %d is not a branch or leaf page (flags %#x)", m.root, hd.flags)
	}
	if m.freelist != noFreelist {
		if _, err := pr.freelist(m.freelist, false); err != nil {
			h.add(true, "%v", err)
		}
	}
	return h
}

func validPageSize(ps uint64) bool { return ps >= minPage && ps <= maxPage && ps&(ps-1) == 0 }

// pageReader reads pages of a store file with bounds checks.
type pageReader struct {
	f        *os.File
	pageSize uint64
	hwm      uint64 // pages in use
}

type pageHeader struct {
	id       uint64
	flags    uint16
	count    uint16
	overflow uint32
}

func (r *pageReader) readAt(b []byte, off uint64) error {
	n, err := r.f.ReadAt(b, int64(off))
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("reading %d bytes at %d: %w", len(b), off, err)
}

// header reads the header of page id and checks that the page is where it
// says it is and that it ends below the high-water mark.
func (r *pageReader) header(id uint64) (pageHeader, error) {
	var b [pageHeaderSize]byte
	if err := r.readAt(b[:], id*r.pageSize); err != nil {
		return pageHeader{}, fmt.Errorf("page %d: %w", id, err)
	}
	h := pageHeader{id: ne.Uint64(b[0:]), flags: ne.Uint16(b[8:]), count: ne.Uint16(b[10:]), overflow: ne.Uint32(b[12:])}
	switch {
	case h.id != id:
		return h, fmt.Errorf("page %d: its header says page %d (overwritten)", id, h.id)
	case id+uint64(h.overflow) >= r.hwm:
		return h, fmt.Errorf("page %d: its %d overflow pages run past the last page %d", id, h.overflow, r.hwm-1)
	}
	return h, nil
}

// freelist checks the freelist page id and, if withIDs, returns the free
// page ids (bbolt reads them when it opens the file for writing; a large
// file may have many).
func (r *pageReader) freelist(id uint64, withIDs bool) ([]uint64, error) {
	if id < 2 || id >= r.hwm {
		return nil, fmt.Errorf("the freelist page %d is outside the file's %d pages", id, r.hwm)
	}
	h, err := r.header(id)
	if err != nil {
		return nil, err
	}
	if h.flags != pageFreelist {
		return nil, fmt.Errorf("the freelist page %d is not a freelist page (flags %#x)", id, h.flags)
	}
	span := (uint64(h.overflow) + 1) * r.pageSize
	start, n := id*r.pageSize+pageHeaderSize, uint64(h.count)
	if h.count == 0xFFFF {
		var b [8]byte
		if err := r.readAt(b[:], start); err != nil {
			return nil, fmt.Errorf("freelist page %d: %w", id, err)
		}
		n, start = ne.Uint64(b[:]), start+8
	}
	if n > span/8 || start-id*r.pageSize+n*8 > span {
		return nil, fmt.Errorf("freelist page %d: %d entries do not fit in %d bytes", id, n, span)
	}
	if !withIDs {
		return nil, nil
	}
	b := make([]byte, n*8)
	if err := r.readAt(b, start); err != nil {
		return nil, fmt.Errorf("freelist page %d: %w", id, err)
	}
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = ne.Uint64(b[i*8:])
	}
	return ids, nil
}

// maxPageProblems caps the problems one page walk reports.
const maxPageProblems = 20

// walker checks the page tree of a store file: every page reached is
// inside the file, says it is the page it was reached as, is a branch or
// leaf page, is reached once, and holds elements that fit in it. It reads
// the first page of each tree page (one read), not the overflow pages of
// large values.
type walker struct {
	pageReader
	seen     []byte      // bitmap of pages reached
	bufs     [][]byte    // a page buffer per tree level
	elems    [][]element // an element table per tree level
	problems []string
}

func newWalker(f *os.File, pageSize, hwm uint64) *walker {
	return &walker{pageReader: pageReader{f: f, pageSize: pageSize, hwm: hwm}, seen: make([]byte, hwm/8+1)}
}

func (w *walker) add(format string, args ...any) {
	if len(w.problems) < maxPageProblems {
		w.problems = append(w.problems, fmt.Sprintf(format, args...))
	}
}

func (w *walker) full() bool { return len(w.problems) >= maxPageProblems }

// maxDepth is deeper than any tree bbolt builds: a 4 KiB branch page
// holds at least dozens of children.
const maxDepth = 64

// walk checks the tree of the root bucket and the freelist page.
func (w *walker) walk(root, freelist uint64) {
	w.tree(root, ref{elem: -1}, 0)
	if freelist == noFreelist || w.full() {
		return
	}
	ids, err := w.freelist(freelist, true)
	if err != nil {
		w.add("%v", err)
		return
	}
	for _, id := range ids {
		if id < 2 || id >= w.hwm {
			w.add("freelist page %d: free page %d is outside the file's %d pages", freelist, id, w.hwm)
			return
		}
	}
}

// ref is where a page was reached from.
type ref struct {
	page   uint64
	elem   int // -1: the root bucket
	bucket bool
}

func (r ref) String() string {
	switch {
	case r.elem < 0:
		return "the root bucket"
	case r.bucket:
		return fmt.Sprintf("the bucket in page %d element %d", r.page, r.elem)
	}
	return fmt.Sprintf("page %d element %d", r.page, r.elem)
}

// tree checks the page id, reached from from, and the pages below it.
func (w *walker) tree(id uint64, from ref, depth int) {
	if w.full() {
		return
	}
	if id < 2 || id >= w.hwm {
		w.add("page %d, reached from %s, is outside the file's %d pages", id, from, w.hwm)
		return
	}
	if depth >= maxDepth {
		w.add("page %d, reached from %s, is %d levels deep (a loop)", id, from, depth)
		return
	}
	if len(w.bufs) <= depth {
		w.bufs = append(w.bufs, make([]byte, w.pageSize))
		w.elems = append(w.elems, nil)
	}
	buf := w.bufs[depth]
	if err := w.readAt(buf, id*w.pageSize); err != nil {
		w.add("page %d: %v (reached from %s)", id, err, from)
		return
	}
	h := pageHeader{id: ne.Uint64(buf[0:]), flags: ne.Uint16(buf[8:]), count: ne.Uint16(buf[10:]), overflow: ne.Uint32(buf[12:])}
	switch {
	case h.id != id:
		w.add("page %d: its header says page %d (overwritten) (reached from %s)", id, h.id, from)
		return
	case h.flags != pageBranch && h.flags != pageLeaf:
		w.add("page %d, reached from %s, is not a branch or leaf page (flags %#x)", id, from, h.flags)
		return
	case id+uint64(h.overflow) >= w.hwm:
		w.add("page %d: its %d overflow pages run past the last page %d", id, h.overflow, w.hwm-1)
		return
	}
	for p := id; p <= id+uint64(h.overflow); p++ {
		if w.seen[p/8]&(1<<(p%8)) != 0 {
			w.add("page %d, reached from %s, is also part of another page", p, from)
			return
		}
		w.seen[p/8] |= 1 << (p % 8)
	}
	span := (uint64(h.overflow) + 1) * w.pageSize
	table := pageHeaderSize + uint64(h.count)*elementSize
	if table > span {
		w.add("page %d: %d elements do not fit in %d bytes", id, h.count, span)
		return
	}
	tb := buf
	if table > uint64(len(buf)) {
		tb = make([]byte, table)
		if err := w.readAt(tb, id*w.pageSize); err != nil {
			w.add("page %d: %v", id, err)
			return
		}
	}
	elems, ok := w.elements(id, h, tb[:table], span, w.elems[depth][:0])
	w.elems[depth] = elems
	if !ok {
		return
	}
	for i, e := range elems {
		if h.flags == pageBranch {
			w.tree(e.pgid, ref{page: id, elem: i}, depth+1)
			continue
		}
		if e.flags&leafBucket == 0 {
			continue
		}
		// A bucket: its header (root page, sequence) is the value; a
		// root of 0 means the bucket's one leaf page follows inline.
		if e.vsize < 16 {
			w.add("page %d element %d: a bucket header of %d bytes", id, i, e.vsize)
			continue
		}
		var v []byte
		if end := e.vpos + e.vsize; end <= uint64(len(buf)) {
			v = buf[e.vpos:end] // deeper levels use other buffers
		} else {
			v = make([]byte, e.vsize)
			if err := w.readAt(v, id*w.pageSize+e.vpos); err != nil {
				w.add("page %d element %d: %v", id, i, err)
				continue
			}
		}
		if r := ne.Uint64(v); r != 0 {
			w.tree(r, ref{page: id, elem: i, bucket: true}, depth+1)
			continue
		}
		w.inline(id, i, v[16:])
	}
}

type element struct {
	flags uint32
	pgid  uint64 // branch: the child page
	vpos  uint64 // leaf: offset of the value in the page
	vsize uint64
}

// elements decodes and bounds-checks the element table b of a page of
// span bytes.
func (w *walker) elements(id uint64, h pageHeader, b []byte, span uint64, out []element) ([]element, bool) {
	if cap(out) < int(h.count) {
		out = make([]element, h.count)
	}
	out = out[:h.count]
	for i := range out {
		eo := uint64(pageHeaderSize + i*elementSize)
		d := b[eo:]
		var e element
		var end uint64
		if h.flags == pageBranch {
			pos, ksize := uint64(ne.Uint32(d[0:])), uint64(ne.Uint32(d[4:]))
			e.pgid = ne.Uint64(d[8:])
			end = eo + pos + ksize
		} else {
			e.flags = ne.Uint32(d[0:])
			pos, ksize, vsize := uint64(ne.Uint32(d[4:])), uint64(ne.Uint32(d[8:])), uint64(ne.Uint32(d[12:]))
			e.vpos, e.vsize = eo+pos+ksize, vsize
			end = e.vpos + vsize
		}
		if end > span {
			w.add("page %d element %d: runs to byte %d of a %d-byte page", id, i, end, span)
			return nil, false
		}
		out[i] = e
	}
	return out, true
}

// inline checks a bucket stored inline in a leaf value: a leaf page
// header and elements within the value, and no buckets inside.
func (w *walker) inline(id uint64, i int, p []byte) {
	if len(p) < pageHeaderSize {
		w.add("page %d element %d: inline bucket of %d bytes", id, i, len(p))
		return
	}
	h := pageHeader{flags: ne.Uint16(p[8:]), count: ne.Uint16(p[10:])}
	table := pageHeaderSize + uint64(h.count)*elementSize
	if h.flags != pageLeaf || table > uint64(len(p)) {
		w.add("page %d element %d: inline bucket is not a leaf page (flags %#x, %d elements in %d bytes)", id, i, h.flags, h.count, len(p))
		return
	}
	elems, ok := w.elements(id, h, p[:table], uint64(len(p)), nil)
	if !ok {
		return
	}
	for j, e := range elems {
		if e.flags&leafBucket != 0 {
			w.add("page %d element %d: inline bucket holds a bucket (element %d)", id, i, j)
			return
		}
	}
}

// damagePanic is what the store panics with on finding its file damaged
// inside a transaction (a missing bucket); guard turns it into a
// *DamageError.
type damagePanic string

// guard runs fn, turning memory faults into panics, and returns a panic
// that a damaged file explains as a *DamageError: one raised inside bbolt
// (its assertions on page ids and types), a fault reading the memory map
// (a page past the end of the file), or a damagePanic. Any other panic is
// a bug elsewhere and goes on.
func guard(path string, fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if p := damageFromPanic(r); p != "" {
			err = &DamageError{Path: path, Problem: p}
			return
		}
		panic(r)
	}()
	return fn()
}

// DamageFromPanic explains a panic recovered while a transaction of the
// store at path was in use: a *DamageError when the damaged file caused it
// (a bbolt assertion, a fault reading the memory map), else nil. Callers
// that recover panics of their own inside a transaction must call it from
// the deferred function that recovered, and let damage end the work.
func DamageFromPanic(path string, r any) error {
	if p := damageFromPanic(r); p != "" {
		return &DamageError{Path: path, Problem: p}
	}
	return nil
}

// damageFromPanic explains a recovered panic value as damage, or returns
// "" when the panic is not the file's doing. It must be called by the
// deferred function that recovered, so that the panicking frames are
// still on the stack.
func damageFromPanic(r any) string {
	if d, ok := r.(damagePanic); ok {
		return string(d)
	}
	if e, ok := r.(interface{ Addr() uintptr }); ok {
		return fmt.Sprintf("reading the file faulted at address %#x (%v): a page lies past the end of the file or is overwritten", e.Addr(), r)
	}
	if panickedIn(1, "go.etcd.io/bbolt") {
		return fmt.Sprintf("bbolt: %v", r)
	}
	return ""
}

// panickedIn says whether the function that panicked, the first frame
// below runtime.gopanic that is not in the runtime, is in package pkg (or
// below it).
func panickedIn(skip int, pkg string) bool {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(skip, pcs)])
	afterPanic := false
	for {
		f, more := frames.Next()
		switch {
		case f.Function == "runtime.gopanic":
			afterPanic = true
		case afterPanic && !strings.HasPrefix(f.Function, "runtime."):
			return strings.HasPrefix(f.Function, pkg+".") || strings.HasPrefix(f.Function, pkg+"/")
		}
		if !more {
			return false
		}
	}
}
