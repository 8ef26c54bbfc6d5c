// Package mailfile reads mail for `kontaktpunkt ingest` (docs/behaviour.md, From mailbox to store)
// from files, mbox files, Maildir folders, folder trees and standard input. A
// message over the size limit is read past, never held whole (oversize.go).
package mailfile

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"kontaktpunkt/mailbox/mailmsg"
)

// Source is one message read by ReadSources.
type Source struct {
	// Name says where the message came from: the file path, or "-" for
	// standard input; "path#n" or "-#n" is the n-th message (from 1) of an
	// mbox holding more than one.
	Name string
	// Raw is the message. A single-message file is kept byte for byte; a
	// message from an mbox loses its From_ separator line and the blank
	// line before the next one, and ">From " quoting is undone.
	Raw []byte
	// Oversize is non-zero for a message larger than the limit given to
	// ReadSourcesLimit: its size in bytes. Raw then holds only its header
	// (see HeaderPart); the rest was read past and never held.
	Oversize int64
}

// ReadSources calls fn for every message at paths, in order. A path is:
//
//   - "-": standard input, one message or an mbox;
//   - a Maildir (a folder with cur/ and new/): the messages of both, sorted
//     by file name (Maildir names start with the delivery time); tmp/ and
//     dotfiles are skipped;
//   - any other folder: walked recursively in name order, skipping dotfiles
//     and dot-folders (so Maildir++ subfolders such as .Sent are not read),
//     not following symbolic links to folders; a Maildir inside is read as
//     one;
//   - any other file: an mbox if its first line is an mbox From_ line
//     ("From sender date"), otherwise one message kept byte for byte.
//
// An mbox is split at From_ lines that follow a blank line; the blank line
// belongs to the separator. ">From " quoting is undone the mboxrd way (one
// '>' is removed from any line matching ^>+From ), which also reads mboxo.
// A file with a single From_ line (a message saved with its envelope line)
// is a one-message mbox: the From_ line is removed and the message is
// named by the path alone. mbox files are streamed: only the message at
// hand is held in memory, so a large archive never is whole.
//
// An error from fn stops the walk and is returned as it is; read errors
// are wrapped with the path.
func ReadSources(paths []string, stdin io.Reader, fn func(Source) error) error {
	return ReadSourcesLimit(paths, stdin, 0, fn)
}

