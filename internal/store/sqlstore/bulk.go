package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Bulk changes — an application's tokens deleted, a disabled user's
// revoked — run in transactions of at most store.BulkBatch rows, each
// committed on its own, after a first short transaction that has already
// made every one of those tokens unusable (the application disabled and
// marked deleting, the user disabled). Between two batches the group
// committer serves the writes queued meanwhile, and another process gets
// SQLite's file lock; one transaction for 100 000 rows held both for
// seconds. The rows a batch has not reached yet are refused where they
// are used, so a crash midway leaves nothing usable, and the next attempt
// finishes the work.

// bulkPause separates two batches of a management command's bulk change
// (SQLiteOptions.BesideNode): longer than the longest step of SQLite's busy
// handler (100 ms), so a node's writer waiting for the file lock always
// retries, and gets it, in the gap.
const bulkPause = 120 * time.Millisecond

// pause waits s.bulkPause, if any, between two batches.
func (s *Store) pause(ctx context.Context) error {
	if s.bulkPause == 0 {
		return nil
	}
	t := time.NewTimer(s.bulkPause)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// deleteClientBatch deletes at most $2 tokens of the application $1. The
// rows it deletes leave the index it reads (tokens_client_created), so each batch
// reads only rows still to delete.
const deleteClientBatch = `DELETE FROM tokens WHERE hash IN
	(SELECT hash FROM tokens WHERE client_id = $1 LIMIT $2) RETURNING hash`

// deleteClientTokens deletes the tokens of the application id, marked
// deleting, in batches, until one finds none: on PostgreSQL a batch may come
// back short while another transaction (the janitor's purge) holds some of
// the rows, and the rest must still go in batches, not in the final
// transaction.
func (s *Store) deleteClientTokens(ctx context.Context, id string) error {
	observe := store.BatchObserverFor(ctx)
	ctx = store.WithoutEvent(ctx) // the deletion's event went with its first transaction
	for {
		var n int64
		eff := &effects{}
		err := s.inTxEffects(ctx, eff, func(ctx context.Context, tx querier) error {
			n = 0
			// The application's row first, as every writer of its tokens
			// locks it before theirs (pgLockTokens), so none deadlocks this.
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM clients WHERE id = $1`+s.d.lockRow, id).Scan(&one); err != nil {
				return notFound(err)
			}
			rows, err := tx.QueryContext(ctx, deleteClientBatch, id, store.BulkBatch)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var h []byte
				if err := rows.Scan(&h); err != nil {
					return err
				}
				eff.token(h)
				n++
			}
			return rows.Err()
		})
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		observe(n)
		if err := s.pause(ctx); err != nil {
			return err
		}
	}
}

// revokeUserBatch revokes, at $1, the unrevoked tokens among the
// store.BulkBatch hashes $2…: always that many parameters (a short batch
// repeats its last hash), so that it is one prepared statement.
var revokeUserBatch = func() string {
	params := make([]string, store.BulkBatch)
	for i := range params {
		params[i] = fmt.Sprintf("$%d", i+2)
	}
	return `UPDATE tokens SET revoked_at = $1 WHERE revoked_at = 0 AND hash IN (` + strings.Join(params, ", ") + `)`
}()

// finishDisabling revokes every unrevoked token of the user id if the user
// is disabled, in batches; revokedAt is the disabling's time (zero: the
// user's UpdatedAt as stored). Tokens are listed once, on the reader pool,
// after the disabling committed: from then on no write stores a token for
// the user (guardIssue), so the list is complete, and the batches revoke
// by hash rather than each searching the user's tokens again past those
// already revoked. A batch that finds the user enabled again stops: the
// enabling revoked what was left under the user's lock (UpdateUser).
func (s *Store) finishDisabling(ctx context.Context, id string, revokedAt time.Time) error {
	var disabled bool
	var updatedAt int64
	err := s.rq.QueryRowContext(ctx, `SELECT disabled, updated_at FROM users WHERE id = $1`, id).Scan(&disabled, &updatedAt)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !disabled) {
		return nil // nothing to finish (an unknown user is UpdateUser's to report)
	}
	if err != nil {
		return err
	}
	at := ms(revokedAt)
	if at == 0 {
		at = updatedAt
	}
	if at == 0 { // 0 means "not revoked"
		at = ms(time.Now())
	}
	hashes, clients, err := s.unrevokedTokens(ctx, id)
	if err != nil {
		return err
	}
	observe := store.BatchObserverFor(ctx)
	ctx = store.WithoutEvent(ctx) // the change's event goes with the change, not with its batches
	for len(hashes) > 0 {
		batch := hashes[:min(len(hashes), store.BulkBatch)]
		batchClients := clients[:len(batch)]
		hashes, clients = hashes[len(batch):], clients[len(batch):]
		args := make([]any, 0, 1+store.BulkBatch)
		args = append(args, at)
		for i := range store.BulkBatch {
			args = append(args, batch[min(i, len(batch)-1)])
		}
		var n int64
		stillDisabled := true
		eff := &effects{}
		eff.token(batch...)
		err := s.inTxEffects(ctx, eff, func(ctx context.Context, tx querier) error {
			n = 0
			// The user's row first, as every writer and revoker of tokens
			// locks it before theirs (pgLockTokens).
			if err := tx.QueryRowContext(ctx, `SELECT disabled FROM users WHERE id = $1`+s.d.lockRow, id).Scan(&stillDisabled); err != nil || !stillDisabled {
				return notFound(err)
			}
			if err := s.lockClientsForRevoke(ctx, tx, batchClients); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, revokeUserBatch, args...)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil || !stillDisabled {
			return err
		}
		observe(n)
		if len(hashes) > 0 {
			if err := s.pause(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// unrevokedTokens lists the hashes of the user's unrevoked tokens, and the
// application of each (one string per application: a user may hold a
// million tokens of a few).
func (s *Store) unrevokedTokens(ctx context.Context, userID string) (hashes [][]byte, clients []string, err error) {
	rows, err := s.rq.QueryContext(ctx, `SELECT hash, client_id FROM tokens WHERE user_id = $1 AND revoked_at = 0`, userID)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	seen := map[string]string{}
	for rows.Next() {
		var h []byte
		var c string
		if err := rows.Scan(&h, &c); err != nil {
			return nil, nil, err
		}
		if first, ok := seen[c]; ok {
			c = first
		} else {
			seen[c] = c
		}
		hashes, clients = append(hashes, h), append(clients, c)
	}
	return hashes, clients, rows.Err()
}

// lockClientsForRevoke takes, where the dialect locks (PostgreSQL), the
// rows of the applications ids FOR KEY SHARE, one by one in the order of
// their IDs, for a transaction that holds a user's row and is about to
// revoke that user's tokens of several applications with one statement.
// An application's deletion holds its row (FOR UPDATE) while it deletes
// its tokens, many at once too: without this, the two statements locked
// the tokens they shared in different orders and deadlocked (conformance
// DisableRacesDeleteClient, TestPostgresDisablingWaitsForADeletionBatch).
// User, then applications, then tokens is lockForTokens' order; nothing
// locks two applications' rows otherwise. An application gone is skipped:
// so are its tokens.
func (s *Store) lockClientsForRevoke(ctx context.Context, tx querier, ids []string) error {
	if s.d.lockTokens == nil {
		return nil
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	for _, id := range ids {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM clients WHERE id = $1 FOR KEY SHARE`, id).Scan(&one)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	return nil
}
