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
	var gen uint64
	if s.cache != nil {
		if data, ok := s.cache.session(token, now); ok {
			return data, true, nil
		}
		gen = s.cache.start()
	}
	var data []byte
	var expiry int64
	err := s.rq.QueryRowContext(ctx, `SELECT data, expiry FROM sessions WHERE token = $1 AND expiry > $2`, token, ms(now)).Scan(&data, &expiry)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("sqlstore: find session: %w", err)
	}
	if s.cache != nil {
		s.cache.putSession(gen, token, data, expiry)
	}
	return data, true, nil
}

// CommitSession implements store.Sessions.
func (s *Store) CommitSession(ctx context.Context, token string, data []byte, expiry time.Time) error {
	if data == nil {
		data = []byte{} // the column is NOT NULL
	}
	_, err := s.execEffects(ctx, &effects{sessions: []string{token}}, `INSERT INTO sessions (token, data, expiry) VALUES ($1, $2, $3)
		ON CONFLICT (token) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`, token, data, ms(expiry))
	if err != nil {
		return fmt.Errorf("sqlstore: commit session: %w", err)
	}
	return nil
}

// UpdateSession implements store.Sessions.
func (s *Store) UpdateSession(ctx context.Context, token string, data []byte, expiry time.Time) (bool, error) {
	if data == nil {
		data = []byte{} // the column is NOT NULL
	}
	res, err := s.execEffects(ctx, &effects{sessions: []string{token}}, `UPDATE sessions SET data = $2, expiry = $3 WHERE token = $1`, token, data, ms(expiry))
	if err != nil {
		return false, fmt.Errorf("sqlstore: update session: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore: update session: %w", err)
	}
	return n > 0, nil
}

// DeleteSession implements store.Sessions; deleting a missing session is no error.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	if _, err := s.execEffects(ctx, &effects{sessions: []string{token}}, `DELETE FROM sessions WHERE token = $1`, token); err != nil {
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
