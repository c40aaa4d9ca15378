package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// CreateConsent implements store.Consents.
func (s *Store) CreateConsent(ctx context.Context, c store.PendingConsent, limit int) error {
	err := s.inTxEffects(ctx, neutral(), func(ctx context.Context, tx querier) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO pending_consents (id_hash, user_id, binding, request, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, c.IDHash, c.UserID, c.Binding, c.Request, ms(c.CreatedAt), ms(c.ExpiresAt))
		if err != nil || limit <= 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM pending_consents WHERE user_id = $1 AND id_hash NOT IN
			(SELECT id_hash FROM pending_consents WHERE user_id = $1 ORDER BY created_at DESC, id_hash DESC LIMIT $2)`,
			c.UserID, limit)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: create consent: %w", s.conflict(err))
	}
	return nil
}

// PendingConsent implements store.Consents.
func (s *Store) PendingConsent(ctx context.Context, idHash []byte, now time.Time) (store.PendingConsent, error) {
	var c store.PendingConsent
	err := s.rq.QueryRowContext(ctx, `SELECT id_hash, user_id, binding, request, created_at, expires_at
		FROM pending_consents WHERE id_hash = $1 AND expires_at > $2`, idHash, ms(now)).
		Scan(&c.IDHash, &c.UserID, &c.Binding, &c.Request, msTime{&c.CreatedAt}, msTime{&c.ExpiresAt})
	if err != nil {
		return store.PendingConsent{}, fmt.Errorf("sqlstore: pending consent: %w", notFound(err))
	}
	return c, nil
}

// DecideConsent implements store.Consents: the delete is the single-use
// check, and the code and the audit event commit with it or not at all.
func (s *Store) DecideConsent(ctx context.Context, idHash []byte, now time.Time, code *store.Code, event *store.AuditEvent) error {
	err := s.inTxEffects(ctx, neutral(), func(ctx context.Context, tx querier) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM pending_consents WHERE id_hash = $1 AND expires_at > $2`, idHash, ms(now))
		if err != nil {
			return err
		}
		if err := affected(res); err != nil {
			return err
		}
		if code != nil {
			if err := insertCode(ctx, tx, *code); err != nil {
				return s.conflict(err)
			}
		}
		if event != nil {
			return insertAudit(ctx, tx, *event)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: decide consent: %w", err)
	}
	return nil
}

// TakeConsent implements store.Consents. The delete is the single-use check:
// of concurrent takers only one deletes the row and gets it back.
func (s *Store) TakeConsent(ctx context.Context, idHash []byte, now time.Time) (store.PendingConsent, error) {
	var c store.PendingConsent
	found := false
	// One statement, atomic by itself: in a batch it needs no savepoint. Not
	// finding the row is no failure of the statement (the batch goes on).
	err := s.writeStatementEffects(ctx, neutral(), func(ctx context.Context, tx querier) error {
		err := tx.QueryRowContext(ctx, `DELETE FROM pending_consents WHERE id_hash = $1
			RETURNING id_hash, user_id, binding, request, created_at, expires_at`, idHash).
			Scan(&c.IDHash, &c.UserID, &c.Binding, &c.Request, msTime{&c.CreatedAt}, msTime{&c.ExpiresAt})
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		found = err == nil
		return err
	})
	if err == nil && !found {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.PendingConsent{}, fmt.Errorf("sqlstore: take consent: %w", err)
	}
	if !now.Before(c.ExpiresAt) {
		return store.PendingConsent{}, fmt.Errorf("sqlstore: take consent: expired: %w", store.ErrNotFound)
	}
	return c, nil
}
