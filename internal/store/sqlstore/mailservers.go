package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/store"
)

const mailServerColumns = `id, name, protocol, host, port, tls, ca_cert, username, password_sealed,
	integration_id, sasl, created_at, updated_at`

const selectMailServer = `SELECT ` + mailServerColumns + ` FROM mail_servers`

func scanMailServer(row scanner) (store.MailServer, error) {
	var m store.MailServer
	err := row.Scan(&m.ID, &m.Name, &m.Protocol, &m.Host, &m.Port, &m.TLS, &m.CACert, &m.Username,
		&m.PasswordSealed, &m.IntegrationID, &m.SASL, msTime{&m.CreatedAt}, msTime{&m.UpdatedAt})
	return m, err
}

// nameKey is what names are unique by.
func nameKey(name string) string { return strings.ToLower(name) }

// CreateMailServer implements store.MailServers.
func (s *Store) CreateMailServer(ctx context.Context, m store.MailServer) error {
	_, err := s.exec(ctx, `INSERT INTO mail_servers (`+mailServerColumns+`, name_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		m.ID, m.Name, m.Protocol, m.Host, m.Port, m.TLS, m.CACert, m.Username, blob(m.PasswordSealed),
		m.IntegrationID, m.SASL, ms(m.CreatedAt), ms(m.UpdatedAt), nameKey(m.Name))
	if err != nil {
		return fmt.Errorf("sqlstore: create mail server: %w", s.conflict(err))
	}
	return nil
}

// MailServerByID implements store.MailServers.
func (s *Store) MailServerByID(ctx context.Context, id string) (store.MailServer, error) {
	m, err := scanMailServer(s.rq.QueryRowContext(ctx, selectMailServer+` WHERE id = $1`, id))
	if err != nil {
		return store.MailServer{}, fmt.Errorf("sqlstore: mail server by id: %w", notFound(err))
	}
	return m, nil
}

// MailServerByName implements store.MailServers.
func (s *Store) MailServerByName(ctx context.Context, name string) (store.MailServer, error) {
	m, err := scanMailServer(s.rq.QueryRowContext(ctx, selectMailServer+` WHERE name_key = $1`, nameKey(name)))
	if err != nil {
		return store.MailServer{}, fmt.Errorf("sqlstore: mail server by name: %w", notFound(err))
	}
	return m, nil
}

// ListMailServers implements store.MailServers.
func (s *Store) ListMailServers(ctx context.Context) ([]store.MailServer, error) {
	rows, err := s.rq.QueryContext(ctx, selectMailServer+` ORDER BY name_key, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list mail servers: %w", err)
	}
	defer rows.Close()
	var out []store.MailServer
	for rows.Next() {
		m, err := scanMailServer(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list mail servers: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list mail servers: %w", err)
	}
	return out, nil
}

// UpdateMailServer implements store.MailServers: the read, change and write
// are one transaction (PostgreSQL locks the row; SQLite's one writer already
// excludes the others).
func (s *Store) UpdateMailServer(ctx context.Context, id string, change func(*store.MailServer) error) (store.MailServer, error) {
	var m store.MailServer
	var refused error // change's own error, returned as it is
	err := s.inTx(ctx, func(ctx context.Context, tx querier) error {
		var err error
		if m, err = scanMailServer(tx.QueryRowContext(ctx, selectMailServer+` WHERE id = $1`+s.d.lockRow, id)); err != nil {
			return notFound(err)
		}
		stored := m
		if refused = change(&m); refused != nil {
			return refused
		}
		m.ID, m.CreatedAt = stored.ID, stored.CreatedAt
		_, err = tx.ExecContext(ctx, `UPDATE mail_servers SET name = $2, name_key = $3, protocol = $4, host = $5,
			port = $6, tls = $7, ca_cert = $8, username = $9, password_sealed = $10, integration_id = $11,
			sasl = $12, updated_at = $13
			WHERE id = $1`,
			m.ID, m.Name, nameKey(m.Name), m.Protocol, m.Host, m.Port, m.TLS, m.CACert, m.Username,
			blob(m.PasswordSealed), m.IntegrationID, m.SASL, ms(m.UpdatedAt))
		return s.conflict(err)
	})
	if refused != nil {
		return store.MailServer{}, refused
	}
	if err != nil {
		return store.MailServer{}, fmt.Errorf("sqlstore: update mail server: %w", err)
	}
	return m, nil
}

// DeleteMailServer implements store.MailServers.
func (s *Store) DeleteMailServer(ctx context.Context, id string) error {
	// Not found inside the write, so that a pending audit event is not
	// stored for a delete that deleted nothing.
	err := s.writeStatement(ctx, func(ctx context.Context, q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM mail_servers WHERE id = $1`, id)
		if err != nil {
			return err
		}
		return affected(res)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: delete mail server: %w", err)
	}
	return nil
}
