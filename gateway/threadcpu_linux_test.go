package gateway

import (
	"syscall"
	"time"
)

// threadCPUTime is the CPU time the calling OS thread has used, or 0
// where that cannot be read.
func threadCPUTime() time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
