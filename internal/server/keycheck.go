package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// keyCheckContext binds the key check value to its one use.
const keyCheckContext = "key-check"

// checkKey refuses to start with a secret key that cannot open what the
// database holds: such a node would reject every token and client secret and
// could show no stored secret. The first node to start on a database seals a
// known value with its key and stores it (store.KeyCheck); every start opens
// it, one read. A database from before key checks, or a new one, gets its
// value only after one of its sealed client secrets, if it has any, opened
// with this key, so that a node with the wrong key cannot record its own and
// lock the right ones out.
func (g *Gatehouse) checkKey(ctx context.Context) error {
	sealed, err := g.Store.KeyCheck(ctx)
	if errors.Is(err, store.ErrNotFound) {
		if err := g.Apps.CheckKey(ctx); err != nil {
			return g.keyError(err)
		}
		sealed, err = g.Store.InitKeyCheck(ctx, g.Keys.Seal([]byte("gatehouse key check"), keyCheckContext))
	}
	if err != nil {
		return fmt.Errorf("check the secret key: %w", err)
	}
	if _, err := g.Keys.Open(sealed, keyCheckContext); err != nil {
		return g.keyError(err)
	}
	return nil
}

// keyError words a key that does not open the data for the operator, naming
// where this node's key came from.
func (g *Gatehouse) keyError(err error) error {
	if !errors.Is(err, secret.ErrKeyMismatch) {
		return fmt.Errorf("check the secret key: %w", err)
	}
	return fmt.Errorf("refusing to start: the secret key from %s does not match the one the data in this database was sealed with; "+
		"start with the key the data was created with (every node needs the same GATEHOUSE_SECRET_KEY or secret.key)", KeySource(g.Config))
}

// KeyOpens checks that the secret key cfg names opens the data sealed in the
// SQLite file at path (a backup just made), so that the key an operator is
// told to keep with it is one that works. A file with nothing sealed yet
// passes. It never makes a key.
func KeyOpens(ctx context.Context, cfg config.Config, path string) error {
	sealed, err := sqlstore.SQLiteKeyCheck(ctx, path)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	source := KeySource(cfg)
	master, err := secret.ReadMaster(cfg.DataDir, cfg.SecretKey)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("there is no secret key at %s (nor GATEHOUSE_SECRET_KEY) to open it with: keep the key the node runs with, and run backup with it", source)
	}
	if err != nil {
		return err
	}
	keys, err := secret.New(master)
	if err != nil {
		return err
	}
	if _, err := keys.Open(sealed, keyCheckContext); err != nil {
		return fmt.Errorf("the secret key from %s does not open it: keep the key the node runs with, and run backup with it (the same GATEHOUSE_SECRET_KEY or data directory)", source)
	}
	return nil
}

// KeySource names where cfg's secret key comes from.
func KeySource(cfg config.Config) string {
	if cfg.SecretKey != "" {
		return "GATEHOUSE_SECRET_KEY (secret_key)"
	}
	return filepath.Join(cfg.DataDir, secret.KeyFileName)
}
