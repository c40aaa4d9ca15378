package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// A database file deleted, or renamed over, while the store runs: an
// operator's mistake after which every further write would go to a file no
// later start opens. The store must notice at its next write and at Ready,
// refuse with store.ErrUnavailable (503, retried, shown on /readyz), and
// never make a new, empty database at the path.
func TestDatabaseFileGoneOrReplaced(t *testing.T) {
	user := func(name string) store.User {
		return store.User{ID: name, Username: name, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	}
	cases := map[string]func(t *testing.T, path string){
		"deleted": func(t *testing.T, path string) {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				os.Remove(path + suffix)
			}
		},
		"only the database deleted": func(t *testing.T, path string) { os.Remove(path) },
		"another file renamed over it": func(t *testing.T, path string) {
			other := filepath.Join(filepath.Dir(path), "restored.db")
			if err := os.WriteFile(other, []byte("not this store's file"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(other, path); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			_, path, s := databaseWithAlice(t)
			if err := s.Ready(t.Context()); err != nil {
				t.Fatalf("Ready before = %v", err)
			}
			change(t, path)
			changed, statErr := os.ReadFile(path)
			err := s.CreateUser(t.Context(), user("bob"))
			if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "deleted or replaced") {
				t.Fatalf("a write after the file was %s: %v, want unavailable naming the file", name, err)
			}
			if err := s.Ready(t.Context()); !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("Ready = %v, want unavailable", err)
			}
			// Reads on new connections neither create nor change the file.
			s.r.SetMaxIdleConns(0)
			for range 8 {
				s.UserByUsername(t.Context(), "alice")
			}
			after, err := os.ReadFile(path)
			switch {
			case statErr != nil && !errors.Is(err, os.ErrNotExist):
				t.Fatalf("the deleted database was made again (%d bytes, %v)", len(after), err)
			case statErr == nil && string(after) != string(changed):
				t.Fatalf("the file put in its place changed: %d bytes, was %d", len(after), len(changed))
			}
		})
	}
}

// A database file its owner may not write (left 0400 by hand, or by a run
// as another user) is the owner's own: open gives it back 0600, as it takes
// group and other bits away, instead of serving read-only with a 500 for
// every write.
func TestReadOnlyFileModeRestoredAtOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	s2, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.CreateUser(t.Context(), store.User{ID: "bob", Username: "bob", CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatalf("write after opening a 0400 file: %v", err)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", info.Mode().Perm())
	}
}

// A disk the node cannot write is the node's condition, not the request's:
// writes fail with store.ErrUnavailable (503 and Retry-After, not 500).
// Here a full disk is SQLite's page limit, which fails a write with the
// same SQLITE_FULL, and a read-only one the writer's query_only, which fails
// it with SQLITE_READONLY as a file SQLite opened read-only does. Ready says
// so while its own probe write fails, and once the disk takes writes again
// that probe finds it, without any other write having to come first. The
// log says when writes stopped and when they went through again, once each.
func TestUnwritableDiskIsUnavailable(t *testing.T) {
	_, _, s := databaseWithAlice(t)
	var logs bytes.Buffer
	s.LogOutages(slog.New(slog.NewTextHandler(&logs, nil)))
	pragma := fillDisk(t, s)
	pragma("max_page_count = 1073741823")

	pragma("query_only = 1")
	if err := s.CreateUser(t.Context(), store.User{ID: "bob", Username: "bob", CreatedAt: time.Now(), UpdatedAt: time.Now()}); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("write on a read-only disk: %v, want unavailable", err)
	}
	if err := s.Ready(t.Context()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ready on a read-only disk = %v, want unavailable", err)
	}
	// The committer cannot begin a transaction to lift it: the test does so
	// on the writer's connection while no batch runs.
	if _, err := s.commits.w.conn.ExecContext(t.Context(), "PRAGMA query_only = 0"); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(t.Context()); err != nil {
		t.Fatalf("Ready once the disk takes writes = %v", err)
	}
	if err := s.health.err(); err != nil {
		t.Fatalf("the probe's commit left the trouble recorded: %v", err)
	}
	// Two outages: the full disk (ended by the pragma's write) and the
	// read-only one (ended by the probe's commit), each begun and ended once.
	msgs := regexp.MustCompile(`level=(\w+) msg="([^"]*)"`).FindAllStringSubmatch(logs.String(), -1)
	var said []string
	for _, m := range msgs {
		said = append(said, m[1]+" "+m[2])
	}
	want := []string{"ERROR database unavailable", "INFO database available again", "ERROR database unavailable", "INFO database available again"}
	if !slices.Equal(said, want) {
		t.Errorf("the log says %q, want %q:\n%s", said, want, logs.String())
	}
}

