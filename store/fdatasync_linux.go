package store

import (
	"os"
	"syscall"
)

// fdatasync flushes f's data (and its size, when it changed), not its
// times: cheaper than fsync for writes into space already allocated.
func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
