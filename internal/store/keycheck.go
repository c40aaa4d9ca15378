package store

import "context"

// KeyCheck holds one value sealed with the secret key by the first node that
// started on the database, so that a node started with another key finds out
// before it serves anything (internal/server refuses to start then).
type KeyCheck interface {
	// KeyCheck returns the stored value; ErrNotFound before one is stored.
	KeyCheck(ctx context.Context) ([]byte, error)
	// InitKeyCheck stores sealed unless a value is stored already and returns
	// the stored value: of nodes starting at once, all get the first one's.
	InitKeyCheck(ctx context.Context, sealed []byte) ([]byte, error)
}
