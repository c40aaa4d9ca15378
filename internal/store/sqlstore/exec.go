package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"sync"
)

// querier runs statements: a pool, a prepared-statement pool or a transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// prepared runs every query through a statement prepared once per pool and
// kept, so SQLite parses each query text once instead of at every call (the
// parse was over a third of the CPU of a token lookup). Queries are built only
// from fixed fragments, so the set of statements is finite. PostgreSQL does not
// need it: pgx caches its prepared statements per connection itself.
type prepared struct {
	db    *sql.DB
	stmts sync.Map // query text → *sql.Stmt
}

func newPrepared(db *sql.DB) *prepared { return &prepared{db: db} }

// cached returns query's statement if it is already prepared.
func (p *prepared) cached(query string) *sql.Stmt {
	if st, ok := p.stmts.Load(query); ok {
		return st.(*sql.Stmt)
	}
	return nil
}

// stmt returns the statement for query, preparing it on first use. A query
// that fails to prepare is not cached; the caller runs it as text and so
// reports the same error.
func (p *prepared) stmt(query string) *sql.Stmt {
	if st := p.cached(query); st != nil {
		return st
	}
	st, err := p.db.PrepareContext(context.Background(), query)
	if err != nil {
		return nil
	}
	if prev, loaded := p.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt)
	}
	return st
}

func (p *prepared) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := p.stmt(query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.db.ExecContext(ctx, query, args...)
}

func (p *prepared) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.db.QueryContext(ctx, query, args...)
}

func (p *prepared) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.stmt(query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.db.QueryRowContext(ctx, query, args...)
}

// close closes the cached statements (not the pool).
func (p *prepared) close() {
	p.stmts.Range(func(k, st any) bool {
		st.(*sql.Stmt).Close()
		p.stmts.Delete(k)
		return true
	})
}

// writer is the group committer's hold on SQLite's writer connection: the
// pool's one connection, taken for the committer's life, so that its
// transactions are statements of its own (BEGIN IMMEDIATE … COMMIT) and each
// query runs through a statement prepared once on that connection. Through a
// database/sql transaction instead, every BEGIN was parsed again and every
// statement bound to the transaction anew (a new Stmt per statement, a tenth
// of a browser flow's allocations). Only the committer's goroutine uses it.
type writer struct {
	db    *sql.DB
	conn  *sql.Conn // nil until the first batch, and after a failure to get it
	stmts map[string]*sql.Stmt
	// syncWAL, when set, flushes the connection's WAL to disk; the
	// connection then commits with synchronous=NORMAL (ownFlush) and the
	// committer flushes after the commit, as a commit under FULL would
	// have (see groupCommitter.answer).
	syncWAL  func() error
	ownFlush bool
}

func newWriter(db *sql.DB, syncWAL func() error) *writer {
	return &writer{db: db, stmts: map[string]*sql.Stmt{}, syncWAL: syncWAL}
}

// begin starts a write transaction, taking the connection first if needed
// (fresh reports that it did). A connection found gone is replaced once.
func (w *writer) begin(ctx context.Context) (fresh bool, err error) {
	for retried := false; ; retried = true {
		if w.conn == nil {
			if w.conn, err = w.db.Conn(ctx); err != nil {
				return false, err
			}
			fresh = true
			// Lowered only where the committer can flush: a connection
			// that refuses keeps FULL and flushes each commit itself.
			if w.syncWAL != nil {
				_, err := w.ExecContext(ctx, `PRAGMA synchronous=NORMAL`)
				w.ownFlush = err == nil
			}
		}
		_, err = w.ExecContext(ctx, `BEGIN IMMEDIATE`)
		if retried || !errors.Is(err, sql.ErrConnDone) && !errors.Is(err, driver.ErrBadConn) {
			return fresh, err
		}
		// The statements went with the connection: closing them now would
		// finalize them on a closed database.
		w.drop(false)
	}
}

// commit commits; a COMMIT that fails leaves no transaction open.
func (w *writer) commit(ctx context.Context) error {
	if _, err := w.ExecContext(ctx, `COMMIT`); err != nil {
		w.rollback(ctx)
		return err
	}
	return nil
}

// rollback ends the transaction, if SQLite has not ended it already.
func (w *writer) rollback(ctx context.Context) {
	w.ExecContext(ctx, `ROLLBACK`) //nolint:errcheck // "no transaction is active" after SQLite's own rollback
}

// drop forgets the connection and its statements (which go with it). A
// connection found gone is closed by the pool; discard also has the pool
// close one that works, so the next begin opens a new one with the pool's
// settings instead of getting this one back.
func (w *writer) drop(discard bool) {
	if discard {
		w.conn.Raw(func(any) error { return driver.ErrBadConn }) //nolint:errcheck // it reports ErrBadConn, as asked
	}
	clear(w.stmts)
	w.conn.Close()
	w.conn, w.ownFlush = nil, false
}

// close closes the statements and gives the connection back to the pool.
func (w *writer) close() {
	for q, st := range w.stmts {
		st.Close()
		delete(w.stmts, q)
	}
	if w.conn != nil {
		w.conn.Close()
		w.conn, w.ownFlush = nil, false
	}
}

// stmt returns query's statement on the connection, prepared on first use;
// nil when it does not prepare (the caller runs it as text and so reports
// the same error).
func (w *writer) stmt(ctx context.Context, query string) *sql.Stmt {
	if st, ok := w.stmts[query]; ok {
		return st
	}
	st, err := w.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	w.stmts[query] = st
	return st
}

func (w *writer) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := w.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return w.conn.ExecContext(ctx, query, args...)
}

func (w *writer) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := w.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return w.conn.QueryContext(ctx, query, args...)
}

func (w *writer) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := w.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return w.conn.QueryRowContext(ctx, query, args...)
}
