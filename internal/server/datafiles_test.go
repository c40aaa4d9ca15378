package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/user"
)

// A data directory whose secret.key was kept but whose database is gone (an
// operator deleted or moved it) is refused: a node that made a new, empty
// database there would serve with no users and applications, and the old
// data restored later would meet a node that has written its own beside it.
func TestMissingDatabaseBesideItsKeyIsRefused(t *testing.T) {
	cfg := devConfig(t)
	open := func() (*Gatehouse, error) {
		return openWithLog(cfg, io.Discard)
	}
	g, err := open() // a new data directory: key and database are made
	if err != nil {
		t.Fatal(err)
	}
	g.Close()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(cfg.SQLitePath() + suffix)
	}
	if _, err := open(); err == nil || !strings.Contains(err.Error(), "secret.key") || !strings.Contains(err.Error(), "gatehouse.db") {
		t.Fatalf("open without the database = %v, want refused naming both files", err)
	}
	// An empty file where the database was is refused the same.
	if err := os.WriteFile(cfg.SQLitePath(), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := open(); err == nil || !strings.Contains(err.Error(), "secret.key") {
		t.Fatalf("open with an empty database file = %v, want refused", err)
	}
	os.Remove(cfg.SQLitePath())
	// gatehouse migrate, which also makes a database, refuses the same.
	if _, err := OpenStore(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "secret.key") {
		t.Fatalf("OpenStore without the database = %v, want refused", err)
	}
	if _, err := os.Stat(cfg.SQLitePath()); !os.IsNotExist(err) {
		t.Fatalf("a database was made: %v", err)
	}
	// Moving the key away is how an operator says "start afresh".
	if err := os.Rename(filepath.Join(cfg.DataDir, "secret.key"), filepath.Join(cfg.DataDir, "old.key")); err != nil {
		t.Fatal(err)
	}
	g, err = open()
	if err != nil {
		t.Fatalf("open afresh = %v", err)
	}
	g.Close()
}

// A first start that fails before the database exists (a scope catalogue
// that does not load, a database that cannot be opened) leaves no key
// behind, so that the start after the operator's fix is a first start, not
// refused as "the database was deleted or moved".
func TestFailedFirstStartLeavesNoKey(t *testing.T) {
	cfg := devConfig(t)
	open := func(cfg config.Config) error {
		g, err := openWithLog(cfg, io.Discard)
		if err == nil {
			g.Close()
		}
		return err
	}
	badScopes := cfg
	badScopes.Scopes.Catalogue = filepath.Join(cfg.DataDir, "no-such-scopes.yaml")
	if err := open(badScopes); err == nil {
		t.Fatal("a catalogue that does not exist was accepted")
	}
	// A directory where the database file should be: SQLite cannot open it.
	if err := os.Mkdir(cfg.SQLitePath(), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := open(cfg); err == nil {
		t.Fatal("a directory was opened as the database")
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "secret.key")); !os.IsNotExist(err) {
		t.Fatalf("the failed starts left a key: %v", err)
	}
	if err := os.Remove(cfg.SQLitePath()); err != nil {
		t.Fatal(err)
	}
	if err := open(cfg); err != nil {
		t.Fatalf("the start after the fix: %v", err)
	}
}

// A start says what it did to the schema (an upgrade's migrations can take
// a while, and ran silently): a new database is "created", one already up
// to date gets no line.
func TestOpenLogsWhatItDidToTheSchema(t *testing.T) {
	cfg := devConfig(t)
	start := func() string { return openAndClose(t, cfg) }
	if out := start(); !strings.Contains(out, "database created") || !strings.Contains(out, "schema_version=") || !strings.Contains(out, cfg.SQLitePath()) {
		t.Fatalf("the first start logged %q", out)
	}
	if out := start(); strings.Contains(out, "database") {
		t.Fatalf("a start with nothing to migrate logged %q", out)
	}
}

// devConfig is a validated --dev configuration on a new data directory.
func devConfig(t *testing.T) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Dev = true
	cfg.DataDir = t.TempDir()
	if err := cfg.ValidateServe(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// openAndClose opens a node on cfg and closes it, returning what it logged.
func openAndClose(t *testing.T, cfg config.Config) string {
	t.Helper()
	var out strings.Builder
	g, err := openWithLog(cfg, &out)
	if err != nil {
		t.Fatal(err)
	}
	g.Close()
	return out.String()
}

// openWithLog opens a node on cfg, with a cheap hash, logging to out.
func openWithLog(cfg config.Config, out io.Writer) (*Gatehouse, error) {
	return Open(context.Background(), cfg, slog.New(slog.NewTextHandler(out, nil)),
		Options{Argon2: &user.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}})
}

// A database whose data is sealed with a key, opened with no key at hand
// (a management command run without the node's GATEHOUSE_SECRET_KEY, a
// secret.key lost) is refused without making a new key: a random one
// written into the data directory opened nothing, and was then the file the
// docs told the operator to back up.
func TestSealedDatabaseWithoutItsKeyMakesNoKey(t *testing.T) {
	cfg := devConfig(t)
	g, err := openWithLog(cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	g.Close()
	keyFile := filepath.Join(cfg.DataDir, "secret.key")
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	if _, err := openWithLog(cfg, io.Discard); err == nil || !strings.Contains(err.Error(), "no new key was made") {
		t.Fatalf("open without the key = %v; want refused, saying no key was made", err)
	}
	if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
		t.Fatalf("a key file was made: %v", err)
	}
	cfg.SecretKey = strings.TrimSpace(string(key)) // the node's key, given as GATEHOUSE_SECRET_KEY
	g, err = openWithLog(cfg, io.Discard)
	if err != nil {
		t.Fatalf("open with the key from the environment = %v", err)
	}
	g.Close()
}

// TestOpenKeyFileIsRestrictedAndSaidSo: a key file other users could read
// (copied in under a umask's 0644) is made the owner's alone, and the start
// says it was open, since whoever could read it may hold the key; a key file
// that was private gets no such line.
func TestOpenKeyFileIsRestrictedAndSaidSo(t *testing.T) {
	cfg := devConfig(t)
	openAndClose(t, cfg) // makes the key
	key := filepath.Join(cfg.DataDir, "secret.key")
	start := func() string { return openAndClose(t, cfg) }
	if out := start(); strings.Contains(out, "readable by other users") {
		t.Fatalf("a private key file was reported open: %s", out)
	}
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	if out := start(); !strings.Contains(out, "readable by other users") || !strings.Contains(out, "mode=0644") {
		t.Fatalf("an open key file was not reported: %s", out)
	}
	if fi, _ := os.Stat(key); fi.Mode().Perm() != 0o600 {
		t.Fatalf("the key file is %04o after the start", fi.Mode().Perm())
	}
}

// TestReadinessProbeThatHangsUp: a prober that went away (or half-closed its
// connection) before the answer gets no "not ready" logged against a
// database that is fine: only the database's own failure is one.
func TestReadinessProbeThatHangsUp(t *testing.T) {
	cfg := devConfig(t)
	var logs strings.Builder
	g, err := openWithLog(cfg, &logs)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	g.Handler().ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, "/readyz", nil))
	if rec.Code == http.StatusServiceUnavailable || strings.Contains(logs.String(), "not ready") {
		t.Fatalf("a prober that hung up: %d, logged %q", rec.Code, logs.String())
	}
	rec = httptest.NewRecorder()
	g.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("a prober that waited: %d", rec.Code)
	}
}
