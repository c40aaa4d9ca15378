//go:build unix

// Package proccpu reads the CPU time this process has used.
package proccpu

import (
	"syscall"
	"time"
)

// Time returns the CPU time, user and system, of every thread of this
// process (not of its children); false where it cannot be read.
func Time() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
