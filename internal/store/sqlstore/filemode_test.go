//go:build unix

package sqlstore

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// TestSQLiteFilesArePrivate: with the common umask 022, in a data directory
// others may read, the database and its -wal and -shm files come out 0600,
// and files an older version left 0644 are narrowed at open.
func TestSQLiteFilesArePrivate(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0o022))
	for _, tc := range []struct {
		name   string
		before func(t *testing.T, files []string)
	}{
		{"new files", func(*testing.T, []string) {}},
		{"files left 0644", func(t *testing.T, files []string) {
			for _, name := range files { // empty files: a valid empty database, WAL and index
				if err := os.WriteFile(name, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "gatehouse.db")
			files := []string{path, path + "-wal", path + "-shm"}
			tc.before(t, files)
			s, err := OpenSQLite(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.RecordAudit(t.Context(), store.AuditEvent{At: time.Now(), Kind: "test.write"}); err != nil {
				t.Fatal(err)
			}
			for _, name := range files {
				info, err := os.Stat(name)
				if err != nil {
					t.Fatal(err)
				}
				if perm := info.Mode().Perm(); perm != 0o600 {
					t.Errorf("%s has mode %#o, want 0600", filepath.Base(name), perm)
				}
			}
		})
	}
}
