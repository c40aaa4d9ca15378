//go:build !linux

package main

import "time"

const startPagesDelay = time.Second

// dropStartPages does nothing here (see the Linux version).
func dropStartPages() {}
