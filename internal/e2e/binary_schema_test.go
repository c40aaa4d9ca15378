package e2e

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// A management command run beside a node of an older release must not
// migrate the database under it (on SQLite that held the write lock for
// seconds and stalled the node's token requests): it refuses and names
// `gatehouse migrate`, which does migrate.
func TestBinaryCommandsLeaveTheSchemaAlone(t *testing.T) {
	bin := buildBinary(t)
	dir := migratedDir(t, bin)
	db, err := sql.Open("sqlite", filepath.Join(dir, "gatehouse-data", "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var latest int64
	if err := db.QueryRow(`SELECT MAX(version_id) FROM goose_db_version`).Scan(&latest); err != nil {
		t.Fatal(err)
	}
	set := func(version int64) {
		t.Helper()
		if _, err := db.Exec(`DELETE FROM goose_db_version WHERE version_id > ?`, min(version, latest)); err != nil {
			t.Fatal(err)
		}
		if version > latest {
			if _, err := db.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, 1)`, version); err != nil {
				t.Fatal(err)
			}
		}
	}
	// As an older release left it (its last migration's objects are there:
	// only the record says behind, which is all the command reads).
	set(latest - 1)
	if _, errOut, err := runCLI(bin, dir, "user", "list"); err == nil || !strings.Contains(errOut, "gatehouse migrate") {
		t.Fatalf("user list on an older schema: %v\n%s", err, errOut)
	}
	// A newer schema is the rolling upgrade's previous release: commands
	// work, and migrate says the schema is ahead instead of "up to date".
	set(latest + 1)
	cli(t, bin, dir, "user", "list")
	if _, errOut, err := runCLI(bin, dir, "migrate"); err == nil || !strings.Contains(errOut, "newer") {
		t.Fatalf("migrate on a newer schema: %v\n%s", err, errOut)
	}
}
