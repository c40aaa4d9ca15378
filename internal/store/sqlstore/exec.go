package sqlstore

import (
	"context"
	"database/sql"
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

// txn is a transaction that uses the pool's prepared statements when it has them.
type txn struct {
	tx    *sql.Tx
	stmts *prepared // nil: run queries as text
	// missed collects queries not yet prepared: preparing needs a connection,
	// and a one-connection pool has none to spare while the transaction runs,
	// so they are run as text now and prepared after the transaction.
	missed map[string]struct{}
}

// stmt returns query's prepared statement bound to the transaction, or nil.
func (t txn) stmt(ctx context.Context, query string) *sql.Stmt {
	if t.stmts == nil {
		return nil
	}
	st := t.stmts.cached(query)
	if st == nil {
		if t.missed != nil {
			t.missed[query] = struct{}{}
		}
		return nil
	}
	// Reuses the statement already prepared on the transaction's connection.
	return t.tx.StmtContext(ctx, st)
}

func (t txn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t txn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

func (t txn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}
