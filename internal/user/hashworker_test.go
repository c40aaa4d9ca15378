package user

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// The test binary doubles as the worker process.
const workerEnv = "GATEHOUSE_TEST_HASH_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		if err := ServeHashWorker(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func workerCommand(t *testing.T) func() *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return func() *exec.Cmd {
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), workerEnv+"=1")
		return cmd
	}
}

var testParams = Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}

// TestWorkerHashesLikeThisProcess: what the worker derives, this process
// verifies, and the reverse, from several goroutines at once.
func TestWorkerHashesLikeThisProcess(t *testing.T) {
	ctx := context.Background()
	local := NewHasher(testParams, 2)
	remote := NewHasher(testParams, 2)
	remote.UseWorkerProcess(workerCommand(t), nil)
	defer remote.Close()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pw := fmt.Sprint("password-", i)
			for _, pair := range [][2]*Hasher{{remote, local}, {local, remote}} {
				phc, err := pair[0].Hash(ctx, pw)
				if err != nil {
					t.Error(err)
					return
				}
				if ok, err := pair[1].Verify(ctx, phc, pw); err != nil || !ok {
					t.Errorf("verify %d: %v %v", i, ok, err)
				}
				if ok, _ := pair[1].Verify(ctx, phc, pw+"x"); ok {
					t.Errorf("a wrong password verified (%d)", i)
				}
			}
		}()
	}
	wg.Wait()
	if remote.worker.proc == nil {
		t.Error("no worker process ran")
	}
}

// TestWorkerFailureFallsBack: a worker that cannot start, or dies, leaves
// the hashing to this process; no sign-in fails for it.
func TestWorkerFailureFallsBack(t *testing.T) {
	ctx := context.Background()
	for name, start := range map[string]func() *exec.Cmd{
		"missing": func() *exec.Cmd { return exec.Command("/nonexistent/gatehouse") },
		"exits":   func() *exec.Cmd { return exec.Command("true") },
	} {
		t.Run(name, func(t *testing.T) {
			h := NewHasher(testParams, 1)
			h.UseWorkerProcess(start, nil)
			defer h.Close()
			for range 3 {
				phc, err := h.Hash(ctx, "password-1")
				if err != nil {
					t.Fatal(err)
				}
				if ok, err := h.Verify(ctx, phc, "password-1"); err != nil || !ok {
					t.Fatalf("verify: %v %v", ok, err)
				}
			}
		})
	}
}

// TestWorkerHoldsWhileHashing: what whileHashing gives is held from the
// first hash, through hashes one after the other, until the grace after
// the last has passed, and then released once; a hash after that holds it
// again, and Close releases it. Hashes that fall back to this process (a
// worker that dies at once) hold it too.
func TestWorkerHoldsWhileHashing(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	held, holds := 0, 0
	hold := func() func() {
		mu.Lock()
		defer mu.Unlock()
		held++
		holds++
		return func() {
			mu.Lock()
			defer mu.Unlock()
			held--
		}
	}
	state := func() (int, int) { mu.Lock(); defer mu.Unlock(); return held, holds }
	waitHeld := func(wantHeld, wantHolds int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if h, n := state(); h == wantHeld && n == wantHolds {
				return
			}
		}
		h, n := state()
		t.Fatalf("held %d (taken %d times); want %d (taken %d times)", h, n, wantHeld, wantHolds)
	}
	const grace = time.Second

	for _, c := range []struct {
		name  string
		start func() *exec.Cmd
	}{
		{"worker", workerCommand(t)},
		{"worker that dies at once", func() *exec.Cmd { return exec.Command("true") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			held, holds = 0, 0
			h := NewHasher(testParams, 2)
			h.UseWorkerProcess(c.start, hold)
			h.worker.grace = grace
			defer h.Close()
			for range 3 {
				if _, err := h.Hash(ctx, "password-1"); err != nil {
					t.Fatal(err)
				}
				if n, taken := state(); n != 1 || taken != 1 {
					t.Fatalf("right after a hash: held %d (taken %d times); want 1, taken once", n, taken)
				}
			}
			waitHeld(0, 1) // the grace passed
			if _, err := h.Hash(ctx, "password-1"); err != nil {
				t.Fatal(err)
			}
			if n, taken := state(); n != 1 || taken != 2 {
				t.Fatalf("a hash after the grace: held %d (taken %d times); want 1, taken twice", n, taken)
			}
			h.Close()
			waitHeld(0, 2)
		})
	}
}

