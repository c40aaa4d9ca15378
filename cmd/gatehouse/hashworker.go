package main

import (
	"os"
	"os/exec"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/user"
)

// hashWorkerCommand is the name of the hidden command serve starts as its
// password-hashing worker process (see user.ServeHashWorker).
const hashWorkerCommand = "hash-worker"

func newHashWorkerCommand() *cobra.Command {
	return &cobra.Command{
		Use:    hashWorkerCommand,
		Short:  "Derive password keys for a serving node (started by serve; not for use by hand)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lowerPriority()
			// Its start touched every package's code and tables, of which
			// hashing needs a sliver: give them back, as serve does.
			dropExecutablePages()
			return user.ServeHashWorker(os.Stdin, os.Stdout)
		},
	}
}

// hashWorker returns how serve starts its hash worker: this executable, or
// nil (hash in process) when it cannot be found.
func hashWorker() func() *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		return nil
	}
	return func() *exec.Cmd {
		cmd := exec.Command(exe, hashWorkerCommand)
		cmd.Stderr = os.Stderr
		// The worker reads no configuration: GATEHOUSE_* is kept from it.
		cmd.Env = []string{}
		for _, kv := range os.Environ() {
			if len(kv) < 10 || kv[:10] != "GATEHOUSE_" {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		return cmd
	}
}
