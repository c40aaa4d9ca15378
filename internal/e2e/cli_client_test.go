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
