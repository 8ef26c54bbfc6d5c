//go:build !windows && !plan9 && !solaris && !aix && !android

package store

import (
	"os"
	"syscall"
)

// tryLockShared takes the shared lock bbolt's readers take on f, without
// waiting; it fails while a writer holds the file.
func tryLockShared(f *os.File) bool {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB) == nil
}

// unlock releases the lock on f. Closing f alone would not while the file
// is still mapped into memory.
func unlock(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
