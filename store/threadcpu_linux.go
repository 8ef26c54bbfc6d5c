package store

import (
	"syscall"
	"time"
)

// threadCPU returns the user and system CPU time of the calling OS
// thread (the caller locks its goroutine to it), or 0 where unknown.
// A batch's CPU time, unlike its wall time, does not grow while a
// loaded machine makes it wait for a core.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
