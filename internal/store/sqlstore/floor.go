package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/store"
)

// FlowFloor stores what an authorization code flow cannot do without, and
// nothing else, through a node's own write path: the group committer, the
// consent's decision answered once committed (before its flush), the code's
// exchange answered once flushed, synchronous=FULL. gatehouse-bench's
// ceiling-server --floor-dir serves the flow's three exchanges and the
// refresh scenario's rotations with it, so a run can tell what the disk and
// net/http cost a flow or a rotation from what Gatehouse's own work does
// (docs/performance.md, "The floors"). Its tables have only
// their primary keys: no index, audit row, consent row, refresh cap or cache.
//
// OpenRequiredFlowFloor's floor adds what the spec asks of every flow beside
// that, still in tables of their own keyed by their primary keys: the
// consent page decided once, the consent's audit row, tokens bound to their
// user, client, scope and expiry, and the refresh cap through the one index
// it cannot do without. It has no other index, no read cache and no grant.
type FlowFloor struct {
	s        *Store
	required bool
}

// FloorCode is the least an authorization code binds: who asked, for whom,
// where the answer goes, the PKCE challenge, the scope and when it expires.
// Hash is the code's hash (the code itself is never stored).
type FloorCode struct {
	Hash                                            []byte
	ClientID, UserID, RedirectURI, Challenge, Scope string
	ExpiresAt                                       time.Time
}

// The floors' tables: the minimal floor's flow_floor_codes and
// flow_floor_tokens, the required floor's flow_required_* (its own, so that
// its index never weighs on the minimal floor's writes).
var floorSchema = []string{
	`CREATE TABLE IF NOT EXISTS flow_floor_codes` + floorCodeColumns,
	`CREATE TABLE IF NOT EXISTS flow_floor_tokens` + floorTokenColumns,
	`CREATE TABLE IF NOT EXISTS flow_required_decisions (id_hash BLOB PRIMARY KEY)`,
	`CREATE TABLE IF NOT EXISTS flow_required_codes` + floorCodeColumns,
	`CREATE TABLE IF NOT EXISTS flow_required_audit (id INTEGER PRIMARY KEY,
		at BIGINT NOT NULL, kind TEXT NOT NULL, actor TEXT NOT NULL, client_id TEXT NOT NULL, detail TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS flow_required_tokens` + floorTokenColumns,
	// The refresh cap's index: a user's live refresh tokens for a client, by age.
	`CREATE INDEX IF NOT EXISTS flow_required_live_refresh ON flow_required_tokens (user_id, client_id, created_at)
		WHERE kind = 'refresh' AND revoked_at = 0 AND rotated_at = 0`,
}

const (
	floorCodeColumns = ` (hash BLOB PRIMARY KEY,
		client_id TEXT NOT NULL, user_id TEXT NOT NULL, redirect_uri TEXT NOT NULL, challenge TEXT NOT NULL,
		scope TEXT NOT NULL, expires_at BIGINT NOT NULL, used INTEGER NOT NULL)`
	// The token table's columns, as CommitFloor's (bench_test.go).
	floorTokenColumns = ` (hash BLOB PRIMARY KEY,
		kind TEXT, grant_id TEXT, client_id TEXT, user_id TEXT, scope TEXT, granted_at BIGINT,
		created_at BIGINT, expires_at BIGINT, revoked_at BIGINT, rotated_at BIGINT, access_hash BLOB)`
)

// OpenFlowFloor opens (creating if needed) a SQLite database at path as a
// node opens its own, with the floors' tables beside Gatehouse's, for the
// minimal floor.
func OpenFlowFloor(ctx context.Context, path string) (*FlowFloor, error) {
	return openFlowFloor(ctx, path, false)
}

// OpenRequiredFlowFloor is OpenFlowFloor for the floor that also stores what
// the spec requires of every flow.
func OpenRequiredFlowFloor(ctx context.Context, path string) (*FlowFloor, error) {
	return openFlowFloor(ctx, path, true)
}

