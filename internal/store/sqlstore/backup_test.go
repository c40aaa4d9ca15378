package sqlstore

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// TestBackupSQLite: the copy holds what was committed before it began and
// opens as a database; it is 0600; an existing file is kept unless overwrite
// is set; a missing database is not created.
func TestBackupSQLite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gatehouse.db")
	s, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	user := store.User{ID: "u1", Username: "alice", CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := s.CreateUser(t.Context(), user); err != nil {
		t.Fatal(err)
	}

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
