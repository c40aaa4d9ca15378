package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// BackupSQLite writes a consistent copy of the SQLite database at path to
// the new file to, readable by its owner only, while other processes (a
// serving node) keep reading and writing it; it returns the copy's size.
// The copy is made by VACUUM INTO on a connection of its own, inside one read
// transaction: in WAL mode the writer goes on meanwhile, and the copy is the
// database as of that transaction's start, compacted. An existing file at to
// is an error matching fs.ErrExist, unless overwrite is set.
func BackupSQLite(ctx context.Context, path, to string, overwrite bool) (int64, error) {
	if strings.Contains(path, "?") {
		return 0, fmt.Errorf("sqlstore: sqlite path %q must not contain '?'", path)
	}
	// Opening a missing file would create an empty database and copy that.
	if _, err := os.Stat(path); err != nil {
		return 0, fmt.Errorf("sqlstore: backup: %w", err)
	}
	if overwrite {
		if err := os.Remove(to); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, fmt.Errorf("sqlstore: backup: %w", err)
		}
	}
	// The copy holds what the database holds (password hashes, the audit
	// log): it is created 0600 here, before SQLite writes into the empty file.
	f, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: backup: %w", err)
	}
	f.Close()
	size, err := vacuumInto(ctx, path, to)
	if err != nil {
		os.Remove(to)
		return 0, fmt.Errorf("sqlstore: backup: %w", err)
	}
	return size, nil
}

func vacuumInto(ctx context.Context, path, to string) (int64, error) {
	// Not query_only: SQLite counts the file VACUUM INTO writes as a change.
	// The statement reads the database and writes only that file.
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `VACUUM INTO $1`, to); err != nil {
		return 0, err
	}
	// SQLite does not sync the file VACUUM INTO wrote.
	f, err := os.OpenFile(to, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
