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
// ignored. On SQLite the group commit appends the event together with the
// other audit events of its batch (appendAudits).
func (s *Store) RecordAudit(ctx context.Context, e store.AuditEvent) error {
	if err := s.appendAudit(ctx, e); err != nil {
		return fmt.Errorf("sqlstore: record audit: %w", err)
	}
	return nil
}

func insertAudit(ctx context.Context, q querier, e store.AuditEvent) error {
	return insertAudits(ctx, q, []store.AuditEvent{e})
}

// auditRowCounts are the sizes of the multi-row INSERTs that append audit
// events, largest first. They are few and fixed so that each statement is
// prepared once; any number of events is a sum of them.
var auditRowCounts = []int{64, 16, 4, 1}

// auditInserts holds the INSERT statement for each of auditRowCounts.
var auditInserts = func() map[int]string {
	m := make(map[int]string, len(auditRowCounts))
	for _, n := range auditRowCounts {
		var b strings.Builder
		b.WriteString(`INSERT INTO audit_events (at, kind, actor, address, client_id, username, detail) VALUES `)
		for row := range n {
			if row > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(")
			for col := range 7 {
				if col > 0 {
					b.WriteString(", ")
				}
				b.WriteString("$" + strconv.Itoa(row*7+col+1))
			}
			b.WriteString(")")
		}
		m[n] = b.String()
	}
	return m
}()

// auditRowsAtOnce is how many of n events the next INSERT appends.
func auditRowsAtOnce(n int) int {
	for _, size := range auditRowCounts {
		if size <= n {
			return size
		}
	}
	return 0
}

// insertAudits appends events in order with one statement, so exactly
// auditRowsAtOnce(len(events)) of them: all or, on an error, none.
func insertAudits(ctx context.Context, q querier, events []store.AuditEvent) error {
	n := auditRowsAtOnce(len(events))
	if n != len(events) {
		return fmt.Errorf("sqlstore: %d audit events for an insert of %d", len(events), n)
	}
	args := make([]any, 0, 7*n)
	for _, e := range events {
		args = append(args, ms(e.At), e.Kind, e.Actor, e.Address, e.ClientID, e.Username, e.Detail)
	}
	_, err := q.ExecContext(ctx, auditInserts[n], args...)
	return err
}

// ListAudit implements store.Audit. Only the set filters become conditions.
// A kind prefix is compared with substr rather than LIKE, which would need
// escaping and is case-insensitive on SQLite.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	query, args := auditQuery(f)
	rows, err := s.rq.QueryContext(ctx, query, args...)
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

// auditQuery is ListAudit's statement for f and its arguments.
func auditQuery(f store.AuditFilter) (string, []any) {
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
		// The "<> ''" lets the partial username index serve the filter.
		where = append(where, "(actor = "+p+" OR (username = "+p+" AND username <> ''))")
	}
	if f.ClientID != "" {
		where = append(where, "client_id = "+arg(f.ClientID)+" AND client_id <> ''")
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
	return q.String(), args
}
