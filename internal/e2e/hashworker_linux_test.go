package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"runtime"
	"sync"
	"testing"
	"time"

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

// TestSignInsGiveWayWhileTheNodeIsBusy: the real node's hash slots rest
// after a hash made while the node was busy with other requests, so that
// sign-ins do not slow its token requests (user.Hasher, busyShare). An idle
// node's sign-ins never rest. The node runs on one CPU (GOMAXPROCS=1), as
// when pinned, so that this test's own load is the node's business.
func TestSignInsGiveWayWhileTheNodeIsBusy(t *testing.T) {
	bin := buildBinary(t)
	addr := freeAddr(t)
	startServe(t, bin, t.TempDir(), addr, "GATEHOUSE_ADMIN_PASSWORD=admin-password-123", "GOMAXPROCS=1")
	e := &env{t: t, base: "http://" + addr}
	rests := func() float64 {
		t.Helper()
		return metricValue(t, e.base+"/metrics", "gatehouse_password_hash_rests_total")
	}
	for range 3 {
		if p := e.newBrowser().signIn("admin", "admin-password-123"); p.status != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", p.status)
		}
	}
	if n := rests(); n != 0 {
		t.Fatalf("an idle node's sign-ins rested %v times, want 0", n)
	}

	// Load: sign-in pages from 8 connections, bounded in time.
	ctx, stop := context.WithTimeout(t.Context(), 30*time.Second)
	defer stop()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.base+"/login", nil)
				if resp, err := http.DefaultClient.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		})
	}
	signedIn := 0
	for ctx.Err() == nil && rests() == 0 {
		if p := e.newBrowser().signIn("admin", "admin-password-123"); p.status != http.StatusSeeOther {
			t.Fatalf("sign-in under load: %d", p.status)
		}
		signedIn++
	}
	stop()
	wg.Wait()
	if n := rests(); n == 0 {
		t.Fatalf("%d sign-ins while the node served 8 busy connections: no hash slot rested", signedIn)
	}
	t.Logf("rested after %d sign-ins under load", signedIn)
}
