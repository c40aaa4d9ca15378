package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

const tokenColumns = `hash, kind, grant_id, client_id, user_id, scope, granted_at, created_at,
	expires_at, revoked_at, rotated_at, access_hash`

// activeToken is the SQL form of store.Token.Active; $1 is now.
const activeToken = `revoked_at = 0 AND (kind = 'access' OR rotated_at = 0) AND (expires_at = 0 OR expires_at > $1)`

func scanToken(row scanner) (store.Token, error) {
	var t store.Token
	err := row.Scan(&t.Hash, &t.Kind, &t.GrantID, &t.ClientID, &t.UserID, &t.Scope,
		msTime{&t.GrantedAt}, msTime{&t.CreatedAt}, msTime{&t.ExpiresAt}, msTime{&t.RevokedAt},
		msTime{&t.RotatedAt}, &t.AccessHash)
	return t, err
}

func (s *Store) insertToken(ctx context.Context, ex querier, t store.Token, eff *effects) error {
	_, err := ex.ExecContext(ctx, `INSERT INTO tokens (`+tokenColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		t.Hash, string(t.Kind), t.GrantID, t.ClientID, t.UserID, t.Scope, ms(t.GrantedAt), ms(t.CreatedAt),
		ms(t.ExpiresAt), ms(t.RevokedAt), ms(t.RotatedAt), blob(t.AccessHash))
	if err == nil && eff != nil && s.cache != nil {
		eff.insert(t)
	}
	return s.conflict(err)
}

// capped reports whether storing issue must enforce the refresh cap.
func capped(issue store.Issue) bool {
	return issue.RefreshCap > 0 && issue.Refresh != nil && issue.Refresh.UserID != ""
}

// guardIssue starts every transaction that stores new tokens: it takes the
// locks of lockForTokens and refuses (store.ErrNotFound) a user disabled
// since the caller checked. Disabling the user waits for this transaction
// to commit and then revokes what it stored, or this transaction waits for
// the disabling and then sees it. joinsGrant is set where the pair joins
// an existing grant, which a revocation may be racing.
//
// Joining a grant (a rotation) takes the refresh cap's lock too, even with
// the cap off: finding a replay, it revokes the grant, and revokeGrant
// takes the cap's lock, which comes before the grant's. Taken only then, it
// deadlocked with a RevokeGrant of the grant that held the cap's lock and
// waited for the grant's (TestPostgresReplayedRotationRacingARevocation).
func (s *Store) guardIssue(ctx context.Context, tx querier, issue store.Issue, joinsGrant bool) error {
	if issue.Access.ClientID == "" {
		return nil // stores nothing: a replay's redemption, which only revokes (revokeGrant locks)
	}
	grantID, capLock := "", capped(issue)
	if joinsGrant {
		grantID = issue.Access.GrantID
		capLock = issue.Access.UserID != ""
	}
	disabled, err := s.lockForTokens(ctx, tx, issue.Access.UserID, issue.Access.ClientID, capLock, grantID)
	if err == nil && disabled {
		err = store.ErrNotFound
	}
	return err
}

// lockForTokens takes the locks a write or revocation of tokens needs,
// before any token row's (Dialect.lockTokens; SQLite's one writer needs
// none), and reports whether the user is disabled. The application gone
// is store.ErrNotFound. (A token of a user without a row is refused where
// it is used.) capLock needs a user.
func (s *Store) lockForTokens(ctx context.Context, tx querier, userID, clientID string, capLock bool, grantID string) (disabled bool, err error) {
	if s.d.lockTokens == nil {
		if userID == "" {
			return false, nil
		}
		err := tx.QueryRowContext(ctx, `SELECT disabled FROM users WHERE id = $1`, userID).Scan(&disabled)
		if errors.Is(err, sql.ErrNoRows) {
			err = nil
		}
		return disabled, err
	}
	user, grant := userID != "", grantID != ""
	var flag sql.NullBool
	var lock sql.NullString // an advisory lock's column, nothing
	args, cols := []any{clientID}, []any{&flag}
	if user {
		args = append(args, userID)
		if capLock {
			cols = append(cols, &lock)
		}
	}
	if grant {
		args, cols = append(args, grantID), append(cols, &lock)
	}
	if err := tx.QueryRowContext(ctx, s.d.lockTokens(user, capLock, grant), args...).Scan(cols...); err != nil {
		return false, notFound(err)
	}
	return flag.Bool, nil
}

