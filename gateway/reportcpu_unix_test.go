//go:build unix

package gateway

import "testing"

// reportCPU reports the CPU time per operation of the loop run by f.
func reportCPU(b *testing.B, f func()) {
	start := cpuTime()
	n := 0
	for b.Loop() {
		f()
		n++
	}
	if n > 0 {
		b.ReportMetric(float64(cpuTime()-start)/float64(n), "cpu-ns/op")
	}
}
