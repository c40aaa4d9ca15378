package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// databaseWithAlice opens a database in a new directory holding one user,
// alice, and returns the directory, the database's path and the store.
func databaseWithAlice(t *testing.T) (dir, path string, s *Store) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "gatehouse.db")
	s, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.CreateUser(t.Context(), store.User{ID: "u1", Username: "alice", CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return dir, path, s
}

// TestBackupSQLite: the copy holds what was committed before it began and
// opens as a database; it is 0600; an existing file is kept unless overwrite
// is set; a missing database is not created.
func TestBackupSQLite(t *testing.T) {
	dir, path, _ := databaseWithAlice(t)

	to := filepath.Join(dir, "backup.db")
	size, err := BackupSQLite(t.Context(), path, to, false)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(to)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != size || size == 0 {
		t.Errorf("BackupSQLite returned %d bytes, the file has %d", size, fi.Size())
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("backup mode %v; want 0600", perm)
	}
	copied, err := OpenSQLite(t.Context(), to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := copied.UserByUsername(t.Context(), "alice"); err != nil {
		t.Errorf("the backup lacks the user: %v", err)
	}
	copied.Close()

	if _, err := BackupSQLite(t.Context(), path, to, false); !errors.Is(err, fs.ErrExist) {
		t.Errorf("backup over an existing file = %v; want fs.ErrExist", err)
	}
	if _, err := BackupSQLite(t.Context(), path, to, true); err != nil {
		t.Errorf("backup with overwrite: %v", err)
	}

	missing := filepath.Join(dir, "missing.db")
	if _, err := BackupSQLite(t.Context(), missing, filepath.Join(dir, "other.db"), false); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("backup of a missing database = %v; want fs.ErrNotExist", err)
	}
	for _, name := range []string{missing, filepath.Join(dir, "other.db")} {
		if _, err := os.Stat(name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s exists after a failed backup (%v)", name, err)
		}
	}
}

// TestBackupNeverDestroys: even with overwrite, a backup never replaces the
// database it copies, its WAL or shared memory, a file the caller protects
// (the secret key), a directory or anything but a regular file; and a backup
// that fails leaves the file it would have replaced as it was.
func TestBackupNeverDestroys(t *testing.T) {
	dir, path, s := databaseWithAlice(t)
	key := filepath.Join(dir, "secret.key")
	if err := os.WriteFile(key, bytes.Repeat([]byte{7}, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.db")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	emptyDir := filepath.Join(dir, "empty")
	if err := os.Mkdir(emptyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	protected := map[string]string{
		"the database": path, "its WAL": path + "-wal", "its shared memory": path + "-shm", "the secret key": key,
		"a FIFO": fifo, "a symbolic link to the database": link, "a directory": emptyDir,
	}
	for name, to := range protected {
		before, _ := os.Lstat(to)
		if _, err := BackupSQLite(t.Context(), path, to, true, key); err == nil {
			t.Errorf("a backup with overwrite over %s succeeded", name)
		}
		after, err := os.Lstat(to)
		if err != nil || before.Mode() != after.Mode() || !os.SameFile(before, after) {
			t.Errorf("%s was replaced: %v", name, err)
		}
	}
	// Nor any file that is no previous backup (not an SQLite database): a
	// mistyped name must not replace a script or a document.
	script := filepath.Join(dir, "env.sh")
	if err := os.WriteFile(script, []byte("export PATH=/usr/bin\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := BackupSQLite(t.Context(), path, script, true, key); err == nil || !strings.Contains(err.Error(), "not a previous backup") {
		t.Errorf("a backup with overwrite over a shell script = %v; want it refused as no previous backup", err)
	}
	if got, _ := os.ReadFile(script); string(got) != "export PATH=/usr/bin\n" {
		t.Errorf("the script was replaced: %q", got)
	}
	// Without --force a directory is refused for what it is, not as a file
	// that --force could replace.
	if _, err := BackupSQLite(t.Context(), path, emptyDir, false, key); err == nil || errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a backup into a directory without overwrite = %v; want it refused as no regular file", err)
	}
	if got, err := os.ReadFile(key); err != nil || !bytes.Equal(got, bytes.Repeat([]byte{7}, 32)) {
		t.Errorf("the secret key changed: %x, %v", got, err)
	}
	if _, err := s.UserByUsername(t.Context(), "alice"); err != nil {
		t.Errorf("the database lost its user: %v", err)
	}

	// A failing backup (the source is no database) keeps the previous one.
	previous := filepath.Join(dir, "previous.db")
	if _, err := BackupSQLite(t.Context(), path, previous, false, key); err != nil {
		t.Fatal(err)
	}
	kept, _ := os.ReadFile(previous)
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("not a database "), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := BackupSQLite(t.Context(), garbage, previous, true, key); err == nil {
		t.Fatal("a backup of a file that is no database succeeded")
	}
	if got, err := os.ReadFile(previous); err != nil || !bytes.Equal(got, kept) {
		t.Errorf("a failed backup changed the previous one: %d bytes, %v", len(got), err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, "previous.db*")); len(leftovers) != 1 {
		t.Errorf("a failed backup left files: %v", leftovers)
	}
}

// TestBackupNeverReplacesAnotherDataDirectorysDatabase: --force replaces a
// previous backup, and a data directory's database is an SQLite file too:
// one with its secret key beside it, or a write-ahead log (an open
// database; a backup has none), is another node's live data, not a backup.
func TestBackupNeverReplacesAnotherDataDirectorysDatabase(t *testing.T) {
	dir, path, _ := databaseWithAlice(t)
	key := filepath.Join(dir, "secret.key")
	other := t.TempDir()
	otherPath := filepath.Join(other, "gatehouse.db")
	otherStore, err := OpenSQLite(t.Context(), otherPath)
	if err != nil {
		t.Fatal(err)
	}
	otherStore.Close() // stopped: no write-ahead log left beside it
	if _, err := os.Lstat(otherPath + "-wal"); err == nil {
		t.Fatal("fixture: a closed database kept its write-ahead log")
	}
	if err := os.WriteFile(filepath.Join(other, "secret.key"), bytes.Repeat([]byte{9}, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	kept, _ := os.ReadFile(otherPath)
	if _, err := BackupSQLite(t.Context(), path, otherPath, true, key); err == nil || !strings.Contains(err.Error(), "another data directory") {
		t.Errorf("a backup over another data directory's database = %v; want it refused", err)
	}
	if got, _ := os.ReadFile(otherPath); !bytes.Equal(got, kept) {
		t.Error("another data directory's database was replaced")
	}
	// A database in use elsewhere, under another name, has its log beside it.
	live := filepath.Join(t.TempDir(), "copy.db")
	if _, err := BackupSQLite(t.Context(), path, live, false); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(live+"-wal", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := BackupSQLite(t.Context(), path, live, true, key); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("a backup over a database with a write-ahead log = %v; want it refused", err)
	}
	// A previous backup is still replaced.
	os.Remove(live + "-wal")
	if _, err := BackupSQLite(t.Context(), path, live, true, key); err != nil {
		t.Errorf("a backup over a previous backup: %v", err)
	}
}

// TestConcurrentBackupsToOneNewFile: two backups to the same new file at
// once (two cron runs) — one writes it, the other is told it exists; neither
// replaces the other's copy without --force.
func TestConcurrentBackupsToOneNewFile(t *testing.T) {
	_, path, _ := databaseWithAlice(t)
	to := filepath.Join(t.TempDir(), "nightly.db")
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			_, err := BackupSQLite(t.Context(), path, to, false)
			errs <- err
		}()
	}
	written := 0
	for range 4 {
		switch err := <-errs; {
		case err == nil:
			written++
		case !errors.Is(err, fs.ErrExist):
			t.Errorf("a concurrent backup: %v", err)
		}
	}
	if written != 1 {
		t.Fatalf("%d backups reported writing the one new file, want 1", written)
	}
}

// TestBackupFailureLeavesNoPartialFiles: a backup that runs out of space
// midway (here past RLIMIT_FSIZE, which fails a write as a full disk does)
// leaves neither its partial copy nor SQLite's journal of it, and its error
// names the target and says the database is unchanged.
func TestBackupFailureLeavesNoPartialFiles(t *testing.T) {
	// Larger than SQLite's 2 MB page cache, so that the copy spills pages,
	// and with them a journal, to disk before it fails.
	path := blobDatabase(t, 3000)

	dir := t.TempDir()
	to := filepath.Join(dir, "backup.db")
	// The limit holds for every file this process writes: nothing else
	// writes while it is lowered (no test here runs in parallel), and it is
	// well above the size of go test's -test.testlogfile (about 140 KB).
	var limit syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &limit); err != nil {
		t.Fatal(err)
	}
	lowered := limit
	lowered.Cur = 1 << 20
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lowered); err != nil {
		t.Fatal(err)
	}
	_, err := BackupSQLite(t.Context(), path, to, false)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limit); err != nil {
		t.Fatal(err)
	}

	if err == nil || !strings.Contains(err.Error(), to) || !strings.Contains(err.Error(), "database itself is unchanged") {
		t.Errorf("a backup past the size limit = %v; want an error naming %s and saying the database is unchanged", err, to)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("a failed backup left %v", left)
	}
}

// TestInterruptedBackupLeavesNoPartialFiles: a backup whose context ends
// midway (Ctrl-C on `gatehouse backup`) stops, and leaves neither its copy
// nor SQLite's journal of it beside the target.
func TestInterruptedBackupLeavesNoPartialFiles(t *testing.T) {
	path := blobDatabase(t, 60000)
	dir := t.TempDir()
	to := filepath.Join(dir, "backup.db")
	ctx, cancel := context.WithCancel(t.Context())
	// Cancelled once the copy has begun to write.
	go func() {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if left, _ := filepath.Glob(filepath.Join(dir, ".backup.db.*.partial")); len(left) > 0 {
				if fi, err := os.Stat(left[0]); err == nil && fi.Size() > 0 {
					break
				}
			}
		}
		cancel()
	}()
	if _, err := BackupSQLite(ctx, path, to, false); err == nil {
		t.Fatal("the interrupted backup succeeded: make the database larger")
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("an interrupted backup left %v", left)
	}
}

