package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Page sizes of ListAudit.
const (
	auditDefaultLimit = 100
	auditMaxLimit     = 1000
)

const auditColumns = `id, at, kind, actor, address, client_id, username, detail`

// RecordAudit implements store.Audit. The database assigns the ID; e.ID is
// ignored.
func (s *Store) RecordAudit(ctx context.Context, e store.AuditEvent) error {
	err := s.writeStatementEffects(ctx, neutral(), func(ctx context.Context, q querier) error {
		return insertAudit(ctx, q, e)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: record audit: %w", err)
	}
	return nil
}

func insertAudit(ctx context.Context, q querier, e store.AuditEvent) error {
	_, err := q.ExecContext(ctx, `INSERT INTO audit_events (at, kind, actor, address, client_id, username, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		ms(e.At), e.Kind, e.Actor, e.Address, e.ClientID, e.Username, e.Detail)
	return err
}

// ListAudit implements store.Audit. Only the set filters become conditions.
// A kind prefix is compared with substr rather than LIKE, which would need
// escaping and is case-insensitive on SQLite.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	switch {
	case f.Kind == "":
	case strings.HasSuffix(f.Kind, "."):
		n := arg(utf8.RuneCountInString(f.Kind)) // substr counts characters on both dialects
		where = append(where, "substr(kind, 1, "+n+") = "+arg(f.Kind))
	default:
		where = append(where, "kind = "+arg(f.Kind))
	}
	if f.Username != "" {
		p := arg(f.Username)
		where = append(where, "(actor = "+p+" OR username = "+p+")")
	}
	if f.ClientID != "" {
		where = append(where, "client_id = "+arg(f.ClientID))
	}
	if !f.Since.IsZero() {
		where = append(where, "at >= "+arg(ms(f.Since)))
	}
	if !f.Until.IsZero() {
		where = append(where, "at < "+arg(ms(f.Until)))
	}
	if f.BeforeID > 0 {
		where = append(where, "id < "+arg(f.BeforeID))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = auditDefaultLimit
	}
	limit = min(limit, auditMaxLimit)

	var q strings.Builder
	q.WriteString(`SELECT ` + auditColumns + ` FROM audit_events`)
	if len(where) > 0 {
		q.WriteString(" WHERE " + strings.Join(where, " AND "))
	}
	q.WriteString(" ORDER BY id DESC LIMIT " + arg(limit))

	rows, err := s.rq.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list audit: %w", err)
	}
	defer rows.Close()
	var events []store.AuditEvent
	for rows.Next() {
		var e store.AuditEvent
		if err := rows.Scan(&e.ID, msTime{&e.At}, &e.Kind, &e.Actor, &e.Address, &e.ClientID, &e.Username, &e.Detail); err != nil {
			return nil, fmt.Errorf("sqlstore: list audit: %w", err)
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list audit: %w", err)
	}
	return events, nil
}
