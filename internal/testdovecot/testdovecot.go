// Package testdovecot starts a real Dovecot (Debian's dovecot-imapd, 2.3) on
// a free loopback port for tests, with a throw-away configuration whose
// passdb oauth2 checks access tokens by introspection at Gatehouse. It is
// stopped, with every process it started, when the test ends. Only tests
// import it.
//
// Without Dovecot the test is skipped, or fails when CI=true;
// scripts/install-dovecot.sh installs it.
package testdovecot

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Dovecot is a running Dovecot.
type Dovecot struct {
	IMAPAddr string // 127.0.0.1:PORT, IMAP without TLS
	logPath  string
}

// log returns what Dovecot has logged so far.
func (d *Dovecot) log() string {
	b, _ := os.ReadFile(d.logPath)
	return string(b)
}

// Start starts Dovecot with a passdb oauth2 that introspects at
// introspectionURL (http://CLIENT_ID:CLIENT_SECRET@HOST:PORT/…/introspect, an
// application that may introspect every application's tokens) and a static
// userdb with a maildir per user in a temporary directory.
func Start(t testing.TB, introspectionURL string) *Dovecot {
	t.Helper()
	bin := binary(t)
	// Not t.TempDir: its path holds the test's name, and Dovecot's sockets
	// must fit in 108 bytes; the directory must also be open to Dovecot's
	// unprivileged users when the test runs as root.
	dir, err := os.MkdirTemp("", "dovecot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	acc, err := pickAccounts()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"run", "state", "home"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(filepath.Join(dir, "home"), acc.mailUID, acc.mailGID); err != nil {
		t.Fatal(err)
	}
	d := &Dovecot{IMAPAddr: freeAddr(t), logPath: filepath.Join(dir, "dovecot.log")}
	_, port, _ := net.SplitHostPort(d.IMAPAddr)
	conf := filepath.Join(dir, "dovecot.conf")
	writeFile(t, filepath.Join(dir, "oauth2.conf.ext"), oauth2Config(introspectionURL))
	writeFile(t, conf, mainConfig(dir, port, acc))

	cmd := exec.Command(bin, "-F", "-c", conf)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own process group, so that the children can be killed with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		stop(cmd, exited)
		if t.Failed() {
			t.Logf("dovecot log:\n%s", d.log())
		}
	})
	if err := waitListening(d.IMAPAddr, exited, 15*time.Second); err != nil {
		stop(cmd, exited)
		t.Fatalf("%v\n%s\n%s", err, out.String(), d.log())
	}
	return d
}

// binary finds dovecot, which Debian installs in /usr/sbin (not on a
// normal user's PATH).
func binary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("dovecot"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/dovecot"); err == nil {
		return "/usr/sbin/dovecot"
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("dovecot not found (run scripts/install-dovecot.sh); with CI=true the Dovecot tests fail rather than skip")
	}
	t.Skip("dovecot not found; run scripts/install-dovecot.sh to run the Dovecot tests")
	return ""
}

// stop ends Dovecot with SIGTERM, which stops its children too, and kills
// the whole process group if it has not exited after a few seconds.
func stop(cmd *exec.Cmd, exited <-chan struct{}) {
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}

func waitListening(addr string, exited <-chan struct{}, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("dovecot exited at start")
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("dovecot did not listen on %s within %v", addr, limit)
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// accounts are the system accounts Dovecot's processes run as.
type accounts struct {
	internalUser, internalGroup, loginUser string
	mailUID, mailGID                       int
	rootless                               bool
}

// pickAccounts chooses them: as root, Debian's dovecot and dovenull
// (made by the dovecot-core package) and nobody for mail, since Dovecot
// refuses to run them as root; otherwise everything as the current user
// (Dovecot's "rootless" mode, which also must not chroot).
func pickAccounts() (accounts, error) {
	if os.Getuid() == 0 {
		nobody, err := user.Lookup("nobody")
		if err != nil {
			return accounts{}, err
		}
		uid, _ := strconv.Atoi(nobody.Uid)
		gid, _ := strconv.Atoi(nobody.Gid)
		return accounts{internalUser: "dovecot", internalGroup: "dovecot", loginUser: "dovenull", mailUID: uid, mailGID: gid}, nil
	}
	me, err := user.Current()
	if err != nil {
		return accounts{}, err
	}
	group, err := user.LookupGroupId(me.Gid)
	if err != nil {
		return accounts{}, err
	}
	return accounts{internalUser: me.Username, internalGroup: group.Name, loginUser: me.Username,
		mailUID: os.Getuid(), mailGID: os.Getgid(), rootless: true}, nil
}