// Once writes stop, the WAL file is emptied: an idle node keeps no ~40 MB
// WAL on disk, and a full disk freed of other files has room again.
func TestIdleWALIsTruncated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := OpenSQLiteWith(t.Context(), path, SQLiteOptions{truncateWhenIdle: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 300 {
		name := fmt.Sprintf("user%03d", i)
		if err := s.CreateUser(t.Context(), store.User{ID: name, Username: name, CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	wal := func() int64 {
		info, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return info.Size()
	}
	if wal() == 0 {
		t.Fatal("the WAL is empty right after 300 writes")
	}
	deadline := time.Now().Add(10 * time.Second)
	for wal() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the WAL still holds %d bytes 10 s after the last write", wal())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The store goes on writing into the emptied WAL.
	if err := s.CreateUser(t.Context(), store.User{ID: "late", Username: "late", CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByUsername(t.Context(), "late"); err != nil {
		t.Fatal(err)
	}
}

// Emptying the WAL needs every reader gone; while another process keeps a
// read transaction open, the truncation gives up at once instead of holding
// the write lock while it waits (it waited out the 10 s busy timeout, and
// every write waited with it).
func TestWALTruncationDoesNotStallWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := OpenSQLiteWith(t.Context(), path, SQLiteOptions{truncateWhenIdle: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	create := func(name string) {
		t.Helper()
		if err := s.CreateUser(t.Context(), store.User{ID: name, Username: name, CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	create("first")
	outside, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer outside.Close()
	reader, err := outside.BeginTx(t.Context(), &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Rollback()
	var n int
	if err := reader.QueryRow(`SELECT count(*) FROM users`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	// Past the idle time the checkpointer tries to truncate, again and again.
	time.Sleep(time.Second)
	for i := range 3 {
		start := time.Now()
		create(fmt.Sprintf("during%d", i))
		// The stall was seconds (up to the busy timeout); a commit is milliseconds.
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("a write waited %v while an outside reader held a transaction", took)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// fillDisk writes users until the database is full (max_page_count makes
// SQLite fail as a full disk does) and returns the way to run a pragma on
// the writer, to lift the limit.
func fillDisk(t *testing.T, s *Store) (pragma func(set string)) {
	t.Helper()
	pragma = func(set string) {
		t.Helper()
		if err := s.commits.do(t.Context(), func(ctx context.Context, q querier) error {
			_, err := q.ExecContext(ctx, "PRAGMA "+set)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	var pages int
	if err := s.rq.QueryRowContext(t.Context(), "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	pragma("max_page_count = " + strconv.Itoa(pages))
	var err error
	for i := 0; i < 10_000 && err == nil; i++ {
		name := fmt.Sprintf("user%05d-%s", i, strings.Repeat("x", 200))
		err = s.CreateUser(t.Context(), store.User{ID: name, Username: name[:30], DisplayName: name, CreatedAt: time.Now(), UpdatedAt: time.Now()})
	}
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("write on a full disk: %v, want unavailable", err)
	}
	return pragma
}

// A disk found full is ready again only with room for writes of every
// size: a small write (Ready's own probe, a token) can fit in the WAL's
// reused pages while larger ones still fail, and /readyz said 200 then.
func TestDiskFoundFullIsReadyOnlyWithRoom(t *testing.T) {
	_, _, s := databaseWithAlice(t)
	fillDisk(t, s)("max_page_count = 1073741823")
	free := uint64(1 << 20)
	saved := freeBytes
	t.Cleanup(func() { freeBytes = saved })
	freeBytes = func(string) (uint64, bool) { return free, true }

	if err := s.CreateUser(t.Context(), store.User{ID: "small", Username: "small", CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(t.Context()); !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "1 MiB free") {
		t.Fatalf("Ready with 1 MiB free after a full disk = %v; want unavailable, naming the room left", err)
	}
	free = 1 << 30
	if err := s.Ready(t.Context()); err != nil {
		t.Fatalf("Ready with room again = %v", err)
	}
	// Only a disk found full is measured: a node that never was is ready
	// whatever the room.
	free = 1 << 20
	if err := s.Ready(t.Context()); err != nil {
		t.Fatalf("Ready after recovering = %v", err)
	}
}

// A file that cannot be opened as the database is refused naming the file
// and what to do, not with SQLite's bare "file is not a database (26)".
func TestUnopenableDatabaseIsNamed(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 600)), 0o600); err != nil {
		t.Fatal(err)
	}
	directory := filepath.Join(dir, "directory.db")
	if err := os.Mkdir(directory, 0o700); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{garbage: "is not a SQLite database, or it is damaged", directory: "cannot open"} {
		_, err := OpenSQLite(t.Context(), path)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), want) {
			t.Fatalf("open %s = %v; want it named, saying %q", filepath.Base(path), err, want)
		}
	}
}
