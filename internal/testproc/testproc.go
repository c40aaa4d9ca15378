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
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatalf("/proc/%d/status: %s: %v", pid, field, err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
