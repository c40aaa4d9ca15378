package sqlstore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

const userColumns = `id, username, display_name, email, password_hash, level, group_names, disabled, sessions_after,
	created_at, updated_at`

func scanUser(row scanner) (store.User, error) {
	var u store.User
	err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Email, &u.PasswordHash, &u.Level,
		jsonList{&u.Groups}, &u.Disabled, msTime{&u.SessionsAfter}, msTime{&u.CreatedAt}, msTime{&u.UpdatedAt})
	return u, err
}

// CreateUser implements store.Users.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	_, err := s.exec(ctx, `INSERT INTO users (`+userColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		u.ID, u.Username, u.DisplayName, u.Email, u.PasswordHash, int(u.Level),
		list(u.Groups), u.Disabled, ms(u.SessionsAfter), ms(u.CreatedAt), ms(u.UpdatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: create user: %w", s.conflict(err))
	}
	return nil
}

// UserByID implements store.Users.
func (s *Store) UserByID(ctx context.Context, id string) (store.User, error) {
	var gen uint64
	if s.cache != nil {
		if u, ok := s.cache.user(id); ok {
			return u, nil
		}
		gen = s.cache.start()
	}
	u, err := scanUser(s.rq.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return store.User{}, fmt.Errorf("sqlstore: user by id: %w", notFound(err))
	}
	if s.cache != nil {
		s.cache.putUser(gen, u)
	}
	return u, nil
}

// UserByUsername implements store.Users.
func (s *Store) UserByUsername(ctx context.Context, username string) (store.User, error) {
	u, err := scanUser(s.rq.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE username = $1`, username))
	if err != nil {
		return store.User{}, fmt.Errorf("sqlstore: user by username: %w", notFound(err))
	}
	return u, nil
}

// SearchUsers implements store.Users. The text is compared twice: as typed
// with LIKE (which SQLite already makes case-insensitive for ASCII letters)
// and lowered in Go against lower() of the column, so ASCII letters match in
// any case on both dialects.
func (s *Store) SearchUsers(ctx context.Context, q store.UserSearch) ([]store.User, error) {
	if q.Limit <= 0 {
		return nil, nil
	}
	query := `SELECT ` + userColumns + ` FROM users WHERE username > $3`
	args := []any{q.Limit, max(q.Offset, 0), q.After} // every username is longer than ""
	if q.Text != "" {
		query += ` AND (username LIKE $4 ESCAPE '\' OR display_name LIKE $4 ESCAPE '\' OR email LIKE $4 ESCAPE '\'
			OR lower(username) LIKE $5 ESCAPE '\' OR lower(display_name) LIKE $5 ESCAPE '\' OR lower(email) LIKE $5 ESCAPE '\')`
		args = append(args, "%"+escapeLike(q.Text)+"%", "%"+escapeLike(asciiLower(q.Text))+"%")
	}
	rows, err := s.rq.QueryContext(ctx, query+` ORDER BY username LIMIT $1 OFFSET $2`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: search users: %w", err)
	}
	defer rows.Close()
	var users []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: search users: %w", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: search users: %w", err)
	}
	return users, nil
}

// escapeLike makes s match itself in a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// asciiLower lowers the ASCII letters of s only, as SQLite's lower() does.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// CountUsers implements store.Users.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.rq.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: count users: %w", err)
	}
	return n, nil
}

