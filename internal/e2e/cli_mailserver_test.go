package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/testdovecot"
)

// TestCLIMailServer drives `gatehouse mailserver` against a real Dovecot:
// create with --password-stdin and --ca-file, list, show, test (the JSON
// answer, exit status 0 only when it signs in), delete. The password is
// never printed.
func TestCLIMailServer(t *testing.T) {
	d := testdovecot.StartWith(t, testdovecot.Options{Passwords: map[string]string{"carol": carolPassword}, POP3: true, TLS: true})
	d.AddMessages(t, "carol", carolMessages)
	bin := buildBinary(t)
	dir := migratedDir(t, bin)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, []byte(d.CACert), 0o600); err != nil {
		t.Fatal(err)
	}
	create := func(name, password, addr string, extra ...string) (string, string, error) {
		args := append([]string{"mailserver", "create", "--name", name, "--protocol", "pop3", "--host", "127.0.0.1",
			"--port", strconv.Itoa(port(addr)), "--tls", "implicit", "--ca-file", caFile, "--username", "carol", "--password-stdin", "--json"}, extra...)
		return runCLIStdin(bin, dir, password+"\n", args...)
	}
	out, errOut, err := create("Archive", carolPassword, d.POP3SAddr)
	if err != nil {
		t.Fatalf("create: %v\n%s", err, errOut)
	}
	var v mail.View
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.Name != "Archive" || v.Auth != "password" || v.Port != port(d.POP3SAddr) || v.CACert == "" {
		t.Fatalf("create --json printed %q (%v)", out, err)
	}
	if _, _, err := create("Wrong", "not-the-password", d.POP3SAddr); err != nil {
		t.Fatal(err)
	}

	test := func(name string) (mail.ResultView, string, error) {
		out, errOut, err := runCLI(bin, dir, "mailserver", "test", name)
		var r mail.ResultView
		if jerr := json.Unmarshal([]byte(out), &r); jerr != nil {
			t.Fatalf("test %s printed %q (%v), stderr %s", name, out, jerr, errOut)
		}
		return r, errOut, err
	}
	if r, errOut, err := test("archive"); err != nil || !r.OK || r.Messages != carolMessages || r.Mechanism != "USER" {
		t.Fatalf("test archive: %+v, %v\n%s", r, err, errOut)
	}
	r, errOut, err := test("Wrong")
	if err == nil || r.OK || r.Step != mail.StepAuthenticate || !strings.Contains(r.Message, "refused the sign-in of carol") || !strings.Contains(errOut, "test failed") {
		t.Fatalf("test Wrong: %+v, %v\n%s", r, err, errOut)
	}

	list := cli(t, bin, dir, "mailserver", "list")
	show := cli(t, bin, dir, "mailserver", "show", "Archive")
	listJSON := cli(t, bin, dir, "mailserver", "list", "--json")
	for _, o := range []string{list, show, listJSON} {
		if strings.Contains(o, carolPassword) {
			t.Fatalf("the password was printed:\n%s", o)
		}
	}
	if !strings.Contains(list, "Archive") || !strings.Contains(list, "Wrong") || !strings.Contains(show, "password (stored encrypted)") {
		t.Fatalf("list:\n%s\nshow:\n%s", list, show)
	}

	// Refusals: a password and an integration at once, neither, TLS none
	// outside development mode, an unknown server.
	refusals := []struct {
		args []string
		want string
	}{
		{[]string{"mailserver", "create", "--name", "X", "--protocol", "imap", "--host", "h", "--tls", "implicit", "--username", "u", "--password-stdin", "--integration", "I"}, "not both"},
		{[]string{"mailserver", "create", "--name", "X", "--protocol", "imap", "--host", "h", "--tls", "implicit", "--username", "u"}, "--password-stdin"},
		{[]string{"mailserver", "create", "--name", "X", "--protocol", "imap", "--host", "h", "--tls", "none", "--username", "u", "--password-stdin"}, "only in development mode"},
		{[]string{"mailserver", "create", "--name", "X", "--protocol", "smtp", "--host", "h", "--tls", "implicit", "--username", "u", "--password-stdin"}, "imap or pop3"},
		{[]string{"mailserver", "show", "nope"}, `no mail server is named "nope"`},
	}
	for _, c := range refusals {
		if _, errOut, err := runCLIStdin(bin, dir, "pw\n", c.args...); err == nil || !strings.Contains(errOut, c.want) {
			t.Errorf("gatehouse %s: %v %q; want a refusal saying %q", strings.Join(c.args, " "), err, errOut, c.want)
		}
	}

	if out := cli(t, bin, dir, "mailserver", "delete", "Wrong"); !strings.Contains(out, "deleted mail server Wrong") {
		t.Fatalf("delete: %q", out)
	}
	if _, _, err := runCLI(bin, dir, "mailserver", "test", "Wrong"); err == nil {
		t.Fatal("a deleted server was tested")
	}
	if out := cli(t, bin, dir, "mailserver", "--help"); !strings.Contains(out, "create") || !strings.Contains(out, "test") {
		t.Fatalf("--help:\n%s", out)
	}
}
