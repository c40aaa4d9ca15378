package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

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

// requireOwnFlush fails unless s's committer flushes the WAL itself: its
// writer commits with synchronous=NORMAL and flushes after the commit.
func requireOwnFlush(t *testing.T, s *Store) {
	t.Helper()
	if mode, err := writerPragma(t, s, "synchronous"); err != nil || mode != "1" {
		t.Fatalf("the writer's synchronous = %s (%v), want 1 (NORMAL: the committer flushes)", mode, err)
	}
	if !s.commits.w.ownFlush {
		t.Fatal("the committer does not flush the WAL itself")
	}
}

// TestDecisionsAreNotFlushedAlone: a consent's decision is answered without
// a flush, visible at once to the readers and the read cache, and the next
// durable write, the code's exchange, flushes (and so covers the decision,
// written before it in the WAL).
func TestDecisionsAreNotFlushedAlone(t *testing.T) {
	requireSyncCount(t)
	ctx := t.Context()
	s := openSQLite(t)
	requireOwnFlush(t, s)
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
	if evs, err := s.ListAudit(ctx, store.AuditFilter{Kind: "consent.allow"}); err != nil || len(evs) != decisions {
		t.Fatalf("audit events of the decisions: %d (%v), want %d", len(evs), err, decisions)
	}

	// The exchange is durable: it waits for a flush.
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

// TestNormalSyncFlushesNothing: a store on the opt-in synchronous=NORMAL
// has no flush of its own to make, and leaves its writer on NORMAL.
func TestNormalSyncFlushesNothing(t *testing.T) {
	s, err := OpenSQLiteWith(t.Context(), t.TempDir()+"/normal.db", SQLiteOptions{NormalSync: true})
	if err != nil {
		t.Fatalf("OpenSQLiteWith: %v", err)
	}
	defer s.Close()
	if s.commits.w.syncWAL != nil {
		t.Fatal("a synchronous=NORMAL store flushes the WAL after its commits")
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

// TestOneCommitThenTheFlush: decisions and durable writes queued together
// share one transaction; the decision is answered at its commit, the
// durable write only once the WAL's flush after it has succeeded. A flush
// that fails answers the durable write with ErrUnavailable, and the store
// then takes no write until it is opened again.
func TestOneCommitThenTheFlush(t *testing.T) {
	requireSyncCount(t)
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			s.Close()
		}
	})
	requireOwnFlush(t, s)
	now := time.Now()
	addTestClient(t, s, "c", now)

	// Each flush waits for the test's word: nil flushes, an error fails.
	// Once the test has ended (this cleanup runs before the store's Close),
	// flushes go through.
	flushing, verdict, ended := make(chan struct{}), make(chan error), make(chan struct{})
	t.Cleanup(func() { close(ended) })
	flush := s.commits.w.syncWAL
	s.commits.w.syncWAL = func() error {
		select {
		case flushing <- struct{}{}:
		case <-ended:
			return flush()
		}
		select {
		case err := <-verdict:
			if err != nil {
				return err
			}
		case <-ended:
		}
		return flush()
	}
	awaitFlush := func(what string) {
		t.Helper()
		select {
		case <-flushing:
		case <-time.After(10 * time.Second):
			t.Fatalf("no flush after %s", what)
		}
	}
	batches := func() (count uint64, sum float64) {
		m := &dto.Metric{}
		if err := s.metrics.batchSize.Write(m); err != nil {
			t.Fatal(err)
		}
		return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
	}

	for round, flushErr := range []error{nil, errors.New("the disk went away")} {
		// A job holds the committer while a decision and a token write queue
		// behind it, so that both are the next batch.
		held, release, blocker := make(chan struct{}), make(chan struct{}), make(chan error, 1)
		go func() {
			blocker <- s.commits.do(ctx, func(context.Context, querier) error { close(held); <-release; return nil })
		}()
		<-held
		decided, issued := make(chan error, 1), make(chan error, 1)
		go func() { decided <- s.DecideConsent(ctx, []byte{'d', byte(round)}, now.Add(time.Minute), nil, nil) }()
		go func() {
			issued <- s.IssueTokens(ctx, store.Issue{Access: store.Token{Hash: []byte{'t', byte(round)}, Kind: store.KindAccess,
				GrantID: "g", ClientID: "c", GrantedAt: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}})
		}()
		for deadline := time.Now().Add(10 * time.Second); len(s.commits.queue) < 2; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the two writes never queued")
			}
		}
		close(release)
		awaitFlush("the blocking job")
		verdict <- nil
		if err := <-blocker; err != nil {
			t.Fatalf("blocking job: %v", err)
		}
		count, sum := batches()

		awaitFlush("the decision and the token")
		// The flush is held: only an answer before it reaches the decision.
		select {
		case err := <-decided:
			if err != nil {
				t.Fatalf("round %d: DecideConsent: %v", round, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: the decision waits for the flush", round)
		}
		select {
		case err := <-issued:
			t.Fatalf("round %d: the token write was answered (%v) before its flush", round, err)
		default:
		}
		verdict <- flushErr
		err := <-issued
		if c, s := batches(); c != count+1 || s != sum+2 {
			t.Errorf("round %d: %v batches of %v writes; want the two writes in one", round, c-count, s-sum)
		}
		if flushErr == nil {
			if err != nil {
				t.Fatalf("round %d: IssueTokens: %v", round, err)
			}
			if err := s.health.err(); err != nil {
				t.Errorf("round %d: the disk reported in trouble after a flush: %v", round, err)
			}
			continue
		}
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("IssueTokens with a failed flush: %v, want ErrUnavailable", err)
		}
		if s.health.err() == nil {
			t.Error("a failed flush left the disk reported healthy")
		}
	}

	// Nothing more is taken, nor flushed, until the store is opened again.
	if err := s.CreateUser(ctx, store.User{ID: "u", Username: "u"}); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("CreateUser after a failed flush: %v, want ErrUnavailable", err)
	}
	if err := s.Ready(ctx); err == nil {
		t.Error("the store is ready after a failed flush")
	}
	closed = true
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = openPath(t, path)
	if _, err := s.TokenByHash(ctx, []byte{'t', 0}); err != nil {
		t.Errorf("the token of the flushed round, after reopening: %v", err)
	}
	if err := s.CreateUser(ctx, store.User{ID: "u", Username: "u"}); err != nil {
		t.Fatalf("CreateUser after reopening: %v", err)
	}
}

// TestWriterLowersOnlyWhereItFlushes: a writer that flushes the WAL itself
// puts each connection it takes on synchronous=NORMAL, also after dropping
// one; one that cannot flush leaves every connection on the pool's FULL.
func TestWriterLowersOnlyWhereItFlushes(t *testing.T) {
	ctx := t.Context()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "w.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // as the store's writer pool: one connection
	for _, flushes := range []bool{true, false} {
		var syncWAL func() error
		if flushes {
			syncWAL = func() error { return nil }
		}
		w := newWriter(db, syncWAL)
		for _, discard := range []bool{false, true} {
			if _, err := w.begin(ctx); err != nil {
				t.Fatalf("begin: %v", err)
			}
			var mode string
			if err := w.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&mode); err != nil {
				t.Fatal(err)
			}
			w.rollback(ctx)
			if want := map[bool]string{true: "1", false: "2"}[flushes]; mode != want || w.ownFlush != flushes {
				t.Errorf("flushes %v, after drop(%v): synchronous = %s and ownFlush %v, want %s and %v", flushes, discard, mode, w.ownFlush, want, flushes)
			}
			w.drop(discard)
			if w.ownFlush {
				t.Error("a dropped connection's ownFlush outlived it")
			}
		}
		w.close()
	}
}
