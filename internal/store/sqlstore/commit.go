package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// maxBatch bounds how many callers share one transaction, so a batch stays
// short and one caller never waits behind an unbounded queue.
const maxBatch = 256

var errClosed = errors.New("sqlstore: store is closed")

// groupCommitter runs the write transactions of concurrent callers together
// on SQLite's single writer connection: one BEGIN…COMMIT, and so one fsync,
// for every caller that queued while the previous batch was committing. Each
// caller's work runs in its own savepoint, so a failure rolls back only that
// caller's writes, and every caller returns only once its writes are durable.
// Batching adds no waiting: a caller alone is served at once.
type groupCommitter struct {
	w       *writer
	metrics *storeMetrics
	// undone reports the errors of one statement after which the
	// transaction stands as before it: SQLite has undone the failed
	// statement and kept the transaction (constraint violations), or the
	// statement changed nothing.
	undone func(error) bool
	// cache, when set, is the store's read cache, which each batch keeps
	// exact (see readCache); total is the writer connection's
	// total_changes() after the last commit, when totalOK.
	cache   *readCache
	total   int64
	totalOK bool
	// guard, when set, vets every batch before it runs: an error fails the
	// batch with it (the SQLite file is no longer the one opened).
	guard func() error
	// lost is why the committer takes no more writes: a flush of the WAL
	// failed (see answer). Only the committer's goroutine uses it.
	lost error
	// health records whether the disk took the last batch.
	health writeHealth
	// outage hears of each batch the disk refused and each it took.
	outage *outage

	mu     sync.RWMutex // held for reading while queueing, for writing to close
	closed bool
	queue  chan *writeJob
	stop   chan struct{}
	done   chan struct{}
}

// writeJob is one caller's transaction body and where its outcome goes.
type writeJob struct {
	ctx    context.Context
	fn     func(ctx context.Context, q querier) error
	result chan error
	// oneStatement says fn runs a single statement, which SQLite makes
	// atomic by itself, so it needs no savepoint of its own.
	oneStatement bool
	// effects is what fn changed that the read cache may hold, filled in by
	// fn; nil: anything (the cache drops everything after the commit).
	effects *effects
	// audit, instead of fn, is an audit event to append: the batch's events
	// are inserted together (appendAudits).
	audit *store.AuditEvent
	// unflushed says the job may be answered once its writes are committed
	// and visible, before they are flushed (Store.inTxUnflushed).
	unflushed bool
	// alone says the job commits in a transaction of its own, after the
	// batch's other jobs, and unflushed (Store.inTxAlone).
	alone bool
}

// syncWAL, when set, flushes the writer connection's WAL to disk: the
// committer then commits without a flush and flushes itself (see answer).
func newGroupCommitter(db *sql.DB, m *storeMetrics, undone func(error) bool, cache *readCache, syncWAL func() error) *groupCommitter {
	g := &groupCommitter{
		w: newWriter(db, syncWAL), metrics: m, undone: undone, cache: cache,
		queue: make(chan *writeJob, maxBatch),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go g.loop()
	return g
}

// do runs fn inside a shared write transaction and returns once it has
// committed (fn's error then, or nil) or failed. fn gets a context that is
// not cancelled with ctx: an interrupted statement would roll back every
// caller's writes in the batch, so cancellation is honoured only before fn
// starts. Like a transaction of its own, fn's writes are kept when it
// succeeds or fails with an error errCommit accepts.
func (g *groupCommitter) do(ctx context.Context, fn func(ctx context.Context, q querier) error) error {
	return g.doEffects(ctx, nil, fn)
}

// doEffects is do for an fn that records in eff what it changed that the
// read cache may hold.
func (g *groupCommitter) doEffects(ctx context.Context, eff *effects, fn func(ctx context.Context, q querier) error) error {
	return g.submit(&writeJob{ctx: ctx, fn: fn, result: make(chan error, 1), effects: eff})
}

// doStatement is doEffects for an fn that runs exactly one statement.
func (g *groupCommitter) doStatement(ctx context.Context, eff *effects, fn func(ctx context.Context, q querier) error) error {
	return g.submit(&writeJob{ctx: ctx, fn: fn, result: make(chan error, 1), oneStatement: true, effects: eff})
}

func (g *groupCommitter) submit(j *writeJob) error {
	ctx := j.ctx
	var event *store.PendingEvent
	if j.fn != nil {
		if j.fn, event = withPendingEvent(ctx, j.fn); event != nil {
			j.oneStatement = false // two statements now: in a savepoint
		}
	}
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return errClosed
	}
	select {
	case g.queue <- j:
	case <-ctx.Done():
		g.mu.RUnlock()
		return ctx.Err()
	}
	g.mu.RUnlock()
	err := sqliteUnwritable(<-j.result)
	if errors.Is(err, store.ErrUnavailable) {
		g.outage.failed(err)
		g.health.trouble.Store(&err)
		if diskFull(err) {
			g.health.full.Store(true)
		}
	}
	if err == nil && event != nil {
		event.MarkStored()
	}
	return err
}