// lockGrantForRevoke takes, where the dialect needs them, the locks of
// lockForTokens for grantID's user, client and grant before its tokens
// are revoked.
func (s *Store) lockGrantForRevoke(ctx context.Context, tx querier, grantID string) error {
	if s.d.lockTokens == nil {
		return nil
	}
	var userID, clientID string
	err := tx.QueryRowContext(ctx, `SELECT user_id, client_id FROM tokens WHERE grant_id = $1 LIMIT 1`, grantID).
		Scan(&userID, &clientID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // nothing to revoke
	}
	if err == nil {
		_, err = s.lockForTokens(ctx, tx, userID, clientID, userID != "", grantID)
	}
	return err
}

// insertIssue stores the pair and enforces the refresh cap, recording in eff
// the tokens the cap revokes.
func (s *Store) insertIssue(ctx context.Context, tx querier, issue store.Issue, eff *effects) error {
	if err := s.insertToken(ctx, tx, issue.Access, eff); err != nil {
		return err
	}
	if issue.Refresh == nil {
		return nil
	}
	if err := s.insertToken(ctx, tx, *issue.Refresh, eff); err != nil {
		return err
	}
	if !capped(issue) {
		return nil
	}
	return enforceRefreshCap(ctx, tx, *issue.Refresh, issue.RefreshCap, s.d.capInOneStatement, eff)
}

// liveRefreshTokens lists the live refresh tokens of user $2 and client $3
// but $4, newest first, at time $1, skipping the newest $5 (those within the
// cap: the database skips them rather than hand each to Go). Its conditions
// spell those of the partial index tokens_live_refresh_sorted, so only live
// tokens are read, however many have rotated or been revoked, in the order
// asked and without a table read for those within the cap. (Revoking them
// in the same statement, an UPDATE … RETURNING over this query, measured
// slower than this query and an UPDATE per token: SQLite materialises the
// query and builds an index of its hashes first.) (SQLite needs a LIMIT
// before an OFFSET; PostgreSQL takes any.)
const liveRefreshTokens = `SELECT hash, access_hash FROM tokens
	WHERE user_id = $2 AND client_id = $3 AND kind = 'refresh' AND revoked_at = 0 AND rotated_at = 0
	AND hash <> $4 AND (expires_at = 0 OR expires_at > $1)
	ORDER BY created_at DESC, hash DESC LIMIT 2147483647 OFFSET $5`

// revokeLiveRefreshTokens revokes at time $1 what liveRefreshTokens lists,
// with their access tokens, in one statement, returning their hashes.
// PostgreSQL's way: one round trip instead of one per revoked token.
const revokeLiveRefreshTokens = `WITH doomed AS (` + liveRefreshTokens + `)
	UPDATE tokens SET revoked_at = $1 WHERE revoked_at = 0
	AND hash IN (SELECT hash FROM doomed UNION ALL SELECT access_hash FROM doomed WHERE access_hash IS NOT NULL)
	RETURNING hash`

