package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// CreateCode implements store.Codes.
func (s *Store) CreateCode(ctx context.Context, c store.Code) error {
	eff := &effects{}
	err := s.writeStatementEffects(ctx, eff, func(ctx context.Context, q querier) error {
		return s.insertCode(ctx, q, c, eff)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: create code: %w", s.conflict(err))
	}
	return nil
}

func (s *Store) insertCode(ctx context.Context, q querier, c store.Code, eff *effects) error {
	_, err := q.ExecContext(ctx, `INSERT INTO codes (hash, client_id, user_id, redirect_uri, scope,
		challenge, challenge_method, grant_id, created_at, expires_at, used_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		c.Hash, c.ClientID, c.UserID, c.RedirectURI, c.Scope, c.Challenge, c.ChallengeMethod, c.GrantID,
		ms(c.CreatedAt), ms(c.ExpiresAt), ms(c.UsedAt))
	if err == nil && s.cache != nil {
		eff.insertCode(c)
	}
	return err
}

// CodeByHash implements store.Codes.
func (s *Store) CodeByHash(ctx context.Context, hash []byte) (store.Code, error) {
	if s.cache != nil {
		if c, ok := s.cache.code(hash); ok {
			return c, nil
		}
	}
	var c store.Code
	err := s.rq.QueryRowContext(ctx, `SELECT hash, client_id, user_id, redirect_uri, scope, challenge,
		challenge_method, grant_id, created_at, expires_at, used_at FROM codes WHERE hash = $1`, hash).
		Scan(&c.Hash, &c.ClientID, &c.UserID, &c.RedirectURI, &c.Scope, &c.Challenge, &c.ChallengeMethod,
			&c.GrantID, msTime{&c.CreatedAt}, msTime{&c.ExpiresAt}, msTime{&c.UsedAt})
	if err != nil {
		return store.Code{}, fmt.Errorf("sqlstore: code by hash: %w", notFound(err))
	}
	return c, nil
}

// RedeemCode implements store.Codes. The conditional update lets exactly one
// of any number of concurrent redeemers through; the others find the code
// used and revoke its grant, which commits although they return an error.
func (s *Store) RedeemCode(ctx context.Context, hash []byte, now time.Time, issue store.Issue) error {
	eff := &effects{codes: [][]byte{hash}} // the code is marked used
	err := s.inTxEffects(ctx, eff, func(ctx context.Context, tx querier) error {
		if err := s.guardIssue(ctx, tx, issue, false); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE codes SET used_at = $2
			WHERE hash = $1 AND used_at = 0 AND (expires_at = 0 OR expires_at > $2)`, hash, ms(now))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 1 {
			return s.insertIssue(ctx, tx, issue, eff)
		}
		var usedAt int64
		var grantID string
		err = tx.QueryRowContext(ctx, `SELECT used_at, grant_id FROM codes WHERE hash = $1`, hash).Scan(&usedAt, &grantID)
		if err != nil {
			return notFound(err)
		}
		if usedAt == 0 { // unused, so it expired
			return store.ErrNotFound
		}
		eff.all = true
		if _, err := s.revokeGrant(ctx, tx, grantID, now); err != nil {
			return err
		}
		return store.ErrCodeReused
	})
	if err != nil {
		return fmt.Errorf("sqlstore: redeem code: %w", err)
	}
	return nil
}

// DropCodes implements store.Codes. Its transaction names no cache entry, so
// the read cache drops everything (the codes it holds among it).
func (s *Store) DropCodes(ctx context.Context, userID, clientID string) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(ctx context.Context, tx querier) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM codes WHERE user_id = $1 AND client_id = $2 AND used_at = 0`, userID, clientID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: drop codes: %w", err)
	}
	return n, nil
}
