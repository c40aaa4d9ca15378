package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// globals are the flags every command takes.
type globals struct {
	stdout, stderr io.Writer
	configFile     string
	dataDir        string
	databaseURL    string
	dev            bool
	logLevel       string
	jsonOut        bool
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "gatehouse",
		Short: "Gatehouse, a self-hosted OAuth 2.0 authorization server",
		Long: `Gatehouse is a self-hosted OAuth 2.0 authorization server with its own sign-in,
consent and administration pages.

Start it for development with the embedded SQLite store:

  gatehouse serve --dev

Settings come from a YAML file (--config), then GATEHOUSE_* environment
variables, then flags, each overriding the one before.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&g.configFile, "config", "", "YAML configuration file")
	pf.StringVar(&g.dataDir, "data-dir", "", "data directory holding the SQLite file and the secret key (default ./gatehouse-data)")
	pf.StringVar(&g.databaseURL, "database-url", "", "database URL; empty for the embedded SQLite file")
	pf.BoolVar(&g.dev, "dev", false, "development mode: allow http URLs (never in production)")
	pf.StringVar(&g.logLevel, "log-level", "", "log level: debug, info, warn, error")
	pf.BoolVar(&g.jsonOut, "json", false, "print results as JSON")
	root.AddCommand(newServeCommand(g), newMigrateCommand(g), newUserCommand(g), newClientCommand(g), newKeygenCommand(g), newBenchCommand(g), newBackupCommand(g))
	root.AddCommand(newMailServerCommand(g))
	root.AddCommand(newIntegrationCommand(g))
	return root
}

// loadConfig merges file, environment and flags; serving adds the base URL checks.
func (g *globals) loadConfig(cmd *cobra.Command, serving bool, apply func(*config.Config)) (config.Config, error) {
	cfg := config.Default()
	if g.configFile != "" {
		if err := cfg.LoadFile(g.configFile); err != nil {
			return cfg, err
		}
	}
	if err := cfg.LoadEnv(os.Environ()); err != nil {
		return cfg, err
	}
	flags := cmd.Flags()
	if flags.Changed("data-dir") {
		cfg.DataDir = g.dataDir
	}
	if flags.Changed("database-url") {
		cfg.Database.URL = g.databaseURL
	}
	if flags.Changed("dev") {
		cfg.Dev = g.dev
	}
	if flags.Changed("log-level") {
		cfg.Log.Level = g.logLevel
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

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.Log.Level)) //nolint:errcheck // validated
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// open builds a node for a management command; logs go to stderr.
func (g *globals) open(cmd *cobra.Command) (*server.Gatehouse, error) {
	cfg, err := g.loadConfig(cmd, false, nil)
	if err != nil {
		return nil, err
	}
	cfg.Log.Level = "warn"
	if err := requireDatabase(cfg); err != nil {
		return nil, err
	}
	return server.Open(cmd.Context(), cfg, newLogger(cfg, g.stderr), server.Options{})
}

// requireDatabase refuses a management command run where no database is: it
// would otherwise create an empty one with a key of its own, which the
// running server never sees. Only serve and migrate create a database.
func requireDatabase(cfg config.Config) error {
	if cfg.Database.URL != "" {
		return nil
	}
	path := cfg.SQLitePath()
	if _, err := os.Stat(path); err != nil {
		abs, _ := filepath.Abs(path)
		return fmt.Errorf("no Gatehouse database at %s: run this where the server's data directory is, or name it with --data-dir (or GATEHOUSE_DATA_DIR); `gatehouse serve` or `gatehouse migrate` creates a new one", abs)
	}
	return nil
}

// withNode runs fn against an opened node and closes it.
func (g *globals) withNode(cmd *cobra.Command, fn func(ctx context.Context, n *server.Gatehouse) error) error {
	n, err := g.open(cmd)
	if err != nil {
		return err
	}
	defer n.Close()
	return fn(cmd.Context(), n)
}

func (g *globals) printJSON(v any) error {
	enc := json.NewEncoder(g.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newKeygenCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "keygen",
		Short: "Print a new random secret key for GATEHOUSE_SECRET_KEY",
		Long: `Print a new random 32-byte secret key in base64. Every node of a cluster must
use the same key (GATEHOUSE_SECRET_KEY or secret_key in the configuration);
without one, the first start writes secret.key into the data directory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(g.stdout, secretKey())
			return err
		},
	}
}
