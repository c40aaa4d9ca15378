package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// TryLock implements store.Store. One upsert takes the lease when it is free,
// expired, or already ours (a renewal); otherwise it changes nothing.
func (s *Store) TryLock(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	res, err := s.execEffects(ctx, neutral(), `INSERT INTO locks (name, holder, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE locks.expires_at <= $4 OR locks.holder = excluded.holder`,
		name, holder, ms(now.Add(ttl)), ms(now))
	if err != nil {
		return false, fmt.Errorf("sqlstore: try lock: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore: try lock: %w", err)
	}
	return n == 1, nil
}

// ReleaseLock implements store.Store.
func (s *Store) ReleaseLock(ctx context.Context, name, holder string) error {
	if _, err := s.execEffects(ctx, neutral(), `DELETE FROM locks WHERE name = $1 AND holder = $2`, name, holder); err != nil {
		return fmt.Errorf("sqlstore: release lock: %w", err)
	}
	return nil
}

// Purge implements store.Store: one transaction that deletes at most limit
// rows, taking from each kind of row in turn until the limit is spent. On
// SQLite it commits alone (inTxAlone): request writes never wait inside its
// transaction.
func (s *Store) Purge(ctx context.Context, now time.Time, p store.PurgePolicy, limit int) (int64, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("sqlstore: purge: limit %d must be positive", limit)
	}
	nowMS := ms(now)
	revoked := ms(now.Add(-p.RevokedRetention))
	rotated := ms(now.Add(-p.RotatedRetention))
	// Each query deletes at most $2 rows due by $1, picked by primary key:
	// DELETE … LIMIT is not standard SQL (nor in every SQLite build). A 0 time
	// means never. The token conditions spell "<> 0" exactly as their partial
	// indexes do, so the planner can use them.
	//
	// What detects a replay is kept as long as a replay is to be detected: a
	// used code RevokedRetention past its expiry, and a rotated refresh
	// token RotatedRetention past its rotation whatever its own (idle)
	// expiry, which the expiry rule therefore leaves alone.
	type purgeDelete struct {
		query string
		arg   int64
	}
	// On PostgreSQL each query skips the rows another transaction holds
	// (SKIP LOCKED), which the next pass deletes: so the purge never waits
	// for a row while it holds those its earlier queries deleted, which a
	// writer of several rows may be waiting for. A grant's expired token
	// deleted by one query and its rotated refresh token by a later one
	// deadlocked with a revocation of the grant that held the rotated one
	// and waited for the expired one (TestPostgresPurgeRacingARevocation).
	skip := s.d.skipLocked
	deletes := []purgeDelete{
		{`DELETE FROM codes WHERE hash IN (SELECT hash FROM codes WHERE expires_at <> 0 AND expires_at < $1 LIMIT $2` + skip + `)`, revoked},
		{`DELETE FROM tokens WHERE hash IN (SELECT hash FROM tokens WHERE expires_at <> 0 AND expires_at < $1 AND NOT (kind = 'refresh' AND rotated_at <> 0) LIMIT $2` + skip + `)`, revoked},
		{`DELETE FROM tokens WHERE hash IN (SELECT hash FROM tokens WHERE revoked_at <> 0 AND revoked_at < $1 LIMIT $2` + skip + `)`, revoked},
		{`DELETE FROM tokens WHERE hash IN (SELECT hash FROM tokens WHERE rotated_at <> 0 AND rotated_at < $1 AND kind = 'refresh' LIMIT $2` + skip + `)`, rotated},
		{`DELETE FROM sessions WHERE token IN (SELECT token FROM sessions WHERE expiry < $1 LIMIT $2` + skip + `)`, nowMS},
		{`DELETE FROM decided_consents WHERE id_hash IN (SELECT id_hash FROM decided_consents WHERE expires_at < $1 LIMIT $2` + skip + `)`, nowMS},
		// Left by nodes of the release before 00011 (see that migration).
		{`DELETE FROM pending_consents WHERE id_hash IN (SELECT id_hash FROM pending_consents WHERE expires_at < $1 LIMIT $2` + skip + `)`, nowMS},
		{`DELETE FROM throttle WHERE key IN (SELECT key FROM throttle WHERE window_start + window_ms <= $1 LIMIT $2` + skip + `)`, nowMS},
	}
	if p.AuditRetention > 0 { // by audit_events_at
		deletes = append(deletes, purgeDelete{`DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE at < $1 LIMIT $2` + skip + `)`, ms(now.Add(-p.AuditRetention))})
	}
	var total int64
	err := s.inTxAlone(ctx, func(ctx context.Context, tx querier) error {
		for _, d := range deletes {
			left := int64(limit) - total
			if left == 0 {
				return nil
			}
			res, err := tx.ExecContext(ctx, d.query, d.arg, left)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: purge: %w", err)
	}
	return total, nil
}
