package gateway

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"kontaktpunkt/store"
)

// TestPipelineIngestsAsIngestDoes: batches handed to a Pipeline, each
// parsed while the one before is written, give the results Ingest gives
// batch by batch, replies in a later batch threading into cases of an
// earlier one, and every batch's results come back in order.
func TestPipelineIngestsAsIngestDoes(t *testing.T) {
	mails := benchMails(0, 60)
	var batches [][]Item
	for i := 0; i < len(mails); i += 7 {
		var b []Item
		for j := i; j < min(i+7, len(mails)); j++ {
			b = append(b, Item{Source: fmt.Sprintf("mail-%d", j), Raw: mails[j]})
		}
		batches = append(batches, b)
	}
	open := func() *Gateway {
		st, err := store.Open(filepath.Join(t.TempDir(), "kp.db"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := st.Check(); err != nil {
				t.Errorf("store check: %v", err)
			}
			st.Close()
		})
		g, err := New(testConfig(), st, nil)
		if err != nil {
			t.Fatal(err)
		}
		g.Quiet = true
		return g
	}
	ctx := context.Background()

	var want []Result
	g := open()
	for _, b := range batches {
		res, err := g.Ingest(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, res...)
	}

	var got []Result
	p := open().Pipeline(ctx)
	for i, b := range batches {
		res, err := p.Add(b)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 && res != nil {
			t.Errorf("the first Add returned results: %v", res)
		}
		if i > 0 && len(res) != len(batches[i-1]) {
			t.Fatalf("Add of batch %d: %d results, want the %d of batch %d", i, len(res), len(batches[i-1]), i-1)
		}
		got = append(got, res...)
	}
	res, err := p.Flush()
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, res...)
	if res, err := p.Flush(); res != nil || err != nil {
		t.Errorf("a second Flush: %v, %v; want nothing", res, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pipeline results differ from Ingest's:\n got %+v\nwant %+v", got, want)
	}
	// Mail 7, in the second batch, answers mail 4 in the first.
	if got[7].Case == nil || got[4].Case == nil || *got[7].Case != *got[4].Case {
		t.Errorf("the reply in the next batch is on case %v, the request on %v", got[7].Case, got[4].Case)
	}
	stored := 0
	for _, r := range got {
		if r.Status == ResultStored {
			stored++
		}
	}
	if stored != len(mails) {
		t.Errorf("%d of %d stored", stored, len(mails))
	}
}
