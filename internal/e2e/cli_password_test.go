package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// runCLIStdin runs the binary in dir with stdin as its standard input (a
// pipe, never a terminal).
func runCLIStdin(bin, dir, stdin string, args ...string) (string, string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// usernames lists the users of the node in dir.
func usernames(t *testing.T, bin, dir string) []string {
	t.Helper()
	var users []struct {
		Username string `json:"username"`
	}
	if err := json.Unmarshal([]byte(cli(t, bin, dir, "user", "list", "--json")), &users); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range users {
		names = append(names, u.Username)
	}
	return names
}

// TestBinaryPasswordFromStdin: `user create` and `user set-password` take the
// password from the first line of standard input with --password-stdin (only
// the line ending is dropped) and it signs in; --password with
// --password-stdin, an empty standard input, and no password at all without
// a terminal are refused with nothing changed.
func TestBinaryPasswordFromStdin(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	startServe(t, bin, dir, addr, "GATEHOUSE_ADMIN_PASSWORD=admin-password-123")
	e := &env{t: t, base: "http://" + addr}

	if _, errOut, err := runCLIStdin(bin, dir, " carol's password \r\nnext line\n", "user", "create", "--username", "carol", "--password-stdin"); err != nil {
		t.Fatalf("user create --password-stdin: %v\n%s", err, errOut)
	}
	if p := e.newBrowser().signIn("carol", "carol's password"); p.status != http.StatusUnauthorized {
		t.Fatalf("the password lost its spaces: sign-in %d", p.status)
	}
	if p := e.newBrowser().signIn("carol", " carol's password "); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in with the password from standard input: %d", p.status)
	}
	if _, errOut, err := runCLIStdin(bin, dir, "carol-new-password", "user", "set-password", "--username", "carol", "--password-stdin"); err != nil {
		t.Fatalf("user set-password --password-stdin: %v\n%s", err, errOut)
	}
	if p := e.newBrowser().signIn("carol", "carol-new-password"); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in with the new password: %d", p.status)
	}

	for _, tc := range []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"create, both flags", "dave-password\n", []string{"user", "create", "--username", "dave", "--password", "dave-password", "--password-stdin"}, "not both"},
		{"set-password, both flags", "dave-password\n", []string{"user", "set-password", "--username", "carol", "--password", "dave-password", "--password-stdin"}, "not both"},
		{"create, empty stdin", "", []string{"user", "create", "--username", "dave", "--password-stdin"}, "no password"},
		{"set-password, an empty line", "\n", []string{"user", "set-password", "--username", "carol", "--password-stdin"}, "no password"},
		{"create, no password and no terminal", "dave-password\n", []string{"user", "create", "--username", "dave"}, "--password-stdin"},
		{"set-password, no password and no terminal", "dave-password\n", []string{"user", "set-password", "--username", "carol"}, "--password-stdin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, err := runCLIStdin(bin, dir, tc.stdin, tc.args...)
			if err == nil || !strings.Contains(errOut, tc.want) {
				t.Fatalf("err %v, stderr %q; want a failure mentioning %q", err, errOut, tc.want)
			}
		})
	}
	if names := usernames(t, bin, dir); strings.Contains(strings.Join(names, " "), "dave") {
		t.Errorf("a refused create made a user: %v", names)
	}
	if p := e.newBrowser().signIn("carol", "carol-new-password"); p.status != http.StatusSeeOther {
		t.Errorf("a refused set-password changed the password: %d", p.status)
	}

	for _, sub := range []string{"create", "set-password"} {
		help := cli(t, bin, dir, "user", sub, "--help")
		if !strings.Contains(help, "--password-stdin") || !strings.Contains(help, "visible to other users") {
			t.Errorf("user %s --help does not steer away from --password:\n%s", sub, help)
		}
	}
}