// A backup into a directory it cannot write says so, naming the target and
// the directory (it named the temporary file it could not make, which the
// operator never asked for).
func TestBackupIntoAMissingDirectoryNamesTheTarget(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	to := filepath.Join(t.TempDir(), "no-such-directory", "backup.db")
	_, err = BackupSQLite(t.Context(), path, to, false)
	if err == nil || !strings.Contains(err.Error(), to) || !strings.Contains(err.Error(), "cannot write in "+filepath.Dir(to)) || !strings.Contains(err.Error(), "database itself is unchanged") || strings.Contains(err.Error(), ".partial") {
		t.Fatalf("a backup into a missing directory = %v; want the target and its directory named, no temporary file", err)
	}
}

// A backup is never written where one of the database's own files or the
// key goes, even while nothing is there: a copy at gatehouse.db-journal was
// taken for a hot journal (and deleted, or the database locked), one at the
// key's path refused every later start.
func TestBackupNeverWritesWhereTheDatabaseFilesGo(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gatehouse.db")
	s, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	key := filepath.Join(dir, "secret.key")
	for _, to := range []string{path + "-journal", path + "-wal", key, filepath.Join(dir, ".", "secret.key")} {
		os.Remove(to)
		if _, err := BackupSQLite(t.Context(), path, to, true, key); err == nil || !strings.Contains(err.Error(), "never replaces") {
			t.Errorf("backup to %s = %v; want refused", to, err)
		}
		if _, err := os.Stat(to); err == nil {
			t.Errorf("a backup was written at %s", to)
		}
	}
}

// blobDatabase is an SQLite file of about rows KB: one table of random blobs.
func blobDatabase(t *testing.T, rows int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "big.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`CREATE TABLE t(b BLOB);
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < $1)
		INSERT INTO t SELECT randomblob(1000) FROM n`, rows)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	return path
}
