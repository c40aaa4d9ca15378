package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server"
)

// Flags are the settings every command takes on its command line.
type Flags struct {
	ConfigFile  string
	DataDir     string
	DatabaseURL string
	Dev         bool
	LogLevel    string
}

// Register adds --config, --data-dir, --database-url, --dev and --log-level
// to cmd and its subcommands.
func (f *Flags) Register(cmd *cobra.Command) {
	fs := cmd.PersistentFlags()
	fs.StringVar(&f.ConfigFile, "config", "", "YAML configuration file")
	fs.StringVar(&f.DataDir, "data-dir", "", "data directory holding the SQLite file and the secret key (default ./gatehouse-data)")
	fs.StringVar(&f.DatabaseURL, "database-url", "", "database URL; empty for the embedded SQLite file")
	fs.BoolVar(&f.Dev, "dev", false, "development mode: allow http URLs (never in production)")
	fs.StringVar(&f.LogLevel, "log-level", "", "log level: debug, info, warn, error")
}

// Load merges the defaults, the file, the environment and the flags given
// to cmd (f registered on it or a parent), then apply; serving adds the
// base URL checks of serve.
func (f *Flags) Load(cmd *cobra.Command, serving bool, apply func(*config.Config)) (config.Config, error) {
	cfg := config.Default()
	if f.ConfigFile != "" {
		if err := cfg.LoadFile(f.ConfigFile); err != nil {
			return cfg, err
		}
	}
	if err := cfg.LoadEnv(os.Environ()); err != nil {
		return cfg, err
	}
	// Only a flag given on the command line overrides the file and the environment.
	fs := cmd.Flags()
	if fs.Changed("data-dir") {
		cfg.DataDir = f.DataDir
	}
	if fs.Changed("database-url") {
		cfg.Database.URL = f.DatabaseURL
	}
	if fs.Changed("dev") {
		cfg.Dev = f.Dev
	}
	if fs.Changed("log-level") {
		cfg.Log.Level = f.LogLevel
	}
	if apply != nil {
		apply(&cfg)
	}
	validate := cfg.Validate
	if serving {
		validate = cfg.ValidateServe
	}
	if err := validate(); err != nil {
		return cfg, fmt.Errorf("configuration:\n  %s", strings.ReplaceAll(err.Error(), "\n", "\n  "))
	}
	return cfg, nil
}

// NewLogger logs to w at the configured level and format.
func NewLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.Log.Level)) //nolint:errcheck // validated
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// RequireDatabase refuses a management command run where no database is:
// it would otherwise create an empty one with a key of its own, which the
// running server never sees. Only serve and migrate create a database.
func RequireDatabase(cfg config.Config) error {
	if cfg.Database.URL != "" {
		return nil
	}
	path := cfg.SQLitePath()
	_, err := os.Stat(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		// Unreadable, not absent: say why rather than send the operator to
		// restore data that may well be there.
		return fmt.Errorf("cannot reach the Gatehouse database: %w (check the data directory's owner and permissions, and that it is a directory)", err)
	}
	if err != nil {
		abs, _ := filepath.Abs(path)
		return fmt.Errorf("no Gatehouse database at %s: run this where the server's data directory is, or name it with --data-dir (or GATEHOUSE_DATA_DIR); `gatehouse serve` or `gatehouse migrate` creates a new one", abs)
	}
	return nil
}

// Open builds the node of a management command on the existing database
// cfg names, without changing its schema; warnings and errors are logged to
// w.
func Open(ctx context.Context, cfg config.Config, w io.Writer) (*server.Gatehouse, error) {
	cfg.Log.Level = "warn"
	if err := RequireDatabase(cfg); err != nil {
		return nil, err
	}
	// A command waits for an outside provider as long as its requests take:
	// it has no HTTP answer to give up on, and its process must not end
	// (Close waits) before a refresh under way has stored what it brought.
	return server.Open(ctx, cfg, NewLogger(cfg, w), server.Options{KeepSchema: true, WaitForProviders: true})
}
