//go:build unix

package mailmsg

import (
	"syscall"
	"testing"
	"time"

	"kontaktpunkt/internal/benchmail"
)

// BenchmarkParseBenchmail parses the benchmark mail stream (replies with
// quoted history, HTML alternatives, Norwegian charsets) and reports the
// process's CPU time per message, steadier than wall time on a busy
// machine.
func BenchmarkParseBenchmail(b *testing.B) {
	mails := benchmail.Generate(1, 1000)
	b.ReportAllocs()
	n, cpu0 := 0, cpuTime()
	for b.Loop() {
		for _, raw := range mails {
			if _, err := Parse(raw); err != nil {
				b.Fatal(err)
			}
		}
		n += len(mails)
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/1e3/float64(n), "cpu-µs/msg")
}

// BenchmarkParseCPU is BenchmarkParse with the CPU time per message.
func BenchmarkParseCPU(b *testing.B) {
	b.ReportAllocs()
	n, cpu0 := 0, cpuTime()
	for b.Loop() {
		if _, err := Parse(plain3K); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/1e3/float64(n), "cpu-µs/msg")
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
