// Package cpubench reports a benchmark's CPU time per operation, for the
// benchmarks of paths that wait for the disk: with -cpu 1 their wall time
// per operation also counts the core idling while a commit's fsync is on its
// way, which the process's CPU time leaves out.
package cpubench

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/proccpu"
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
	t, ok := proccpu.Time()
	if !ok {
		b.Fatal("this process's CPU time cannot be read here")
	}
	return t
}
