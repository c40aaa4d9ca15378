//go:build !linux

package main

import "time"

const startPagesDelay = time.Second

// dropExecutablePages does nothing here (see the Linux version).
func dropExecutablePages() {}
