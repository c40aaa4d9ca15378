package user

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testproc"
)

// TestWorkerPeakDuringAFlood: hashes queued in the worker while others run
// (a sign-in flood) hold at most one hash's memory per slot at any time —
// the memory of a hash that has finished is collected before the next one
// takes its own, not left beside it.
func TestWorkerPeakDuringAFlood(t *testing.T) {
	ctx := context.Background()
	w := newHashWorker(workerCommand(t), nil)
	defer w.close()
	derive := func(p Argon2Params, password string) {
		if _, err := w.key(ctx, []byte(password), []byte("saltsaltsaltsalt"), p, 32); err != nil {
			t.Error(err)
		}
	}
	big := Argon2Params{MemoryKiB: 16 << 10, Time: 1, Threads: 1}
	derive(testParams, "start the worker")
	pid := w.proc.cmd.Process.Pid
	// What one hash's memory adds to the worker's peak (with -race, its
	// shadow memory too).
	started := testproc.StatusKiB(t, pid, "VmHWM")
	derive(big, "one")
	base := testproc.StatusKiB(t, pid, "VmHWM")
	block := base - started

	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() { derive(big, fmt.Sprint("flood-", i)) })
	}
	wg.Wait()
	slots := runtime.GOMAXPROCS(0) // the worker's: it inherits this process's CPUs
	grew := testproc.StatusKiB(t, pid, "VmHWM") - base
	t.Logf("one hash: +%d KiB of peak; 12 queued on %d slots: +%d KiB more", block, slots, grew)
	// base holds one hash's memory; each further slot may add one. Left
	// for the collector to find, a finished hash's memory is still there
	// when the next one takes its own: one more per slot.
	if limit := (slots-1)*block + block/2; grew > limit {
		t.Errorf("12 hashes queued on %d slots raised the worker's peak by %d KiB, want at most %d (one hash, +%d KiB, per slot)",
			slots, grew, limit, block)
	}
}
