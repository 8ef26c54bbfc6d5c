package store

// Generation identifies the store's committed state: it grows with every
// committed write, and two reads that see the same Generation see the
// same data. Caches of figures computed from the whole store (reports)
// are keyed by it, so they are never stale.
func (tx *Tx) Generation() uint64 {
	id := tx.tx.ID()
	if tx.tx.Writable() {
		// A write transaction's id is the one its commit will have;
		// what it has read so far is the previous state.
		id--
	}
	return uint64(id)
}