// writeHealth is the error of the last write the disk refused
// (sqliteUnwritable), until a batch commits.
type writeHealth struct {
	trouble atomic.Pointer[error]
	// full: a write found the disk full. Unlike trouble, a later commit
	// does not clear it (a small one fits in the WAL's reused pages while
	// larger ones still fail); Ready does, once the disk has room.
	full atomic.Bool
}

func (h *writeHealth) err() error {
	if err := h.trouble.Load(); err != nil {
		return *err
	}
	return nil
}

// close stops taking work, finishes what was queued and waits for the loop.
func (g *groupCommitter) close() {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	g.closed = true
	g.mu.Unlock()
	close(g.stop)
	<-g.done
	g.w.close()
}

func (g *groupCommitter) loop() {
	defer close(g.done)
	batch := make([]*writeJob, 0, maxBatch)
	for {
		select {
		case j := <-g.queue:
			batch = append(batch[:0], j)
		case <-g.stop:
			// Nobody can queue any more (closed is set); serve what is left.
			for {
				select {
				case j := <-g.queue:
					g.run([]*writeJob{j})
				default:
					return
				}
			}
		}
		// Let the goroutines that are ready to run go first: requests
		// already under way queue their writes and join this batch. Under
		// synchronous=FULL the previous commit's fsync gave them that time;
		// without it (synchronous=NORMAL, or a node with one P whose
		// requests arrive together) batches were of one job each.
		runtime.Gosched()
	drain:
		for len(batch) < maxBatch {
			select {
			case j := <-g.queue:
				batch = append(batch, j)
			default:
				break drain
			}
		}
		g.run(batch)
		clear(batch)
	}
}

// run executes one batch and answers every job.
func (g *groupCommitter) run(batch []*writeJob) {
	err := g.lost
	if err == nil && g.guard != nil {
		err = g.guard()
	}
	if err != nil {
		for _, j := range batch {
			j.result <- err
		}
		return
	}
	// A job that commits alone (the janitor's purge) goes last, so the
	// writes queued with it are answered without waiting for its deletes,
	// and do not share its fate. Most batches hold none: they are not copied.
	var alone []*writeJob
	if slices.ContainsFunc(batch, func(j *writeJob) bool { return j.alone }) {
		rest := make([]*writeJob, 0, len(batch))
		for _, j := range batch {
			if j.alone {
				alone = append(alone, j)
			} else {
				rest = append(rest, j)
			}
		}
		batch = rest
	}
	if len(batch) > 0 {
		g.runTx(batch)
	}
	for _, j := range alone {
		g.runTx([]*writeJob{j})
	}
}

// runTx executes jobs in one transaction and answers every job.
//
// Jobs run without savepoints: a savepoint and its release cost two
// statements per job, a sixth of a browser flow's CPU. When a job of several
// statements fails with writes that must not stay (rare: a conflict, a code
// or token found unusable after a write), the transaction is rolled back and
// the batch runs again, that job settled with its error and every other job
// in a savepoint of its own, as before. A job's fn may so run twice; only the
// run that commits counts, and fn is a function of the database and its
// arguments, so both runs agree.
func (g *groupCommitter) runTx(batch []*writeJob) {
	results := make([]error, len(batch))
	settled := make([]bool, len(batch)) // the result is final: not run again
	if !g.attempt(batch, results, settled, false) {
		g.attempt(batch, results, settled, true)
	}
}

