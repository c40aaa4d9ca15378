// Command gatehouse is the Gatehouse OAuth 2.0 authorization server and its
// management tool. Run `gatehouse --help`.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

func main() {
	// Ctrl-C or SIGTERM cancels the command's context rather than end the
	// process at once: a command then returns, and closing its node waits
	// for what must not be cut short (a refresh whose rotated token the
	// provider has already given, a backup's temporary file to remove). A
	// second signal ends the process at once.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var caught atomic.Value // the signal that ended the command
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-signals
		caught.Store(sig)
		signal.Stop(signals)
		cancel()
	}()
	err := newRootCommand(os.Stdout, os.Stderr).ExecuteContext(ctx)
	var usage usageError
	switch {
	case errors.As(err, &usage):
		fmt.Fprintln(os.Stderr, "gatehouse:", err)
		os.Exit(2)
	case err != nil && caught.Load() != nil:
		fmt.Fprintln(os.Stderr, "gatehouse: interrupted:", err)
		os.Exit(exitStatusOf(caught.Load().(os.Signal)))
	case err != nil:
		fmt.Fprintln(os.Stderr, "gatehouse:", err)
		os.Exit(1)
	}
}

// exitStatusOf is the status of a process the signal sig ended, as shells
// report it: 128 plus the signal's number (130 for SIGINT, 143 for SIGTERM).
func exitStatusOf(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 1
}
