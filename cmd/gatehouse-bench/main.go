// Command gatehouse-bench is Gatehouse's load generator: it loads running
// nodes with the scenarios of docs/benchmarking.md and reports req/s and
// latency percentiles, and measures start-up time. It is a command of its
// own so that the server binary carries none of it. Run
// `gatehouse-bench --help`.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRootCommand(os.Stdout, os.Stderr).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse-bench:", err)
		os.Exit(1)
	}
}
