package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AddFailure implements store.Throttle. One upsert either opens a new window
// at now (none yet, or the last one is over) or counts into the current one.
// The row keeps its window length so Purge knows when it is stale.
func (s *Store) AddFailure(ctx context.Context, key string, now time.Time, window time.Duration) (int, time.Time, error) {
	var n int
	var start int64
	err := s.inTxEffects(ctx, neutral(), func(ctx context.Context, tx querier) error {
		return tx.QueryRowContext(ctx, `INSERT INTO throttle (key, window_start, window_ms, failures) VALUES ($1, $2, $3, 1)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN throttle.window_start <= $4 THEN 1 ELSE throttle.failures + 1 END,
			window_start = CASE WHEN throttle.window_start <= $4 THEN excluded.window_start ELSE throttle.window_start END,
			window_ms = excluded.window_ms
		RETURNING failures, window_start`,
			key, ms(now), window.Milliseconds(), ms(now.Add(-window))).Scan(&n, &start)
	})
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("sqlstore: add failure: %w", err)
	}
	return n, time.UnixMilli(start), nil
}

// Failures implements store.Throttle.
func (s *Store) Failures(ctx context.Context, key string, now time.Time, window time.Duration) (int, error) {
	var n int
	err := s.rq.QueryRowContext(ctx, `SELECT failures FROM throttle WHERE key = $1 AND window_start > $2`,
		key, ms(now.Add(-window))).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlstore: failures: %w", err)
	}
	return n, nil
}

// ResetFailures implements store.Throttle.
func (s *Store) ResetFailures(ctx context.Context, key string) error {
	if _, err := s.execEffects(ctx, neutral(), `DELETE FROM throttle WHERE key = $1`, key); err != nil {
		return fmt.Errorf("sqlstore: reset failures: %w", err)
	}
	return nil
}

// ReleaseFailure implements store.Throttle.
func (s *Store) ReleaseFailure(ctx context.Context, key string, windowStart time.Time) error {
	_, err := s.execEffects(ctx, neutral(), `UPDATE throttle SET failures = failures - 1
		WHERE key = $1 AND window_start = $2 AND failures > 0`, key, ms(windowStart))
	if err != nil {
		return fmt.Errorf("sqlstore: release failure: %w", err)
	}
	return nil
}
