package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
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

// gatehouseCommand matches a command line the docs give: "gatehouse", then
// the words of a command, up to the first flag, argument or punctuation.
var gatehouseCommand = regexp.MustCompile(`\bgatehouse((?: [a-z][a-z-]*)+)`)

// TestDocumentedCommandsExist: every "gatehouse GROUP COMMAND" the README
// and docs/ name is a command of this binary (a renamed command left the
// docs naming one that printed the group's help).
func TestDocumentedCommandsExist(t *testing.T) {
	files, _ := filepath.Glob("../../docs/*.md")
	files = append(files, "../../README.md")
	var out bytes.Buffer
	root := newRootCommand(&out, &out)
	groups := map[string]bool{}
	for _, c := range root.Commands() {
		if c.HasSubCommands() {
			groups[c.Name()] = true
		}
	}
	checked := 0
	for _, file := range files {
		text, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range gatehouseCommand.FindAllStringSubmatch(string(text), -1) {
			words := strings.Fields(m[1])
			if !groups[words[0]] || len(words) < 2 {
				continue // prose ("gatehouse serves …"), or a command without subcommands
			}
			if found, _, err := root.Find(words[:2]); err != nil || found.Name() != words[1] {
				t.Errorf("%s names `gatehouse %s %s`, which is no command", filepath.Base(file), words[0], words[1])
			}
			checked++
		}
	}
	if checked < 20 {
		t.Fatalf("only %d documented commands found: the pattern no longer reads the docs", checked)
	}
}

// TestUsageErrorsSayHowToUseTheCommand: a command called wrongly — an
// argument missing or extra, an unknown flag or subcommand — fails with a
// usage error (exit status 2, as shells' tools do; 1 is a failure of the
// work) naming the command's usage line and its --help.
func TestUsageErrorsSayHowToUseTheCommand(t *testing.T) {
	for _, args := range [][]string{
		{"client", "show"},
		{"client", "show", "a", "b"},
		{"user", "list", "--colour"},
		{"client", "bogus"},
		{"bogus"},
	} {
		var out bytes.Buffer
		root := newRootCommand(&out, &out)
		root.SetArgs(args)
		err := root.Execute()
		var usage usageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), "--help") {
			t.Errorf("gatehouse %s: %v; want a usage error pointing to --help", strings.Join(args, " "), err)
		}
	}
	var out bytes.Buffer
	root := newRootCommand(&out, &out)
	root.SetArgs([]string{"client", "show"})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "CLIENT_ID") {
		t.Errorf("client show without its argument: %v; want the usage line naming CLIENT_ID", err)
	}
}
