package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"

	"modernc.org/sqlite"

	"github.com/gatehouse/gatehouse/internal/store"
)

// fileGuard holds a SQLite file to the file it was when opened. An operator
// may delete the file under a running node, or rename a backup over it:
// every write since would be lost at the next start, which opens what is at
// the path now, and a new connection would open that — making an empty
// database where the file was deleted, or checkpointing the old WAL into the
// file put in its place. So writes and new connections are refused once the
// path names another file, or none.
type fileGuard struct {
	path   string
	opened os.FileInfo
}

func newFileGuard(path string) (*fileGuard, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
	}
	return &fileGuard{path: path, opened: info}, nil
}

// intact reports, as store.ErrUnavailable, a file deleted or replaced since
// it was opened; a nil guard (PostgreSQL) is always intact.
func (g *fileGuard) intact() error {
	if g == nil {
		return nil
	}
	if now, err := os.Stat(g.path); err == nil && os.SameFile(now, g.opened) {
		return nil
	}
	return fmt.Errorf("%w: the database file %s was deleted or replaced while this node ran; stop the node and restore the file (docs/operations.md)", store.ErrUnavailable, g.path)
}

// open is sql.Open of the SQLite driver with dsn, whose connections open
// only while the file is intact.
func (g *fileGuard) open(dsn string) *sql.DB {
	return sql.OpenDB(guardedConnector{dsn: dsn, guard: g})
}

type guardedConnector struct {
	dsn   string
	guard *fileGuard
}

func (c guardedConnector) Connect(context.Context) (driver.Conn, error) {
	if err := c.guard.intact(); err != nil {
		return nil, err
	}
	return c.Driver().Open(c.dsn)
}

func (guardedConnector) Driver() driver.Driver { return &sqlite.Driver{} }
