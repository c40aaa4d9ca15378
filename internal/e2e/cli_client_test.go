package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// `client create --introspect-any` marks a resource server that may
// introspect every application's tokens; without it an application may
// introspect only its own. (No CLI command edits an application.)
func TestCLIClientCreateIntrospectAny(t *testing.T) {
	bin := buildBinary(t)
	dir := migratedDir(t, bin)
	create := func(extra ...string) (id string, introspectAny bool) {
		t.Helper()
		args := append([]string{"client", "create", "--name", "Mail server " + strings.Join(extra, " "), "--grant", "client_credentials", "--scope", "READ", "--json"}, extra...)
		out := cli(t, bin, dir, args...)
		var j struct {
			ID            string `json:"client_id"`
			IntrospectAny *bool  `json:"introspect_any"`
		}
		if err := json.Unmarshal([]byte(out), &j); err != nil || j.ID == "" || j.IntrospectAny == nil {
			t.Fatalf("client create --json printed %q (%v)", out, err)
		}
		return j.ID, *j.IntrospectAny
	}
	if _, everyToken := create(); everyToken {
		t.Fatal("an application created without --introspect-any may introspect every token")
	}
	id, everyToken := create("--introspect-any")
	if !everyToken {
		t.Fatal("--introspect-any was not stored")
	}
	if out := cli(t, bin, dir, "client", "show", id); !strings.Contains(out, "every application's tokens") {
		t.Fatalf("client show does not say so:\n%s", out)
	}
	_, errOut, err := runCLI(bin, dir, "client", "create", "--name", "SPA", "--public", "--redirect-uri", callback, "--scope", "READ", "--introspect-any")
	if err == nil || !strings.Contains(errOut, "cannot introspect") {
		t.Fatalf("a public application with --introspect-any: %v %s", err, errOut)
	}
}

// `client disable` and `client enable` (SPEC §5: the CLI has the console's
// actions): a disabled application gets no token, and enabling it again
// lets it in; an unknown ID fails (TestCLIChangesAreAudited: both audited).
func TestCLIClientDisableEnable(t *testing.T) {
	bin := buildBinary(t)
	dir := migratedDir(t, bin)
	var created struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	out := cli(t, bin, dir, "client", "create", "--name", "Robot", "--grant", "client_credentials", "--scope", "READ", "--json")
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.ID == "" {
		t.Fatalf("client create printed %q", out)
	}
	enabled := func(args ...string) bool {
		t.Helper()
		var j struct {
			Enabled *bool `json:"enabled"`
		}
		out := cli(t, bin, dir, append(args, "--json")...)
		if err := json.Unmarshal([]byte(out), &j); err != nil || j.Enabled == nil {
			t.Fatalf("%v printed %q", args, out)
		}
		return *j.Enabled
	}
	if enabled("client", "disable", created.ID) || enabled("client", "show", created.ID) {
		t.Fatal("client disable left the application enabled")
	}
	if !strings.Contains(cli(t, bin, dir, "client", "show", created.ID), "enabled:") {
		t.Fatal("client show does not say whether it is enabled")
	}
	if !enabled("client", "enable", created.ID) || !enabled("client", "show", created.ID) {
		t.Fatal("client enable left the application disabled")
	}
	for _, verb := range []string{"disable", "enable"} {
		if _, errOut, err := runCLI(bin, dir, "client", verb, "no-such-client"); err == nil || !strings.Contains(errOut, "no application") {
			t.Errorf("client %s of an unknown ID: %v %s", verb, err, errOut)
		}
	}
}
