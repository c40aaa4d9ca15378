package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// keyMismatch is what a node with the wrong secret key tells its callers.
const keyMismatch = "this node's secret key does not match the one the data was sealed with"

// TestBinaryRefusesWrongSecretKey starts the real binary on a data directory
// whose data was sealed with one key, then with another key: from
// GATEHOUSE_SECRET_KEY, or from a secret.key that is not the one the data
// was made with (a database restored without its key). The node must refuse
// to start and name the key's source, must not record its own key, and the
// right key must still start.
func TestBinaryRefusesWrongSecretKey(t *testing.T) {
	bin := buildBinary(t)
	right, wrong := secret.GenerateMaster(), secret.GenerateMaster()
	dir := migratedDir(t, bin, "GATEHOUSE_SECRET_KEY="+right)
	data := filepath.Join(dir, "gatehouse-data") // the default --data-dir
	env := func(key string) []string { return []string{"GATEHOUSE_SECRET_KEY=" + key} }
	if _, errOut, err := runCLIEnv(bin, dir, env(right), "client", "create", "--name", "Sealed", "--redirect-uri", callback, "--scope", "READ"); err != nil {
		t.Fatalf("client create: %v\n%s", err, errOut)
	}
	db := openSQLiteFile(t, filepath.Join(data, "gatehouse.db"))
	refused := func(t *testing.T, env []string, wants ...string) {
		t.Helper()
		// A node that starts after all would serve until the timeout.
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		var errOut bytes.Buffer
		cmd := exec.CommandContext(ctx, bin, "serve", "--dev", "--listen", freeAddr(t))
		cmd.Dir, cmd.Env, cmd.Stderr = dir, append(os.Environ(), env...), &errOut
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || ctx.Err() != nil {
			t.Fatalf("serve with the wrong key: %v; want it to refuse to start\n%s", err, errOut.String())
		}
		for _, want := range wants {
			if out := errOut.String(); !strings.Contains(out, want) {
				t.Fatalf("serve with the wrong key said:\n%s\nwant it to say %q", out, want)
			}
		}
	}
	t.Run("GATEHOUSE_SECRET_KEY", func(t *testing.T) {
		refused(t, env(wrong), "the secret key from GATEHOUSE_SECRET_KEY", "does not match")
	})
	t.Run("secret.key", func(t *testing.T) {
		// The data directory has no key file (the key came from the
		// environment): a new one could open nothing, so none is made.
		refused(t, nil, data+" holds no "+secret.KeyFileName, "GATEHOUSE_SECRET_KEY", "no new key was made")
		if _, err := os.Stat(filepath.Join(data, secret.KeyFileName)); !os.IsNotExist(err) {
			t.Fatalf("the refused node made a key file: %v", err)
		}
	})
	t.Run("wrong secret.key", func(t *testing.T) {
		keyFile := filepath.Join(data, secret.KeyFileName)
		if err := os.WriteFile(keyFile, []byte(wrong+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(keyFile)
		refused(t, nil, "the secret key from "+keyFile, "does not match")
	})
	t.Run("database from before key checks", func(t *testing.T) {
		// Without a stored key check, the node tries the application's sealed
		// secret, and must not store its own key check when that fails.
		if _, err := db.Exec(`DELETE FROM key_check`); err != nil {
			t.Fatal(err)
		}
		refused(t, env(wrong), "the secret key from GATEHOUSE_SECRET_KEY", "does not match")
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM key_check`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("key checks stored by the refused node: %d (%v); want 0", n, err)
		}
	})
	t.Run("right key", func(t *testing.T) {
		p := startProcess(t, bin, dir, freeAddr(t), nil, env(right))
		resp, err := http.Get("http://" + p.addr + "/readyz")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("readyz with the right key: %v %v", resp, err)
		}
		resp.Body.Close()
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM key_check`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("key checks after a start with the right key: %d (%v); want 1", n, err)
		}
	})
}

// TestWrongKeyCredentialsView serves a client secret sealed with another key
// than the node's, as when a node of a release before the start-up key check,
// with another key, created the application (the check makes it rare; this is
// the handler's side). Viewing the credentials,
// in the admin API and in the console, must answer 503 saying plainly that
// the node's key does not match the data, never 500, and log it at error
// level once, not at every view.
func TestWrongKeyCredentialsView(t *testing.T) {
	var logs syncBuffer
	e := newLoggedEnv(t, &logs)
	e.createUser("root", "root-password", store.LevelSystemAdmin)
	c, secretValue := e.createClient(app.Registration{})
	other, err := secret.New([]byte(strings.Repeat("k", secret.KeySize)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.node.Store.UpdateClient(t.Context(), c.ID, func(s *store.Client) error {
		s.SecretSealed = other.Seal([]byte(secretValue), "client-secret:"+c.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	root := e.newBrowser()
	if p := root.signIn("root", "root-password"); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", p.status)
	}
	tok := e.token(form("grant_type", "authorization_code", "code", root.code(authParams(c, "READ ADMIN")), "redirect_uri", callback), c.ID, secretValue)
	if tok.status != http.StatusOK {
		t.Fatalf("token: %d %s", tok.status, tok.raw)
	}

	for range 2 {
		req, _ := http.NewRequest("POST", e.base+"/rest/oauth2/latest/client/"+c.ID+"/credentials", strings.NewReader(`{"password": "root-password"}`))
		req.Header.Set("Authorization", "Bearer "+tok.str("access_token"))
		req.Header.Set("Content-Type", "application/json")
		r := e.send(req)
		var body struct{ Error, Message string }
		json.Unmarshal([]byte(r.raw), &body)
		if r.status != http.StatusServiceUnavailable || body.Error != "secret_key_mismatch" || !strings.Contains(body.Message, keyMismatch) || !strings.Contains(body.Message, "GATEHOUSE_SECRET_KEY") {
			t.Fatalf("admin API credentials: %d %s; want 503 secret_key_mismatch saying %q", r.status, r.raw, keyMismatch)
		}
	}
	reauth := root.follow(root.get("/admin/apps/" + c.ID + "/credentials"))
	view := root.follow(root.submit(reauth, "/admin/reauth", "password", "root-password"))
	if view.status != http.StatusServiceUnavailable || !strings.Contains(view.body, "does not match the one its data was sealed with") {
		t.Fatalf("console credentials: %d; want 503 saying the key does not match:\n%s", view.status, view.body)
	}
	if got := strings.Count(logs.String(), "level=ERROR"); got != 1 || !strings.Contains(logs.String(), keyMismatch) {
		t.Fatalf("%d error lines after three views, want one naming the key mismatch:\n%s", got, logs.String())
	}
}

// openSQLiteFile opens a node's database file directly, closed at cleanup.
func openSQLiteFile(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
