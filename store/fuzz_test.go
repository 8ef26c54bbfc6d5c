package store

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	kp "kontaktpunkt"
)

// FuzzDecode feeds arbitrary bytes to every decoder of stored values: a
// damaged file must give ErrCorrupt, never a panic or a huge allocation.
func FuzzDecode(f *testing.F) {
	c, err := newCodec()
	if err != nil {
		f.Fatal(err)
	}
	defer c.close()
	m := fullMessage("seed@example.no", 3)
	f.Add(encodeMessage(m))
	f.Add(encodeCase(&kp.Case{ID: 1, Status: kp.StatusOpen, Subject: "x", Next: &kp.FollowUp{Kind: kp.FollowTriage, Due: t0}}))
	f.Add(encodeCase(&kp.Case{ID: 2, Status: kp.StatusWaiting, Counterparts: []kp.CounterpartRef{{Team: "fs", Addr: "rt@uio.no", System: "rt", Ref: "[rt.uio.no #4711]"}}}))
	f.Add(encodeOutbound(&kp.Outbound{ID: 1, To: []string{"a@b"}, State: kp.OutQueued, NextTry: t0}))
	f.Add(c.pack(encodeMessage(m), true))
	f.Add(c.pack(bytes.Repeat([]byte("Received: from x\r\n"), 5000), true))
	f.Add(idEntry{seq: 1, cas: 2, outID: 3, rawLen: 4, rawOff: 5}.encode())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeMessage(b, 1)
		decodeCase(b, 1)
		decodeOutbound(b, 1)
		decodeIDEntry(b)
		readT12(b)
		if p, err := c.unpack(b); err == nil && len(p) > maxDecoded {
			t.Fatalf("unpacked %d bytes", len(p))
		}
	})
}

// FuzzMessageRoundTrip checks that any message record decodes to what
// was encoded.
func FuzzMessageRoundTrip(f *testing.F) {
	c, err := newCodec()
	if err != nil {
		f.Fatal(err)
	}
	defer c.close()
	f.Add("id@x", "Emne æøå", "tekst", "kari@example.no", int64(1700000000), 3600, true)
	f.Add("", "", "", "", int64(-1), 0, false)
	f.Fuzz(func(t *testing.T, id, subject, text, from string, sec int64, off int, outsider bool) {
		if off < -86400 || off > 86400 {
			off = 0
		}
		m := &kp.Message{ID: id, Subject: subject, Text: text, From: kp.Address{Addr: from}, Outsider: outsider,
			Date: time.Unix(sec, 0).In(time.FixedZone("", off)), Seq: 9}
		p, err := c.unpack(c.pack(encodeMessage(m), true))
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeMessage(p, 9)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Date.Equal(m.Date) {
			t.Fatalf("date %v, want %v", got.Date, m.Date)
		}
		got.Date = m.Date
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("got %+v, want %+v", got, m)
		}
	})
}