// enforceRefreshCap revokes, with their access tokens, the oldest active
// refresh tokens of fresh's user and client beyond limit, recording them in
// eff. fresh itself always survives: it is about to be handed out.
// oneStatement revokes them with revokeLiveRefreshTokens.
func enforceRefreshCap(ctx context.Context, tx querier, fresh store.Token, limit int, oneStatement bool, eff *effects) error {
	// Revoking at time 0 would mean "not revoked": refuse rather than cap nothing.
	if fresh.CreatedAt.IsZero() {
		return errors.New("refresh token has no CreatedAt")
	}
	now := ms(fresh.CreatedAt)
	// The newest limit-1 stay beside fresh.
	args := []any{now, fresh.UserID, fresh.ClientID, fresh.Hash, max(limit-1, 0)}
	if oneStatement {
		rows, err := tx.QueryContext(ctx, revokeLiveRefreshTokens, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var hash []byte
			if err := rows.Scan(&hash); err != nil {
				return err
			}
			eff.token(hash)
		}
		return rows.Err()
	}
	rows, err := tx.QueryContext(ctx, liveRefreshTokens, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var doomed [][]byte
	for rows.Next() {
		var hash, access []byte
		if err := rows.Scan(&hash, &access); err != nil {
			return err
		}
		doomed = append(doomed, hash)
		if len(access) > 0 {
			doomed = append(doomed, access)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	eff.token(doomed...)
	for _, h := range doomed {
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = $2 WHERE hash = $1 AND revoked_at = 0`, h, now); err != nil {
			return err
		}
	}
	return nil
}

// revokeGrant revokes every unrevoked token of grantID, in a transaction
// (tx) where the dialect locks. An empty grant ID names no grant, so it
// revokes nothing.
func (s *Store) revokeGrant(ctx context.Context, tx querier, grantID string, now time.Time) (int64, error) {
	if grantID == "" {
		return 0, nil
	}
	if err := s.lockGrantForRevoke(ctx, tx, grantID); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = $2 WHERE grant_id = $1 AND revoked_at = 0`, grantID, ms(now))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// IssueTokens implements store.Tokens.
func (s *Store) IssueTokens(ctx context.Context, issue store.Issue) error {
	var err error
	switch {
	case issue.Refresh == nil && issue.Access.UserID == "": // one row needs no transaction of its own
		eff := &effects{}
		err = s.writeStatementEffects(ctx, eff, func(ctx context.Context, q querier) error {
			return s.insertToken(ctx, q, issue.Access, eff)
		})
	default:
		eff := &effects{}
		err = s.inTxEffects(ctx, eff, func(ctx context.Context, tx querier) error {
			if err := s.guardIssue(ctx, tx, issue, false); err != nil {
				return err
			}
			return s.insertIssue(ctx, tx, issue, eff)
		})
	}
	if err != nil {
		return fmt.Errorf("sqlstore: issue tokens: %w", err)
	}
	return nil
}

// TokenByHash implements store.Tokens.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (store.Token, error) {
	if s.cache != nil {
		if t, _, ok := s.cache.token(hash, false); ok {
			return t, nil
		}
	}
	t, err := scanToken(s.rq.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = $1`, hash))
	if err != nil {
		return store.Token{}, fmt.Errorf("sqlstore: token by hash: %w", notFound(err))
	}
	return t, nil
}

// tokenWithUser reads a token and its user, if any, in one joined query; the
// user's columns are empty when there is none.
var tokenWithUser = `SELECT ` + qualify("t", tokenColumns) + `,
	COALESCE(u.id, ''), COALESCE(u.username, ''), COALESCE(u.display_name, ''), COALESCE(u.email, ''),
	COALESCE(u.password_hash, ''), COALESCE(u.level, 0), COALESCE(u.group_names, '[]'),
	COALESCE(u.disabled, FALSE), COALESCE(u.sessions_after, 0), COALESCE(u.created_at, 0), COALESCE(u.updated_at, 0)
	FROM tokens t LEFT JOIN users u ON u.id = t.user_id AND t.user_id <> '' WHERE t.hash = $1`

// qualify prefixes each column of a comma-separated list with table.
func qualify(table, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = table + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// TokenWithUser implements store.Tokens.
func (s *Store) TokenWithUser(ctx context.Context, hash []byte) (store.Token, *store.User, error) {
	var gen uint64
	if s.cache != nil {
		if t, u, ok := s.cache.token(hash, true); ok {
			return t, u, nil
		}
		gen = s.cache.start()
	}
	var t store.Token
	var u store.User
	err := s.rq.QueryRowContext(ctx, tokenWithUser, hash).Scan(&t.Hash, &t.Kind, &t.GrantID, &t.ClientID, &t.UserID, &t.Scope,
		msTime{&t.GrantedAt}, msTime{&t.CreatedAt}, msTime{&t.ExpiresAt}, msTime{&t.RevokedAt},
		msTime{&t.RotatedAt}, &t.AccessHash,
		&u.ID, &u.Username, &u.DisplayName, &u.Email, &u.PasswordHash, &u.Level,
		jsonList{&u.Groups}, &u.Disabled, msTime{&u.SessionsAfter}, msTime{&u.CreatedAt}, msTime{&u.UpdatedAt})
	if err != nil {
		return store.Token{}, nil, fmt.Errorf("sqlstore: token with user: %w", notFound(err))
	}
	up := &u
	if u.ID == "" {
		up = nil
	}
	if s.cache != nil {
		s.cache.putToken(gen, t, up)
	}
	return t, up, nil
}

// CachedTokenWithUser implements store.Tokens. A hit counts as one; a miss
// is left to the read that follows it, so that it counts once.
func (s *Store) CachedTokenWithUser(hash []byte) (store.Token, *store.User, bool) {
	if s.cache == nil {
		return store.Token{}, nil, false
	}
	t, u, ok := s.cache.lookupToken(hash, true)
	if ok {
		s.cache.hits.Add(1)
	}
	return t, u, ok
}

// RotateRefreshToken implements store.Tokens. The conditional update lets one
// of any number of concurrent rotations through. A token that has rotated
// counts as reused when presented again unless it is still unrevoked,
// unexpired and inside grace, even if it was revoked since: that is what lets
// every late caller of a detected replay see ErrTokenReused.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash []byte, now time.Time, grace store.ReuseGrace, issue store.Issue) error {
	eff := &effects{}
	err := s.inTxEffects(ctx, eff, func(ctx context.Context, tx querier) error {
		eff.token(oldHash)
		if err := s.guardIssue(ctx, tx, issue, true); err != nil {
			return err
		}
		var access []byte
		var grantID string
		err := tx.QueryRowContext(ctx, `UPDATE tokens SET rotated_at = $2
			WHERE hash = $1 AND kind = 'refresh' AND rotated_at = 0 AND revoked_at = 0
			AND (expires_at = 0 OR expires_at > $2) RETURNING access_hash, grant_id`, oldHash, ms(now)).Scan(&access, &grantID)
		if err == nil {
			if grantID != issue.Access.GrantID {
				return errOtherGrant
			}
			if len(access) > 0 {
				eff.token(access)
				if _, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = $2 WHERE hash = $1 AND revoked_at = 0`, access, ms(now)); err != nil {
					return err
				}
			}
			// A live refresh token was just replaced by one: the user's count
			// of live ones cannot have grown, so the cap needs no query here.
			// (A grace reuse, below, adds one and is capped.)
			replaced := issue
			replaced.RefreshCap = 0
			return s.insertIssue(ctx, tx, replaced, eff)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var kind string
		var expiresAt, revokedAt, rotatedAt int64
		err = tx.QueryRowContext(ctx, `SELECT kind, grant_id, expires_at, revoked_at, rotated_at FROM tokens WHERE hash = $1`, oldHash).
			Scan(&kind, &grantID, &expiresAt, &revokedAt, &rotatedAt)
		if err != nil {
			return notFound(err)
		}
		if kind != string(store.KindRefresh) || rotatedAt == 0 { // never rotated: revoked or expired
			return store.ErrNotFound
		}
		if grantID != issue.Access.GrantID {
			return errOtherGrant
		}
		nowMS := ms(now)
		live := revokedAt == 0 && (expiresAt == 0 || expiresAt > nowMS)
		inGrace := grace.Window > 0 && grace.Max > 0 && nowMS-rotatedAt <= grace.Window.Milliseconds()
		if inGrace && revokedAt == 0 && !live {
			// Expired (its idle lifetime) since its rotation: a client's
			// retry, which the window lets through, of a token that is no
			// longer good, not a replay.
			return store.ErrNotFound
		}
		if live && inGrace {
			// Counting the reuse is conditional, so concurrent reuses
			// cannot all see room for one more.
			res, err := tx.ExecContext(ctx, `UPDATE tokens SET grace_reuses = grace_reuses + 1
				WHERE hash = $1 AND grace_reuses < $2 AND revoked_at = 0`, oldHash, grace.Max)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 1 {
				if err != nil {
					return err
				}
				return s.insertIssue(ctx, tx, issue, eff) // the earlier successor stays valid too
			}
		}
		eff.all = true
		if _, err := s.revokeGrant(ctx, tx, grantID, now); err != nil {
			return err
		}
		return store.ErrTokenReused
	})
	if err != nil {
		return fmt.Errorf("sqlstore: rotate refresh token: %w", err)
	}
	return nil
}

