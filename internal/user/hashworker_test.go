package user

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
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
	remote.UseWorkerProcess(workerCommand(t))
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
			h.UseWorkerProcess(start)
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
