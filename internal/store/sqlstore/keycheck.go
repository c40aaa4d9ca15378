package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// KeyCheck implements store.KeyCheck.
func (s *Store) KeyCheck(ctx context.Context) ([]byte, error) {
	return readKeyCheck(ctx, s.rq)
}

func readKeyCheck(ctx context.Context, q querier) ([]byte, error) {
	var sealed []byte
	if err := q.QueryRowContext(ctx, `SELECT sealed FROM key_check WHERE id = 1`).Scan(&sealed); err != nil {
		return nil, fmt.Errorf("sqlstore: key check: %w", notFound(err))
	}
	return sealed, nil
}

// SQLiteKeyCheck reads the key check of the SQLite file at path (a backup)
// without changing the file; store.ErrNotFound when it holds none.
func SQLiteKeyCheck(ctx context.Context, path string) ([]byte, error) {
	db, err := sql.Open("sqlite", "file:"+strings.NewReplacer("%", "%25", "#", "%23", "?", "%3f").Replace(path)+"?mode=ro")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return readKeyCheck(ctx, db)
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