func openFlowFloor(ctx context.Context, path string, required bool) (*FlowFloor, error) {
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		return nil, err
	}
	err = s.inTx(ctx, func(ctx context.Context, q querier) error {
		for _, stmt := range floorSchema {
			if _, err := q.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlstore: flow floor: %w", err)
	}
	return &FlowFloor{s: s, required: required}, nil
}

// The required floor's refresh cap and access token lifetime, as a node's
// defaults.
const (
	floorRefreshCap = 10
	floorAccessLife = 2 * time.Hour
)

// Decide stores c, answered once committed and visible, as a node answers a
// consent's decision (Store.inTxUnflushed). The required floor also records
// the decision of the consent page whose ID hashes to consentHash, once (a
// second decision: store.ErrNotFound), and the consent's audit row.
func (f *FlowFloor) Decide(ctx context.Context, consentHash []byte, c FloorCode) error {
	insertCode := `INSERT INTO flow_floor_codes VALUES ($1, $2, $3, $4, $5, $6, $7, 0)`
	if f.required {
		insertCode = `INSERT INTO flow_required_codes VALUES ($1, $2, $3, $4, $5, $6, $7, 0)`
	}
	return f.s.inTxUnflushed(ctx, neutral(), func(ctx context.Context, tx querier) error {
		if f.required {
			if _, err := tx.ExecContext(ctx, `INSERT INTO flow_required_decisions VALUES ($1)`, consentHash); err != nil {
				if f.s.d.isUnique(err) {
					return store.ErrNotFound
				}
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, insertCode, c.Hash, c.ClientID, c.UserID, c.RedirectURI, c.Challenge, c.Scope, ms(c.ExpiresAt)); err != nil {
			return err
		}
		if !f.required {
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO flow_required_audit (at, kind, actor, client_id, detail) VALUES ($1, $2, $3, $4, $5)`,
			ms(time.Now()), audit.ConsentAllow, c.UserID, c.ClientID, c.Scope)
		return err
	})
}

// Exchange redeems the code whose hash is code, at most once and before it
// expires, storing an access and a refresh token (by their hashes) in the
// same transaction; it returns once that is flushed. A code unknown, used or
// expired: store.ErrNotFound, and nothing is stored. The required floor's
// tokens carry the code's user, client and scope, and the access token its
// expiry; the user's oldest live refresh tokens for the client beyond the
// cap are revoked with their access tokens.
func (f *FlowFloor) Exchange(ctx context.Context, code, access, refresh []byte, now time.Time) error {
	if f.required {
		return f.s.inTxEffects(ctx, neutral(), func(ctx context.Context, tx querier) error {
			return exchangeRequired(ctx, tx, code, access, refresh, now)
		})
	}
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
		return insertFloorPair(ctx, tx, "flow_floor_tokens", floorPair{access: access, refresh: refresh}, now, 0)
	})
}

func exchangeRequired(ctx context.Context, tx querier, code, access, refresh []byte, now time.Time) error {
	var clientID, userID, scope string
	err := tx.QueryRowContext(ctx, `UPDATE flow_required_codes SET used = 1 WHERE hash = $1 AND used = 0 AND expires_at > $2
		RETURNING client_id, user_id, scope`, code, ms(now)).Scan(&clientID, &userID, &scope)
	if err != nil {
		return notFound(err)
	}
	pair := floorPair{access: access, refresh: refresh, clientID: clientID, userID: userID, scope: scope}
	if err := insertFloorPair(ctx, tx, "flow_required_tokens", pair, now, floorAccessLife); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT hash, access_hash FROM flow_required_tokens
		WHERE user_id = $1 AND client_id = $2 AND kind = 'refresh' AND revoked_at = 0 AND rotated_at = 0 AND hash <> $3
		ORDER BY created_at DESC LIMIT -1 OFFSET $4`, userID, clientID, refresh, floorRefreshCap-1)
	if err != nil {
		return err
	}
	var doomed [][]byte
	for rows.Next() {
		var hash, access []byte
		if err := rows.Scan(&hash, &access); err != nil {
			rows.Close()
			return err
		}
		doomed = append(doomed, hash, access)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	for _, h := range doomed {
		if _, err := tx.ExecContext(ctx, `UPDATE flow_required_tokens SET revoked_at = $2 WHERE hash = $1`, h, ms(now)); err != nil {
			return err
		}
	}
	return nil
}

// Rotate rotates the refresh token whose hash is old as SPEC.md's refresh
// does, in four row changes answered once flushed: the old refresh token
// marked rotated (kept, so a reuse could be told), the access token issued
// with it revoked, and a new pair inserted, bound as the old one was (the
// required floor's access token with its expiry). A token that is unknown,
// not a refresh token, rotated or revoked: store.ErrNotFound, and nothing
// changes. Neither floor detects a reuse (it needs the grant's index).
func (f *FlowFloor) Rotate(ctx context.Context, old, access, refresh []byte, now time.Time) error {
	table, accessLife := "flow_floor_tokens", time.Duration(0)
	if f.required {
		table, accessLife = "flow_required_tokens", floorAccessLife
	}
	return f.s.inTxEffects(ctx, neutral(), func(ctx context.Context, tx querier) error {
		var oldAccess []byte
		pair := floorPair{access: access, refresh: refresh}
		err := tx.QueryRowContext(ctx, `UPDATE `+table+` SET rotated_at = $2
			WHERE hash = $1 AND kind = 'refresh' AND rotated_at = 0 AND revoked_at = 0
			RETURNING access_hash, client_id, user_id, scope`, old, ms(now)).Scan(&oldAccess, &pair.clientID, &pair.userID, &pair.scope)
		if err != nil {
			return notFound(err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET revoked_at = $2 WHERE hash = $1 AND revoked_at = 0`, oldAccess, ms(now)); err != nil {
			return err
		}
		return insertFloorPair(ctx, tx, table, pair, now, accessLife)
	})
}

// Issue stores a client_credentials access token by its hash, in one
// durable row answered once flushed, as a node's token endpoint does: the
// minimal floor's row names nothing else, the required floor's is bound to
// the client and scope with its expiry.
func (f *FlowFloor) Issue(ctx context.Context, clientID, scope string, access []byte, now time.Time) error {
	t := floorToken{hash: access, kind: "access", created: now}
	table := "flow_floor_tokens"
	if f.required {
		table, t.clientID, t.scope, t.expires = "flow_required_tokens", clientID, scope, now.Add(floorAccessLife)
	}
	return f.s.writeStatementEffects(ctx, neutral(), func(ctx context.Context, q querier) error {
		return insertFloorToken(ctx, q, table, t)
	})
}

// floorPair is a token pair as a floor stores it: by the tokens' hashes,
// bound to the client, user and scope (empty in the minimal floor).
type floorPair struct {
	access, refresh         []byte
	clientID, userID, scope string
}

// insertFloorPair inserts p into a floor's token table: the access token,
// expiring after accessLife unless 0, and the refresh token naming it, so
// that its rotation can revoke it.
func insertFloorPair(ctx context.Context, tx querier, table string, p floorPair, now time.Time, accessLife time.Duration) error {
	t := floorToken{hash: p.access, kind: "access", clientID: p.clientID, userID: p.userID, scope: p.scope, created: now}
	if accessLife > 0 {
		t.expires = now.Add(accessLife)
	}
	if err := insertFloorToken(ctx, tx, table, t); err != nil {
		return err
	}
	t.hash, t.kind, t.expires, t.accessHash = p.refresh, "refresh", time.Time{}, p.access
	return insertFloorToken(ctx, tx, table, t)
}

// floorToken is one row of a floor's token table.
type floorToken struct {
	hash, accessHash        []byte // accessHash: a refresh token's access token
	kind                    string
	clientID, userID, scope string
	created, expires        time.Time // expires zero: never
}

func insertFloorToken(ctx context.Context, q querier, table string, t floorToken) error {
	var expires int64
	if !t.expires.IsZero() {
		expires = ms(t.expires)
	}
	_, err := q.ExecContext(ctx, `INSERT INTO `+table+` VALUES ($1, $2, '', $3, $4, $5, $6, $6, $7, 0, 0, $8)`,
		t.hash, t.kind, t.clientID, t.userID, t.scope, ms(t.created), expires, t.accessHash)
	return err
}

// Close closes the database.
func (f *FlowFloor) Close() error { return f.s.Close() }
