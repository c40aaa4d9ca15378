package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// DecideConsent implements store.Consents: inserting the ID hash is the
// single-use check (a second insert is a unique violation), and the code and
// the audit event commit with it or not at all. It is answered before its
// flush (inTxUnflushed): a code's exchange flushes it first.
//
// A code is stored under the locks token writes take (lockForTokens), taken
// first and in their order, so no writer of tokens deadlocks with it; it is
// refused (store.ErrNotFound) for a user disabled since the page checked:
// disabling the user waits for this transaction and then drops the code,
// or this transaction waits for the disabling and then sees it.
func (s *Store) DecideConsent(ctx context.Context, idHash []byte, expiresAt time.Time, code *store.Code, event *store.AuditEvent) error {
	eff := &effects{}
	err := s.inTxUnflushed(ctx, eff, func(ctx context.Context, tx querier) error {
		if code != nil {
			disabled, err := s.lockForTokens(ctx, tx, code.UserID, code.ClientID, false, "")
			if err == nil && disabled {
				err = store.ErrNotFound
			}
			if err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO decided_consents (id_hash, expires_at) VALUES ($1, $2)`, idHash, ms(expiresAt)); err != nil {
			if s.d.isUnique(err) {
				return store.ErrNotFound
			}
			return err
		}
		if code != nil {
			if err := s.insertCode(ctx, tx, *code, eff); err != nil {
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
