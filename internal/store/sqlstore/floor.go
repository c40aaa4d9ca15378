package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// FlowFloor stores what an authorization code flow cannot do without, and
// nothing else, through a node's own write path: the group committer, the
// consent's decision answered once committed (before its flush), the code's
// exchange answered once flushed, synchronous=FULL. gatehouse-bench's
// ceiling-server --floor-dir serves the flow's three exchanges with it, so a
// run can tell what the disk and net/http cost a flow from what Gatehouse's
// own work does (docs/performance.md, "The floors"). Its tables have only
// their primary keys: no index, audit row, consent row, refresh cap or cache.
type FlowFloor struct{ s *Store }

// FloorCode is the least an authorization code binds: who asked, for whom,
// where the answer goes, the PKCE challenge, the scope and when it expires.
// Hash is the code's hash (the code itself is never stored).
type FloorCode struct {
	Hash                                            []byte
	ClientID, UserID, RedirectURI, Challenge, Scope string
	ExpiresAt                                       time.Time
}

// OpenFlowFloor opens (creating if needed) a SQLite database at path as a
// node opens its own, with the floor's two tables beside Gatehouse's.
func OpenFlowFloor(ctx context.Context, path string) (*FlowFloor, error) {
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		return nil, err
	}
	err = s.inTx(ctx, func(ctx context.Context, q querier) error {
		if _, err := q.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS flow_floor_codes (hash BLOB PRIMARY KEY,
			client_id TEXT NOT NULL, user_id TEXT NOT NULL, redirect_uri TEXT NOT NULL, challenge TEXT NOT NULL,
			scope TEXT NOT NULL, expires_at BIGINT NOT NULL, used INTEGER NOT NULL)`); err != nil {
			return err
		}
		// The token table's columns, as CommitFloor's (bench_test.go).
		_, err := q.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS flow_floor_tokens (hash BLOB PRIMARY KEY,
			kind TEXT, grant_id TEXT, client_id TEXT, user_id TEXT, scope TEXT, granted_at BIGINT,
			created_at BIGINT, expires_at BIGINT, revoked_at BIGINT, rotated_at BIGINT, access_hash BLOB)`)
		return err
	})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlstore: flow floor: %w", err)
	}
	return &FlowFloor{s: s}, nil
}

// Decide stores c, answered once committed and visible, as a node answers a
// consent's decision (Store.inTxUnflushed).
func (f *FlowFloor) Decide(ctx context.Context, c FloorCode) error {
	return f.s.inTxUnflushed(ctx, neutral(), func(ctx context.Context, tx querier) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO flow_floor_codes VALUES ($1, $2, $3, $4, $5, $6, $7, 0)`,
			c.Hash, c.ClientID, c.UserID, c.RedirectURI, c.Challenge, c.Scope, ms(c.ExpiresAt))
		return err
	})
}

// Exchange redeems the code whose hash is code, at most once and before it
// expires, storing an access and a refresh token (by their hashes) in the
// same transaction; it returns once that is flushed. A code unknown, used or
// expired: store.ErrNotFound, and nothing is stored.
func (f *FlowFloor) Exchange(ctx context.Context, code, access, refresh []byte, now time.Time) error {
	return f.s.inTxEffects(ctx, neutral(), func(ctx context.Context, tx querier) error {
		res, err := tx.ExecContext(ctx, `UPDATE flow_floor_codes SET used = 1 WHERE hash = $1 AND used = 0 AND expires_at > $2`, code, ms(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return store.ErrNotFound
		}
		for _, t := range [...]struct {
			hash []byte
			kind string
		}{{access, "access"}, {refresh, "refresh"}} {
			if _, err := tx.ExecContext(ctx, `INSERT INTO flow_floor_tokens VALUES ($1, $2, '', '', '', '', $3, $3, 0, 0, 0, NULL)`,
				t.hash, t.kind, ms(now)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Close closes the database.
func (f *FlowFloor) Close() error { return f.s.Close() }
