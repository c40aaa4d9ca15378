package sqlitevfs_test

import (
	"database/sql"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlitevfs"
)

// TestDurableWrites runs committed writes through the VFS (synchronous=FULL,
// WAL) from several goroutines, reopens the database and reads them back;
// where the VFS is available, the syncs after each file's first must have
// gone through AIO.
func TestDurableWrites(t *testing.T) {
	vfs := sqlitevfs.VFS()
	if vfs == "" {
		if runtime.GOOS == "linux" {
			t.Log("AIO unavailable here: the default VFS is used")
		}
	}
	path := filepath.Join(t.TempDir(), "t.db")
	dsn := path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"
	if vfs != "" {
		dsn += "&vfs=" + vfs
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	async0, _ := sqlitevfs.Stats()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				if _, err := db.Exec(`INSERT INTO t (id, v) VALUES (?, 'x')`, g*100+i); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	async1, _ := sqlitevfs.Stats()
	if vfs != "" && async1-async0 < 50 {
		t.Errorf("%d syncs through AIO for 100 commits, want most of them", async1-async0)
	}
	db, err = sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM t`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 100 {
		t.Fatalf("%d rows after reopening, want 100", n)
	}
}

// TestWatchSeesEveryCommit checks that the WAL-index change counter moves
// with each commit, whichever connection (here: a second pool, as another
// process would be) makes it, and does not move without one.
func TestWatchSeesEveryCommit(t *testing.T) {
	vfs := requireVFS(t)
	path := filepath.Join(t.TempDir(), "t.db")
	dsn := path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&vfs=" + vfs
	open := func() *sql.DB {
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b := open(), open()
	if _, err := a.Exec(`CREATE TABLE t (v INTEGER)`); err != nil {
		t.Fatal(err)
	}
	w := sqlitevfs.WatchFile(path)
	c0, ok := w.Change()
	if !ok {
		t.Fatal("no change counter while a connection is open")
	}
	for i, db := range []*sql.DB{a, b, a} {
		if _, err := db.Exec(`INSERT INTO t VALUES (1)`); err != nil {
			t.Fatal(err)
		}
		if c, _ := w.Change(); c != c0+uint32(i)+1 {
			t.Fatalf("after commit %d: counter %d, want %d", i+1, c, c0+uint32(i)+1)
		}
	}
	var n int
	if err := b.QueryRow(`SELECT COUNT(*) FROM t`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if c, _ := w.Change(); c != c0+3 {
		t.Fatalf("a read moved the counter to %d", c)
	}
}

// TestSyncWAL: a connection opened with WriterParam and synchronous=NORMAL
// commits without a sync, and SyncWAL makes the one sync of its WAL; a name
// that no open connection has, or has any longer, is an error.
func TestSyncWAL(t *testing.T) {
	vfs := requireVFS(t)
	path := filepath.Join(t.TempDir(), "t.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&vfs="+vfs+"&"+sqlitevfs.WriterParam+"=sync-test")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE t (v INTEGER)`); err != nil {
		t.Fatal(err)
	}
	syncs := func() uint64 { a, b := sqlitevfs.Stats(); return a + b }
	before := syncs()
	for range 10 {
		if _, err := db.Exec(`INSERT INTO t VALUES (1)`); err != nil {
			t.Fatal(err)
		}
	}
	if n := syncs() - before; n != 0 {
		t.Fatalf("10 commits under NORMAL made %d syncs, want none", n)
	}
	if err := sqlitevfs.SyncWAL("sync-test"); err != nil {
		t.Fatalf("SyncWAL: %v", err)
	}
	if n := syncs() - before; n != 1 {
		t.Fatalf("SyncWAL made %d syncs, want 1", n)
	}
	if err := sqlitevfs.SyncWAL("no-such-connection"); err == nil {
		t.Error("SyncWAL of an unknown name succeeded")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sqlitevfs.SyncWAL("sync-test"); err == nil {
		t.Error("SyncWAL of a closed connection succeeded")
	}
}
