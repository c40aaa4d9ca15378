// Package testdovecot starts a real Dovecot (Debian's dovecot-imapd and
// dovecot-pop3d, 2.3) on free loopback ports for tests, with a throw-away
// configuration: a passdb oauth2 that checks access tokens by introspection
// at Gatehouse, a passwd-file passdb for password users, POP3 besides IMAP,
// and TLS (implicit ports, STARTTLS and STLS) with a CA made for the test.
// It is stopped, with every process it started, when the test ends. Only
// tests import it.
//
// Without Dovecot the test is skipped, or fails when CI=true;
// scripts/install-dovecot.sh installs it.
package testdovecot

import (
	"bytes"
	"fmt"
	"io/fs"
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
	IMAPAddr  string // 127.0.0.1:PORT, IMAP without TLS (with STARTTLS when TLS is on)
	IMAPSAddr string // IMAP with implicit TLS, when TLS is on
	POP3Addr  string // POP3 without TLS (with STLS when TLS is on), when POP3 is on
	POP3SAddr string // POP3 with implicit TLS, when POP3 and TLS are on
	// CACert is the PEM certificate of the throw-away CA that signed the
	// server's certificate (subject ServerSubject, for 127.0.0.1 and
	// localhost), when TLS is on.
	CACert  string
	dir     string
	acc     accounts
	logPath string
}

// Options say what to start.
type Options struct {
	// IntrospectionURL, when set, adds a passdb oauth2 that checks XOAUTH2
	// and OAUTHBEARER tokens there (http://CLIENT_ID:CLIENT_SECRET@HOST:PORT/…/introspect,
	// an application that may introspect every application's tokens).
	IntrospectionURL string
	// Scope, when set, is the scope Dovecot requires of a token (its
	// oauth2 "scope" setting), read from the introspection's scope.
	Scope string
	// Passwords, when set, adds a passwd-file passdb with these users and
	// passwords for PLAIN, LOGIN and USER/PASS.
	Passwords map[string]string
	POP3      bool // POP3 listeners besides IMAP
	TLS       bool // a throw-away CA and certificate; implicit TLS listeners, STARTTLS and STLS
	// Mechanisms is auth_mechanisms; default "plain login xoauth2 oauthbearer".
	Mechanisms string
}

// log returns what Dovecot has logged so far.
func (d *Dovecot) log() string {
	b, _ := os.ReadFile(d.logPath)
	return string(b)
}

// Start starts Dovecot with IMAP only, without TLS, and a passdb oauth2
// that introspects at introspectionURL.
func Start(t testing.TB, introspectionURL string) *Dovecot {
	t.Helper()
	return StartWith(t, Options{IntrospectionURL: introspectionURL})
}

// StartWith starts Dovecot as o says, with a static userdb and a maildir
// per user in a temporary directory.
func StartWith(t testing.TB, o Options) *Dovecot {
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
	addrs := freeAddrs(t, 4) // IMAP, POP3, IMAPS, POP3S: some go unused
	d := &Dovecot{IMAPAddr: addrs[0], dir: dir, acc: acc, logPath: filepath.Join(dir, "dovecot.log")}
	l := layout{dir: dir, imap: d.IMAPAddr, mechanisms: o.Mechanisms, acc: acc}
	if l.mechanisms == "" {
		l.mechanisms = "plain login xoauth2 oauthbearer"
	}
	if o.POP3 {
		d.POP3Addr = addrs[1]
		l.pop3 = d.POP3Addr
	}
	if o.TLS {
		ca, cert, key := testCerts(t)
		d.CACert = string(ca)
		writeFile(t, filepath.Join(dir, "cert.pem"), string(cert), 0o644)
		writeFile(t, filepath.Join(dir, "key.pem"), string(key), 0o600)
		d.IMAPSAddr = addrs[2]
		l.tls, l.imaps = true, d.IMAPSAddr
		if o.POP3 {
			d.POP3SAddr = addrs[3]
			l.pop3s = d.POP3SAddr
		}
	}
	if o.IntrospectionURL != "" {
		l.introspection = true
		// Readable by Dovecot's auth process, which runs as another
		// account (throw-away test credentials).
		writeFile(t, filepath.Join(dir, "oauth2.conf.ext"), oauth2Config(o.IntrospectionURL, o.Scope), 0o644)
	}
	if len(o.Passwords) > 0 {
		l.passwords = true
		writeFile(t, filepath.Join(dir, "passwd"), passwdFile(o.Passwords), 0o644)
	}
	conf := filepath.Join(dir, "dovecot.conf")
	writeFile(t, conf, mainConfig(l), 0o644)

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
	for _, addr := range []string{d.IMAPAddr, d.IMAPSAddr, d.POP3Addr, d.POP3SAddr} {
		if addr == "" {
			continue
		}
		if err := waitListening(addr, exited, 15*time.Second); err != nil {
			stop(cmd, exited)
			t.Fatalf("%v\n%s\n%s", err, out.String(), d.log())
		}
	}
	return d
}

// AddMessages writes n small messages into the INBOX (the maildir's new/)
// of user, creating the maildir if needed, owned by the mail account.
func (d *Dovecot) AddMessages(t testing.TB, user string, n int) {
	t.Helper()
	home := filepath.Join(d.dir, "home", user)
	maildir := filepath.Join(home, "Maildir")
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(maildir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		name := fmt.Sprintf("%d.M%dP%d.gatehouse-test", time.Now().Unix(), i, os.Getpid())
		body := fmt.Sprintf("From: test@example.com\r\nTo: %s@example.com\r\nSubject: test message %d\r\n\r\nHello %d.\r\n", user, i, i)
		writeFile(t, filepath.Join(maildir, "new", name), body, 0o600)
	}
	err := filepath.WalkDir(home, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, d.acc.mailUID, d.acc.mailGID)
	})
	if err != nil {
		t.Fatal(err)
	}
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

// freeAddrs returns n distinct free loopback addresses. The listeners are
// all held until every port is chosen: one closed before the next was
// asked for could be handed out again (Dovecot then refused its
// configuration: "duplicate listener").
func freeAddrs(t testing.TB, n int) []string {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		addrs[i] = ln.Addr().String()
	}
	return addrs
}

func writeFile(t testing.TB, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
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
