package sqlstore

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlitevfs"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func openSQLite(tb testing.TB) *Store {
	tb.Helper()
	s, err := OpenSQLite(tb.Context(), filepath.Join(tb.TempDir(), "gatehouse.db"))
	if err != nil {
		tb.Fatalf("OpenSQLite: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openSQLite(t) })
}

func TestMigrateIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	defer db.Close()
	for i := range 2 {
		if err := Migrate(t.Context(), db, SQLite); err != nil {
			t.Fatalf("Migrate run %d: %v", i+1, err)
		}
	}
	var version int64
	if err := db.QueryRowContext(t.Context(), `SELECT MAX(version_id) FROM goose_db_version`).Scan(&version); err != nil {
		t.Fatalf("reading the goose version: %v", err)
	}
	if want := migrationCount(t, "sqlite"); version != want {
		t.Errorf("schema version = %d, want %d", version, want)
	}

	// Opening a migrated database migrates again, as every start does.
	db.Close()
	s, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatalf("OpenSQLite on a migrated file: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestSQLiteConnections(t *testing.T) {
	s := openSQLite(t)
	ctx := t.Context()
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"foreign_keys": "1",
		"busy_timeout": "10000",
		"temp_store":   "2", // MEMORY
	} {
		got, err := writerPragma(t, s, pragma)
		if err != nil {
			t.Fatalf("PRAGMA %s: %v", pragma, err)
		}
		if got != want {
			t.Errorf("writer %s = %q, want %q", pragma, got, want)
		}
	}
	requireDurableWriter(t, s)
	if n := s.w.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("writer pool allows %d connections, want 1", n)
	}
	if _, err := s.r.ExecContext(ctx, `DELETE FROM users`); err == nil {
		t.Error("a reader connection could write")
	}
}

// The refresh cap must read only live refresh tokens: rotated ones pile up
// for reuse detection, and scanning them made every rotation slower. It
// reads them in the index's order, without sorting them for every check.
func TestRefreshCapReadsOnlyLiveTokens(t *testing.T) {
	s := openSQLite(t)
	plan := queryPlan(t, s, liveRefreshTokens, 0, "u", "c", []byte("h"), 9)
	if !strings.Contains(plan, "tokens_live_refresh_sorted") || strings.Contains(plan, "TEMP B-TREE") {
		t.Fatalf("the cap query does not read tokens_live_refresh_sorted in order:\n%s", plan)
	}
}

// The application list must cost what the applications and their live
// tokens cost, not every retained token: expired, revoked and rotated rows
// pile up until they are purged, and a scan of them took seconds. Every
// step that reads tokens is a search of an index, or a scan of the
// partial index of live refresh tokens.
func TestClientUsageReadsNoRetainedTokens(t *testing.T) {
	s := openSQLite(t)
	plan := queryPlan(t, s, clientUsage, 1)
	for _, step := range strings.Split(plan, "\n") {
		if strings.HasPrefix(step, "SCAN tokens") && !strings.Contains(step, "tokens_live_refresh_sorted") {
			t.Errorf("ClientUsage scans retained tokens (%q):\n%s", step, plan)
		}
	}
	if !strings.Contains(plan, "tokens_client_created") {
		t.Errorf("ClientUsage does not read the newest token from tokens_client_created:\n%s", plan)
	}
}

// TestGrantTokensReadThroughTheGrantIndex: the tokens of a page of grants
// (admin.RecentGrants, RevokeGrant) are found through tokens_grant, not by
// reading every token of the application again.
func TestGrantTokensReadThroughTheGrantIndex(t *testing.T) {
	s := openSQLite(t)
	var q strings.Builder
	q.WriteString(`SELECT ` + tokenColumns)
	args := activeTokensWhere(&q, store.TokenFilter{GrantIDs: []string{"g1", "g2"}}, time.Now())
	if plan := queryPlan(t, s, q.String(), args...); !strings.Contains(plan, "tokens_grant") {
		t.Errorf("a grant's tokens are not read through tokens_grant:\n%s", plan)
	}
}

// onWriter runs fn on the store's writer connection, as no store method
// would: on SQLite, whose one writer connection the group committer holds,
// inside one of its batches; elsewhere on the writer pool.
func onWriter(ctx context.Context, s *Store, fn func(ctx context.Context, q querier) error) error {
	if s.commits != nil {
		return s.commits.do(ctx, fn)
	}
	return fn(ctx, s.w)
}

// writerPragma reads a pragma's value on the writer connection.
func writerPragma(t *testing.T, s *Store, pragma string) (value string, err error) {
	err = onWriter(t.Context(), s, func(ctx context.Context, q querier) error {
		return q.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&value)
	})
	return value, err
}

// queryPlan is SQLite's plan for query, one step a line.
func queryPlan(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	var plan []string
	err := onWriter(t.Context(), s, func(ctx context.Context, q querier) error {
		rows, err := q.QueryContext(ctx, `EXPLAIN QUERY PLAN `+query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				return err
			}
			plan = append(plan, detail)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "\n")
}

// migrationCount is the number of embedded migrations of a dialect, which is
// the schema version once they are applied.
func migrationCount(t *testing.T, dialect string) int64 {
	t.Helper()
	files, err := fs.Glob(migrations, "migrations/"+dialect+"/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no %s migrations: %v", dialect, err)
	}
	return int64(len(files))
}

// TestNormalSync: the opt-in synchronous=NORMAL store commits and keeps its
// writes across a reopen (the conformance suite runs on FULL).
func TestNormalSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := OpenSQLiteWith(t.Context(), path, SQLiteOptions{NormalSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if mode, err := writerPragma(t, s, "synchronous"); err != nil || mode != "1" {
		t.Fatalf("synchronous = %s (%v), want 1 (NORMAL)", mode, err)
	}
	if err := s.CreateUser(t.Context(), store.User{ID: "u", Username: "u"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openPath(t, path)
	if _, err := s.UserByID(t.Context(), "u"); err != nil {
		t.Fatalf("after reopening: %v", err)
	}
	requireDurableWriter(t, s)
}

// requireDurableWriter fails unless each durable commit of s is flushed:
// by its committer after the commit where the VFS lets it (requireOwnFlush),
// else by SQLite at COMMIT (synchronous=FULL).
func requireDurableWriter(t *testing.T, s *Store) {
	t.Helper()
	if sqlitevfs.VFS() != "" {
		requireOwnFlush(t, s)
		return
	}
	if mode, err := writerPragma(t, s, "synchronous"); err != nil || mode != "2" {
		t.Fatalf("synchronous = %s (%v), want 2 (FULL)", mode, err)
	}
}

// A database another process holds in a write transaction past the busy
// timeout (an sqlite3 shell left in BEGIN IMMEDIATE) is said to be locked,
// not to be a read-only file. It waits the busy timeout (10 s) first.
func TestOpenSQLiteSaysAnotherProcessHoldsTheLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	holder, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	conn, err := holder.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(context.Background(), "ROLLBACK")
	_, err = OpenSQLite(t.Context(), path)
	if err == nil || !strings.Contains(err.Error(), "another process") || strings.Contains(err.Error(), "read-only") {
		t.Fatalf("OpenSQLite of a locked database: %v; want it said to be locked by another process", err)
	}
}
