package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// damagedStore is a real store with numCases cases, closed, and the
// pages of its case records.
type damagedStore struct {
	dir, db, cfg string
	pageSize     int64
	hwm          int64   // pages in use (the file is longer: it grows ahead)
	caseRoot     int64   // the branch page over the case records
	caseLeaves   []int64 // its leaf pages, in key order
}

const numCases = 300

func newDamagedStore(t *testing.T) *damagedStore {
	t.Helper()
	ds := &damagedStore{dir: t.TempDir()}
	ds.db = filepath.Join(ds.dir, "kp.db")
	var mbox strings.Builder
	for i := 1; i <= numCases; i++ {
		fmt.Fprintf(&mbox, "From user%d@example.net Mon Nov 23 09:00:00 2026\nFrom: User %d <user%d@example.net>\nTo: integrasjon@example.org\n"+
			"Subject: Question number %d about the integration\nMessage-ID: <q%d@example.net>\nDate: Mon, 23 Nov 2026 09:00:00 +0100\n\n"+
			"Hello, this is question %d, with enough text to make the record a little longer than nothing.\n\n", i, i, i, i, i, i)
	}
	mboxPath := filepath.Join(ds.dir, "mail.mbox")
	if err := os.WriteFile(mboxPath, []byte(mbox.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := run(t, "", "ingest", "-db", ds.db, "-quiet", mboxPath); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errOut)
	}
	ds.cfg = writeFile(t, ds.dir, "kp.yaml", `contact:
  address: integrasjon@example.org
  name: Integrasjon
store:
  path: `+ds.db+`
staff:
  members:
    - {name: Kari, address: kari@example.org}
  trusted_authserv_ids: [mx.example.org]
http:
  listen: "off"
`)
	ds.findCasePages(t)
	return ds
}

// findCasePages reads bbolt's file format (internal/common in bbolt) as far
// as needed to find the pages of the "case" bucket: the newer meta page,
// the root bucket's leaf page, the bucket's branch page and its children.
func (ds *damagedStore) findCasePages(t *testing.T) {
	t.Helper()
	data, err := os.ReadFile(ds.db)
	if err != nil {
		t.Fatal(err)
	}
	ne := binary.NativeEndian
	const hdr = 16
	ds.pageSize = int64(ne.Uint32(data[hdr+8:]))
	meta := data[hdr:]
	if m1 := data[ds.pageSize+hdr:]; ne.Uint64(m1[48:]) > ne.Uint64(meta[48:]) {
		meta = m1
	}
	ds.hwm = int64(ne.Uint64(meta[40:]))
	page := func(id int64) []byte { return data[id*ds.pageSize:] }
	root := page(int64(ne.Uint64(meta[16:])))
	for i := 0; i < int(ne.Uint16(root[10:])); i++ {
		e := root[hdr+i*16:]
		pos, ksize := ne.Uint32(e[4:]), ne.Uint32(e[8:])
		if ne.Uint32(e[0:])&1 != 0 && string(e[pos:pos+ksize]) == "case" {
			ds.caseRoot = int64(ne.Uint64(e[pos+ksize:]))
		}
	}
	if ds.caseRoot == 0 {
		t.Fatal("no case bucket with pages of its own")
	}
	p := page(ds.caseRoot)
	if ne.Uint16(p[8:]) != 0x01 {
		t.Fatalf("case bucket root %d is not a branch page (flags %#x)", ds.caseRoot, ne.Uint16(p[8:]))
	}
	for i := 0; i < int(ne.Uint16(p[10:])); i++ {
		ds.caseLeaves = append(ds.caseLeaves, int64(ne.Uint64(p[hdr+i*16+8:])))
	}
}

func (ds *damagedStore) overwrite(t *testing.T, ids ...int64) {
	t.Helper()
	f, err := os.OpenFile(ds.db, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, id := range ids {
		if _, err := f.WriteAt(bytes.Repeat([]byte("\x5agarbage"), int(ds.pageSize)/8), id*ds.pageSize); err != nil {
			t.Fatal(err)
		}
	}
}

// serve runs serve on the store; it must refuse to start, so it returns
// long before the deadline that would otherwise stop it.
func (ds *damagedStore) serve(t *testing.T) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code := Run(ctx, []string{"serve", "-config", ds.cfg}, strings.NewReader(""), &out, &errb)
	if ctx.Err() != nil {
		t.Fatalf("serve ran until stopped: %s", errb.String())
	}
	return errb.String(), code
}

