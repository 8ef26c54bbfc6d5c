package store

import (
	"os"
	"syscall"
)

// fdatasync flushes f's data (and its size, when it changed), not its
// times: cheaper than fsync for writes into space already allocated.
func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }

// dsyncFlag opens a file whose every write returns once its data is on
// stable storage (O_DSYNC): one system call, and on most disks a cheaper
// flush than a write and an fdatasync.
const dsyncFlag = syscall.O_DSYNC
