package sqlstore

import (
	"context"
	"fmt"
)

// KeyCheck implements store.KeyCheck.
func (s *Store) KeyCheck(ctx context.Context) ([]byte, error) {
	var sealed []byte
	if err := s.rq.QueryRowContext(ctx, `SELECT sealed FROM key_check WHERE id = 1`).Scan(&sealed); err != nil {
		return nil, fmt.Errorf("sqlstore: key check: %w", notFound(err))
	}
	return sealed, nil
}

// InitKeyCheck implements store.KeyCheck. The row never changes once
// written, so inserting it (or finding it there) and reading it back need no
// common transaction.
func (s *Store) InitKeyCheck(ctx context.Context, sealed []byte) ([]byte, error) {
	if _, err := s.exec(ctx, `INSERT INTO key_check (id, sealed) VALUES (1, $1) ON CONFLICT (id) DO NOTHING`, sealed); err != nil {
		return nil, fmt.Errorf("sqlstore: init key check: %w", err)
	}
	return s.KeyCheck(ctx)
}
