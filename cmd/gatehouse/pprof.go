//go:build gatehouse_pprof

package main

// Profiling hook for performance work, compiled in only with
// `go build -tags gatehouse_pprof`: with PPROF_ADDR unset nothing
// listens; set, net/http/pprof serves on that (loopback) address. The
// released binary carries none of it. See docs/performance.md.

import (
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	addr := os.Getenv("PPROF_ADDR")
	if addr == "" {
		return
	}
	go http.ListenAndServe(addr, nil)
}
