package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/config"
)

// TestLoadPrecedence: a flag given beats GATEHOUSE_*, which beats the file;
// a flag not given leaves them alone.
func TestLoadPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "gatehouse.yaml")
	if err := os.WriteFile(file, []byte("data_dir: "+filepath.Join(dir, "from-file")+"\nlog:\n  level: error\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GATEHOUSE_LOG_LEVEL", "warn")
	var f Flags
	cmd := &cobra.Command{}
	f.Register(cmd)
	if err := cmd.ParseFlags([]string{"--config", file, "--log-level", "debug"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := f.Load(cmd, false, func(c *config.Config) { c.Listen = "127.0.0.1:9999" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != filepath.Join(dir, "from-file") || cfg.Log.Level != "debug" || cfg.Listen != "127.0.0.1:9999" {
		t.Fatalf("data_dir %q, log.level %q, listen %q", cfg.DataDir, cfg.Log.Level, cfg.Listen)
	}
	if _, err := f.Load(cmd, true, nil); err == nil || !strings.Contains(err.Error(), "base_url is required") {
		t.Fatalf("serving without a base URL: %v", err)
	}
}

func TestOpenRequiresDatabase(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.Context(), cfg, os.Stderr); err == nil || !strings.Contains(err.Error(), "no Gatehouse database at") {
		t.Fatalf("Open on an empty directory: %v", err)
	}
	if _, err := os.Stat(cfg.SQLitePath()); !os.IsNotExist(err) {
		t.Fatalf("Open made a database: %v", err)
	}
}

// TestOpenSaysWhyADatabaseCannotBeReached: a data directory that cannot be
// read (here a file where the directory should be; for another user, one
// without permission) is not reported as "no database", which would send
// the operator to restore a backup of data that is still there.
func TestOpenSaysWhyADatabaseCannotBeReached(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(cfg.DataDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(t.Context(), cfg, os.Stderr)
	if err == nil || strings.Contains(err.Error(), "no Gatehouse database") || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("Open where the data directory is a file: %v", err)
	}
}
