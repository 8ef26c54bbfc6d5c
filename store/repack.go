package store

import (
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// repacker packs records again, tighter than the write path can afford:
// zstd with the mail dictionary costs ~75 µs a call where S2 costs ~12,
// but on benchmail's message records it packs to 0.61 of their size
// where S2 with the same dictionary gets 0.79. compact uses it, offline.
type repacker struct {
	codec *codec
	enc   *zstd.Encoder
	rec   *zstd.Encoder // with recordDict (codecZstdRecDict)
}

func newRepacker(c *codec) (*repacker, error) {
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(false), // bbolt pages carry no checksum either; the record format checks itself
		zstd.WithWindowSize(1<<20),
		zstd.WithEncoderDictRaw(zstdDictID, []byte(mailDict)),
	)
	if err != nil {
		return nil, fmt.Errorf("zstd encoder: %w", err)
	}
	rec, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(false),
		zstd.WithWindowSize(1<<20),
		zstd.WithEncoderDictRaw(zstdRecDictID, recordDict()),
	)
	if err != nil {
		enc.Close()
		return nil, fmt.Errorf("zstd encoder: %w", err)
	}
	return &repacker{codec: c, enc: enc, rec: rec}, nil
}

func (r *repacker) close() {
	r.enc.Close()
	r.rec.Close()
}

// value returns the packed value v (a message record, a queued mail)
// packed with zstd and the mail dictionary, or the record dictionary
// (codecZstdRecDict), whichever is smallest, else v. A value that does not
// unpack is copied as it is, for check to report.
func (r *repacker) value(v []byte) []byte { return r.pack(v, true) }

// rawValue is value for raw messages, which the record dictionary does
// not fit: only the mail dictionary is tried.
func (r *repacker) rawValue(v []byte) []byte { return r.pack(v, false) }

func (r *repacker) pack(v []byte, rec bool) []byte {
	if len(v) < minCompress || v[0] == codecZstd || v[0] == codecZstdDict || v[0] == codecZstdRecDict {
		return v
	}
	p, err := r.codec.unpack(v)
	if err != nil || len(p) >= zstdFrom {
		return v
	}
	out := v
	for _, c := range []struct {
		enc   *zstd.Encoder
		codec byte
	}{{r.enc, codecZstdDict}, {r.rec, codecZstdRecDict}} {
		if c.codec == codecZstdRecDict && !rec {
			continue
		}
		if x := c.enc.EncodeAll(p, append(make([]byte, 0, len(v)), c.codec)); len(x) < len(out) {
			out = x
		}
	}
	return out
}
