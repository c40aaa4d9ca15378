package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// BackupSQLite writes a consistent copy of the SQLite database at path to
// the file to, readable by its owner only, while other processes (a serving
// node) keep reading and writing it; it returns the copy's size. The copy is
// made by VACUUM INTO on a connection of its own, inside one read
// transaction: in WAL mode the writer goes on meanwhile, and the copy is the
// database as of that transaction's start, compacted. It is written to a new
// file beside to and renamed onto to only once complete and synced, so a
// backup that fails leaves to as it was and nothing beside it; its error
// names to. An existing file at to is an error
// matching fs.ErrExist, unless overwrite is set; even then only a regular
// file is replaced, never the database itself, its WAL, shared memory or
// journal, nor any of protect (the secret key).
func BackupSQLite(ctx context.Context, path, to string, overwrite bool, protect ...string) (int64, error) {
	if strings.Contains(path, "?") {
		return 0, fmt.Errorf("sqlstore: sqlite path %q must not contain '?'", path)
	}
	// Opening a missing file would create an empty database and copy that.
	if _, err := os.Stat(path); err != nil {
		return 0, fmt.Errorf("sqlstore: backup: %w", err)
	}
	own := []string{path, path + "-wal", path + "-shm", path + "-journal"}
	if err := replaceable(to, overwrite, append(own, protect...)); err != nil {
		return 0, fmt.Errorf("sqlstore: backup: %w", err)
	}
	if _, err := os.Lstat(to); err == nil {
		if err := besideItsKey(to, path, protect); err != nil {
			return 0, fmt.Errorf("sqlstore: backup: %w", err)
		}
	}
	// The copy holds what the database holds (password hashes, the audit
	// log): CreateTemp makes it 0600, before SQLite writes into the empty file.
	f, err := os.CreateTemp(filepath.Dir(to), "."+filepath.Base(to)+".*.partial")
	if err != nil {
		// The copy is written beside the target first: name the target's
		// directory, not the temporary file it could not make.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return 0, fmt.Errorf("sqlstore: backup to %s failed: cannot write in %s; the database itself is unchanged: %w", to, filepath.Dir(to), err)
	}
	partial := f.Name()
	f.Close()
	size, err := vacuumInto(ctx, path, partial)
	if err == nil {
		err = place(partial, to, overwrite)
	}
	if err != nil {
		// A copy that failed midway (a full disk) also leaves SQLite's
		// journal of it.
		os.Remove(partial)
		os.Remove(partial + "-journal")
		return 0, fmt.Errorf("sqlstore: backup to %s failed; the database itself is unchanged: %w", to, err)
	}
	// The rename is durable once the directory is.
	if d, err := os.Open(filepath.Dir(to)); err == nil {
		d.Sync()
		d.Close()
	}
	return size, nil
}

// place puts the finished copy at to. Without overwrite it links it there,
// which fails if something appeared at to meanwhile (another backup to the
// same new file), where a rename would replace it without a word.
func place(partial, to string, overwrite bool) error {
	if overwrite {
		return os.Rename(partial, to)
	}
	if err := os.Link(partial, to); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w", to, fs.ErrExist)
		}
		return err
	}
	return os.Remove(partial)
}

// resolvedPath is path made absolute with its directory's symbolic links
// resolved, to compare names of files that may not exist.
func resolvedPath(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		return filepath.Join(dir, filepath.Base(abs))
	}
	return abs
}

// replaceable checks that a backup may be written at to: nothing is there,
// or overwrite is set and it is a regular file other than protected.
func replaceable(to string, overwrite bool, protected []string) error {
	// A protected name is refused even while nothing is there: a backup
	// written where the database's -journal or -wal file goes, or where the
	// key goes, would be taken for one (and deleted, or refused, later).
	for _, p := range protected {
		if resolvedPath(to) == resolvedPath(p) {
			return fmt.Errorf("%s is %s, which a backup never replaces", to, p)
		}
	}
	fi, err := os.Lstat(to)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		// Said before --force, which could not help.
		what := "not a regular file (a directory, say)"
		if fi.Mode()&fs.ModeSymlink != 0 {
			what = "a symbolic link, which a backup never follows"
		}
		return fmt.Errorf("%s is %s: name the backup's file; a backup replaces only a previous backup", to, what)
	}
	if !overwrite {
		return fmt.Errorf("%s: %w", to, fs.ErrExist)
	}
	for _, p := range protected {
		if pi, err := os.Stat(p); err == nil && os.SameFile(fi, pi) {
			return fmt.Errorf("%s is %s, which a backup never replaces", to, p)
		}
	}
	if !isSQLiteFile(to) {
		return fmt.Errorf("%s is not a previous backup (not an SQLite database), which is all a backup replaces: name another file, or remove it first", to)
	}
	// A data directory's database is an SQLite file too. A backup has no
	// write-ahead log (VACUUM INTO writes a plain file), and no key beside it
	// in a data directory's name.
	if _, err := os.Lstat(to + "-wal"); err == nil {
		return fmt.Errorf("%s is a database in use (its write-ahead log %s-wal is beside it), not a previous backup: name another file", to, to)
	}
	return nil
}

// besideItsKey refuses to as another data directory's database: named as
// the database at path is, with a file named as one of keys beside it (the
// secret key, laid out as in path's own data directory).
func besideItsKey(to, path string, keys []string) error {
	if filepath.Base(to) != filepath.Base(path) {
		return nil
	}
	for _, k := range keys {
		if _, err := os.Lstat(filepath.Join(filepath.Dir(to), filepath.Base(k))); err == nil {
			return fmt.Errorf("%s is another data directory's database (%s is beside it), not a previous backup: name another file", to, filepath.Base(k))
		}
	}
	return nil
}

// isSQLiteFile reports whether the file at path begins as every SQLite
// database does; an empty file counts too (nothing to lose).
func isSQLiteFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	header := make([]byte, 16)
	n, _ := io.ReadFull(f, header)
	return n == 0 || string(header[:n]) == "SQLite format 3\x00"
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
