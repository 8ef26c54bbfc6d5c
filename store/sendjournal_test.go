package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSendJournal: records survive a reopen in order, a torn record is
// skipped (the ones after it count: appends run concurrently), Reset
// empties the journal, and a closed journal refuses appends.
func TestSendJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kp.db.sent")
	j, err := OpenSendJournal(path, false)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1790000000, 123)
	var want []JournaledSend
	for i := range 5 {
		want = append(want, JournaledSend{ID: uint64(i + 1), IDHash: MessageIDHash("m" + string(rune('a'+i)) + "@uio.no"), Sent: now})
	}
	if err := j.Append(want[:2]); err != nil {
		t.Fatal(err)
	}
	if err := j.Append(want[2:]); err != nil {
		t.Fatal(err)
	}
	j.Close()
	if err := j.Append(want[:1]); !errors.Is(err, ErrJournalClosed) {
		t.Fatalf("append after close = %v", err)
	}
	// A record torn by a crash in its write.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0xff}, 3*journalRecord+5); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if j, err = OpenSendJournal(path, false); err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	got, err := j.Pending()
	if err != nil || len(got) != 4 {
		t.Fatalf("pending = %d, %v; want the 4 records but the torn one", len(got), err)
	}
	for i, k := range []int{0, 1, 2, 4} {
		if got[i].ID != want[k].ID || !got[i].Matches("m"+string(rune('a'+k))+"@uio.no") || !got[i].Sent.Equal(now) {
			t.Errorf("record %d = %+v", i, got[i])
		}
	}
	if err := j.Reset(); err != nil {
		t.Fatal(err)
	}
	if got, err := j.Pending(); err != nil || len(got) != 0 {
		t.Fatalf("after reset: %d, %v", len(got), err)
	}
	if err := j.Append(want[4:]); err != nil {
		t.Fatal(err)
	}
	j2, err := OpenSendJournal(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	if got, err := j2.Pending(); err != nil || len(got) != 1 || got[0].ID != 5 {
		t.Fatalf("after reset and one append, reopened: %+v, %v", got, err)
	}
}
