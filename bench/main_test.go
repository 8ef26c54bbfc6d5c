package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
)

// TestSmallRunPrintsEveryRow runs every row but the large ones on a few
// messages: the harness works, not how fast anything is. It builds the
// program and starts Dovecot, so it is opt-in: KP_BENCH_SMOKE=1.
func TestSmallRunPrintsEveryRow(t *testing.T) {
	if os.Getenv("KP_BENCH_SMOKE") == "" {
		t.Skip("set KP_BENCH_SMOKE=1 to run the benchmark harness on a few messages")
	}
	var out bytes.Buffer
	o := options{n: 60, mails: 80, seed: 1, only: "ingest,size,imap,outbox,start,followup"}
	if err := run(o, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	t.Log(out.String())
	if strings.Contains(out.String(), "FAILED") {
		t.Errorf("a row failed:\n%s", out.String())
	}
	for _, row := range strings.Split(o.only, ",") {
		if !strings.Contains(out.String(), "| "+row+" |") {
			t.Errorf("no %s row in the table", row)
		}
	}
}
