package imapintake

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	kp "kontaktpunkt"
	"kontaktpunkt/internal/dovecottest"
	"kontaktpunkt/internal/imaptest"
)

// sizedMessage returns a message of exactly size bytes, ending in a line
// end, whose header names id.
func sizedMessage(id string, size int) []byte {
	head := fmt.Sprintf("From: Kari <kari@example.org>\r\nSubject: Message %s\r\nMessage-ID: <%s@example.org>\r\n\r\n", id, id)
	b := []byte(head)
	line := "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n"
	for len(b) < size {
		b = append(b, line...)
	}
	return append(b[:size-2], "\r\n"...)
}

func headerOf(raw []byte) []byte {
	i := bytes.Index(raw, []byte("\r\n\r\n"))
	return raw[:i+4]
}

// sizeSink is a memSink that quarantines messages delivered as Oversize,
// as the gateway does, and remembers what each message came as.
type sizeSink struct {
	*memSink
	mu       sync.Mutex
	fetched  map[string]Fetched // Message-ID -> as delivered
	oversize map[string]bool
	batches  [][]int // the Raw sizes of each Deliver
}

func newSizeSink() *sizeSink {
	s := &sizeSink{memSink: newMemSink(), fetched: map[string]Fetched{}, oversize: map[string]bool{}}
	s.quarantine = func(raw []byte) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.oversize[rawMessageID(raw)]
	}
	return s
}

func (s *sizeSink) Deliver(ctx context.Context, cur kp.Cursor, msgs []Fetched) ([]Disposition, error) {
	s.mu.Lock()
	var sizes []int
	for _, m := range msgs {
		sizes = append(sizes, len(m.Raw))
	}
	s.batches = append(s.batches, sizes)
	for _, m := range msgs {
		id := rawMessageID(m.Raw)
		s.fetched[id] = m
		s.oversize[id] = m.Oversize > 0
	}
	s.mu.Unlock()
	return s.memSink.Deliver(ctx, cur, msgs)
}

// oversizeMailbox fills a mailbox through add with small messages, one of
// 300 KB and one of exactly limit bytes, and returns them by Message-ID.
func oversizeMailbox(add func([]byte)) map[string][]byte {
	msgs := map[string][]byte{}
	put := func(id string, raw []byte) {
		msgs[id+"@example.org"] = raw
		add(raw)
	}
	for i := range 4 {
		put(fmt.Sprintf("small%d", i), sizedMessage(fmt.Sprintf("small%d", i), 3_000))
	}
	put("big", sizedMessage("big", 300_000))
	put("exact", sizedMessage("exact", oversizeLimit))
	for i := 4; i < 8; i++ {
		put(fmt.Sprintf("small%d", i), sizedMessage(fmt.Sprintf("small%d", i), 3_000))
	}
	return msgs
}

const oversizeLimit = 100_000

// checkOversizeDelivery: the 300 KB message reached the sink as its header
// with its size, every other message whole.
func checkOversizeDelivery(t *testing.T, sink *sizeSink, msgs map[string][]byte) {
	t.Helper()
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for id, raw := range msgs {
		f, ok := sink.fetched[id]
		switch {
		case !ok:
			t.Errorf("%s: not delivered", id)
		case id == "big@example.org":
			if f.Oversize != int64(len(raw)) || !bytes.Equal(f.Raw, headerOf(raw)) {
				t.Errorf("%s: delivered %d bytes with Oversize %d, want its %d-byte header and size %d", id, len(f.Raw), f.Oversize, len(headerOf(raw)), len(raw))
			}
		default:
			if f.Oversize != 0 || !bytes.Equal(f.Raw, raw) {
				t.Errorf("%s: delivered %d bytes with Oversize %d, want the whole %d bytes", id, len(f.Raw), f.Oversize, len(raw))
			}
		}
	}
}

// TestPollerQuarantinesOversizeWithHeaderOnly: with a 100 KB limit a
// 300 KB message is fetched as its header only, handed on with its size
// and moved to Quarantine; a message of exactly the limit and the small
// ones around it in the same batch are fetched whole and processed.
func TestPollerQuarantinesOversizeWithHeaderOnly(t *testing.T) {
	srv := imaptest.Start(t, imaptest.Options{})
	msgs := oversizeMailbox(func(raw []byte) { srv.Append(t, "INBOX", raw) })
	proxy := imaptest.NewProxy(t, srv.Addr)
	sink := newSizeSink()
	cfg := memIMAPConfig(srv)
	cfg.Addr = proxy.Addr
	cfg.BatchSize = 20
	cfg.MaxMessageBytes = oversizeLimit
	p := NewPoller(cfg, sink, imapTestLogger(t))
	runPoller(t, p)
	waitForSink(t, sink.memSink, "all moved", func() bool {
		return srv.Count("INBOX") == 0 && srv.Count("Processed") == len(msgs)-1 && srv.Count("Quarantine") == 1
	})
	checkOversizeDelivery(t, sink, msgs)
	if sink.deliveries != 1 {
		t.Errorf("%d deliveries, want the batch in one", sink.deliveries)
	}
	whole := 0
	for id, raw := range msgs {
		if id != "big@example.org" {
			whole += len(raw)
		}
	}
	if served := proxy.Served(); served > int64(whole)+50_000 {
		t.Errorf("the server sent %d bytes for %d bytes of whole messages: the large one was fetched", served, whole)
	}
}

