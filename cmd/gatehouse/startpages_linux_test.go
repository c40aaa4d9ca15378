package main

import (
	"bufio"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testproc"
)

// TestMain doubles as the second process of TestDropStartPages: run with
// GATEHOUSE_TEST_HOLD_EXE=1, this binary maps the same executable and waits,
// as a node's hash worker or another node would.
func TestMain(m *testing.M) {
	if os.Getenv("GATEHOUSE_TEST_HOLD_EXE") == "1" {
		os.Stdout.WriteString("holding\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestDropStartPages: the executable's pages the start touched leave the
// process's RSS, also while another process maps the same executable (the
// node's hash worker, another node on the machine).
func TestDropStartPages(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	other := exec.Command(exe)
	other.Env = append(os.Environ(), "GATEHOUSE_TEST_HOLD_EXE=1")
	out, err := other.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Process.Kill(); other.Wait() })
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "holding\n" {
		t.Fatalf("helper process: %q %v", line, err)
	}

	before := testproc.StatusKiB(t, os.Getpid(), "RssFile")
	dropExecutablePages()
	after := testproc.StatusKiB(t, os.Getpid(), "RssFile")
	t.Logf("RssFile %d KiB → %d KiB", before, after)
	if before < 4<<10 {
		t.Fatalf("only %d KiB of file pages resident before: nothing to measure", before)
	}
	// What stays is the binary's writable data and the pages this test
	// touches again at once (~4 MiB either way); what goes grows with the
	// binary (4 MiB without -race, 12 with it). MADV_PAGEOUT, which skips the
	// pages the other process maps, dropped nothing here.
	if before-after < 2<<10 {
		t.Fatalf("RssFile %d KiB → %d KiB: the executable's pages stayed resident", before, after)
	}
}