// attempt runs the unsettled jobs of batch in one transaction and answers
// every job, returning true. Without savepoints, when a job of several
// statements fails after writing, it rolls back, settles that job and
// returns false, answering nobody: the caller runs the batch again.
func (g *groupCommitter) attempt(batch []*writeJob, results []error, settled []bool, savepoints bool) bool {
	ctx := context.Background()
	// With the read cache, the batch accounts for its commit (see readCache):
	// certain turns false on any path after which the cache cannot know
	// whether, or how, the database changed; it then drops everything.
	var base uint32
	baseOK, certain := false, true
	done := func() {}
	fail := func(err error) {
		done()
		for _, j := range batch {
			j.result <- err
		}
	}
	q := g.w
	fresh, err := q.begin(ctx)
	if fresh {
		g.totalOK = false // total_changes() counts per connection: a new one starts over
	}
	if err != nil {
		fail(err)
		return true
	}
	if g.cache != nil {
		base, baseOK = g.cache.beginBatch()
		done = func() { // rolled back: the batch changed nothing
			g.totalOK = false // total_changes() counted what was undone
			g.cache.endBatch(base, baseOK, false, true, nil, nil)
		}
		if !g.totalOK {
			g.total, g.totalOK = g.totalChanges(ctx, q)
		}
	}
	if err := g.appendAudits(ctx, q, batch, results, settled); err != nil {
		q.rollback(ctx)
		fail(err)
		return true
	}
	single := len(batch) == 1
	for i, j := range batch {
		if settled[i] || j.audit != nil {
			continue
		}
		if err := j.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		j.effects.reset() // what this run changes
		switch {
		case single:
			results[i] = j.fn(ctx, q)
			if results[i] != nil && !errCommit(results[i]) {
				q.rollback(ctx)
				done()
				j.result <- results[i]
				return true
			}
		case j.oneStatement:
			results[i] = j.fn(ctx, q)
			if results[i] != nil && !g.undone(results[i]) {
				// Not a failure SQLite undoes by itself: the transaction may
				// be gone, so nothing of the batch is trusted.
				q.rollback(ctx)
				fail(results[i])
				return true
			}
		case !savepoints:
			results[i] = j.fn(ctx, q)
			if results[i] != nil && !errCommit(results[i]) {
				q.rollback(ctx)
				done()
				settled[i] = true
				return false
			}
		default:
			rolledBack, err := g.inSavepoint(ctx, q, j, &results[i])
			if err != nil {
				// The transaction is no longer sound (SQLite rolls the whole
				// transaction back on some errors): nothing of the batch is kept.
				q.rollback(ctx)
				fail(err)
				return true
			}
			if rolledBack {
				certain = false // total_changes() counts the undone rows
			}
		}
	}
	wrote := true
	if g.cache != nil && g.totalOK && certain {
		if total, ok := g.totalChanges(ctx, q); ok {
			wrote = total != g.total
			g.total = total
		} else {
			certain = false
		}
	}
	start := time.Now()
	if err := q.commit(ctx); err != nil {
		fail(err)
		return true
	}
	if g.cache != nil {
		g.cache.endBatch(base, baseOK, wrote, certain && g.totalOK, batch, results)
		g.totalOK = g.totalOK && certain
	}
	g.answer(batch, results, start)
	return true
}