// ReadSourcesLimit is ReadSources holding no message of more than limit
// bytes (0: no limit). Reading a message stops at the limit: one larger is
// handed to fn with only its header in Raw and its size in Oversize, and
// the walk goes on. A single-message file or standard input redirected
// from a file is known to be too large from its size, so only its header
// is ever read into memory; otherwise up to limit bytes are.
func ReadSourcesLimit(paths []string, stdin io.Reader, limit int64, fn func(Source) error) error {
	sr := &sourceReader{limit: limit, fn: fn}
	for _, p := range paths {
		if p == "-" {
			if stdin == nil {
				return fmt.Errorf("reading standard input: no input")
			}
			if err := sr.readStream(bufio.NewReaderSize(stdin, 64<<10), "-", remaining(stdin)); err != nil {
				return err
			}
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("reading mail: %w", err)
		}
		if fi.IsDir() {
			err = sr.readDir(p)
		} else {
			err = sr.readFile(p)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// sourceError marks errors of reading input, so they can be told from fn's
// errors, which pass through unwrapped.
type sourceError struct {
	name string
	err  error
}

func (e *sourceError) Error() string { return "reading " + e.name + ": " + e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

// sourceReader carries the size limit and the callback through a walk,
// and one read buffer for all its files: a Maildir of small messages
// would otherwise allocate (and zero) 64 KiB for each.
type sourceReader struct {
	limit int64
	fn    func(Source) error
	br    *bufio.Reader
}

// remaining returns how many bytes are left to read in r when it is a
// regular file, else 0.
func remaining(r io.Reader) int64 {
	f, ok := r.(*os.File)
	if !ok {
		return 0
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return 0
	}
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil || off > fi.Size() {
		return 0
	}
	return fi.Size() - off
}

func (sr *sourceReader) readFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("reading mail: %w", err)
	}
	defer f.Close()
	// readStream copies what it keeps, so the buffer is free again when
	// it returns.
	if sr.br == nil {
		sr.br = bufio.NewReaderSize(f, 64<<10)
	} else {
		sr.br.Reset(f)
	}
	return sr.readStream(sr.br, path, remaining(f))
}

// readStream reads one message or an mbox from r; size is the length of
// r's input when known, else 0. A single message is read into one buffer
// of its size.
func (sr *sourceReader) readStream(r *bufio.Reader, name string, size int64) error {
	first, err := r.ReadBytes('\n')
	if err != nil && err != io.EOF {
		return &sourceError{name, err}
	}
	if !isMboxFromLine(first) {
		raw, oversize, err := readUpTo(r, first, size, sr.limit)
		if err != nil {
			return &sourceError{name, err}
		}
		return sr.fn(Source{Name: name, Raw: raw, Oversize: oversize})
	}
	return sr.readMbox(r, name)
}

// readMbox splits an mbox whose first From_ line has been read. The first
// message is held back until a second separator shows whether the file
// holds more than one, which decides its name.
//
// A message growing past the size limit is cut to its header part; the
// rest of it is only counted.
func (sr *sourceReader) readMbox(r *bufio.Reader, name string) error {
	fn := sr.fn
	var (
		cur       []byte
		size      int64 // bytes of the message, held in cur or not
		lastLen   int   // length of the last line read
		prevBlank bool  // the last line read is blank
		over      bool  // past the limit: cur is the header part
		n         int
		pending   *Source
	)
	emit := func() error {
		raw := cur
		var oversize int64
		if prevBlank {
			size -= int64(lastLen)
			if !over {
				raw = raw[:len(raw)-lastLen]
			}
		}
		if over {
			oversize = size
		}
		cur, size, lastLen, prevBlank, over = nil, 0, 0, false, false
		n++
		switch n {
		case 1:
			pending = &Source{Raw: raw, Oversize: oversize}
			return nil
		case 2:
			pending.Name = name + "#1"
			if err := fn(*pending); err != nil {
				return err
			}
			pending = nil
		}
		return fn(Source{Name: name + "#" + strconv.Itoa(n), Raw: raw, Oversize: oversize})
	}
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			if prevBlank && isMboxFromLine(line) {
				if err := emit(); err != nil {
					return err
				}
			} else {
				line = mboxUnquote(line)
				size += int64(len(line))
				lastLen = len(line)
				prevBlank = mboxBlankLine(line)
				if !over {
					cur = append(cur, line...)
					// A blank line may be the separator, not the message's.
					if sr.limit > 0 && size > sr.limit && !(prevBlank && size-int64(lastLen) <= sr.limit) {
						cur, over = mailmsg.HeaderPart(cur), true
					}
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return &sourceError{name, err}
		}
	}
	if err := emit(); err != nil {
		return err
	}
	if pending != nil {
		pending.Name = name
		return fn(*pending)
	}
	return nil
}

// mboxFromRE matches an mbox separator: "From ", the envelope sender, and a
// date with a time of day or a year, as in "From MAILER-DAEMON Fri Jul  8
// 12:08:34 2011" or Thunderbird's "From - Sat Jan  3 01:05:34 1996". The
// date requirement keeps a header-less "From here on…" from counting.
var mboxFromRE = regexp.MustCompile(`^From \S+ +\S.*(\d{1,2}:\d{2}|\d{4})`)

func isMboxFromLine(line []byte) bool {
	if !bytes.HasPrefix(line, []byte("From ")) {
		return false
	}
	if len(line) > 1000 {
		line = line[:1000]
	}
	return mboxFromRE.Match(bytes.TrimRight(line, "\r\n"))
}

func mboxBlankLine(line []byte) bool {
	return len(line) == 1 && line[0] == '\n' || len(line) == 2 && line[0] == '\r' && line[1] == '\n'
}

// mboxUnquote removes one '>' from a line matching ^>+From (mboxrd).
func mboxUnquote(line []byte) []byte {
	i := 0
	for i < len(line) && line[i] == '>' {
		i++
	}
	if i > 0 && bytes.HasPrefix(line[i:], []byte("From ")) {
		return line[1:]
	}
	return line
}

func isSourceDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

func (sr *sourceReader) readDir(dir string) error {
	if isSourceDir(filepath.Join(dir, "cur")) && isSourceDir(filepath.Join(dir, "new")) {
		return sr.readMaildir(dir)
	}
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return fmt.Errorf("reading mail: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		switch {
		case e.IsDir():
			err = sr.readDir(p)
		case e.Type().IsRegular() || isSymlinkToFile(e, p):
			err = sr.readFile(p)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// isSymlinkToFile follows a symbolic link to a regular file; links to
// folders are not followed, so a walk cannot loop.
func isSymlinkToFile(e fs.DirEntry, path string) bool {
	if e.Type()&fs.ModeSymlink == 0 {
		return false
	}
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

func (sr *sourceReader) readMaildir(dir string) error {
	type entry struct{ name, path string }
	var files []entry
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			return fmt.Errorf("reading Maildir: %w", err)
		}
		for _, e := range entries {
			p := filepath.Join(dir, sub, e.Name())
			if strings.HasPrefix(e.Name(), ".") || !(e.Type().IsRegular() || isSymlinkToFile(e, p)) {
				continue
			}
			files = append(files, entry{e.Name(), p})
		}
	}
	sort.SliceStable(files, func(i, j int) bool { return files[i].name < files[j].name })
	for _, f := range files {
		if err := sr.readFile(f.path); err != nil {
			return err
		}
	}
	return nil
}
