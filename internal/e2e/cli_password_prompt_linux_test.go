package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

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
	// A name that is taken, or that no account can have, is refused before
	// the password is asked for, not after it was typed twice.
	for _, name := range []string{"erin", "-erin"} {
		out, err = runCLITerminal(t, bin, dir, "", "user", "create", "--username", name)
		if err == nil || strings.Contains(out, "New password:") || !strings.Contains(out, "username") {
			t.Errorf("user create --username %s: %v\n%s", name, err, out)
		}
	}
}

// TestBinaryShowsFirstAdminPasswordOnATerminal: on a terminal, the first
// start shows the generated password there and writes no file.
func TestBinaryShowsFirstAdminPasswordOnATerminal(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	_, _, _, shown := startOnTerminal(t, bin, dir, "serve", "--dev", "--listen", addr)
	e := &env{t: t, base: "http://" + addr}
	password := ""
	for deadline := time.Now().Add(20 * time.Second); password == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if m := regexp.MustCompile(`shown only this once:\s+(\S+)`).FindStringSubmatch(shown.String()); m != nil {
			password = m[1]
		}
	}
	if password == "" {
		t.Fatalf("no password on the terminal:\n%s", shown.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "gatehouse-data", "initial-admin-password")); !os.IsNotExist(err) {
		t.Fatalf("a password file was written although a terminal showed it: %v", err)
	}
	if p := e.newBrowser().signIn("admin", password); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in with the password shown: %d", p.status)
	}
}

// TestBinaryStdinSecretOnATerminalIsNotEchoed: --password-stdin with a
// terminal as standard input (typed, not piped) asks twice without echo, as
// the prompt does; and an interrupt at that prompt gives the terminal its
// echo back (a process that ended with echo off left the operator's shell
// blind).
func TestBinaryStdinSecretOnATerminalIsNotEchoed(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	startServe(t, bin, dir, addr, "GATEHOUSE_ADMIN_PASSWORD=admin-password-123")
	e := &env{t: t, base: "http://" + addr}

	// start runs the command on a fresh terminal and returns what the
	// terminal shows, once it shows the prompt. By then the echo must be
	// off: an interrupt that came before the command turned it off could
	// see it turned off after the interrupt gave it back.
	start := func(args ...string) (*exec.Cmd, *os.File, *os.File, *syncBuffer) {
		t.Helper()
		cmd, screen, tty, shown := startOnTerminal(t, bin, dir, args...)
		for deadline := time.Now().Add(20 * time.Second); !strings.Contains(shown.String(), "New password: ") && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		}
		if !strings.Contains(shown.String(), "New password: ") {
			t.Fatalf("no prompt on the terminal:\n%s", shown.String())
		}
		if echoing(t, tty) {
			t.Fatal("the prompt was shown before the echo was turned off")
		}
		return cmd, screen, tty, shown
	}

	cmd, screen, _, shown := start("user", "create", "--username", "fay", "--password-stdin")
	// Asked twice, as a new password is: a typo nobody saw is not stored.
	if _, err := screen.WriteString("fay's hidden password\n"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(shown.String(), "Repeat the password: ") && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
	}
	if _, err := screen.WriteString("fay's hidden password\n"); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("user create --password-stdin on a terminal: %v\n%s", err, shown.String())
	}
	if strings.Contains(shown.String(), "fay's hidden password") {
		t.Errorf("the password was echoed:\n%s", shown.String())
	}
	if p := e.newBrowser().signIn("fay", "fay's hidden password"); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in with the password typed: %d", p.status)
	}

	cmd, _, tty, shown := start("user", "create", "--username", "gus", "--password-stdin")
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Errorf("interrupted at the prompt: %v (want exit status 130)\n%s", err, shown.String())
	}
	if !echoing(t, tty) {
		t.Error("the interrupted prompt left the terminal without echo")
	}
}

// echoing tells whether the terminal tty echoes what is typed.
func echoing(t *testing.T, tty *os.File) bool {
	t.Helper()
	termios, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return termios.Lflag&unix.ECHO != 0
}

// startOnTerminal starts the binary with a fresh terminal as its standard
// input, output and error, and returns it, the terminal's two ends and what
// the terminal shows (kept up to date); the process is killed when the test
// ends.
func startOnTerminal(t *testing.T, bin, dir string, args ...string) (cmd *exec.Cmd, screen, tty *os.File, shown *syncBuffer) {
	t.Helper()
	screen, tty = openPTY(t)
	cmd = exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	shown = &syncBuffer{}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := screen.Read(buf)
			shown.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	return cmd, screen, tty, shown
}
