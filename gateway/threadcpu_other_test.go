//go:build !linux

package gateway

import "time"

// threadCPUTime is 0: only Linux tells a thread's CPU time.
func threadCPUTime() time.Duration { return 0 }
