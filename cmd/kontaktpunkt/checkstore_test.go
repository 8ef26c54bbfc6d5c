package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
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
	ds.pageSize, ds.hwm, _ = ds.meta(t)
	meta := data[hdr:]
	if m1 := data[ds.pageSize+hdr:]; ne.Uint64(m1[48:]) > ne.Uint64(meta[48:]) {
		meta = m1
	}
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

// meta returns the page size and, from the newer meta page, the
// high-water mark and the root bucket's page.
func (ds *damagedStore) meta(t *testing.T) (pageSize, hwm, root int64) {
	t.Helper()
	f, err := os.Open(ds.db)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ne := binary.NativeEndian
	const hdr = 16
	b := make([]byte, 128)
	if _, err := f.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	pageSize = int64(ne.Uint32(b[hdr+8:]))
	m1 := make([]byte, 128)
	if _, err := f.ReadAt(m1, pageSize); err != nil {
		t.Fatal(err)
	}
	if ne.Uint64(m1[hdr+48:]) > ne.Uint64(b[hdr+48:]) {
		b = m1
	}
	return pageSize, int64(ne.Uint64(b[hdr+40:])), int64(ne.Uint64(b[hdr+16:]))
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
				// serve logs its start first; the error is one line of its own.
				var kept []string
				for _, l := range strings.Split(strings.TrimSpace(errOut), "\n") {
					if !strings.Contains(l, `msg="kontaktpunkt starting"`) {
						kept = append(kept, l)
					}
				}
				line := strings.Join(kept, "\n")
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

// While serve holds the store, check-store has serve check it.
func TestCheckStoreThroughRunningServe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out strings.Builder
	d, err := startDemo(ctx, t.TempDir(), &out, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	if _, err := d.write(demoOla, false, "Spørsmål om API", "Hei!\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.expect(ctx, "the acknowledgement", kindTo("ack", demoOla)); err != nil {
		t.Fatal(err)
	}
	db := d.srv.Config.Store.Path
	stdout, stderr, code := run(t, "", "check-store", "-db", db, "-json")
	var rep struct {
		OK       bool     `json:"ok"`
		Path     string   `json:"path"`
		Pages    int      `json:"pages"`
		Problems []string `json:"problems"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || code != 0 || !rep.OK || rep.Path != db || rep.Pages == 0 {
		t.Fatalf("check-store while serve runs: exit %d, %+v, %v: %s%s", code, rep, err, stdout, stderr)
	}
}

// startDamagedDemo starts the demo, lets it open a case, restarts the
// program with nothing that writes on its own (no outbox, no follow-ups;
// no IMAP either unless imap), then overwrites the root bucket's page of
// its store. Every transaction reads that page first, and no commit in
// flight can move it away from the damage.
func startDamagedDemo(t *testing.T, ctx context.Context, imap bool) *demo {
	t.Helper()
	var out strings.Builder
	d, err := startDemo(ctx, t.TempDir(), &out, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.close() })
	if _, err := d.write(demoOla, false, "Spørsmål om API", "Hei!\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.expect(ctx, "the acknowledgement", kindTo("ack", demoOla)); err != nil {
		t.Fatal(err)
	}
	stopServer(t, d)
	cfg := *d.srv.Config
	off := false
	cfg.SMTP.Host, cfg.FollowUp.Enabled = "", &off
	if !imap {
		cfg.IMAP.Host = ""
	}
	startServer(t, ctx, d, &cfg)
	ds := &damagedStore{db: cfg.Store.Path}
	var root int64
	ds.pageSize, _, root = ds.meta(t)
	ds.overwrite(t, root)
	return d
}

// waitStopped waits for serve to end on its damaged store with exit
// status 1 and the message.
func waitStopped(t *testing.T, ctx context.Context, d *demo) {
	t.Helper()
	select {
	case err := <-d.done:
		d.done <- nil // d.close waits for it
		var errb bytes.Buffer
		code := exitCode(err, &errb)
		if code != exitUser || !strings.Contains(errb.String(), "serve stopped") || !strings.Contains(errb.String(), "check-store -db "+d.srv.Config.Store.Path) {
			t.Errorf("serve ended with exit %d: %s", code, errb.String())
		}
	case <-ctx.Done():
		t.Fatal("serve kept running on a damaged store")
	}
}

// A store damaged while serve runs stops serve with exit status 1 once
// intake reaches the damage, instead of failing every message forever.
func TestServeStopsOnStoreDamagedWhileRunning(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d := startDamagedDemo(t, ctx, true)
	// The poller stops serve when it next reads the store: at the start
	// of its session or on this mail.
	if _, err := d.write(demoOla, false, "Et spørsmål til", "Hei igjen!\n"); err != nil {
		t.Fatal(err)
	}
	waitStopped(t, ctx, d)
}

// ingest handed to serve's socket exits 1 on serve's damaged store, not
// 75, and serve stops.
func TestIngestThroughServeOnDamagedStore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d := startDamagedDemo(t, ctx, false)
	db := d.srv.Config.Store.Path
	_, errOut, code := run(t, request1, "ingest", "-db", db, "-quiet", "-")
	if code != exitUser || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, "damaged") || !strings.Contains(errOut, "check-store -db "+db) {
		t.Errorf("ingest through serve: exit %d, want 1 and one line with the pointer: %q", code, errOut)
	}
	waitStopped(t, ctx, d)
}

// check-store -sizes prints each bucket's keys and bytes, as a table and
// as JSON.
func TestCheckStoreSizes(t *testing.T) {
	ds := newDamagedStore(t)
	out, errOut, code := run(t, "", "check-store", "-db", ds.db, "-sizes")
	if code != 0 || !strings.Contains(out, "bucket") || !regexp.MustCompile(`(?m)^\s+msg\s+[1-9]`).MatchString(out) || !strings.Contains(out, "total") {
		t.Fatalf("check-store -sizes: exit %d: %s%s", code, out, errOut)
	}
	out, errOut, code = run(t, "", "check-store", "-db", ds.db, "-sizes", "-json")
	var rep struct {
		PageSize int `json:"page_size"`
		Buckets  []struct {
			Name  string `json:"name"`
			Keys  int    `json:"keys"`
			Alloc int    `json:"total_alloc"`
		} `json:"buckets"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 || rep.PageSize == 0 || len(rep.Buckets) == 0 || rep.Buckets[0].Alloc == 0 {
		t.Fatalf("check-store -sizes -json: exit %d, %+v, %v: %s%s", code, rep, err, out, errOut)
	}
}
