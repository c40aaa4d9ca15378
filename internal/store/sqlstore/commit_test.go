package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/store"
)

// These tests run one batch directly, so what shares a transaction is certain
// rather than left to the scheduler.

func insertUserJob(ctx context.Context, name string, then error) *writeJob {
	return &writeJob{ctx: ctx, result: make(chan error, 1), fn: func(ctx context.Context, q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO users (id, username, display_name, email, password_hash, level,
			group_names, disabled, sessions_after, created_at, updated_at) VALUES ($1, $1, '', '', '', 0, '[]', FALSE, 0, 0, 0)`, name)
		if err != nil {
			return err
		}
		return then
	}}
}

// newTestCommitter is the store's committer without its loop, for run.
func newTestCommitter(s *Store) *groupCommitter {
	return &groupCommitter{w: s.commits.w, metrics: s.metrics, undone: s.commits.undone, outage: s.outage}
}

func oneStatement(j *writeJob) *writeJob {
	j.oneStatement = true
	return j
}

func userExists(t *testing.T, s *Store, name string) bool {
	t.Helper()
	_, err := s.UserByID(t.Context(), name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

func TestBatchKeepsEachJobsOutcome(t *testing.T) {
	s := openSQLite(t)
	ctx := t.Context()
	boom := errors.New("boom")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	jobs := []*writeJob{
		insertUserJob(ctx, "kept", nil),
		insertUserJob(ctx, "failed", boom),                 // written, then rolled back alone
		insertUserJob(ctx, "reused", store.ErrTokenReused), // an error whose writes must commit
		insertUserJob(ctx, "kept", nil),                    // unique violation: rolled back alone
		insertUserJob(cancelled, "cancelled", nil),         // never started
		insertUserJob(ctx, "also-kept", nil),
	}
	g := newTestCommitter(s)
	g.run(jobs)
	want := []struct {
		err    error
		exists string
		gone   string
	}{
		{nil, "kept", ""},
		{boom, "", "failed"},
		{store.ErrTokenReused, "reused", ""},
		{nil, "", ""}, // checked below: a constraint error
		{context.Canceled, "", "cancelled"},
		{nil, "also-kept", ""},
	}
	for i, w := range want {
		err := <-jobs[i].result
		if i == 3 {
			if err == nil || !s.d.isUnique(err) {
				t.Errorf("job %d: want a unique violation, got %v", i, err)
			}
		} else if !errors.Is(err, w.err) {
			t.Errorf("job %d: got %v, want %v", i, err, w.err)
		}
		if w.exists != "" && !userExists(t, s, w.exists) {
			t.Errorf("job %d: %q must be stored", i, w.exists)
		}
		if w.gone != "" && userExists(t, s, w.gone) {
			t.Errorf("job %d: %q must not be stored", i, w.gone)
		}
	}
}

func TestBatchOfOneRollsBackOnError(t *testing.T) {
	s := openSQLite(t)
	j := insertUserJob(t.Context(), "lonely", errors.New("boom"))
	g := newTestCommitter(s)
	g.run([]*writeJob{j})
	if err := <-j.result; err == nil {
		t.Fatal("want the job's error")
	}
	if userExists(t, s, "lonely") {
		t.Fatal("a failed job's writes must be rolled back")
	}
}

func TestConcurrentWritersAllCommit(t *testing.T) {
	s := openSQLite(t)
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- s.commits.do(t.Context(), insertUserJob(t.Context(), fmt.Sprint("u", i), nil).fn)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.CountUsers(t.Context()); err != nil || got != n {
		t.Fatalf("CountUsers = %d, %v; want %d", got, err, n)
	}
}

func TestWritesAfterCloseFail(t *testing.T) {
	s, err := OpenSQLite(t.Context(), t.TempDir()+"/gatehouse.db")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.commits.do(t.Context(), insertUserJob(t.Context(), "late", nil).fn); !errors.Is(err, errClosed) {
		t.Fatalf("got %v, want errClosed", err)
	}
}

func TestBatchOfSingleStatements(t *testing.T) {
	s := openSQLite(t)
	ctx := t.Context()
	jobs := []*writeJob{
		oneStatement(insertUserJob(ctx, "a", nil)),
		oneStatement(insertUserJob(ctx, "a", nil)), // unique violation: SQLite undoes the statement alone
		oneStatement(insertUserJob(ctx, "b", nil)),
	}
	newTestCommitter(s).run(jobs)
	if err := <-jobs[0].result; err != nil {
		t.Fatal(err)
	}
	if err := <-jobs[1].result; err == nil || !s.d.isUnique(err) {
		t.Fatalf("want a unique violation, got %v", err)
	}
	if err := <-jobs[2].result; err != nil {
		t.Fatal(err)
	}
	if !userExists(t, s, "a") || !userExists(t, s, "b") {
		t.Fatal("the other statements of the batch must be kept")
	}
}

// A token for an application deleted meanwhile (a foreign key violation,
// which the store answers as ErrNotFound) fails its own caller only: the
// others of its batch are kept.
func TestBatchKeepsOthersOfATokenForAGoneApplication(t *testing.T) {
	s := openSQLite(t)
	ctx := t.Context()
	orphan := &writeJob{ctx: ctx, result: make(chan error, 1), oneStatement: true,
		fn: func(ctx context.Context, q querier) error {
			return s.insertToken(ctx, q, store.Token{Hash: []byte("orphan"), Kind: store.KindAccess, ClientID: "gone"}, nil)
		}}
	jobs := []*writeJob{oneStatement(insertUserJob(ctx, "a", nil)), orphan, oneStatement(insertUserJob(ctx, "b", nil))}
	newTestCommitter(s).run(jobs)
	for i, want := range []error{nil, store.ErrNotFound, nil} {
		if err := <-jobs[i].result; !errors.Is(err, want) || (want == nil && err != nil) {
			t.Errorf("job %d: %v, want %v", i, err, want)
		}
	}
	if !userExists(t, s, "a") || !userExists(t, s, "b") {
		t.Fatal("the other statements of the batch must be kept")
	}
}

func TestBatchFailsWholeOnUnexpectedStatementError(t *testing.T) {
	s := openSQLite(t)
	ctx := t.Context()
	broken := &writeJob{ctx: ctx, result: make(chan error, 1), oneStatement: true,
		fn: func(ctx context.Context, q querier) error {
			_, err := q.ExecContext(ctx, `INSERT INTO no_such_table VALUES (1)`)
			return err
		}}
	jobs := []*writeJob{oneStatement(insertUserJob(ctx, "a", nil)), broken, oneStatement(insertUserJob(ctx, "b", nil))}
	newTestCommitter(s).run(jobs)
	for i, j := range jobs {
		if err := <-j.result; err == nil {
			t.Errorf("job %d: an error SQLite may not have undone alone must fail the whole batch", i)
		}
	}
	if userExists(t, s, "a") || userExists(t, s, "b") {
		t.Fatal("nothing of a failed batch may be kept")
	}
}

// The checkpointer copies committed writes into the database file by itself:
// the writer's automatic threshold (10,000 pages) is far from reached here.
func TestCheckpointerCopiesTheWAL(t *testing.T) {
	path := t.TempDir() + "/gatehouse.db"
	s, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	for i := range 300 {
		if err := s.commits.do(t.Context(), insertUserJob(t.Context(), fmt.Sprint("u", i), nil).fn); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for size() <= before {
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes 5 s after the writes: no checkpoint ran", before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWritersShareCommitsWithoutFsync: with synchronous=NORMAL no fsync
// holds the committer back, and on one P it used to take each job alone as
// it came (batches of 1.05 on average at 32 clients, half the throughput of
// FULL). Concurrent writers must still share commits.
func TestWritersShareCommitsWithoutFsync(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	s, err := OpenSQLiteWith(t.Context(), filepath.Join(t.TempDir(), "gatehouse.db"), SQLiteOptions{NormalSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.Metrics()...)
	const writers, each = 32, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				errs <- s.commits.do(t.Context(), insertUserJob(t.Context(), fmt.Sprintf("u%d-%d", w, i), nil).fn)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	h := gatherHistograms(t, reg)["gatehouse_store_commit_batch_size"]
	if h.sum != writers*each || h.count == 0 {
		t.Fatalf("batch sizes: %+v; want a sum of %d", h, writers*each)
	}
	if avg := h.sum / float64(h.count); avg < 4 {
		t.Fatalf("%d commits for %d writes (%.1f per commit): concurrent writers did not share commits", h.count, writers*each, avg)
	}
}

// A batch's audit events are appended together, in queue order, each once,
// also when another job's failure makes the batch run a second time.
func TestBatchAppendsAuditEventsTogether(t *testing.T) {
	s := openSQLite(t)
	ctx := t.Context()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	auditJob := func(ctx context.Context, detail string) *writeJob {
		return &writeJob{ctx: ctx, result: make(chan error, 1), effects: neutral(),
			audit: &store.AuditEvent{At: time.UnixMilli(1), Kind: "user.update", Actor: "alice", Detail: detail}}
	}
	var jobs, audits []*writeJob
	var want []string
	for i := range 90 { // 64 + 16 + 4 + 4 + 1 + 1 rows
		if i == 50 {
			jobs = append(jobs, insertUserJob(ctx, "failed", errors.New("boom"))) // the batch runs again
			jobs = append(jobs, auditJob(cancelled, "cancelled"))
		}
		j := auditJob(ctx, fmt.Sprint("e", i))
		jobs, audits, want = append(jobs, j), append(audits, j), append(want, fmt.Sprint("e", i))
	}
	newTestCommitter(s).run(jobs)
	for _, j := range audits {
		if err := <-j.result; err != nil {
			t.Fatal(err)
		}
	}
	if err := <-jobs[51].result; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled audit job: %v", err)
	}
	events, err := s.ListAudit(ctx, store.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(events) - 1; i >= 0; i-- {
		got = append(got, events[i].Detail)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("audit events, oldest first:\n got %v\nwant %v", got, want)
	}
}

// A COMMIT that fails (here at a deferred foreign key, which SQLite checks
// at COMMIT and after which it keeps the transaction open) fails its batch
// and leaves no transaction behind: the next batch commits.
func TestFailedCommitLeavesNoTransaction(t *testing.T) {
	s := openSQLite(t)
	ctx := t.Context()
	err := s.commits.do(ctx, func(ctx context.Context, q querier) error {
		if _, err := q.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, `INSERT INTO tokens (hash, kind, client_id) VALUES (x'01', 'access', 'no such client')`)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
		t.Fatalf("batch with a deferred foreign key violation: %v, want the COMMIT's failure", err)
	}
	if err := s.commits.submit(insertUserJob(ctx, "after", nil)); err != nil {
		t.Fatalf("the batch after a failed COMMIT: %v", err)
	}
	if !userExists(t, s, "after") {
		t.Error("the batch after a failed COMMIT did not commit")
	}
}

// The committer holds the writer connection; should it go, the next batch
// takes a new one and runs, and the read cache's change count (per
// connection) is started over rather than compared with the old one's.
func TestWriterReplacesItsConnection(t *testing.T) {
	s := openSQLite(t)
	ctx := t.Context()
	if err := s.commits.submit(insertUserJob(ctx, "before", nil)); err != nil {
		t.Fatal(err)
	}
	if s.commits.w.conn == nil || !s.commits.totalOK {
		t.Fatal("no writer connection or change count after a batch")
	}
	// The driver connection breaks (its statements go with it).
	s.commits.w.conn.Raw(func(any) error { return driver.ErrBadConn }) //nolint:errcheck // the error is the point
	if err := s.commits.submit(insertUserJob(ctx, "after", nil)); err != nil {
		t.Fatalf("the batch after the connection went: %v", err)
	}
	if !userExists(t, s, "after") {
		t.Error("the batch after the connection went did not commit")
	}
	var n int
	if err := s.commits.do(ctx, func(ctx context.Context, q querier) error {
		return q.QueryRowContext(ctx, `SELECT total_changes()`).Scan(&n)
	}); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("total_changes() = %d on the writer, want 1 (the one row since a new connection)", n)
	}
	if s.commits.total != int64(n) {
		t.Errorf("the committer counts %d changes, the connection %d", s.commits.total, n)
	}
}
