package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testprovider"
)

// TestCLIIntegration drives `gatehouse integration …` as an operator would,
// next to a running node: every command's --help, one JSON object per
// command with --json, the client secret from standard input only, the
// headless authorize-url completed by a browser-less client, test (which
// exits non-zero when it fails), token, and delete.
func TestCLIIntegration(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	base := "http://" + addr
	logs := startServe(t, bin, dir, addr)
	p := testprovider.Start(t, testprovider.Options{})
	// run returns the command's standard output, and its error output as
	// the error when it fails (an *exec.ExitError then tells the status).
	run := func(stdin string, args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"integration", "--dev", "--base-url", base}, args...)...)
		cmd.Dir, cmd.Env = dir, os.Environ()
		var stdout, stderr bytes.Buffer
		cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return stdout.String(), cliError{err, stderr.String()}
		}
		return stdout.String(), nil
	}
	object := func(out string) map[string]any {
		t.Helper()
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("not one JSON object: %v\n%s", err, out)
		}
		return v
	}
	must := func(stdin string, args ...string) map[string]any {
		t.Helper()
		out, err := run(stdin, args...)
		if err != nil {
			t.Fatalf("gatehouse integration %s: %v", strings.Join(args, " "), err)
		}
		return object(out)
	}

	for _, sub := range []string{"create", "update", "authorize-url", "list", "show", "test", "token", "delete"} {
		if out, err := run("", sub, "--help"); err != nil || !strings.Contains(out, "Usage:") || !strings.Contains(out, "--json") {
			t.Errorf("integration %s --help: %v\n%s", sub, err, out)
		}
	}

	google := must("", "create", "--provider", "google", "--name", "Gmail", "--json")
	if google["status"] != "not_authorized" || !strings.HasPrefix(google["redirect_url"].(string), base+"/plugins/servlet/oauth2/integrations/callback/") || google["id"] == "" {
		t.Fatalf("create google: %v", google)
	}
	updated := must("the-google-secret\n", "update", "gmail", "--client-id", "1234.apps.googleusercontent.com", "--client-secret-stdin", "--json")
	if updated["client_id"] != "1234.apps.googleusercontent.com" || updated["has_client_secret"] != true || updated["redirect_url_changed"] != false {
		t.Errorf("update: %v", updated)
	}
	if out, err := run("", "update", "Gmail", "--client-secret", "visible"); err == nil {
		t.Errorf("a secret as an argument was accepted: %s", out)
	}

	auth, token, userinfo := p.Endpoints()
	must(p.ClientSecret()+"\n", "create", "--provider", "custom", "--name", "Mail", "--client-id", p.ClientID(), "--client-secret-stdin",
		"--authorization-endpoint", auth, "--token-endpoint", token, "--userinfo-endpoint", userinfo, "--scope", "mail", "--json")
	// Not authorized yet: test fails (exit status 1) and says why.
	out, err := run("", "test", "Mail", "--json")
	var exit *exec.ExitError
	if res := object(out); !errors.As(err, &exit) || res["ok"] != false || !strings.Contains(res["message"].(string), "not been authorized") {
		t.Errorf("test before authorizing: %v %v", res, err)
	}
	if _, err := run("", "token", "Mail", "--json"); err == nil || !strings.Contains(err.Error(), "Authorize") {
		t.Errorf("token before authorizing: %v", err)
	}

	// The provider refuses: the page a browser ends on says so, and is no 200.
	refusedAt := must("", "authorize-url", "Mail", "--json")
	redirect, q := p.Approve(t, refusedAt["url"].(string))
	q.Del("code")
	q.Set("error", "access_denied")
	if status, body := getWithBearer(redirect+"?"+q.Encode(), ""); status != http.StatusFailedDependency || !strings.Contains(body, "Authorization failed") {
		t.Errorf("a refused authorization's page: %d %s", status, body)
	}

	// URLs in --json are written as they are, so that sed or grep, as in
	// the README, can take them: not with "&" as "\u0026".
	if out, err := run("", "authorize-url", "Mail", "--json"); err != nil || strings.Contains(out, `\u0026`) || !strings.Contains(out, "&") {
		t.Fatalf("authorize-url --json: %v\n%s", err, out)
	}
	authorize := must("", "authorize-url", "Mail", "--json")
	redirect, q = p.Approve(t, authorize["url"].(string))
	resp, err := http.Get(redirect + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("callback: %d", resp.StatusCode)
	}
	if res := must("", "test", "Mail", "--json"); res["ok"] != true || !strings.HasPrefix(res["message"].(string), "Signed in as ops@example.com") {
		t.Errorf("test: %v", res)
	}
	tok := must("", "token", "mail", "--json")
	if tok["token_type"] != "Bearer" || tok["scope"] != "mail" || tok["expires_at"] == nil {
		t.Errorf("token: %v", tok)
	}
	if status, _ := getWithBearer(userinfo, tok["access_token"].(string)); status != http.StatusOK {
		t.Errorf("the provider refuses the token the command printed: %d", status)
	}
	list := must("", "list", "--json")
	if items, _ := list["integrations"].([]any); len(items) != 2 {
		t.Errorf("list: %v", list)
	}
	shown := must("", "show", "Mail", "--json")
	if shown["status"] != "healthy" || shown["account"] != "ops@example.com" {
		t.Errorf("show: %v", shown)
	}
	if raw, _ := run("", "show", "Mail", "--json"); strings.Contains(raw, p.ClientSecret()) || strings.Contains(raw, tok["access_token"].(string)) {
		t.Error("show prints the secret or a token")
	}
	if res := must("", "delete", "Mail", "--json"); res["deleted"] != true {
		t.Errorf("delete: %v", res)
	}
	if _, err := run("", "show", "Mail"); err == nil || !strings.Contains(err.Error(), `no integration is named "Mail"`) {
		t.Errorf("show after delete: %v", err)
	}
	if strings.Contains(logs.String(), p.ClientSecret()) || strings.Contains(logs.String(), tok["access_token"].(string)) {
		t.Error("the node's log holds the secret or a token")
	}
}

