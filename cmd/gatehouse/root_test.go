package main

import (
	"bytes"
	"encoding/json"
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

// TestGroupsRefuseUnknownCommands: a command of subcommands shows its help
// alone, and fails on a subcommand it does not have, as the root does.
func TestGroupsRefuseUnknownCommands(t *testing.T) {
	for _, name := range []string{"client", "user", "mailserver", "integration"} {
		var out bytes.Buffer
		root := newRootCommand(&out, &out)
		root.SetArgs([]string{name, "bogus"})
		if err := root.Execute(); err == nil || !strings.Contains(err.Error(), `unknown command "bogus"`) {
			t.Errorf("gatehouse %s bogus: %v", name, err)
		}
		out.Reset()
		root = newRootCommand(&out, &out)
		root.SetArgs([]string{name})
		if err := root.Execute(); err != nil || !strings.Contains(out.String(), "Available Commands") {
			t.Errorf("gatehouse %s: %v\n%s", name, err, out.String())
		}
	}
}

// TestKeygenJSON: --json holds for keygen too: one member, the key.
func TestKeygenJSON(t *testing.T) {
	var out bytes.Buffer
	root := newRootCommand(&out, &out)
	root.SetArgs([]string{"keygen", "--json"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	var got struct {
		SecretKey string `json:"secret_key"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil || len(got.SecretKey) != 44 {
		t.Fatalf("keygen --json printed %q (%v)", out.String(), err)
	}
}
