package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehouse/gatehouse/internal/store"
)

// What counts as "the database is unavailable" (store.ErrUnavailable), decided
// here once for PostgreSQL, at the driver, so that every query of every
// method is covered:
//
//   - any failure to open a connection: refused, unreachable host, DNS, TLS,
//     too many connections, "the database system is starting up" or
//     "shutting down", a rejected password. A node that cannot open a
//     connection can answer nothing, whatever the reason; its /readyz says so.
//   - a failure after which pgx has closed the connection: the server went
//     away, the network broke, or an administrator terminated the backend.
//     An ordinary SQL error (a constraint, a deadlock, a timeout) leaves the
//     connection open and is not counted.
//
// Neither counts when the caller's context had ended: that request was
// cancelled or timed out, and the store says so instead.
//
// SQLite is a file of the node itself, with no connection to lose. What counts
// there is a disk the node cannot write — full, failing, read-only, or the
// file deleted or replaced under the node (sqliteUnwritable, Store.fileIntact):
// a condition of the node that an operator fixes and clients retry after, not
// a fault of the request. A write that waited the whole busy timeout (10 s)
// for a lock held by another process stays a server error: it points at a
// stuck process that an operator must see; so does a corrupt file.

// markUnavailable wraps err in store.ErrUnavailable unless ctx has ended.
func markUnavailable(ctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil || errors.Is(err, driver.ErrBadConn) {
		// ErrBadConn is database/sql's cue to retry on another connection.
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

// withoutUnavailable is err as the driver gave it, without the mark
// markUnavailable put on it.
func withoutUnavailable(err error) error {
	if joined, ok := err.(interface{ Unwrap() []error }); ok && errors.Is(err, store.ErrUnavailable) {
		for _, e := range joined.Unwrap() {
			if e != store.ErrUnavailable {
				return e
			}
		}
	}
	return err
}

// pgConnector opens pgx connections and marks its failures to connect,
// telling outage about each outcome.
type pgConnector struct {
	driver.Connector
	outage *outage
}

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		err = markUnavailable(ctx, err)
		c.outage.failed(err)
		return nil, err
	}
	c.outage.answered()
	return pgConn{conn.(*stdlib.Conn), c.outage}, nil
}

// pgConn is a pgx connection that marks the failures that broke it. Every
// other method of the driver's connection is used as it is.
type pgConn struct {
	*stdlib.Conn
	outage *outage
}

// broken marks err when the connection did not survive it.
func (c pgConn) broken(ctx context.Context, err error) error {
	if err == nil {
		c.outage.answered()
		return nil
	}
	if !c.Conn.Conn().IsClosed() {
		return err
	}
	err = markUnavailable(ctx, err)
	c.outage.failed(err)
	return err
}

func (c pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	res, err := c.Conn.ExecContext(ctx, query, args)
	return res, c.broken(ctx, err)
}

func (c pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.Conn.QueryContext(ctx, query, args)
	return rows, c.broken(ctx, err)
}

func (c pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.Conn.PrepareContext(ctx, query)
	return st, c.broken(ctx, err)
}

func (c pgConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.Conn.BeginTx(ctx, opts)
	if err != nil {
		return nil, c.broken(ctx, err)
	}
	return pgTx{Tx: tx, conn: c, ctx: ctx}, nil
}

// pgTx marks a commit that failed because the connection broke: whether it
// reached the server is unknown, as with any lost commit.
type pgTx struct {
	driver.Tx
	conn pgConn
	ctx  context.Context
}

func (t pgTx) Commit() error { return t.conn.broken(t.ctx, t.Tx.Commit()) }

// diskFull reports whether err is SQLite's "database or disk is full".
func diskFull(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_FULL
}

// sqliteUnwritable marks err as store.ErrUnavailable when SQLite could not
// write its files: the disk is full (SQLITE_FULL), failing (SQLITE_IOERR),
// or the file became read-only or could not be opened.
func sqliteUnwritable(err error) error {
	var e *sqlite.Error
	if !errors.As(err, &e) || errors.Is(err, store.ErrUnavailable) {
		return err
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN:
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

// openFailure explains why SQLite could not open the database at path, for
// the refusal a start prints (SQLite's own words, "unable to open database
// file (14)", named neither the file nor what to do).
func openFailure(path string, err error) error {
	var e *sqlite.Error
	if errors.As(err, &e) {
		switch e.Code() & 0xff {
		case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
			return fmt.Errorf("sqlstore: %s is not a SQLite database, or it is damaged: restore it from a backup (docs/operations.md, \"Backups and restore\"), or move it away to start afresh: %w", path, err)
		case sqlite3.SQLITE_CANTOPEN:
			return fmt.Errorf("sqlstore: cannot open %s: it must be a file this user can read and write, in a directory it can write (SQLite keeps its -wal and -shm files beside it): %w", path, err)
		}
	}
	return fmt.Errorf("sqlstore: open sqlite %s: %w", path, err)
}
