package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/reqlog"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/server"
)

func secretKey() string { return secret.GenerateMaster() }

func newServeCommand(g *globals) *cobra.Command {
	var listen, baseURL string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Start the authorization server",
		Long: `Start the authorization server: migrations are applied, and on first start an
administrator "admin" is created whose password is printed once (or taken from
GATEHOUSE_ADMIN_PASSWORD).

In production the base URL must be https. --dev allows http and says so loudly.`,
		Example: `  gatehouse serve --dev
  gatehouse serve --listen 0.0.0.0:8443 --base-url https://auth.example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig(cmd, true, func(c *config.Config) {
				if cmd.Flags().Changed("listen") {
					c.Listen = listen
				}
				if cmd.Flags().Changed("base-url") {
					c.BaseURL = baseURL
				}
			})
			if err != nil {
				return err
			}
			return serve(cmd.Context(), g, cfg)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "address to listen on (default 127.0.0.1:8080)")
	cmd.Flags().StringVar(&baseURL, "base-url", "", "public base URL, the issuer (default http://<listen> in --dev)")
	return cmd
}

func serve(ctx context.Context, g *globals, cfg config.Config) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The access log's lines are written in batches (see reqlog.Batch).
	handler, flushLog := reqlog.Batch(g.stderr, func(w io.Writer) slog.Handler { return newLogger(cfg, w).Handler() })
	defer flushLog()
	log := slog.New(handler)
	// SIGHUP (a reload, logrotate's habit) would end the node without a
	// graceful shutdown: there is nothing to reload (the TLS pair reloads by
	// itself), so it is said and ignored.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer func() { signal.Stop(hup); close(hup) }()
	go func() {
		for range hup {
			log.Warn("SIGHUP ignored: the configuration is read at start; restart the node to apply a change")
		}
	}()
	if cfg.Dev {
		fmt.Fprintln(g.stderr, "\n  !!  DEVELOPMENT MODE: http URLs are allowed and cookies are not Secure.\n  !!  Never run --dev in production.")
	}
	node, err := server.Open(ctx, cfg, log, server.Options{HashWorker: hashWorker()})
	if err != nil {
		return err
	}
	defer node.Close()
	if !cfg.Dev {
		bad, err := node.Apps.InsecureRedirects(ctx)
		if err != nil {
			return err
		}
		if len(bad) > 0 {
			return fmt.Errorf("production mode needs https redirect URIs (http is allowed only for loopback addresses); fix or delete these applications, or run with --dev:\n  %s", strings.Join(bad, "\n  "))
		}
	}
	created, err := ensureFirstAdmin(ctx, g.stderr, node, os.Getenv(config.AdminPasswordEnv))
	if err != nil {
		return fmt.Errorf("create the first administrator: %w", err)
	}
	if created {
		// Hashing the password took argon2id's memory, which the node will
		// not need again soon: give it back now rather than when the
		// scavenger gets to it.
		debug.FreeOSMemory()
	}
	// From now on sign-ins hash in the worker process (see user.Hasher);
	// while it runs, the node holds only the code it runs then.
	node.EnableHashWorker(dropExecutablePages)
	if !created {
		forgetChangedFirstAdminPassword(ctx, node)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	l := cfg.Lifetimes
	// Logged once the start can no longer fail (a TLS pair, another
	// listener), for whatever waits for this line.
	started := func() {
		log.Info("gatehouse started", "version", buildVersion(), "listen", ln.Addr().String(), "issuer", cfg.BaseURL,
			"store", server.StoreTarget(cfg), "dev", cfg.Dev, "scopes", cfg.Scopes.Catalogue, "trusted_proxies", len(cfg.TrustedProxies),
			"access_token", l.AccessToken, "refresh_idle", l.RefreshIdle, "refresh_absolute", l.RefreshMax, "refresh_grace", l.RefreshGrace,
			"log_level", cfg.Log.Level)
		// Once serving, the pages of the executable that only the start
		// touched are given back (see dropExecutablePages).
		time.AfterFunc(startPagesDelay, dropExecutablePages)
	}
	err = node.Serve(ctx, ln, started)
	log.Info("gatehouse stopped", "error", err)
	return err
}

func newMigrateCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply database migrations (serve also does this)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig(cmd, false, nil)
			if err != nil {
				return err
			}
			st, err := server.OpenStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			target := server.StoreTarget(cfg)
			if err := st.SchemaAhead(); err != nil {
				return err
			}
			m := st.Migrated()
			if g.jsonOut {
				return g.printJSON(struct {
					Store       string `json:"store"`
					FromVersion int64  `json:"from_version"`
					Version     int64  `json:"version"`
				}{target, m.From, m.To})
			}
			if m.From == 0 && m.To != 0 {
				_, err = fmt.Fprintf(g.stdout, "database created (schema version %d): %s\n", m.To, target)
				return err
			}
			if m.From != m.To {
				_, err = fmt.Fprintf(g.stdout, "database schema migrated from version %d to %d in %v: %s\n", m.From, m.To, m.Took.Round(time.Millisecond), target)
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "database is up to date (schema version %d): %s\n", m.To, target)
			return err
		},
	}
}
