package server

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
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
	source := "GATEHOUSE_SECRET_KEY (secret_key)"
	if g.Config.SecretKey == "" {
		source = filepath.Join(g.Config.DataDir, secret.KeyFileName)
	}
	return fmt.Errorf("refusing to start: the secret key from %s does not match the one the data in this database was sealed with; "+
		"start with the key the data was created with (every node needs the same GATEHOUSE_SECRET_KEY or secret.key)", source)
}
