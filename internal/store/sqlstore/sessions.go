package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// FindSession implements store.Sessions.
func (s *Store) FindSession(ctx context.Context, token string, now time.Time) ([]byte, bool, error) {
	var data []byte
	err := s.rq.QueryRowContext(ctx, `SELECT data FROM sessions WHERE token = $1 AND expiry > $2`, token, ms(now)).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("sqlstore: find session: %w", err)
	}
	return data, true, nil
}

// CommitSession implements store.Sessions.
func (s *Store) CommitSession(ctx context.Context, token string, data []byte, expiry time.Time) error {
	if data == nil {
		data = []byte{} // the column is NOT NULL
	}
	_, err := s.exec(ctx, `INSERT INTO sessions (token, data, expiry) VALUES ($1, $2, $3)
		ON CONFLICT (token) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`, token, data, ms(expiry))
	if err != nil {
		return fmt.Errorf("sqlstore: commit session: %w", err)
	}
	return nil
}

// DeleteSession implements store.Sessions; deleting a missing session is no error.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	if _, err := s.exec(ctx, `DELETE FROM sessions WHERE token = $1`, token); err != nil {
		return fmt.Errorf("sqlstore: delete session: %w", err)
	}
	return nil
}

// CountSessions implements store.Sessions.
func (s *Store) CountSessions(ctx context.Context, now time.Time) (int, error) {
	var n int
	if err := s.rq.QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions WHERE expiry > $1`, ms(now)).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: count sessions: %w", err)
	}
	return n, nil
}
