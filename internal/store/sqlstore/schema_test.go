package sqlstore

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

// A database migrated by a newer release still opens — during a rolling
// upgrade the previous release must keep working, and restart, on the next
// one's schema — but is named (SchemaAhead) for the node to warn about, and
// is not touched.
func TestNewerSchemaIsNamed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SchemaAhead(); err != nil {
		t.Fatalf("SchemaAhead of a current schema = %v", err)
	}
	s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	latest := migrationCount(t, "sqlite")
	if _, err := db.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, 1)`, latest+1); err != nil {
		t.Fatal(err)
	}
	for _, keep := range []bool{false, true} {
		s, err := OpenSQLiteWith(t.Context(), path, SQLiteOptions{KeepSchema: keep})
		if err != nil {
			t.Fatalf("open (keep %v) of a newer schema = %v", keep, err)
		}
		if err := s.SchemaAhead(); err == nil || !strings.Contains(err.Error(), "newer") {
			t.Fatalf("SchemaAhead = %v, want it named", err)
		}
		s.Close()
	}
	var version int64
	db.QueryRow(`SELECT MAX(version_id) FROM goose_db_version`).Scan(&version)
	if version != latest+1 {
		t.Fatalf("schema version %d, want %d untouched", version, latest+1)
	}
}

// A management command (KeepSchema) does not migrate a database a running
// node of an older release is using: it says what to run instead. A new,
// empty database is still set up.
func TestKeepSchemaRefusesToMigrate(t *testing.T) {
	fresh := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := OpenSQLiteWith(t.Context(), fresh, SQLiteOptions{KeepSchema: true})
	if err != nil {
		t.Fatalf("KeepSchema on a new database = %v", err)
	}
	s.Close()

	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err = OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	latest := migrationCount(t, "sqlite")
	if _, err := db.Exec(`DELETE FROM goose_db_version WHERE version_id = ?`, latest); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = OpenSQLiteWith(t.Context(), path, SQLiteOptions{KeepSchema: true})
	if err == nil || !strings.Contains(err.Error(), "gatehouse migrate") {
		t.Fatalf("KeepSchema on an older schema = %v, want refused naming gatehouse migrate", err)
	}
	db, _ = sql.Open("sqlite", path)
	var version int64
	db.QueryRow(`SELECT MAX(version_id) FROM goose_db_version`).Scan(&version)
	db.Close()
	if version != latest-1 {
		t.Fatalf("schema version %d after a refused open, want %d untouched", version, latest-1)
	}
}