// TestPollerOversizeSingleBatches: the same with one message per batch, so
// batches of only an oversize message and of only whole ones are fetched.
func TestPollerOversizeSingleBatches(t *testing.T) {
	srv := imaptest.Start(t, imaptest.Options{})
	msgs := oversizeMailbox(func(raw []byte) { srv.Append(t, "INBOX", raw) })
	sink := newSizeSink()
	cfg := memIMAPConfig(srv)
	cfg.BatchSize = 1
	cfg.MaxMessageBytes = oversizeLimit
	runPoller(t, NewPoller(cfg, sink, imapTestLogger(t)))
	waitForSink(t, sink.memSink, "all moved", func() bool {
		return srv.Count("INBOX") == 0 && srv.Count("Processed") == len(msgs)-1 && srv.Count("Quarantine") == 1
	})
	checkOversizeDelivery(t, sink, msgs)
}

func TestDovecotQuarantinesOversizeWithHeaderOnly(t *testing.T) {
	srv := dovecottest.Start(t)
	cl := dialDovecot(t, srv)
	msgs := oversizeMailbox(func(raw []byte) { cl.appendMsg("INBOX", raw) })
	sink := newSizeSink()
	cfg := IMAPConfig{
		Addr: srv.TLSAddr, Security: SecurityTLS, Username: srv.Username, Password: srv.Password,
		TLSConfig: srv.TLSConfig(), BatchSize: 20, MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		MaxMessageBytes: oversizeLimit,
	}
	runPoller(t, NewPoller(cfg, sink, imapTestLogger(t)))
	waitForSink(t, sink.memSink, "all moved", func() bool {
		return cl.count("INBOX") == 0 && cl.count("Processed") == len(msgs)-1 && cl.count("Quarantine") == 1
	})
	checkOversizeDelivery(t, sink, msgs)
}

// TestPollerBatchesByBytes: with the sizes known, no batch holds more than
// BatchBytes of whole messages, except a single larger message.
func TestPollerBatchesByBytes(t *testing.T) {
	srv := imaptest.Start(t, imaptest.Options{})
	msgs := oversizeMailbox(func(raw []byte) { srv.Append(t, "INBOX", raw) })
	sink := newSizeSink()
	cfg := memIMAPConfig(srv)
	cfg.BatchSize = 20
	cfg.BatchBytes = 10_000
	cfg.MaxMessageBytes = oversizeLimit
	runPoller(t, NewPoller(cfg, sink, imapTestLogger(t)))
	waitForSink(t, sink.memSink, "all moved", func() bool {
		return srv.Count("INBOX") == 0 && srv.Count("Processed") == len(msgs)-1 && srv.Count("Quarantine") == 1
	})
	checkOversizeDelivery(t, sink, msgs)
	sink.mu.Lock()
	defer sink.mu.Unlock()
	// small0-2 | small3 and the large one's header | exact | small4-6 | small7
	want := [][]int{{3000, 3000, 3000}, {3000, len(headerOf(msgs["big@example.org"]))}, {oversizeLimit}, {3000, 3000, 3000}, {3000}}
	if fmt.Sprint(sink.batches) != fmt.Sprint(want) {
		t.Errorf("batches %v, want %v", sink.batches, want)
	}
}

func TestBatchUIDs(t *testing.T) {
	sizes := map[imap.UID]int64{1: 40, 2: 40, 3: 500, 4: 10, 5: 90, 6: 30}
	for _, tc := range []struct {
		n               int
		maxBytes, limit int64
		want            string
	}{
		{n: 10, maxBytes: 100, limit: 0, want: "[[1 2] [3] [4 5] [6 7]]"}, // 7: size unknown
		{n: 10, maxBytes: 100, limit: 200, want: "[[1 2 3 4] [5] [6 7]]"}, // 3: only its header
		{n: 2, maxBytes: 1000, limit: 0, want: "[[1 2] [3 4] [5 6] [7]]"},
		{n: 10, maxBytes: 0, limit: 0, want: "[[1 2 3 4 5 6 7]]"},
	} {
		got := fmt.Sprint(batchUIDs([]imap.UID{1, 2, 3, 4, 5, 6, 7}, sizes, tc.n, tc.maxBytes, tc.limit))
		if got != tc.want {
			t.Errorf("batchUIDs(n=%d, maxBytes=%d, limit=%d) = %s, want %s", tc.n, tc.maxBytes, tc.limit, got, tc.want)
		}
	}
}

// TestBatchSizeGrowsForABacklog: a pass that finds at least two backlog
// batches' worth fetches and delivers BacklogBatchSize at a time, when the
// sizes are known; otherwise BatchSize.
func TestBatchSizeGrowsForABacklog(t *testing.T) {
	cfg := NewPoller(IMAPConfig{BatchSize: 100}, nil, nil).cfg
	if cfg.BacklogBatchSize != 400 {
		t.Fatalf("default BacklogBatchSize %d, want 400", cfg.BacklogBatchSize)
	}
	for _, tc := range []struct {
		n     int
		sized bool
		want  int
	}{
		{n: 1, sized: true, want: 100},
		{n: 799, sized: true, want: 100},
		{n: 800, sized: true, want: 400},
		{n: 10000, sized: true, want: 400},
		{n: 10000, sized: false, want: 100}, // no sizes: nothing bounds a batch's bytes
	} {
		if got := batchSize(cfg, tc.n, tc.sized); got != tc.want {
			t.Errorf("batchSize(n=%d, sized=%v) = %d, want %d", tc.n, tc.sized, got, tc.want)
		}
	}
	if got := NewPoller(IMAPConfig{BatchSize: 100, BacklogBatchSize: 50}, nil, nil).cfg.BacklogBatchSize; got != 100 {
		t.Errorf("BacklogBatchSize below BatchSize: %d, want 100", got)
	}
}
