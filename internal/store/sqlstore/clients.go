package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/store"
)

const clientColumns = `id, name, description, secret_hash, secret_sealed, public, require_pkce,
	redirect_uris, scopes, grants, enabled, subscriber_users, subscriber_groups, allowed_ips,
	introspect_any, created_at, updated_at`

// selectClient reads clientColumns and the computed HasLogo.
const selectClient = `SELECT ` + clientColumns + `,
	EXISTS (SELECT 1 FROM client_logos l WHERE l.client_id = clients.id) FROM clients`

func scanClient(row scanner) (store.Client, error) {
	var c store.Client
	err := row.Scan(&c.ID, &c.Name, &c.Description, &c.SecretHash, &c.SecretSealed, &c.Public, &c.RequirePKCE,
		jsonList{&c.RedirectURIs}, jsonList{&c.Scopes}, jsonList{&c.Grants}, &c.Enabled,
		jsonList{&c.SubscriberUsers}, jsonList{&c.SubscriberGroups}, jsonList{&c.AllowedIPs},
		&c.IntrospectAny, msTime{&c.CreatedAt}, msTime{&c.UpdatedAt}, &c.HasLogo)
	return c, err
}

// CreateClient implements store.Clients. c.HasLogo is ignored.
func (s *Store) CreateClient(ctx context.Context, c store.Client, limit int) error {
	err := s.inTx(ctx, func(ctx context.Context, tx querier) error {
		if err := s.lockClients(ctx, tx); err != nil {
			return err
		}
		if limit > 0 {
			if err := checkClientLimit(ctx, tx, limit); err != nil {
				return err
			}
		}
		if err := checkClientName(ctx, tx, c.ID, c.Name); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO clients (`+clientColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
			c.ID, c.Name, c.Description, blob(c.SecretHash), blob(c.SecretSealed), c.Public, c.RequirePKCE,
			list(c.RedirectURIs), list(c.Scopes), list(c.Grants), c.Enabled,
			list(c.SubscriberUsers), list(c.SubscriberGroups), list(c.AllowedIPs),
			c.IntrospectAny, ms(c.CreatedAt), ms(c.UpdatedAt))
		return s.conflict(err)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: create client: %w", err)
	}
	return nil
}

// lockClients makes concurrent writers of clients go one after another, so
// that what checkClientLimit and checkClientName read stays true until the
// transaction commits. On SQLite the immediate transaction already excludes
// other writers; PostgreSQL locks the table (readers are not blocked).
func (s *Store) lockClients(ctx context.Context, tx querier) error {
	if s.d.lockClients == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, s.d.lockClients)
	return err
}

// checkClientLimit returns store.ErrLimit when limit clients exist.
func checkClientLimit(ctx context.Context, tx querier, limit int) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM clients`).Scan(&n); err != nil {
		return err
	}
	if n >= limit {
		return store.ErrLimit
	}
	return nil
}

// checkClientName returns store.ErrConflict when a client other than id is
// named name up to case. Compared in Go, as the application service compares
// names: SQL's lower() folds ASCII only.
func checkClientName(ctx context.Context, tx querier, id, name string) error {
	rows, err := tx.QueryContext(ctx, `SELECT name FROM clients WHERE id <> $1`, id)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var other string
		if err := rows.Scan(&other); err != nil {
			return err
		}
		if strings.EqualFold(other, name) {
			return store.ErrConflict
		}
	}
	return rows.Err()
}

// ClientByID implements store.Clients.
func (s *Store) ClientByID(ctx context.Context, id string) (store.Client, error) {
	c, err := scanClient(s.rq.QueryRowContext(ctx, selectClient+` WHERE id = $1`, id))
	if err != nil {
		return store.Client{}, fmt.Errorf("sqlstore: client by id: %w", notFound(err))
	}
	return c, nil
}

// ListClients implements store.Clients; clients come in registration order.
func (s *Store) ListClients(ctx context.Context) ([]store.Client, error) {
	rows, err := s.rq.QueryContext(ctx, selectClient+` ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list clients: %w", err)
	}
	defer rows.Close()
	var clients []store.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list clients: %w", err)
		}
		clients = append(clients, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list clients: %w", err)
	}
	return clients, nil
}

// UpdateClient implements store.Clients: the read, change and write are one
// transaction. On SQLite the write transaction already excludes every other
// writer; PostgreSQL locks the row (FOR UPDATE), so a concurrent change waits
// and then reads this one's result. The logo is not touched: HasLogo is
// read, never written.
func (s *Store) UpdateClient(ctx context.Context, id string, change func(*store.Client) error) (store.Client, error) {
	var c store.Client
	var refused error // change's own error, returned as it is
	err := s.inTx(ctx, func(ctx context.Context, tx querier) error {
		if err := s.lockClients(ctx, tx); err != nil {
			return err
		}
		var err error
		// An application being deleted (DeleteClient) is gone for every
		// change: enabling it again would revive the tokens a deletion cut
		// short has left.
		if c, err = scanClient(tx.QueryRowContext(ctx, selectClient+` WHERE id = $1 AND NOT deleting`+s.d.lockRow, id)); err != nil {
			return notFound(err)
		}
		stored := c
		if refused = change(&c); refused != nil {
			return refused
		}
		c.ID, c.CreatedAt, c.HasLogo = stored.ID, stored.CreatedAt, stored.HasLogo // not changed here
		if c.Name != stored.Name {
			if err := checkClientName(ctx, tx, c.ID, c.Name); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE clients SET name = $2, description = $3, secret_hash = $4,
			secret_sealed = $5, public = $6, require_pkce = $7, redirect_uris = $8, scopes = $9, grants = $10,
			enabled = $11, subscriber_users = $12, subscriber_groups = $13, allowed_ips = $14,
			introspect_any = $15, updated_at = $16
			WHERE id = $1`,
			c.ID, c.Name, c.Description, blob(c.SecretHash), blob(c.SecretSealed), c.Public, c.RequirePKCE,
			list(c.RedirectURIs), list(c.Scopes), list(c.Grants), c.Enabled,
			list(c.SubscriberUsers), list(c.SubscriberGroups), list(c.AllowedIPs), c.IntrospectAny, ms(c.UpdatedAt))
		return err
	})
	if refused != nil {
		return store.Client{}, refused
	}
	if err != nil {
		return store.Client{}, fmt.Errorf("sqlstore: update client: %w", err)
	}
	return c, nil
}