// cliError is a failed command with what it printed on standard error.
type cliError struct {
	err    error
	stderr string
}

func (e cliError) Error() string { return e.err.Error() + ": " + e.stderr }
func (e cliError) Unwrap() error { return e.err }

// TestCLIInterruptOutwaitsARefresh: Ctrl-C while a command's refresh is at
// the provider does not end the process before the refresh is stored: a
// provider that rotates refresh tokens has already spent the old one, and a
// process gone before the answer came left the integration needing
// re-authorization. The interrupted command exits 130 once the refresh is
// in; the next command uses the rotated token.
func TestCLIInterruptOutwaitsARefresh(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	base := "http://" + addr
	node := startProcess(t, bin, dir, addr, nil, nil)
	// Access tokens of a second: due for a refresh by the time it is used.
	p := testprovider.Start(t, testprovider.Options{RefreshDelay: 2 * time.Second, AccessTTL: time.Second})
	command := func(args ...string) *exec.Cmd {
		cmd := exec.Command(bin, append([]string{"integration", "--dev", "--base-url", base}, args...)...)
		cmd.Dir, cmd.Env = dir, os.Environ()
		return cmd
	}
	auth, token, userinfo := p.Endpoints()
	create := command("create", "--provider", "custom", "--name", "Mail", "--client-id", p.ClientID(), "--client-secret-stdin",
		"--authorization-endpoint", auth, "--token-endpoint", token, "--userinfo-endpoint", userinfo, "--scope", "mail")
	create.Stdin = strings.NewReader(p.ClientSecret() + "\n")
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	out, err := command("authorize-url", "Mail", "--json").Output()
	if err != nil {
		t.Fatalf("authorize-url: %v", err)
	}
	var authorize struct{ URL string }
	if err := json.Unmarshal(out, &authorize); err != nil {
		t.Fatal(err)
	}
	redirect, q := p.Approve(t, authorize.URL)
	if status, body := getWithBearer(redirect+"?"+q.Encode(), ""); status != http.StatusOK {
		t.Fatalf("callback: %d %s", status, body)
	}
	node.kill() // no node refreshes meanwhile: only the command does
	dropped, refreshes := p.Dropped(), p.Refreshes()
	time.Sleep(time.Second)

	// test refreshes (forced); interrupt it while the provider holds the refresh.
	interrupted := command("test", "Mail")
	var stderr bytes.Buffer
	interrupted.Stderr = &stderr
	if err := interrupted.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(p.InFlight()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if len(p.InFlight()) == 0 {
		t.Fatal("the command's refresh never reached the provider")
	}
	interrupted.Process.Signal(os.Interrupt)
	err = interrupted.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Errorf("interrupted command: %v (want exit status 130)\n%s", err, stderr.String())
	}
	if p.Dropped() != dropped || p.Refreshes() != refreshes+1 {
		t.Fatalf("the process ended before its refresh was answered: %d dropped, %d done", p.Dropped()-dropped, p.Refreshes()-refreshes)
	}
	if out, err := command("token", "Mail").CombinedOutput(); err != nil {
		t.Fatalf("token after the interrupted refresh: %v\n%s", err, out)
	}
	if reused := p.Reused(); len(reused) != 0 {
		t.Errorf("refresh tokens presented again after their rotation: %v", reused)
	}
}
