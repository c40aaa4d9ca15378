package sqlstore

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlitevfs"
)

// syncs counts the fsyncs made through sqlitevfs so far, by any store.
func syncs() uint64 {
	async, blocking := sqlitevfs.Stats()
	return async + blocking
}

func addTestClient(t *testing.T, s *Store, id string, now time.Time) {
	t.Helper()
	if err := s.CreateClient(t.Context(), store.Client{ID: id, Name: id, Enabled: true, CreatedAt: now, UpdatedAt: now}, 0); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
}

// requireSyncCount skips a test that counts the VFS's fsyncs where the VFS
// is unavailable, and fails it there under CI=true.
func requireSyncCount(t *testing.T) {
	t.Helper()
	if sqlitevfs.VFS() == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("the VFS is not available (Linux AIO refused?); with CI=true this test fails rather than skips")
		}
		t.Skip("the VFS is not available here, so its syncs cannot be counted")
	}
}

// TestDecisionsAreNotFlushedAlone: under synchronous=FULL a consent's
// decision is answered without a flush of its own, visible at once to the
// readers and the read cache; the writer is back on FULL after it, and the
// next durable write, the code's exchange, flushes (and so covers the
// decision, written before it in the WAL).
func TestDecisionsAreNotFlushedAlone(t *testing.T) {
	requireSyncCount(t)
	ctx := t.Context()
	s := openSQLite(t)
	now := time.Now()
	addTestClient(t, s, "c1", now)
	code := func(i int) store.Code {
		return store.Code{Hash: []byte{'c', byte(i)}, ClientID: "c1", UserID: "u1", GrantID: "g" + string(rune('a'+i)),
			CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}
	}
	event := store.AuditEvent{At: now, Kind: "consent.allow", Actor: "u1", Username: "u1", ClientID: "c1"}

	const decisions = 40
	before := syncs()
	for i := range decisions {
		c := code(i)
		if err := s.DecideConsent(ctx, []byte{'d', byte(i)}, now.Add(15*time.Minute), &c, &event); err != nil {
			t.Fatalf("DecideConsent %d: %v", i, err)
		}
		if _, err := s.CodeByHash(ctx, c.Hash); err != nil {
			t.Fatalf("decision %d answered before its code is readable: %v", i, err)
		}
	}
	// Flushed one by one, they took at least one sync each; the checkpointer
	// (every 100 ms, a WAL and a database sync) may run once or twice meanwhile.
	if n := syncs() - before; n > 4 {
		t.Errorf("%d decisions made %d fsyncs; want them answered unflushed", decisions, n)
	}
	if mode, err := writerPragma(t, s, "synchronous"); err != nil || mode != "2" {
		t.Fatalf("after the decisions the writer's synchronous = %s (%v), want 2 (FULL)", mode, err)
	}
	if evs, err := s.ListAudit(ctx, store.AuditFilter{Kind: "consent.allow"}); err != nil || len(evs) != decisions {
		t.Fatalf("audit events of the decisions: %d (%v), want %d", len(evs), err, decisions)
	}

	// The exchange is durable: it waits for a flush of its own.
	before = syncs()
	access := store.Token{Hash: []byte("access"), Kind: store.KindAccess, GrantID: "ga", ClientID: "c1", UserID: "u1",
		GrantedAt: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.RedeemCode(ctx, code(0).Hash, now, store.Issue{Access: access}); err != nil {
		t.Fatalf("RedeemCode: %v", err)
	}
	if syncs() == before {
		t.Error("the code's exchange was answered without an fsync")
	}
}

// TestUnflushedWithoutTheSplit: a store on the opt-in synchronous=NORMAL
// flushes nothing at commit anyway, and leaves its writer on NORMAL.
func TestUnflushedWithoutTheSplit(t *testing.T) {
	s, err := OpenSQLiteWith(t.Context(), t.TempDir()+"/normal.db", SQLiteOptions{NormalSync: true})
	if err != nil {
		t.Fatalf("OpenSQLiteWith: %v", err)
	}
	defer s.Close()
	if s.commits.flushes {
		t.Fatal("a synchronous=NORMAL store splits its batches")
	}
	err = s.inTxUnflushed(t.Context(), neutral(), func(ctx context.Context, q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO decided_consents (id_hash, expires_at) VALUES ($1, $2)`, []byte("n"), 1)
		return err
	})
	if err != nil {
		t.Fatalf("inTxUnflushed: %v", err)
	}
	if mode, err := writerPragma(t, s, "synchronous"); err != nil || mode != "1" {
		t.Fatalf("synchronous = %s (%v), want 1 (NORMAL)", mode, err)
	}
}

// TestUnflushedBesideDurableWrites: decisions and token writes queued
// together are split into two commits, every caller gets its answer, and
// the writer ends on FULL.
func TestUnflushedBesideDurableWrites(t *testing.T) {
	ctx := t.Context()
	s := openSQLite(t)
	now := time.Now()
	addTestClient(t, s, "c", now)
	const writers = 16
	errs := make(chan error, writers)
	for i := range writers {
		go func() {
			if i%2 == 0 {
				errs <- s.DecideConsent(ctx, []byte{'d', byte(i)}, now.Add(time.Minute), nil, nil)
				return
			}
			errs <- s.IssueTokens(ctx, store.Issue{Access: store.Token{Hash: []byte{'t', byte(i)}, Kind: store.KindAccess,
				GrantID: "g", ClientID: "c", GrantedAt: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}})
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Errorf("write: %v", err)
		}
	}
	for i := range writers {
		if i%2 == 0 {
			if err := s.DecideConsent(ctx, []byte{'d', byte(i)}, now.Add(time.Minute), nil, nil); err == nil {
				t.Errorf("decision %d was not stored", i)
			}
		} else if _, err := s.TokenByHash(ctx, []byte{'t', byte(i)}); err != nil {
			t.Errorf("token %d: %v", i, err)
		}
	}
	if mode, err := writerPragma(t, s, "synchronous"); err != nil || mode != "2" {
		t.Fatalf("synchronous = %s (%v), want 2 (FULL)", mode, err)
	}
}

// TestDiscardedWriterReopensOnFull: a writer whose connection could not be
// put back on synchronous=FULL drops it for good, so the next transaction
// runs on a new connection with the pool's FULL, not on this one again.
func TestDiscardedWriterReopensOnFull(t *testing.T) {
	ctx := t.Context()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "w.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // as the store's writer pool: one connection
	for _, discard := range []bool{false, true} {
		w := newWriter(db)
		if _, err := w.begin(ctx); err != nil {
			t.Fatalf("begin: %v", err)
		}
		if err := w.commit(ctx); err != nil {
			t.Fatalf("commit: %v", err)
		}
		if err := w.synchronous(ctx, false); err != nil {
			t.Fatalf("synchronous: %v", err)
		}
		w.drop(discard)
		if _, err := w.begin(ctx); err != nil {
			t.Fatalf("begin after drop: %v", err)
		}
		var mode string
		if err := w.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		w.rollback(ctx)
		// Without discard the pool hands the same connection back, still on
		// NORMAL: what the committer must not run its durable batches on.
		if want := map[bool]string{false: "1", true: "2"}[discard]; mode != want {
			t.Errorf("drop(%v): the next connection's synchronous = %s, want %s", discard, mode, want)
		}
		w.close()
	}
}
