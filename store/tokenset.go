package store

import (
	"hash/maphash"
	"sync"
	"unsafe"
)

// tokenSet collects the distinct tokens of one text in the order first
// seen: a table of indexes into list, open addressing with linear
// probing, one hash per token and no allocation once warm. TextTokens
// takes one from tokenSets and puts it back empty.
type tokenSet struct {
	seed maphash.Seed
	// slots is a power of two long, at most half full; 0 is empty, else
	// the token's hash's high 32 bits above its index in list plus 1.
	slots []uint64
	list  []string
	// arena holds the tokens' bytes, append only: list points into it.
	arena []byte
	// arenaSize is the size of a new arena block.
	arenaSize int
}

// tokenSetSlots is a warm set's table size; a larger one is dropped
// after use rather than cleared.
const tokenSetSlots = 1024

var tokenSets = sync.Pool{New: func() any {
	return &tokenSet{seed: maphash.MakeSeed(), slots: make([]uint64, tokenSetSlots)}
}}

// add adds tok unless it is there already.
func (s *tokenSet) add(tok []byte) {
	h := maphash.Bytes(s.seed, tok)
	tag := h >> 32 << 32
	mask := uint64(len(s.slots) - 1)
	i := h & mask
	for ; s.slots[i] != 0; i = (i + 1) & mask {
		if v := s.slots[i]; v&^0xffffffff == tag && s.list[uint32(v)-1] == string(tok) {
			return
		}
	}
	s.list = append(s.list, s.intern(tok))
	s.slots[i] = tag | uint64(len(s.list))
	if 2*len(s.list) > len(s.slots) {
		s.grow()
	}
}

// intern returns tok as a string in the arena.
func (s *tokenSet) intern(tok []byte) string {
	if len(tok) == 0 {
		return ""
	}
	if len(s.arena)+len(tok) > cap(s.arena) {
		s.arena = make([]byte, 0, max(len(tok), s.arenaSize))
	}
	n := len(s.arena)
	s.arena = append(s.arena, tok...)
	return unsafe.String(&s.arena[n], len(tok))
}

// grow doubles the table.
func (s *tokenSet) grow() {
	s.slots = make([]uint64, 2*len(s.slots))
	mask := uint64(len(s.slots) - 1)
	for k, t := range s.list {
		h := maphash.String(s.seed, t)
		i := h & mask
		for s.slots[i] != 0 {
			i = (i + 1) & mask
		}
		s.slots[i] = h>>32<<32 | uint64(k+1)
	}
}

// release empties s, hands its list and arena to the caller for good,
// and returns s to tokenSets.
func (s *tokenSet) release() {
	if len(s.slots) > tokenSetSlots {
		s.slots = make([]uint64, tokenSetSlots)
	} else {
		clear(s.slots)
	}
	s.list, s.arena = nil, nil
	tokenSets.Put(s)
}