// errOtherGrant refuses a rotation whose new pair names another grant: every
// pair of a chain belongs to the grant it started in.
var errOtherGrant = errors.New("the new tokens belong to another grant than the refresh token")

// RevokeToken implements store.Tokens. Revoking twice keeps the first time.
func (s *Store) RevokeToken(ctx context.Context, hash []byte, now time.Time) error {
	res, err := s.execEffects(ctx, &effects{tokens: [][]byte{hash}}, `UPDATE tokens
		SET revoked_at = CASE WHEN revoked_at = 0 THEN $2 ELSE revoked_at END WHERE hash = $1`, hash, ms(now))
	if err == nil {
		err = affected(res)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: revoke token: %w", err)
	}
	return nil
}

// RevokeGrant implements store.Tokens.
func (s *Store) RevokeGrant(ctx context.Context, grantID string, now time.Time) (int64, error) {
	var n int64
	audited := store.PendingFor(ctx) != nil
	err := s.inTx(ctx, func(ctx context.Context, tx querier) error {
		var err error
		if n, err = s.revokeGrant(ctx, tx, grantID, now); err == nil && n == 0 && audited {
			return errNothingDone // no audit event for a revocation of nothing
		}
		return err
	})
	if errors.Is(err, errNothingDone) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlstore: revoke grant: %w", err)
	}
	return n, nil
}