// DeleteClient implements store.Clients in three steps, so that no
// transaction holds the writer long however many tokens the application has
// (bulk.go):
//  1. One transaction vets the application (allow), drops its codes and
//     marks it deleting and disabled. From its commit no token of it can be
//     used (every use reads the application and refuses a disabled one, on
//     other nodes within cache.client_ttl), and nothing can enable it again
//     (UpdateClient finds no application being deleted).
//  2. Its tokens go in batches (deleteClientTokens).
//  3. One transaction deletes what is left — tokens and codes stored
//     meanwhile by a node whose cache still held the application — its logo
//     and its row.
//
// A deletion cut short leaves the application disabled, deleting and with
// some tokens; deleting it again runs the three steps again and finishes.
// Two deletions at once (the janitor finishing one cut short, a second
// request) both succeed: the one whose last step finds the row gone has
// nothing left to do.
func (s *Store) DeleteClient(ctx context.Context, id string, allow func(store.Client) error) error {
	var refused error // allow's own error, returned as it is
	err := s.inTx(ctx, func(ctx context.Context, tx querier) error {
		// The table first, as UpdateClient and CreateClient take it: a
		// deletion holding the row when an update holding the table asks
		// for it deadlocks on PostgreSQL. Then the row, so a write of its
		// tokens racing the deletion (lockForTokens) lands before it, and
		// goes with it, or after it, and finds it disabled, later gone.
		if err := s.lockClients(ctx, tx); err != nil {
			return err
		}
		c, err := scanClient(tx.QueryRowContext(ctx, selectClient+` WHERE id = $1`+s.d.lockRow, id))
		if err != nil {
			return notFound(err)
		}
		if allow != nil {
			if refused = allow(c); refused != nil {
				return refused
			}
		}
		// Codes before tokens, as disabling a user changes them: the
		// other order deadlocks with it on PostgreSQL.
		if _, err := tx.ExecContext(ctx, `DELETE FROM codes WHERE client_id = $1`, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE clients SET enabled = $2, deleting = $3 WHERE id = $1`, id, false, true)
		return err
	})
	if refused != nil {
		return refused
	}
	if err == nil {
		err = s.deleteClientTokens(ctx, id)
	}
	if err == nil {
		err = s.inTx(store.WithoutEvent(ctx), func(ctx context.Context, tx querier) error {
			if err := s.lockClients(ctx, tx); err != nil { // as in the first step
				return err
			}
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM clients WHERE id = $1`+s.d.lockRow, id).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return nil // another deletion finished it
			}
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM codes WHERE client_id = $1`, id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE client_id = $1`, id); err != nil {
				return err
			}
			// The foreign key cascades too; deleting here keeps the method
			// independent of that.
			if _, err := tx.ExecContext(ctx, `DELETE FROM client_logos WHERE client_id = $1`, id); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `DELETE FROM clients WHERE id = $1`, id)
			if err != nil {
				return err
			}
			return affected(res)
		})
	}
	if err != nil {
		return fmt.Errorf("sqlstore: delete client: %w", err)
	}
	return nil
}

// DeletingClients implements store.Clients.
func (s *Store) DeletingClients(ctx context.Context) ([]string, error) {
	rows, err := s.rq.QueryContext(ctx, `SELECT id FROM clients WHERE deleting ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: deleting clients: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlstore: deleting clients: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: deleting clients: %w", err)
	}
	return ids, nil
}

// SetClientLogo implements store.Clients: one transaction checks the client
// and then upserts or deletes its logo. An application being deleted is
// gone, as for UpdateClient; one whose deletion commits between the check
// and the insert (PostgreSQL) fails the foreign key, which is ErrNotFound
// too.
func (s *Store) SetClientLogo(ctx context.Context, id string, data []byte, contentType string) error {
	err := s.inTx(ctx, func(ctx context.Context, tx querier) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM clients WHERE id = $1 AND NOT deleting`, id).Scan(&one); err != nil {
			return notFound(err)
		}
		if len(data) == 0 {
			_, err := tx.ExecContext(ctx, `DELETE FROM client_logos WHERE client_id = $1`, id)
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO client_logos (client_id, content_type, data) VALUES ($1, $2, $3)
			ON CONFLICT (client_id) DO UPDATE SET content_type = excluded.content_type, data = excluded.data`,
			id, contentType, data)
		return s.conflict(err)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: set client logo: %w", err)
	}
	return nil
}

// ClientLogo implements store.Clients.
func (s *Store) ClientLogo(ctx context.Context, id string) ([]byte, string, error) {
	var data []byte
	var contentType string
	err := s.rq.QueryRowContext(ctx, `SELECT data, content_type FROM client_logos WHERE client_id = $1`, id).
		Scan(&data, &contentType)
	if err != nil {
		return nil, "", fmt.Errorf("sqlstore: client logo: %w", notFound(err))
	}
	return data, contentType, nil
}
