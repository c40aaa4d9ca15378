package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"
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
	db      *sql.DB
	stmts   *prepared
	metrics *storeMetrics
	// undone reports the errors after which SQLite has undone the failed
	// statement and kept the transaction (constraint violations).
	undone func(error) bool

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
}

func newGroupCommitter(db *sql.DB, stmts *prepared, m *storeMetrics, undone func(error) bool) *groupCommitter {
	g := &groupCommitter{
		db: db, stmts: stmts, metrics: m, undone: undone,
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
	return g.submit(&writeJob{ctx: ctx, fn: fn, result: make(chan error, 1)})
}

// doStatement is do for an fn that runs exactly one statement.
func (g *groupCommitter) doStatement(ctx context.Context, fn func(ctx context.Context, q querier) error) error {
	return g.submit(&writeJob{ctx: ctx, fn: fn, result: make(chan error, 1), oneStatement: true})
}

func (g *groupCommitter) submit(j *writeJob) error {
	ctx := j.ctx
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
	return <-j.result
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

// run executes one batch in one transaction and answers every job.
func (g *groupCommitter) run(batch []*writeJob) {
	ctx := context.Background()
	results := make([]error, len(batch))
	fail := func(err error) {
		for _, j := range batch {
			j.result <- err
		}
	}
	tx, err := g.db.BeginTx(ctx, nil)
	if err != nil {
		fail(err)
		return
	}
	q := txn{tx: tx, stmts: g.stmts, missed: make(map[string]struct{})}
	defer g.prepare(q.missed)
	single := len(batch) == 1
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if single {
			results[i] = j.fn(ctx, q)
			if results[i] != nil && !errCommit(results[i]) {
				tx.Rollback()
				j.result <- results[i]
				return
			}
			continue
		}
		if j.oneStatement {
			results[i] = j.fn(ctx, q)
			if results[i] != nil && !g.undone(results[i]) {
				// Not a failure SQLite undoes by itself: the transaction may
				// be gone, so nothing of the batch is trusted.
				tx.Rollback()
				fail(results[i])
				return
			}
			continue
		}
		if err := g.inSavepoint(ctx, q, j, &results[i]); err != nil {
			// The transaction is no longer sound (SQLite rolls the whole
			// transaction back on some errors): nothing of the batch is kept.
			tx.Rollback()
			fail(err)
			return
		}
	}
	start := time.Now()
	if err := tx.Commit(); err != nil {
		fail(err)
		return
	}
	g.metrics.observeCommit(start)
	g.metrics.batchSize.Observe(float64(len(batch)))
	for i, j := range batch {
		j.result <- results[i]
	}
}

// prepare prepares the queries a batch ran as text, now that the connection is free.
func (g *groupCommitter) prepare(queries map[string]struct{}) {
	for query := range queries {
		g.stmts.stmt(query)
	}
}

// inSavepoint runs j inside a savepoint, keeping its writes or rolling them
// back by its outcome, which it stores in result. It returns an error only
// when the savepoint itself failed, which means the transaction is lost.
func (g *groupCommitter) inSavepoint(ctx context.Context, q txn, j *writeJob, result *error) error {
	if _, err := q.ExecContext(ctx, `SAVEPOINT job`); err != nil {
		return err
	}
	*result = j.fn(ctx, q)
	if *result != nil && !errCommit(*result) {
		if _, err := q.ExecContext(ctx, `ROLLBACK TO job`); err != nil {
			return err
		}
	}
	_, err := q.ExecContext(ctx, `RELEASE job`)
	return err
}
