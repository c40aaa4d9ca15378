//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || s390x || loong64)

package sqlitevfs

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"
)

// TestReleasingTheWriteLockWritesLeftovers checks the last guard against a
// frame written late: whatever a WAL file still buffers when its connection
// releases the write lock reaches the file before the lock is released.
// (SQLite's rollback reads its pages back first, which writes them too; the
// guard is for any path that does not.)
func TestReleasingTheWriteLockWritesLeftovers(t *testing.T) {
	if VFS() == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("the VFS is not available (Linux AIO refused?); with CI=true this test fails rather than skips")
		}
		t.Skip("the VFS is not available here")
	}
	path := filepath.Join(t.TempDir(), "t.db")
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&vfs="+VFS())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE t (v INTEGER)`); err != nil {
		t.Fatal(err)
	}
	walPath := path + "-wal"
	before, err := os.ReadFile(walPath)
	if err != nil {
		t.Fatal(err)
	}
	// The connection's WAL file: leave bytes in its buffer past its end, as
	// frames of a transaction that did not commit would be.
	mu.Lock()
	var wal *file
	for _, f := range files {
		if f.frames != nil {
			wal = f
		}
	}
	mu.Unlock()
	if wal == nil {
		t.Fatal("no WAL file is buffered")
	}
	leftover := bytes.Repeat([]byte{0xA5}, 100)
	wal.frames.start, wal.frames.buf = int64(len(before)), append(wal.frames.buf[:0], leftover...)
	// A write transaction that writes nothing: the lock taken and released.
	if _, err := db.Exec(`BEGIN IMMEDIATE; COMMIT`); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(walPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after, append(before, leftover...)) || len(wal.frames.buf) != 0 {
		t.Fatalf("WAL %d → %d bytes, %d still buffered: the leftovers were not written at the unlock", len(before), len(after), len(wal.frames.buf))
	}
}