// TestHashMemoryLimitFollowsTheLargestHash: the worker's limit holds one
// hash per slot of the most memory any request has asked for, above its
// start's memory, in place of a limit it inherited; a smaller request does
// not lower it.
func TestHashMemoryLimitFollowsTheLargestHash(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(1 << 20)) // as an inherited GOMEMLIMIT=1MiB would
	l := newHashMemoryLimit(2)
	if l.base == 0 {
		t.Fatal("the worker's start memory read as 0")
	}
	l.admit(Argon2Params{MemoryKiB: 16 << 10, Time: 1, Threads: 1})
	want := int64(l.base + 2*(16<<20) + hashLimitSlack)
	if got := debug.SetMemoryLimit(-1); got != want {
		t.Fatalf("limit after a 16 MiB hash on 2 slots: %d, want %d", got, want)
	}
	l.admit(Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1})
	if got := debug.SetMemoryLimit(-1); got != want {
		t.Fatalf("limit after a smaller hash: %d, want it kept at %d", got, want)
	}
	l.admit(Argon2Params{MemoryKiB: 19 << 10, Time: 2, Threads: 1})
	if got, want := debug.SetMemoryLimit(-1), int64(l.base+2*(19<<20)+hashLimitSlack); got != want {
		t.Fatalf("limit after a 19 MiB hash: %d, want %d", got, want)
	}
}

// TestSlotsRestWhileTheNodeIsBusy: with the worker process, a slot rests
// after a hash made while this process was busy (more than busyShare of its
// CPUs): the caller has its answer, the next hash waits. Not while it was
// idle, and never when hashing in process (its own CPU time is the hash's).
func TestSlotsRestWhileTheNodeIsBusy(t *testing.T) {
	ctx := t.Context()
	// busyFor reads a CPU clock running at share of every CPU.
	busyFor := func(share float64) func() (time.Duration, bool) {
		start := time.Now()
		return func() (time.Duration, bool) {
			return time.Duration(share * float64(runtime.GOMAXPROCS(0)) * float64(time.Since(start))), true
		}
	}
	for _, c := range []struct {
		name   string
		worker bool
		share  float64
		rests  bool
	}{
		{"worker, node busy", true, 0.9, true},
		{"worker, node at the threshold", true, busyShare * 0.9, false},
		{"worker, node idle", true, 0, false},
		{"in process, node busy", false, 0.9, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			// A hash of ~10 ms: its rest (3×) outlasts the check below.
			h := NewHasher(Argon2Params{MemoryKiB: 8 << 10, Time: 1, Threads: 1}, 1)
			if c.worker {
				h.UseWorkerProcess(workerCommand(t), nil)
				defer h.Close()
			}
			h.processCPU = busyFor(c.share)
			for i := range 3 {
				phc, err := h.Hash(ctx, "a password")
				if err != nil {
					t.Fatal(err)
				}
				// The caller's answer came; its slot is still taken only if resting.
				if resting := len(h.slots) == 1; resting != c.rests {
					t.Fatalf("hash %d: slot resting = %v, want %v", i, resting, c.rests)
				}
				if ok, err := h.Verify(ctx, phc, "a password"); err != nil || !ok {
					t.Fatalf("verify after hash %d: %v, %v (the rest must end)", i, ok, err)
				}
			}
			want := 0.0
			if c.rests {
				want = 6 // three hashes and three verifications
			}
			var m dto.Metric
			if err := h.rests.Write(&m); err != nil {
				t.Fatal(err)
			}
			if got := m.GetCounter().GetValue(); got != want {
				t.Errorf("gatehouse_password_hash_rests_total = %v, want %v", got, want)
			}
		})
	}
}

// A rest is three times the hash, up to maxHashRest: a hash the busy node
// left almost no CPU for does not hold the queue for three times as long.
func TestRestAfterIsBounded(t *testing.T) {
	for held, want := range map[time.Duration]time.Duration{
		30 * time.Millisecond:  90 * time.Millisecond,
		400 * time.Millisecond: 1200 * time.Millisecond,
		time.Second:            maxHashRest,
		10 * time.Second:       maxHashRest,
	} {
		if got := restAfter(held); got != want {
			t.Errorf("restAfter(%v) = %v, want %v", held, got, want)
		}
	}
}
