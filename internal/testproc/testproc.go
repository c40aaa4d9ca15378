// Package testproc reads what Linux reports of a process, for tests that
// measure memory.
package testproc

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// StatusKiB is the field of /proc/<pid>/status given in kB (VmHWM, VmRSS,
// RssFile, …); it fails the test when the process or the field is missing.
func StatusKiB(t testing.TB, pid int, field string) int {
	t.Helper()
	n, err := ReadStatusKiB(pid, field)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// ReadStatusKiB is StatusKiB for a goroutine that may not fail the test.
func ReadStatusKiB(pid int, field string) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				return 0, fmt.Errorf("/proc/%d/status: %s: %v", pid, field, err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}
