package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testproc"
	"github.com/gatehouse/gatehouse/internal/user"
)

// TestHashWorkerGivesBackItsStartPages: the real binary's hash worker
// (`gatehouse hash-worker`, which serve starts for sign-ins) keeps only the
// executable pages hashing uses, not the ~16 MiB of code and tables that
// starting the binary touched.
func TestHashWorkerGivesBackItsStartPages(t *testing.T) {
	_, pid := hasherWithRealWorker(t, user.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}, 1)
	fileKiB := testproc.StatusKiB(t, pid, "RssFile")
	t.Logf("hash worker: RssFile %d KiB", fileKiB)
	// Measured: 6.9 MiB after a sign-in flood, 16.3 MiB with the start's
	// pages kept.
	if fileKiB > 10<<10 {
		t.Errorf("hash worker: RssFile %d KiB, want at most 10 MiB (the start's pages given back)", fileKiB)
	}
}

// TestHashWorkerPeakDuringSignInFloods: in the real binary's worker,
// sign-in floods (more hashes queued than it has slots, in bursts with its
// memory given back between them) hold at most one hash's memory per slot
// at any time. A finished hash's memory must be reused or given back before
// the next one takes its own, not left resident beside it. The worker is
// the binary as shipped: a -race build's shadow memory is never given back,
// so the test binary itself could not show what the worker holds.
func TestHashWorkerPeakDuringSignInFloods(t *testing.T) {
	const floods, queued = 6, 12
	big := user.Argon2Params{MemoryKiB: 16 << 10, Time: 1, Threads: 1}
	h, pid := hasherWithRealWorker(t, big, queued)
	ctx := context.Background()
	base := testproc.StatusKiB(t, pid, "VmHWM") // the start and one hash
	for round := range floods {
		var wg sync.WaitGroup
		for i := range queued {
			wg.Go(func() {
				if _, err := h.Hash(ctx, fmt.Sprint("flood-", round, "-", i)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	slots := runtime.GOMAXPROCS(0) // the worker's: it inherits this process's CPUs
	block := int(big.MemoryKiB)
	grew := testproc.StatusKiB(t, pid, "VmHWM") - base
	t.Logf("%d floods of %d hashes on %d slots: peak +%d KiB over one hash's (%d KiB)", floods, queued, slots, grew, block)
	// Each further slot may add one hash's memory; half a hash more is
	// the runtime's own (goroutines, buffers, a collection's work).
	if limit := (slots-1)*block + block/2; grew > limit {
		t.Errorf("sign-in floods raised the worker's peak by %d KiB, want at most %d (one hash, %d KiB, per further slot)", grew, limit, block)
	}
}

// hasherWithRealWorker returns a Hasher whose hashes the real binary's
// worker (`gatehouse hash-worker`) makes, already started by one hash that
// it checks verifies, and the worker's process ID. The Hasher is closed
// when the test ends.
func hasherWithRealWorker(t *testing.T, p user.Argon2Params, concurrency int) (*user.Hasher, int) {
	t.Helper()
	bin := buildBinary(t)
	var worker *exec.Cmd
	h := user.NewHasher(p, concurrency)
	h.UseWorkerProcess(func() *exec.Cmd {
		worker = exec.Command(bin, "hash-worker")
		return worker
	}, nil)
	t.Cleanup(h.Close)
	ctx := context.Background()
	phc, err := h.Hash(ctx, "a password")
	if err != nil {
		t.Fatal(err)
	}
	if worker == nil || worker.Process == nil {
		t.Fatal("the hash was not made by a worker process")
	}
	if ok, err := h.Verify(ctx, phc, "a password"); err != nil || !ok {
		t.Fatalf("the worker's hash does not verify: %v %v", ok, err)
	}
	return h, worker.Process.Pid
}
