// Command gatehouse is the Gatehouse OAuth 2.0 authorization server and its
// management tool. Run `gatehouse --help`.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// Ctrl-C or SIGTERM cancels the command's context rather than end the
	// process at once: a command then returns, and closing its node waits
	// for what must not be cut short (a refresh whose rotated token the
	// provider has already given, a backup's temporary file to remove). A
	// second signal ends the process at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	err := newRootCommand(os.Stdout, os.Stderr).ExecuteContext(ctx)
	var usage usageError
	switch {
	case errors.As(err, &usage):
		fmt.Fprintln(os.Stderr, "gatehouse:", err)
		os.Exit(2)
	case err != nil && ctx.Err() != nil:
		fmt.Fprintln(os.Stderr, "gatehouse: interrupted:", err)
		os.Exit(130)
	case err != nil:
		fmt.Fprintln(os.Stderr, "gatehouse:", err)
		os.Exit(1)
	}
}