// activeTokensWhere writes the FROM and WHERE of the active tokens matching
// filter to q ($1 is now) and returns their arguments. Only the set filters
// become conditions, so the planner can use the indexes.
func activeTokensWhere(q *strings.Builder, filter store.TokenFilter, now time.Time) []any {
	q.WriteString(` FROM tokens WHERE ` + activeToken)
	args := []any{ms(now)}
	for _, f := range []struct{ col, val string }{
		{"client_id", filter.ClientID},
		{"user_id", filter.UserID},
		{"kind", string(filter.Kind)},
	} {
		if f.val == "" {
			continue
		}
		args = append(args, f.val)
		q.WriteString(" AND " + f.col + " = $" + strconv.Itoa(len(args)))
	}
	if len(filter.GrantIDs) > 0 {
		marks := make([]string, len(filter.GrantIDs))
		for i, id := range filter.GrantIDs {
			args = append(args, id)
			marks[i] = "$" + strconv.Itoa(len(args))
		}
		q.WriteString(" AND grant_id IN (" + strings.Join(marks, ", ") + ")")
	}
	return args
}

// ListActiveTokens implements store.Tokens.
func (s *Store) ListActiveTokens(ctx context.Context, filter store.TokenFilter, now time.Time) ([]store.Token, error) {
	var q strings.Builder
	q.WriteString(`SELECT ` + tokenColumns)
	args := activeTokensWhere(&q, filter, now)
	q.WriteString(` ORDER BY created_at DESC, hash DESC`)
	rows, err := s.rq.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list active tokens: %w", err)
	}
	defer rows.Close()
	var tokens []store.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list active tokens: %w", err)
		}
		tokens = append(tokens, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list active tokens: %w", err)
	}
	return tokens, nil
}

// ActiveGrants implements store.Tokens: one grouped read, of which only the
// first limit IDs are kept and the rest counted.
func (s *Store) ActiveGrants(ctx context.Context, filter store.TokenFilter, now time.Time, limit int) ([]string, int, error) {
	var q strings.Builder
	q.WriteString(`SELECT grant_id`)
	args := activeTokensWhere(&q, filter, now)
	q.WriteString(` GROUP BY grant_id ORDER BY MAX(created_at) DESC, grant_id DESC`)
	rows, err := s.rq.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: active grants: %w", err)
	}
	defer rows.Close()
	var ids []string
	total := 0
	for rows.Next() {
		total++
		if limit > 0 && len(ids) == limit {
			continue
		}
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, 0, fmt.Errorf("sqlstore: active grants: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("sqlstore: active grants: %w", err)
	}
	return ids, total, nil
}

// clientUsage reads, per application, its newest token from
// tokens_client_created (one seek: the min/max optimisation of both
// dialects) and counts its active tokens among those that can be active,
// read from partial indexes: the unexpired ones (tokens_expires) and the
// live refresh tokens without an expiry (tokens_live_refresh_sorted). The
// expired, revoked and rotated tokens retained until the purge are not read,
// so the cost follows applications and live tokens. The conditions spell
// the indexes' own terms ("expires_at <> 0", the live refresh ones) so that
// SQLite sees it may use them. Together the two branches are activeToken:
// no access token lacks an expiry (see store.Tokens.ClientUsage). $1 is now.
const clientUsage = `SELECT clients.id,
	(SELECT MAX(created_at) FROM tokens WHERE tokens.client_id = clients.id),
	COALESCE(active.n, 0)
	FROM clients LEFT JOIN (
		SELECT client_id, COUNT(*) AS n FROM (
			SELECT client_id FROM tokens
				WHERE expires_at <> 0 AND expires_at > $1 AND revoked_at = 0 AND (kind = 'access' OR rotated_at = 0)
			UNION ALL
			SELECT client_id FROM tokens
				WHERE kind = 'refresh' AND revoked_at = 0 AND rotated_at = 0 AND expires_at = 0
		) unexpired GROUP BY client_id
	) active ON active.client_id = clients.id`

// ClientUsage implements store.Tokens (see clientUsage). LastIssued counts
// every token, active or not; an application without one has no usage.
func (s *Store) ClientUsage(ctx context.Context, now time.Time) (map[string]store.Usage, error) {
	rows, err := s.rq.QueryContext(ctx, clientUsage, ms(now))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: client usage: %w", err)
	}
	defer rows.Close()
	usage := make(map[string]store.Usage)
	for rows.Next() {
		var id string
		var last sql.NullInt64
		var active int64
		if err := rows.Scan(&id, &last, &active); err != nil {
			return nil, fmt.Errorf("sqlstore: client usage: %w", err)
		}
		if !last.Valid {
			continue // no token at all
		}
		usage[id] = store.Usage{ActiveTokens: int(active), LastIssued: fromMS(last.Int64)}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: client usage: %w", err)
	}
	return usage, nil
}
