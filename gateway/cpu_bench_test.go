//go:build unix

package gateway

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user and system) the process has used. On a
// machine shared with other work, CPU per message is a steadier measure
// than wall-clock rate, which swings with the load and the disk.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
