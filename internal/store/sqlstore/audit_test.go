package sqlstore

import (
	"database/sql"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Upgrading to 00010 rebuilds SQLite's audit table without AUTOINCREMENT:
// every row keeps its id, and new rows still number after the last one.
func TestAuditRebuildKeepsIDs(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fsys, err := fs.Sub(migrations, "migrations/sqlite")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 9); err != nil {
		t.Fatal(err)
	}
	// Ids with a gap, as AUTOINCREMENT may leave after a rolled-back insert.
	for _, id := range []int{1, 2, 7} {
		if _, err := db.ExecContext(ctx, `INSERT INTO audit_events (id, at, kind, actor, detail) VALUES ($1, 1, 'user.create', 'alice', $2)`,
			id, fmt.Sprint("old ", id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := openPath(t, path)
	if err := s.RecordAudit(ctx, store.AuditEvent{At: time.Now(), Kind: "user.update", Actor: "alice", Detail: "new"}); err != nil {
		t.Fatal(err)
	}
	events, err := s.ListAudit(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		got = append(got, fmt.Sprint(e.Detail, "#", e.ID))
	}
	if want := "new#8 old 7#7 old 2#2 old 1#1"; strings.Join(got, " ") != want {
		t.Errorf("audit after the rebuild = %q, want %q", strings.Join(got, " "), want)
	}
	var autoincrement int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'audit_events' AND sql LIKE '%AUTOINCREMENT%'`).Scan(&autoincrement); err != nil || autoincrement != 0 {
		t.Errorf("audit_events still AUTOINCREMENT (%d, %v)", autoincrement, err)
	}
}

// The username and client filters must use the partial indexes (which leave
// out the empty values), not scan the audit table, however long it grows.
func TestAuditFiltersUsePartialIndexes(t *testing.T) {
	s := openSQLite(t)
	for index, f := range map[string]store.AuditFilter{
		"audit_events_username": {Username: "alice"},
		"audit_events_client":   {ClientID: "c1"},
	} {
		query, args := auditQuery(f)
		if plan := queryPlan(t, s, query, args...); !strings.Contains(plan, index) {
			t.Errorf("%+v does not use %s:\n%s", f, index, plan)
		}
	}
}
