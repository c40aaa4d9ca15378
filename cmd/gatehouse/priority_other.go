//go:build unix && !linux

package main

import "syscall"

// lowerPriority sets this process's nice value to 19, the lowest priority.
func lowerPriority() {
	syscall.Setpriority(syscall.PRIO_PROCESS, 0, 19)
}
