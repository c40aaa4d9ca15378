package main

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// lowerPriority puts every thread of this process in the SCHED_IDLE class
// (nice 19 where that is refused): it runs on what other processes leave,
// and a thread of the serving process that wakes up takes the CPU from it
// at once. (At nice 19 alone, a waking server thread could wait for the
// worker's time slice: the server sat 20% idle with requests queued.) On
// Linux the scheduling class and nice are per thread, and threads made
// later inherit them from the thread that makes them.
func lowerPriority() {
	tids := []int{0}
	if tasks, err := os.ReadDir("/proc/self/task"); err == nil {
		tids = tids[:0]
		for _, t := range tasks {
			if tid, err := strconv.Atoi(t.Name()); err == nil {
				tids = append(tids, tid)
			}
		}
	}
	for _, tid := range tids {
		unix.Setpriority(unix.PRIO_PROCESS, tid, 19)
		unix.SchedSetAttr(tid, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_IDLE}, 0)
	}
}