func TestDamagedStoreExitsOneWithPointer(t *testing.T) {
	newMail := `From: New <new@example.net>
To: integrasjon@example.org
Subject: A brand new question
Message-ID: <new@example.net>
Date: Tue, 24 Nov 2026 09:00:00 +0100

Hello.
`
	last := fmt.Sprint(numCases)
	all := []string{"ingest", "cases", "case show", "outbox", "backup"}
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, ds *damagedStore)
		cmds   []string // commands that reach the damage
		want   string
	}{
		{"truncated to half", func(t *testing.T, ds *damagedStore) {
			if err := os.Truncate(ds.db, ds.hwm*ds.pageSize/2); err != nil {
				t.Fatal(err)
			}
		}, all, "truncated"},
		{"meta pages overwritten", func(t *testing.T, ds *damagedStore) { ds.overwrite(t, 0, 1) }, all, "neither header page is valid"},
		{"branch page overwritten", func(t *testing.T, ds *damagedStore) { ds.overwrite(t, ds.caseRoot) },
			[]string{"ingest", "cases", "case show", "backup"}, "damaged"},
		{"leaf page overwritten", func(t *testing.T, ds *damagedStore) { ds.overwrite(t, ds.caseLeaves[len(ds.caseLeaves)-1]) },
			[]string{"ingest", "cases", "case show", "backup"}, "damaged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := newDamagedStore(t)
			tc.damage(t, ds)
			check := func(what, errOut string, code int) {
				t.Helper()
				if code != exitUser {
					t.Errorf("%s: exit %d, want 1: %s", what, code, errOut)
				}
				line := strings.TrimSpace(errOut)
				if strings.Contains(line, "\n") || !strings.Contains(line, tc.want) ||
					!strings.Contains(line, "check-store -db "+ds.db) || !strings.Contains(line, "backup") {
					t.Errorf("%s: want one line saying %q with a pointer to check-store and the backup, got %q", what, tc.want, errOut)
				}
			}
			for _, cmd := range tc.cmds {
				var args []string
				switch cmd {
				case "ingest":
					args = []string{"ingest", "-db", ds.db, "-", "-quiet"}
				case "case show":
					args = []string{"case", "show", last, "-db", ds.db}
				case "backup":
					args = []string{"backup", "-db", ds.db, filepath.Join(ds.dir, "backup.db")}
				default:
					args = []string{cmd, "-db", ds.db}
				}
				_, errOut, code := run(t, newMail, args...)
				check(cmd, errOut, code)
			}
			errOut, code := ds.serve(t)
			check("serve", errOut, code)
			if !strings.Contains(errOut, "serve not started") {
				t.Errorf("serve does not say it did not start: %q", errOut)
			}

			out, errOut, code := run(t, "", "check-store", "-db", ds.db)
			if code != exitUser || !strings.Contains(out, "problem") || !strings.Contains(errOut, "damaged") {
				t.Errorf("check-store: exit %d, want 1 with the problems listed:\n%s%s", code, out, errOut)
			}
			out, _, _ = run(t, "", "check-store", "-config", ds.cfg, "-json")
			var rep struct {
				OK       bool     `json:"ok"`
				Problems []string `json:"problems"`
			}
			if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.OK || len(rep.Problems) == 0 {
				t.Errorf("check-store -json: %+v, %v:\n%s", rep, err, out)
			}
		})
	}
}

func TestCheckStoreOnSoundStore(t *testing.T) {
	ds := newDamagedStore(t)
	out, errOut, code := run(t, "", "check-store", "-db", ds.db)
	if code != 0 || !strings.HasSuffix(strings.TrimSpace(out), ": ok") {
		t.Fatalf("check-store: exit %d: %s%s", code, out, errOut)
	}
	out, errOut, code = run(t, "", "check-store", "-config", ds.cfg, "-json")
	var rep struct {
		OK       bool     `json:"ok"`
		Pages    int      `json:"pages"`
		Problems []string `json:"problems"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 || !rep.OK || rep.Pages == 0 || rep.Problems == nil {
		t.Fatalf("check-store -json: exit %d, %+v, %v: %s%s", code, rep, err, out, errOut)
	}
}

// An empty file is not a store to the commands that read: they say so and
// leave it as it is. ingest may make a store of it.
func TestEmptyStoreFile(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "kp.db")
	if err := os.WriteFile(db, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"cases", "-db", db},
		{"case", "show", "1", "-db", db},
		{"outbox", "-db", db},
		{"backup", "-db", db, filepath.Join(dir, "backup.db")},
		{"check-store", "-db", db},
	} {
		_, errOut, code := run(t, "", args...)
		if code != exitUser || !strings.Contains(errOut, "not a store") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%v: exit %d, want 1 and one line saying not a store: %q", args, code, errOut)
		}
		if fi, err := os.Stat(db); err != nil || fi.Size() != 0 {
			t.Fatalf("%v changed the empty file", args)
		}
	}
	if _, errOut, code := run(t, request1, "ingest", "-db", db, "-quiet", "-"); code != 0 {
		t.Fatalf("ingest into an empty file: exit %d: %s", code, errOut)
	}
	if out, errOut, code := run(t, "", "check-store", "-db", db); code != 0 {
		t.Fatalf("check-store after ingest: exit %d: %s%s", code, out, errOut)
	}
}