// answer answers the jobs of a committed batch. Where the committer flushes
// the WAL itself (writer.ownFlush) the commit flushed nothing: the jobs that
// may be answered before the flush (the consent's decision, the janitor's
// purge) are answered at once, then the WAL is flushed for the others. So a
// batch is one transaction whatever it holds, and nothing answered after the
// flush can depend on a write that is not on disk (the WAL is written and
// flushed in order). Elsewhere SQLite flushed the commit itself
// (synchronous=FULL), or nothing flushes it (the opt-in NORMAL).
func (g *groupCommitter) answer(batch []*writeJob, results []error, start time.Time) {
	// The batch is accounted for before anyone hears of it.
	g.metrics.batchSize.Observe(float64(len(batch)))
	early := func(j *writeJob) bool { return g.w.ownFlush && (j.unflushed || j.alone) }
	flush := g.w.ownFlush && slices.ContainsFunc(batch, func(j *writeJob) bool { return !early(j) })
	if !flush {
		g.committed(start)
	}
	for i, j := range batch {
		if early(j) {
			j.result <- results[i]
		}
	}
	if flush {
		if err := g.w.syncWAL(); err != nil {
			// Committed and visible but maybe not on disk, and after a
			// failed fsync the kernel may have dropped the pages: a later
			// flush that succeeds would not bring them back, and SQLite
			// replays the WAL on opening only up to a missing frame. So no
			// job waiting for this flush is told it succeeded, and no later
			// write is taken: one answered after it could be lost with it.
			g.lost = fmt.Errorf("%w: sqlite: flushing the WAL to disk failed; no write is taken until the node restarts (check the disk): %w", store.ErrUnavailable, err)
		} else {
			g.committed(start)
		}
	}
	for i, j := range batch {
		if early(j) {
			continue
		}
		if g.lost != nil {
			results[i] = g.lost
		}
		j.result <- results[i]
	}
}

// committed records that a batch's commit is done (and flushed, where it
// is flushed): the disk took it.
func (g *groupCommitter) committed(start time.Time) {
	g.health.trouble.Store(nil)
	g.outage.answered()
	g.metrics.observeCommit(start)
}

// appendAudits inserts the audit events of the batch's unsettled jobs, in
// queue order, with a few multi-row statements instead of one statement
// each (a busy token API audits every call). A statement SQLite undid
// answers its own jobs with its error; any other failure is returned, after
// which the transaction is not to be trusted.
func (g *groupCommitter) appendAudits(ctx context.Context, q *writer, batch []*writeJob, results []error, settled []bool) error {
	var jobs []int
	for i, j := range batch {
		if settled[i] || j.audit == nil {
			continue
		}
		if err := j.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		jobs = append(jobs, i)
	}
	events := make([]store.AuditEvent, 0, len(jobs))
	for len(jobs) > 0 {
		n := auditRowsAtOnce(len(jobs))
		events = events[:0]
		for _, i := range jobs[:n] {
			events = append(events, *batch[i].audit)
		}
		err := insertAudits(ctx, q, events)
		if err != nil && !g.undone(err) {
			return err
		}
		for _, i := range jobs[:n] {
			results[i] = err
		}
		jobs = jobs[n:]
	}
	return nil
}

// totalChanges returns the writer connection's count of rows changed since
// it opened, which tells whether a batch's COMMIT writes anything.
func (g *groupCommitter) totalChanges(ctx context.Context, q *writer) (int64, bool) {
	var n int64
	if err := q.QueryRowContext(ctx, `SELECT total_changes()`).Scan(&n); err != nil {
		return 0, false
	}
	return n, true
}

// inSavepoint runs j inside a savepoint, keeping its writes or rolling them
// back by its outcome, which it stores in result; rolledBack reports the
// latter. It returns an error only when the savepoint itself failed, which
// means the transaction is lost.
func (g *groupCommitter) inSavepoint(ctx context.Context, q *writer, j *writeJob, result *error) (rolledBack bool, err error) {
	if _, err := q.ExecContext(ctx, `SAVEPOINT job`); err != nil {
		return false, err
	}
	*result = j.fn(ctx, q)
	if *result != nil && !errCommit(*result) {
		rolledBack = true
		if _, err := q.ExecContext(ctx, `ROLLBACK TO job`); err != nil {
			return rolledBack, err
		}
	}
	_, err = q.ExecContext(ctx, `RELEASE job`)
	return rolledBack, err
}
