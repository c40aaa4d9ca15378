package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestHelpHasNoBench: the load tool is gatehouse-bench, not a command of the server.
func TestHelpHasNoBench(t *testing.T) {
	var out bytes.Buffer
	root := newRootCommand(&out, &out)
	root.SetArgs([]string{"--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "serve") || strings.Contains(out.String(), "bench") {
		t.Fatalf("gatehouse --help:\n%s", out.String())
	}
	root = newRootCommand(&out, &out)
	root.SetArgs([]string{"bench"})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("gatehouse bench: %v", err)
	}
}
