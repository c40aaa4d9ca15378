package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal: the test types into keyboard, and the
// command reads from tty as from a terminal.
func openPTY(t *testing.T) (keyboard, tty *os.File) {
	t.Helper()
	keyboard, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keyboard.Close() })
	if err := unix.IoctlSetPointerInt(int(keyboard.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(keyboard.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return keyboard, tty
}

// runCLITerminal runs the binary with a terminal as standard input, on which
// typed has been typed.
func runCLITerminal(t *testing.T, bin, dir, typed string, args ...string) (string, error) {
	t.Helper()
	keyboard, tty := openPTY(t)
	// Typed ahead: the terminal keeps the lines until the prompt reads them.
	if _, err := keyboard.WriteString(typed); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, &stderr, &stderr
	err := cmd.Run()
	return stderr.String(), err
}

// TestBinaryPasswordPrompt: without a password flag and on a terminal,
// `user create` asks twice; the same answer creates the user with that
// password, two different answers create nothing.
func TestBinaryPasswordPrompt(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	startServe(t, bin, dir, addr, "GATEHOUSE_ADMIN_PASSWORD=admin-password-123")
	e := &env{t: t, base: "http://" + addr}

	out, err := runCLITerminal(t, bin, dir, "erin's password\nerin's passwort\n", "user", "create", "--username", "erin")
	if err == nil || !strings.Contains(out, "differ") {
		t.Fatalf("two different answers: %v\n%s", err, out)
	}
	if slices.Contains(usernames(t, bin, dir), "erin") {
		t.Fatal("two different answers created the user")
	}
	out, err = runCLITerminal(t, bin, dir, "erin's password\nerin's password\n", "user", "create", "--username", "erin")
	if err != nil {
		t.Fatalf("user create on a terminal: %v\n%s", err, out)
	}
	if !strings.Contains(out, "New password:") || strings.Contains(out, "erin's password") {
		t.Errorf("the command printed %q", out)
	}
	if p := e.newBrowser().signIn("erin", "erin's password"); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in with the password typed at the prompt: %d", p.status)
	}
}
