//go:build !unix

// Package proccpu reads the CPU time this process has used.
package proccpu

import "time"

// Time is not read on this system: it always returns false.
func Time() (time.Duration, bool) { return 0, false }
