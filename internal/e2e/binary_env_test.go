package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBinaryRefusesUnknownEnvironmentVariable: a misspelt GATEHOUSE_*
// variable stops the start and names the setting it was probably meant to
// be; the variables that are read elsewhere do not.
func TestBinaryRefusesUnknownEnvironmentVariable(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	// Today's code would serve: the timeout ends that as a failure.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--dev", "--listen", freeAddr(t))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GATEHOUSE_LIFETIME_ACCESS_TOKEN=1h")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("serve started with an unknown variable:\n%s", out)
	}
	want := "unknown setting GATEHOUSE_LIFETIME_ACCESS_TOKEN; did you mean GATEHOUSE_LIFETIMES_ACCESS_TOKEN?"
	if err == nil || !strings.Contains(string(out), want) {
		t.Fatalf("serve: %v, output %q; want a failure saying %q", err, out, want)
	}

	env := []string{"GATEHOUSE_ADMIN_PASSWORD=admin-password-123", "GATEHOUSE_TEST_DATABASE_URL=postgres://test@127.0.0.1:1/test"}
	if _, errOut, err := runCLIEnv(bin, dir, env, "migrate"); err != nil {
		t.Fatalf("migrate with the variables read elsewhere: %v\n%s", err, errOut)
	}
}

// TestBinaryMigrateNamesItsDatabase: migrate says which database it brought
// up to date: the SQLite file, or PostgreSQL's database, host and port,
// never the password.
func TestBinaryMigrateNamesItsDatabase(t *testing.T) {
	bin := buildBinary(t)
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		out := cli(t, bin, dir, "migrate")
		if want := "SQLite file " + filepath.Join(dir, "gatehouse-data", "gatehouse.db"); !strings.Contains(out, want) {
			t.Fatalf("migrate printed %q; want it to name %q", out, want)
		}
		// It says what it did: a new database created, then nothing to do.
		if !strings.Contains(out, "database created (schema version ") {
			t.Fatalf("the first migrate printed %q; want what it migrated", out)
		}
		var j struct {
			From    *int64 `json:"from_version"`
			Version int64  `json:"version"`
		}
		out = cli(t, bin, dir, "migrate", "--json")
		if err := json.Unmarshal([]byte(out), &j); err != nil || j.From == nil || *j.From != j.Version || j.Version == 0 {
			t.Fatalf("the second migrate --json printed %q (%v); want from_version = version", out, err)
		}
		if out := cli(t, bin, dir, "migrate"); !strings.Contains(out, fmt.Sprintf("up to date (schema version %d)", j.Version)) {
			t.Fatalf("the third migrate printed %q", out)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		dbURL, _ := freshDatabase(t)
		u, err := url.Parse(dbURL)
		if err != nil {
			t.Fatal(err)
		}
		// The test server trusts local connections, so the password is not used, only shown if leaked.
		const password = "n0t-to-be-printed"
		u.User = url.UserPassword(u.User.Username(), password)
		name := strings.TrimPrefix(u.Path, "/")
		out := cli(t, bin, t.TempDir(), "migrate", "--database-url", u.String())
		if want := "PostgreSQL database " + name + " on " + u.Host; !strings.Contains(out, want) || strings.Contains(out, password) {
			t.Fatalf("migrate printed %q; want it to name %q, without the password", out, want)
		}
		var j struct {
			Store string `json:"store"`
		}
		out = cli(t, bin, t.TempDir(), "migrate", "--json", "--database-url", u.String())
		if err := json.Unmarshal([]byte(out), &j); err != nil || !strings.Contains(j.Store, name) || strings.Contains(out, password) {
			t.Fatalf("migrate --json printed %q (%v)", out, err)
		}
	})
}
