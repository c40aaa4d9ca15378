package main

import (
	"bytes"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/user"
)

// TestFirstAdminPasswordNeverLost: without a terminal, a first start that
// cannot write the administrator's password file (a full disk; here a
// directory in its place, which fails for root too) stops with an error
// naming the file and creates no administrator, rather than one whose
// password is nowhere. The next start creates it, with the password in the
// file; a start after that leaves the file alone.
func TestFirstAdminPasswordNeverLost(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Dev = true
	cfg.DataDir = dir
	var logs bytes.Buffer // also the start's stderr: not a terminal
	node, err := server.Open(t.Context(), cfg, slog.New(slog.NewTextHandler(&logs, nil)),
		server.Options{Argon2: &user.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	users := func() int {
		t.Helper()
		n, err := node.Store.CountUsers(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	path := filepath.Join(dir, firstAdminFile)
	if err := os.MkdirAll(filepath.Join(path, "in-the-way"), 0o700); err != nil {
		t.Fatal(err)
	}
	created, err := ensureFirstAdmin(t.Context(), &logs, node, "")
	if created || err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("a start that cannot write %s = %v, %v; want an error naming the file", path, created, err)
	}
	if n := users(); n != 0 {
		t.Fatalf("the failed start left %d users: an administrator whose password is nowhere", n)
	}
	if temps, _ := filepath.Glob(filepath.Join(dir, "."+firstAdminFile+"*")); len(temps) != 0 {
		t.Fatalf("the failed start left %v", temps)
	}

	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
	if created, err := ensureFirstAdmin(t.Context(), &logs, node, ""); !created || err != nil {
		t.Fatalf("the next start = %v, %v; want the administrator created", created, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v; want 0600", firstAdminFile, fi.Mode().Perm())
	}
	password := strings.TrimSuffix(string(data), "\n")
	if _, err := node.Users.Authenticate(t.Context(), "admin", password, netip.MustParseAddr("127.0.0.1")); err != nil {
		t.Fatalf("admin cannot sign in with the password in the file: %v", err)
	}
	if !strings.Contains(logs.String(), path) {
		t.Errorf("the log does not name %s:\n%s", path, logs.String())
	}

	if created, err := ensureFirstAdmin(t.Context(), &logs, node, ""); created || err != nil {
		t.Fatalf("a later start = %v, %v; want nothing created", created, err)
	}
	// A password in the environment on a later start is not used, and says so.
	if created, err := ensureFirstAdmin(t.Context(), &logs, node, "an-env-password-1"); created || err != nil || !strings.Contains(logs.String(), "GATEHOUSE_ADMIN_PASSWORD is ignored") {
		t.Fatalf("a later start with GATEHOUSE_ADMIN_PASSWORD = %v, %v; want nothing created, and a line saying so", created, err)
	}
	if again, err := os.ReadFile(path); err != nil || !bytes.Equal(again, data) {
		t.Errorf("a later start changed %s: %q, %v", firstAdminFile, again, err)
	}
	if n := users(); n != 1 {
		t.Errorf("%d users; want the one administrator", n)
	}

	// A start while the password is still the file's keeps the file; once
	// the administrator changed it, the start removes the stale copy.
	forgetChangedFirstAdminPassword(t.Context(), node)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the file went while its password still works: %v", err)
	}
	if err := node.Users.SetPassword(t.Context(), "admin", "a-new-admin-password", nil); err != nil {
		t.Fatal(err)
	}
	forgetChangedFirstAdminPassword(t.Context(), node)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the stale password file is still there: %v", err)
	}
	if !strings.Contains(logs.String(), "removed the first administrator's password file") {
		t.Errorf("the removal was not logged:\n%s", logs.String())
	}
}

// TestFirstAdminNoticeSurvivesAQuietLog: a first start logging only errors
// (log.level: error) still says where the first administrator's password
// is; without the line the operator has an administrator nobody can find
// the password of.
func TestFirstAdminNoticeSurvivesAQuietLog(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Dev = true
	cfg.DataDir = dir
	var logs, stderr bytes.Buffer
	node, err := server.Open(t.Context(), cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelError})),
		server.Options{Argon2: &user.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	if created, err := ensureFirstAdmin(t.Context(), &stderr, node, ""); !created || err != nil {
		t.Fatalf("first start = %v, %v; want the administrator created", created, err)
	}
	path := filepath.Join(dir, firstAdminFile)
	if !strings.Contains(logs.String()+stderr.String(), path) {
		t.Fatalf("nothing names %s at log.level error; log %q, stderr %q", path, logs.String(), stderr.String())
	}
}
