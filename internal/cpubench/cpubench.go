// Package cpubench reports a benchmark's CPU time per operation, for the
// benchmarks of paths that wait for the disk: with -cpu 1 their wall time
// per operation also counts the core idling while a commit's fsync is on its
// way, which the process's CPU time leaves out.
package cpubench

import (
	"syscall"
	"testing"
	"time"
)

// Report starts counting the process's CPU time (user and system) and
// returns the function that reports it per operation, as cpu-µs/op.
func Report(b *testing.B) func() {
	start := processCPU(b)
	return func() {
		b.ReportMetric(float64((processCPU(b)-start).Microseconds())/float64(b.N), "cpu-µs/op")
	}
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
