package main

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// lowerPriority sets the nice value of every thread of this process to 19,
// the lowest priority: on Linux nice is per thread, and threads made later
// inherit it from the thread that makes them.
func lowerPriority() {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		unix.Setpriority(unix.PRIO_PROCESS, 0, 19)
		return
	}
	for _, t := range tasks {
		if tid, err := strconv.Atoi(t.Name()); err == nil {
			unix.Setpriority(unix.PRIO_PROCESS, tid, 19)
		}
	}
}