// UpdateUser implements store.Users. On SQLite the write transaction
// already excludes every other writer. PostgreSQL first takes one
// transaction-scoped advisory lock shared by every user update, then locks
// the row: two concurrent demotions of the last two system administrators
// would otherwise each see the other still enabled (write skew).
//
// Disabling revokes the user's tokens after the transaction, in batches
// (finishDisabling): the flag, which every use of a token reads, already
// refuses them all. A disabling cut short in between is finished by the
// next update of the user before its own transaction, so enabling them
// again revives nothing; what the transaction that enables them still finds
// unrevoked (a disabling that committed since) it revokes itself.
func (s *Store) UpdateUser(ctx context.Context, id string, change func(*store.User) error) (store.User, error) {
	if err := s.finishDisabling(ctx, id, time.Time{}); err != nil {
		return store.User{}, fmt.Errorf("sqlstore: update user: revoke the tokens of a disabled user: %w", err)
	}
	var u, before store.User
	var refused error // change's own error, returned as it is
	err := s.inTx(ctx, func(ctx context.Context, tx querier) error {
		if s.d.lockUsers != "" {
			if _, err := tx.ExecContext(ctx, s.d.lockUsers); err != nil {
				return err
			}
		}
		var err error
		if u, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`+s.d.lockRow, id)); err != nil {
			return notFound(err)
		}
		before = u
		if refused = change(&u); refused != nil {
			return refused
		}
		u.ID, u.Username, u.CreatedAt = before.ID, before.Username, before.CreatedAt // not changed here
		_, err = tx.ExecContext(ctx, `UPDATE users SET display_name = $2, email = $3, password_hash = $4,
			level = $5, group_names = $6, disabled = $7, sessions_after = $8, updated_at = $9 WHERE id = $1`,
			u.ID, u.DisplayName, u.Email, u.PasswordHash, int(u.Level), list(u.Groups), u.Disabled,
			ms(u.SessionsAfter), ms(u.UpdatedAt))
		if err != nil {
			return err
		}
		if activeSystemAdmin(before) && !activeSystemAdmin(u) {
			var left int
			err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE level = $1 AND NOT disabled`, int(store.LevelSystemAdmin)).Scan(&left)
			if err != nil {
				return err
			}
			if left == 0 {
				refused = store.ErrLastSystemAdmin
				return refused
			}
		}
		if u.Disabled && !before.Disabled {
			// Codes not yet redeemed go at once: enabling the user again
			// revives nothing issued before. The tokens follow in batches.
			_, err := tx.ExecContext(ctx, `DELETE FROM codes WHERE user_id = $1`, u.ID)
			return err
		}
		if before.Disabled && !u.Disabled {
			// Normally none is left (finishDisabling ran first); a
			// disabling that committed after it left them all. Their
			// applications' rows first, as finishDisabling locks them.
			if err := s.lockClientsOfUnrevoked(ctx, tx, u.ID); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at = 0`, u.ID, ms(disabledAt(before)))
			return err
		}
		return nil
	})
	if refused != nil {
		return store.User{}, refused
	}
	if err != nil {
		return store.User{}, fmt.Errorf("sqlstore: update user: %w", err)
	}
	if u.Disabled && !before.Disabled {
		// The call returns once every token is revoked, as it did when
		// that was one transaction.
		if err := s.finishDisabling(ctx, id, u.UpdatedAt); err != nil {
			return store.User{}, fmt.Errorf("sqlstore: update user: revoke the tokens of a disabled user: %w", err)
		}
	}
	return u, nil
}

// lockClientsOfUnrevoked takes, where the dialect locks, the rows of the
// applications of the user's unrevoked tokens (lockClientsForRevoke), in a
// transaction that holds the user's row, so no token of theirs is stored
// meanwhile.
func (s *Store) lockClientsOfUnrevoked(ctx context.Context, tx querier, userID string) error {
	if s.d.lockTokens == nil {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT client_id FROM tokens WHERE user_id = $1 AND revoked_at = 0`, userID)
	if err != nil {
		return err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return s.lockClientsForRevoke(ctx, tx, ids)
}

// disabledAt is the revocation time of a disabled user's tokens: when the
// user was last changed, or now where that is unknown (0 means "never").
func disabledAt(u store.User) time.Time {
	if u.UpdatedAt.IsZero() {
		return time.Now()
	}
	return u.UpdatedAt
}

func activeSystemAdmin(u store.User) bool { return u.Level == store.LevelSystemAdmin && !u.Disabled }

// GroupNames implements store.Users. It reads the group column alone, and
// each distinct list once (users mostly share a few combinations), rather
// than decode every user with its password hash.
func (s *Store) GroupNames(ctx context.Context) ([]string, error) {
	rows, err := s.rq.QueryContext(ctx, `SELECT DISTINCT group_names FROM users WHERE group_names <> '[]'`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: group names: %w", err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var groups []string
		if err := rows.Scan(jsonList{&groups}); err != nil {
			return nil, fmt.Errorf("sqlstore: group names: %w", err)
		}
		for _, g := range groups {
			seen[g] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: group names: %w", err)
	}
	return slices.Sorted(maps.Keys(seen)), nil
}
