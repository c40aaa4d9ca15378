// Command gatehouse is the Gatehouse OAuth 2.0 authorization server and its
// management tool. Run `gatehouse --help`.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRootCommand(os.Stdout, os.Stderr).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse:", err)
		os.Exit(1)
	}
}
