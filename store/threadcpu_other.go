//go:build !linux

package store

import "time"

// threadCPU is unknown here (see threadcpu_linux.go).
func threadCPU() time.Duration { return 0 }
