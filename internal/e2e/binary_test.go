package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// buildBinary compiles cmd/gatehouse once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gatehouse-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "gatehouse")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/gatehouse/gatehouse/cmd/gatehouse").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// cli runs the binary in dir and returns stdout; it fails the test on a non-zero exit.
func cli(t *testing.T, bin, dir string, args ...string) string {
	t.Helper()
	out, errOut, err := runCLI(bin, dir, args...)
	if err != nil {
		t.Fatalf("gatehouse %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// migratedDir returns a new directory holding an empty, migrated data
// directory, as `gatehouse migrate` (or serve) leaves it: management
// commands refuse to run where there is none.
func migratedDir(t *testing.T, bin string, env ...string) string {
	t.Helper()
	dir := t.TempDir()
	if _, errOut, err := runCLIEnv(bin, dir, env, "migrate"); err != nil {
		t.Fatalf("migrate: %v\n%s", err, errOut)
	}
	return dir
}

func runCLI(bin, dir string, args ...string) (string, string, error) {
	return runCLIEnv(bin, dir, nil, args...)
}

// runCLIEnv runs the binary with extra environment variables.
func runCLIEnv(bin, dir string, env []string, args ...string) (string, string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// Ports for nodes come from below Linux's ephemeral range (32768 up):
// a port the kernel handed out for ":0" and freeAddr closed again could be
// handed to another test's listener before the node binds it. The node
// then failed to start, and the other listener answered in its place.
const nodePortLow, nodePortHigh = 20000, 32000

var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// freeAddr returns a loopback address no listener holds, for a node to
// bind; never the same port twice in this process.
func freeAddr(t *testing.T) string {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 1000 {
		port := nodePortLow + rand.IntN(nodePortHigh-nodePortLow)
		if handedOut.ports[port] {
			continue
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		ln.Close()
		handedOut.ports[port] = true
		return addr
	}
	t.Fatal("no free port for a node")
	return ""
}

// process is a running `gatehouse serve`.
type process struct {
	addr   string
	cmd    *exec.Cmd
	logs   *syncBuffer
	dead   atomic.Bool
	exited chan struct{} // closed once the process has ended and been waited for
}

// startServe runs `gatehouse serve --dev` in dir until the test ends and
// returns what it printed so far.
func startServe(t *testing.T, bin, dir, addr string, env ...string) *syncBuffer {
	t.Helper()
	return startProcess(t, bin, dir, addr, nil, env).logs
}

// startProcess starts `gatehouse serve --dev --listen addr ARGS…` with extra
// environment, waits until it answers /healthz, and kills it when the test ends.
func startProcess(t *testing.T, bin, dir, addr string, args, env []string) *process {
	t.Helper()
	p, err := launch(bin, dir, addr, args, env)
	if p != nil {
		t.Cleanup(func() {
			p.kill()
			if t.Failed() {
				t.Logf("output of the node on %s:\n%s", addr, p.logs.String())
			}
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// launch starts a node and waits for it; safe to call off the test goroutine.
func launch(bin, dir, addr string, args, env []string) (*process, error) {
	cmd := exec.Command(bin, append([]string{"serve", "--dev", "--listen", addr}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	p := &process{addr: addr, cmd: cmd, logs: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	p.exited = exited
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited: // it could not start (its port taken): whatever answers there is not it
			return p, fmt.Errorf("node on %s exited:\n%s", addr, p.logs.String())
		default:
		}
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && string(body) == "ok\n" {
				return p, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p, fmt.Errorf("node on %s did not start:\n%s", addr, p.logs.String())
}

// kill ends the process with SIGKILL (kill -9), as a crash would.
func (p *process) kill() {
	if !p.dead.Swap(true) {
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// syncBuffer is written by the child process's copier while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestBinaryFollowsREADME does what the README's walk-through does, with the
// real binary: serve, client create --json, browser sign-in and consent,
// code → token → myself → refresh → revoke → introspect.
func TestBinaryFollowsREADME(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	startServe(t, bin, dir, addr, "GATEHOUSE_ADMIN_PASSWORD=admin-password-123")
	e := &env{t: t, base: "http://" + addr}

	var client struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	out := cli(t, bin, dir, "client", "create", "--name", "My app", "--redirect-uri", callback, "--scope", "READ", "--scope", "WRITE", "--json")
	if err := json.Unmarshal([]byte(out), &client); err != nil || client.ClientID == "" || client.ClientSecret == "" {
		t.Fatalf("client create --json printed %q (%v)", out, err)
	}
	c := store.Client{ID: client.ClientID}

	b := e.newBrowser()
	if p := b.signIn("admin", "admin-password-123"); p.status != http.StatusSeeOther {
		t.Fatalf("admin sign-in: %d", p.status)
	}
	code := b.code(authParams(c, "READ WRITE"))
	tok := e.token(form("grant_type", "authorization_code", "code", code, "redirect_uri", callback), client.ClientID, client.ClientSecret)
	if tok.status != http.StatusOK {
		t.Fatalf("token: %d %s", tok.status, tok.raw)
	}
	if me := e.myself(tok.str("access_token")); me.status != http.StatusOK || me.str("name") != "admin" {
		t.Fatalf("myself: %d %s", me.status, me.raw)
	}
	refreshed := e.token(form("grant_type", "refresh_token", "refresh_token", tok.str("refresh_token")), client.ClientID, client.ClientSecret)
	if refreshed.status != http.StatusOK {
		t.Fatalf("refresh: %d %s", refreshed.status, refreshed.raw)
	}
	rev := e.postForm("/rest/oauth2/latest/revoke", form("token", refreshed.str("refresh_token")), client.ClientID, client.ClientSecret)
	if rev.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", rev.status, rev.raw)
	}
	if e.active(refreshed.str("access_token"), client.ClientID, client.ClientSecret) {
		t.Fatal("access token still active after its refresh token was revoked")
	}

	// The management commands a README reader would try next.
	if list := cli(t, bin, dir, "client", "list"); !strings.Contains(list, client.ClientID) {
		t.Fatalf("client list lacks the client:\n%s", list)
	}
	if show := cli(t, bin, dir, "client", "show", client.ClientID, "--show-secret", "--json"); !strings.Contains(show, client.ClientSecret) {
		t.Fatal("client show --show-secret does not print the secret")
	}
	rotated := cli(t, bin, dir, "client", "rotate-secret", client.ClientID, "--json")
	if strings.Contains(rotated, client.ClientSecret) || !strings.Contains(rotated, "gcs_") {
		t.Fatalf("rotate-secret printed %s", rotated)
	}
	// Another process changed the client: the server sees it once its
	// application cache entry expires (cache.client_ttl, 1 s by default).
	deadline := time.Now().Add(5 * time.Second)
	for {
		old := e.token(form("grant_type", "client_credentials"), client.ClientID, client.ClientSecret)
		if old.status == http.StatusUnauthorized {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("old secret still accepted 5 s after rotation: %d", old.status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cli(t, bin, dir, "user", "create", "--username", "bob", "--password", "bob-password", "--level", "admin")
	cli(t, bin, dir, "user", "set-level", "--username", "bob", "--level", "user")
	// The username may also come first, as client, integration and
	// mailserver commands take their name or ID.
	cli(t, bin, dir, "user", "disable", "bob")
	var users []struct {
		Username string `json:"username"`
		Level    string `json:"level"`
		Disabled bool   `json:"disabled"`
	}
	json.Unmarshal([]byte(cli(t, bin, dir, "user", "list", "--json")), &users)
	if len(users) != 2 || users[1].Username != "bob" || users[1].Level != "user" || !users[1].Disabled {
		t.Fatalf("user list --json = %+v", users)
	}
	if p := e.newBrowser().signIn("bob", "bob-password"); p.status != http.StatusUnauthorized {
		t.Fatalf("disabled user signed in: %d", p.status)
	}
	cli(t, bin, dir, "client", "delete", client.ClientID)
	if _, errOut, err := runCLI(bin, dir, "client", "show", client.ClientID); err == nil || !strings.Contains(errOut, "no application") {
		t.Fatalf("deleted client still shown: %v %s", err, errOut)
	}
}

func TestBinaryRefusesBadInput(t *testing.T) {
	bin := buildBinary(t)
	dir := migratedDir(t, bin)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--base-url", "http://auth.example.com"}, "https"},
		{[]string{"serve"}, "base_url is required"},
		{[]string{"client", "create", "--name", "x", "--redirect-uri", "http://app.example.com/cb", "--scope", "READ"}, "https"},
		{[]string{"client", "create", "--name", "x", "--redirect-uri", "https://app.example.com/cb", "--scope", "NOPE"}, "NOPE"},
		{[]string{"client", "show", "0123"}, "no application"},
		{[]string{"user", "create", "--username", "u", "--password", "short"}, "at least 8"},
		{[]string{"user", "set-level", "--username", "u", "--level", "emperor"}, "emperor"},
		{[]string{"user", "create", "--password", "long-enough"}, "username"},
		{[]string{"user", "set-level", "--username", "ghost", "--level", "admin"}, `user "ghost" not found`},
		{[]string{"user", "set-level", "ghost", "--level", "admin"}, `user "ghost" not found`},
		{[]string{"user", "disable"}, "USERNAME"},
		{[]string{"user", "disable", "alice", "--username", "bob"}, "once"},
		{[]string{"user", "list", "--data-dir", "no-such-dir"}, "no Gatehouse database at"},
		{[]string{"client", "list", "--data-dir", "no-such-dir"}, "--data-dir"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			_, errOut, err := runCLI(bin, dir, c.args...)
			if err == nil || !strings.Contains(errOut, c.want) {
				t.Fatalf("err %v, stderr %q; want a failure mentioning %q", err, errOut, c.want)
			}
		})
	}
	// An http redirect registered in development mode blocks a production start.
	cli(t, bin, dir, "--dev", "client", "create", "--name", "Dev app", "--redirect-uri", "http://app.example.com/cb", "--scope", "READ")
	if _, errOut, err := runCLI(bin, dir, "serve", "--base-url", "https://auth.example.com", "--listen", freeAddr(t)); err == nil || !strings.Contains(errOut, "Dev app") {
		t.Fatalf("production start with an http redirect URI: %v %q", err, errOut)
	}
	if out := cli(t, bin, dir, "client", "create", "--help"); !strings.Contains(out, "--redirect-uri") || !strings.Contains(out, "Example") {
		t.Fatalf("client create --help is not useful:\n%s", out)
	}
}

// TestBinaryFirstAdminPasswordStaysOutOfTheLog checks the first start
// without GATEHOUSE_ADMIN_PASSWORD and without a terminal: the generated
// password goes to a 0600 file in the data directory, never into the log
// stream, which names the file; the password works.
func TestBinaryFirstAdminPasswordStaysOutOfTheLog(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	logs := startServe(t, bin, dir, addr)
	path := filepath.Join(dir, "gatehouse-data", "initial-admin-password")
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no password file: %v\n%s", err, logs)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("password file mode %v, want 0600", info.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	password := strings.TrimSpace(string(b))
	if password == "" || strings.Contains(logs.String(), password) {
		t.Fatalf("the password is empty or in the log:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "initial-admin-password") {
		t.Fatalf("the log does not name the password file:\n%s", logs)
	}
	e := &env{t: t, base: "http://" + addr}
	if p := e.newBrowser().signIn("admin", password); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in with the password from the file: %d", p.status)
	}
}

// TestBinaryStartAndSignals: "gatehouse started" is logged only once the
// start can no longer fail — a node whose metrics listener cannot bind exits
// without it — and SIGHUP, which would have ended the node without a
// graceful shutdown, is said and ignored.
func TestBinaryStartAndSignals(t *testing.T) {
	bin := buildBinary(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	p, err := launch(bin, dir, freeAddr(t), nil, []string{"GATEHOUSE_METRICS_LISTEN=" + taken.Addr().String()})
	if err == nil {
		p.kill()
		t.Fatal("a node whose metrics listener's port is taken started")
	}
	if out := p.logs.String(); strings.Contains(out, "gatehouse started") || !strings.Contains(out, "metrics.listen") {
		t.Errorf("a start that failed on its metrics listener:\n%s", out)
	}

	node := startProcess(t, bin, t.TempDir(), freeAddr(t), nil, nil)
	if err := node.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(node.logs.String(), "SIGHUP ignored") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(node.logs.String(), "SIGHUP ignored") {
		t.Errorf("no word of the SIGHUP:\n%s", node.logs.String())
	}
	if resp, err := http.Get("http://" + node.addr + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("after SIGHUP the node does not answer: %v", err)
	}
}
