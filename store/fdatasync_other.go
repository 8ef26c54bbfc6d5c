//go:build !linux

package store

import "os"

func fdatasync(f *os.File) error { return f.Sync() }

// dsyncFlag is 0 where O_DSYNC is not relied on: writes are followed by
// fdatasync (f.Sync).
const dsyncFlag = 0
