package store

import "syscall"

// releasePages drops this process's mappings of the store's pages, which
// a long read (listing every case) would otherwise keep: every page it
// touched, and the neighbours the kernel maps with it (fault-around, 64
// KiB per fault), stays in the process's resident set until the file is
// closed, so RSS would grow with the store. The pages stay in the page
// cache, and a later access maps them again with the same bytes: the
// mapping is read-only and shared (bbolt writes with pwrite), and a read
// transaction holds the mapping in place. Errors are ignored: releasing
// is an optimisation.
func (tx *Tx) releasePages() {
	info := tx.tx.DB().Info()
	size := tx.tx.Size()
	if info.Data == 0 || size <= 0 {
		return
	}
	syscall.Syscall(syscall.SYS_MADVISE, info.Data, uintptr(size), uintptr(syscall.MADV_DONTNEED))
}
