package main

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/cli"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

func newBackupCommand(g *globals) *cobra.Command {
	var to string
	var force bool
	cmd := &cobra.Command{
		Use:   "backup --to FILE",
		Short: "Copy the SQLite database to a file while the server keeps serving",
		Long: `Write a consistent copy of the embedded SQLite database (gatehouse.db in the
data directory) to FILE, readable by its owner only. The server may keep
serving meanwhile: the copy is the database as it was when the backup began.
FILE must not exist, unless --force is given; even then only a previous
backup (a regular file holding an SQLite database) other than the database
itself is replaced, and only once the new copy is complete.

The copy is useless without the secret key it was sealed with (secret.key in
the data directory, or GATEHOUSE_SECRET_KEY): keep the key too, stored apart.
The backup checks that this key opens the copy and fails if it does not: run
it with the node's key.
Restore steps: docs/operations.md. PostgreSQL is backed up with pg_dump.`,
		Example: `  gatehouse backup --to /backups/gatehouse-$(date +%F).db
  gatehouse backup --data-dir /var/lib/gatehouse --to /backups/gatehouse.db --force --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig(cmd, false, nil)
			if err != nil {
				return err
			}
			if cfg.Database.URL != "" {
				return fmt.Errorf("backup copies the embedded SQLite database, and this node's store is the %s: back it up with pg_dump (docs/operations.md)", server.StoreTarget(cfg))
			}
			if to == "" {
				return errors.New("name the backup's file with --to FILE")
			}
			if err := cli.RequireDatabase(cfg); err != nil {
				return err
			}
			dest, err := filepath.Abs(to)
			if err != nil {
				return err
			}
			start := time.Now()
			keyFile := filepath.Join(cfg.DataDir, secret.KeyFileName)
			// --force replaces a previous backup, never the key or the configuration.
			size, err := sqlstore.BackupSQLite(cmd.Context(), cfg.SQLitePath(), dest, force, keyFile, g.settings.ConfigFile)
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s already exists: name a new file, or add --force to replace it", dest)
			}
			if err != nil {
				return err
			}
			if err := server.KeyOpens(cmd.Context(), cfg, dest); err != nil {
				return fmt.Errorf("backed up %s to %s, but %w", cfg.SQLitePath(), dest, err)
			}
			key := server.KeySource(cfg)
			if g.jsonOut {
				return g.printJSON(struct {
					Database  string  `json:"database"`
					Backup    string  `json:"backup"`
					Bytes     int64   `json:"bytes"`
					Seconds   float64 `json:"seconds"`
					SecretKey string  `json:"secret_key"`
				}{cfg.SQLitePath(), dest, size, time.Since(start).Seconds(), key})
			}
			_, err = fmt.Fprintf(g.stdout, "backed up %s to %s (%d bytes in %.2fs)\nkeep the secret key it was sealed with, %s, stored apart: without it the backup cannot be used\n",
				cfg.SQLitePath(), dest, size, time.Since(start).Seconds(), key)
			return err
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "file to write the backup to (required; must not exist)")
	cmd.Flags().BoolVar(&force, "force", false, "replace FILE if it is a previous backup (an SQLite database file)")
	cmd.MarkFlagRequired("to")
	return cmd
}
