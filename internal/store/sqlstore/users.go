package sqlstore

import (
	"context"
	"fmt"

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
	u, err := scanUser(s.rq.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return store.User{}, fmt.Errorf("sqlstore: user by id: %w", notFound(err))
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

// ListUsers implements store.Users; users come sorted by username.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := s.rq.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list users: %w", err)
	}
	defer rows.Close()
	var users []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list users: %w", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list users: %w", err)
	}
	return users, nil
}

// CountUsers implements store.Users.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.rq.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: count users: %w", err)
	}
	return n, nil
}

// UpdateUser implements store.Users. SessionsAfter is mutable too.
func (s *Store) UpdateUser(ctx context.Context, u store.User) error {
	res, err := s.exec(ctx, `UPDATE users SET display_name = $2, email = $3, password_hash = $4,
		level = $5, group_names = $6, disabled = $7, sessions_after = $8, updated_at = $9 WHERE id = $1`,
		u.ID, u.DisplayName, u.Email, u.PasswordHash, int(u.Level), list(u.Groups), u.Disabled,
		ms(u.SessionsAfter), ms(u.UpdatedAt))
	if err == nil {
		err = affected(res)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: update user: %w", err)
	}
	return nil
}
