package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlitevfs"
)

//go:embed migrations
var migrations embed.FS

// Dialect holds the few things that differ between SQLite and PostgreSQL.
// Every query is written once, with $N placeholders, for both.
type Dialect struct {
	name  string // folder under migrations/
	goose goose.Dialect
	// lockClients, when set, starts every client creation and update so two
	// transactions cannot both see room for one more, or a name free.
	lockClients string
	// lockUsers, when set, starts every user update, so the rule that an
	// enabled system administrator remains is checked by one update at a time.
	lockUsers string
	// lockRow ends a SELECT that reads a row to rewrite it in the same
	// transaction, so a concurrent rewrite waits instead of being lost.
	lockRow string
	// lockTokens, when set, builds the one statement that takes the locks
	// a write of tokens needs (see lockForTokens): with $1 = client ID, and
	// $2 = user ID when user, the user's disabled flag (NULL: no user), then
	// the refresh cap's lock when capLock and the grant's ($3) when grant.
	// A revocation's UPDATE reads only rows committed when it starts, so
	// without these it would miss the pair a concurrent rotation is adding.
	lockTokens func(user, capLock, grant bool) string
	// skipLocked ends a SELECT that picks rows to claim or to clear away,
	// so concurrent claimants take different rows instead of queueing, and
	// housekeeping leaves rows others hold to a later pass.
	skipLocked string
	// capInOneStatement revokes the tokens beyond the refresh cap with one
	// UPDATE over the query that finds them (revokeLiveRefreshTokens): one
	// round trip on PostgreSQL, where SQLite is faster with a query and an
	// UPDATE per token (enforceRefreshCap).
	capInOneStatement bool
	// sessionLock makes concurrent Migrate calls from several nodes wait.
	sessionLock bool
	// prepare keeps every query prepared (see prepared).
	prepare bool
	// groupCommit batches concurrent write transactions (see groupCommitter).
	groupCommit bool
	// unflushed, when set, starts a transaction that may be answered before
	// its commit is flushed (inTxUnflushed); with groupCommit the committer
	// does that instead.
	unflushed string
	isUnique  func(error) bool
	// isForeignKey reports a row that refers to one that is gone (an
	// application another node deleted while this node's cache held it).
	isForeignKey func(error) bool
	// isConstraint, with groupCommit, reports a constraint violation.
	isConstraint func(error) bool
	// retryable reports an error after which a transaction only has to run
	// again: the server aborted it to break a deadlock, or could not
	// serialize it. Nil: none (SQLite's one writer cannot deadlock).
	retryable func(error) bool
}

// SQLite is the dialect of modernc.org/sqlite. Its writer pool has one
// connection opened with _txlock=immediate, so write transactions are
// serialized and need no explicit locks.
var SQLite = Dialect{
	name:        "sqlite",
	goose:       goose.DialectSQLite3,
	prepare:     true,
	groupCommit: true,
	isUnique: func(err error) bool {
		var e *sqlite.Error
		if !errors.As(err, &e) {
			return false
		}
		return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	},
	isForeignKey: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	},
	isConstraint: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
	},
}

// Postgres is the dialect of github.com/jackc/pgx/v5/stdlib. Transactions run
// at READ COMMITTED, so the count-then-insert invariants take locks.
var Postgres = Dialect{
	name:              "postgres",
	goose:             goose.DialectPostgres,
	lockClients:       "LOCK TABLE clients IN SHARE ROW EXCLUSIVE MODE",
	lockUsers:         "SELECT pg_advisory_xact_lock(hashtextextended('gatehouse users', 0))",
	lockRow:           " FOR UPDATE",
	lockTokens:        pgLockTokens,
	skipLocked:        " FOR UPDATE SKIP LOCKED",
	unflushed:         "SET LOCAL synchronous_commit TO OFF",
	capInOneStatement: true,
	sessionLock:       true,
	isUnique: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == "23505"
	},
	isForeignKey: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == "23503"
	},
	retryable: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && (e.Code == "40P01" || e.Code == "40001") // deadlock_detected, serialization_failure
	},
}

// Store implements store.Store on database/sql.
type Store struct {
	d  Dialect
	w  *sql.DB // writes and every transaction
	r  *sql.DB // plain reads; may be w
	rq querier // reads run through this: r, with prepared statements where the dialect wants them
	// commits, when set, batches the write transactions of concurrent
	// callers (SQLite's one writer); nil runs each in a transaction of its own.
	commits *groupCommitter
	ckpt    *checkpointer // SQLite: checkpoints off the commit path
	metrics *storeMetrics
	// cache, when set (SQLite through sqlitevfs), serves the hot reads
	// while it can prove them current (see readCache).
	cache *readCache
	// bulkPause, when set, separates the batches of a bulk change (bulk.go).
	bulkPause time.Duration
	// file is the SQLite file as it was opened, and health whether its
	// disk took the last write; nil for PostgreSQL.
	file   *fileGuard
	health *writeHealth
	// outage follows the database's availability for the log.
	outage *outage
	// ahead, when set, says a newer release migrated the database.
	ahead *SchemaAheadError
	// migrated is what opening the store did to the schema.
	migrated Migration
}

// Migration is what opening a store did to its schema: From is 0 for a new
// database; From == To when nothing was to be done.
type Migration struct {
	From, To int64
	Took     time.Duration
}

// Migrated reports what opening the store did to the schema, for the log.
func (s *Store) Migrated() Migration { return s.migrated }

// SchemaAhead reports a database migrated by a newer release, or nil.
func (s *Store) SchemaAhead() error {
	if s.ahead == nil {
		return nil
	}
	return s.ahead
}

var _ store.Store = (*Store)(nil)

// Open migrates writeDB and returns a Store that writes through writeDB and
// reads through readDB (which may be the same pool). Close closes both.
func Open(ctx context.Context, d Dialect, writeDB, readDB *sql.DB) (*Store, error) {
	return open(ctx, d, writeDB, readDB, "", nil, false)
}

// open is Open with the read cache of the SQLite file at cachePath ("": none);
// syncWAL, when set, flushes the writer connection's WAL, which the group
// committer then does itself instead of each COMMIT (see writer.syncWAL);
// keepSchema refuses, rather than migrates, a schema behind this binary's.
func open(ctx context.Context, d Dialect, writeDB, readDB *sql.DB, cachePath string, syncWAL func() error, keepSchema bool) (*Store, error) {
	migrated, err := migrate(ctx, writeDB, d, keepSchema)
	var ahead *SchemaAheadError
	if err != nil && !errors.As(err, &ahead) {
		return nil, err
	}
	s := &Store{d: d, w: writeDB, r: readDB, rq: readDB, metrics: newStoreMetrics(d, writeDB, readDB, d.groupCommit), ahead: ahead, migrated: migrated, outage: new(outage)}
	if cachePath != "" && d.groupCommit {
		// After Migrate the writer's connection is open, the WAL-index mapped.
		s.cache = newReadCache(cachePath)
	}
	if d.prepare {
		s.rq = newPrepared(readDB)
	}
	if d.groupCommit {
		s.commits = newGroupCommitter(writeDB, s.metrics, func(err error) bool {
			// conflict maps unique violations to ErrConflict and foreign
			// key violations to ErrNotFound; a statement that found nothing
			// to change answers ErrNotFound too, with nothing to undo.
			return errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) || d.isConstraint(err)
		}, s.cache, syncWAL)
		s.commits.outage = s.outage
	}
	return s, nil
}

// SQLiteOptions are the settings of OpenSQLiteWith.
type SQLiteOptions struct {
	// KeepSchema refuses a database whose schema is behind this binary's
	// instead of migrating it (a new, empty database is still set up): a
	// management command must not change the schema under a running node
	// of an older release.
	KeepSchema bool
	// NormalSync commits with synchronous=NORMAL instead of FULL: a commit
	// returns once its WAL frames are written, not flushed; the checkpointer
	// flushes them (~every 100 ms). A power cut or kernel crash may lose the
	// commits since; a crash of the process loses nothing. Opt-in.
	NormalSync bool
	// BesideNode is for a management command, a second process writing the
	// file of a running node: its bulk changes pause between batches
	// (bulkPause) so that the node's writer, waiting for SQLite's file lock
	// in its busy handler, takes it in between rather than waiting for the
	// whole change. A node's own bulk changes need no pause: its group
	// committer serves the writes queued meanwhile first.
	BesideNode bool
	// truncateWhenIdle, for tests, replaces the constant of that name.
	truncateWhenIdle time.Duration
}

// OpenSQLite opens (creating if needed) and migrates the SQLite database at
// path: one writer connection and a pool of read-only connections. Every
// commit is durable (synchronous=FULL).
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	return OpenSQLiteWith(ctx, path, SQLiteOptions{})
}

// OpenSQLiteWith is OpenSQLite with options.
func OpenSQLiteWith(ctx context.Context, path string, o SQLiteOptions) (*Store, error) {
	// The driver cuts the DSN at the first '?', so such a path would be mangled.
	if strings.Contains(path, "?") {
		return nil, fmt.Errorf("sqlstore: sqlite path %q must not contain '?'", path)
	}
	if err := restrictSQLiteFiles(path); err != nil {
		return nil, err
	}
	if o.truncateWhenIdle == 0 {
		o.truncateWhenIdle = truncateWhenIdle
	}
	// The file exists now (restrictSQLiteFiles creates a new one): every
	// connection from here on is to this file and no other (fileGuard).
	guard, err := newFileGuard(path)
	if err != nil {
		return nil, err
	}
	pragmas := "?_pragma=foreign_keys(1)"
	// Every connection syncs through sqlitevfs where it works, so that a
	// commit's fsync parks its goroutine instead of holding the process's P
	// (see sqlitevfs); the syncs themselves are SQLite's own.
	if vfs := sqlitevfs.VFS(); vfs != "" {
		pragmas += "&vfs=" + vfs
	}
	// synchronous(FULL): every COMMIT waits for the disk, so an answered
	// write survives a power cut. temp_store(MEMORY) keeps the savepoint
	// journals of a group commit in memory instead of a temporary file.
	// wal_autocheckpoint(10000): the checkpointer does this work off the
	// commit path; the writer steps in only if the WAL reaches ~40 MB.
	sync := "FULL"
	if o.NormalSync {
		sync = "NORMAL"
	}
	// Under FULL, the group committer flushes the WAL itself after a
	// commit where the VFS lets it (sqlitevfs.SyncWAL): it may then answer
	// a batch's consent decisions before that flush without a transaction
	// of their own. The writer's connection is named for that.
	var writerName string
	var syncWAL func() error
	if !o.NormalSync && sqlitevfs.VFS() != "" {
		name := strconv.FormatUint(writerNames.Add(1), 10)
		writerName = "&" + sqlitevfs.WriterParam + "=" + name
		syncWAL = func() error { return sqlitevfs.SyncWAL(name) }
	}
	// Every connection opens the file as a "file:" URI with mode=rw, which
	// fails where the file is gone instead of making a new, empty database.
	dsn := "file:" + strings.NewReplacer("%", "%25", "#", "%23").Replace(path) + pragmas + "&mode=rw"
	const wait = "&_pragma=busy_timeout(10000)"
	w := guard.open(dsn + wait + "&_pragma=journal_mode(WAL)&_pragma=synchronous(" + sync + ")&_pragma=temp_store(MEMORY)&_pragma=wal_autocheckpoint(10000)&_txlock=immediate" + writerName)
	// One writer connection (SQLite allows one writer anyway), which the
	// group committer takes for its life once migrations are done (writer).
	w.SetMaxOpenConns(1)
	// The writer's first connection switches the file to WAL before any reader opens.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, openFailure(path, err)
	}
	if err := probeWritable(ctx, w); err != nil {
		w.Close()
		var e *sqlite.Error
		if errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY {
			return nil, fmt.Errorf("sqlstore: the database file %s is locked by another process that holds a write transaction on it (waited 10 s): try again, or end that process's transaction (an sqlite3 shell in BEGIN?): %w", path, err)
		}
		return nil, fmt.Errorf("sqlstore: the database file %s cannot be written (a read-only file or file system?): %w", path, err)
	}
	r := guard.open(dsn + wait + "&_pragma=query_only(1)")
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	// The checkpointer never waits for a lock (no busy timeout): PASSIVE
	// does not anyway, and TRUNCATE holds the write lock while it waits for
	// readers, so waiting out a timeout stalled every write behind an
	// outside reader.
	ckpt := guard.open(dsn)
	ckpt.SetMaxOpenConns(1)
	s, err := open(ctx, SQLite, w, r, path, syncWAL, o.KeepSchema)
	if err == nil && o.BesideNode {
		s.bulkPause = bulkPause
	}
	if err != nil {
		w.Close()
		r.Close()
		ckpt.Close()
		return nil, err
	}
	s.ckpt = startCheckpointer(ckpt, o.truncateWhenIdle)
	s.file, s.health = guard, &s.commits.health
	s.commits.guard = guard.intact
	return s, nil
}

// probeWritable fails when SQLite opened the file read-only (it does so,
// silently, for a file or file system it may not write): a statement that
// would write, rolled back, writes nothing either way.
func probeWritable(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, `CREATE TABLE gatehouse_write_probe (x)`)
	return err
}

// Ready reports whether the store can serve: it answers a read and, on
// SQLite, its file is the one it opened and its last write reached the
// disk. After a write the disk refused, a probe write (a lease no job
// takes) finds out whether there is room again, so that a node taken out of
// a load balancer's rotation comes back without other writes.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.file.intact(); err != nil {
		return err
	}
	if s.health != nil && s.health.full.Load() {
		if err := s.file.room(); err != nil {
			return err
		}
		s.health.full.Store(false)
	}
	if s.health != nil && s.health.err() != nil {
		if _, err := s.TryLock(ctx, "readiness probe", "", time.Now(), 0); err != nil {
			return err
		}
	}
	var one int
	if err := s.rq.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("sqlstore: ready: %w", err)
	}
	return nil
}

// Migrate applies every pending migration of dialect d to db. It is
// idempotent and safe to run at every start. A database whose schema is
// newer than this binary's is left as it is, with a *SchemaAheadError.
func Migrate(ctx context.Context, db *sql.DB, d Dialect) error {
	_, err := migrate(ctx, db, d, false)
	return err
}

// SchemaAheadError says a newer release migrated the database. The store
// still opens: a rolling upgrade keeps the previous release working on the
// next one's schema (docs/operations.md, "Migrations"), and a node of it
// that restarts meanwhile must come back; but a build further behind may
// not know what it meets, so the operator is told (Store.SchemaAhead).
type SchemaAheadError struct{ Current, Latest int64 }

func (e *SchemaAheadError) Error() string {
	return fmt.Sprintf("the database's schema is at version %d, newer than this gatehouse knows (%d): a newer release migrated it; run that release (this one is safe only as the previous release during a rolling upgrade)", e.Current, e.Latest)
}

// migrate is Migrate; with keep, a schema behind this binary's is refused
// (see SQLiteOptions.KeepSchema) unless the database is new.
func migrate(ctx context.Context, db *sql.DB, d Dialect, keep bool) (Migration, error) {
	if d.name == "" {
		return Migration{}, errors.New("sqlstore: migrate: no dialect; use SQLite or Postgres")
	}
	fsys, err := fs.Sub(migrations, "migrations/"+d.name)
	if err != nil {
		return Migration{}, fmt.Errorf("sqlstore: migrate: %w", err)
	}
	opts := []goose.ProviderOption{
		goose.WithLogger(goose.NopLogger()),
		goose.WithDisableGlobalRegistry(true),
	}
	if d.sessionLock {
		// Waiting nodes poll every second (goose's minimum; its default is
		// 5 s) for up to 5 minutes.
		l, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return Migration{}, fmt.Errorf("sqlstore: migrate: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(l))
	}
	// The provider is not closed: Close would close db, which the caller owns.
	p, err := goose.NewProvider(d.goose, db, fsys, opts...)
	if err != nil {
		return Migration{}, fmt.Errorf("sqlstore: migrate: %w", err)
	}
	current, err := p.GetDBVersion(ctx)
	if err != nil {
		return Migration{}, fmt.Errorf("sqlstore: migrate: %w", err)
	}
	sources := p.ListSources()
	latest := sources[len(sources)-1].Version
	switch {
	case current > latest:
		return Migration{From: current, To: current}, &SchemaAheadError{Current: current, Latest: latest}
	case keep && current > 0 && current < latest:
		return Migration{}, fmt.Errorf("sqlstore: the database's schema is at version %d and this gatehouse needs %d: run `gatehouse migrate` (or start `gatehouse serve`) first; this command does not change the schema under a running node", current, latest)
	}
	start := time.Now()
	if _, err := p.Up(ctx); err != nil {
		return Migration{}, fmt.Errorf("sqlstore: migrate: %w", err)
	}
	return Migration{From: current, To: latest, Took: time.Since(start)}, nil
}

// Close finishes queued writes and closes both pools.
func (s *Store) Close() error {
	if s.commits != nil {
		s.commits.close()
	}
	var err error
	if s.ckpt != nil {
		err = s.ckpt.close()
	}
	if p, ok := s.rq.(*prepared); ok {
		p.close()
	}
	err = errors.Join(err, s.w.Close())
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// errCommit reports the outcomes whose writes must commit although the method
// fails: reuse detection revokes the grant and must not be rolled back.
func errCommit(err error) bool {
	return errors.Is(err, store.ErrCodeReused) || errors.Is(err, store.ErrTokenReused)
}

// inTx runs fn in a write transaction, committing when fn succeeds or fails
// with an error that errCommit accepts. fn must use the context it is given.
// With inTx, exec and writeStatement (and their Effects forms) it is the
// write path (see doc.go). The read cache drops everything after it.
func (s *Store) inTx(ctx context.Context, fn func(ctx context.Context, tx querier) error) error {
	return s.inTxEffects(ctx, nil, fn)
}

// inTxEffects is inTx for an fn that records in eff (non-nil) every row it
// changes that the read cache may hold: only those are dropped.
func (s *Store) inTxEffects(ctx context.Context, eff *effects, fn func(ctx context.Context, tx querier) error) error {
	if s.commits != nil {
		return s.commits.doEffects(ctx, eff, fn)
	}
	fn, event := withPendingEvent(ctx, fn)
	err := s.retried(ctx, func() error { return s.txOnce(ctx, fn) })
	if err == nil && event != nil {
		event.MarkStored()
	}
	return err
}

// txOnce runs fn in a transaction of its own, committed when fn succeeds or
// fails with an error errCommit accepts; it returns fn's error, or the
// transaction's.
func (s *Store) txOnce(ctx context.Context, fn func(ctx context.Context, tx querier) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	err = fn(ctx, tx)
	if err != nil && !errCommit(err) {
		tx.Rollback()
		return err
	}
	start := time.Now()
	if cerr := tx.Commit(); cerr != nil {
		return cerr
	}
	s.metrics.observeCommit(start)
	return err
}

// txAttempts bounds how often a transaction runs that the server keeps
// aborting to break deadlocks: each such abort has already cost the
// server's deadlock_timeout (1 s by default).
const txAttempts = 3

// retried runs attempt, which runs a whole transaction, again while the
// server aborts it for a reason that running it again clears (a deadlock's
// victim, a serialization failure). Nothing of an aborted transaction
// stays, and its functions are functions of the database and their
// arguments (as the group commit's, which may run twice), so only the run
// that commits counts.
func (s *Store) retried(ctx context.Context, attempt func() error) error {
	for n := 1; ; n++ {
		err := attempt()
		if n == txAttempts || s.d.retryable == nil || !s.d.retryable(err) || ctx.Err() != nil {
			return err
		}
		s.metrics.retries.Add(1)
	}
}

// errNothingDone rolls back a write that found nothing to do, with the
// audit event pending for it; the method then reports its usual "nothing".
var errNothingDone = errors.New("sqlstore: nothing done")

// writerNames names each SQLite store's writer connection in this process
// (sqlitevfs.WriterParam).
var writerNames atomic.Uint64

// withPendingEvent returns fn storing after its own writes, in its
// transaction, the audit event pending in ctx (store.WithEvent), and that
// event for the caller to mark stored once the transaction commits; with no
// event pending, fn itself and nil.
func withPendingEvent(ctx context.Context, fn func(ctx context.Context, q querier) error) (func(ctx context.Context, q querier) error, *store.PendingEvent) {
	event := store.PendingFor(ctx)
	if event == nil {
		return fn, nil
	}
	return func(ctx context.Context, q querier) error {
		if err := fn(ctx, q); err != nil {
			return err
		}
		return insertAudit(ctx, q, event.Event)
	}, event
}

// inTxUnflushed is inTxEffects for a transaction that may be answered once
// it is committed and visible to every reader, before its commit is flushed
// to disk. Only for writes whose loss in a power cut harms nothing that was
// answered durably: every later flush covers it (SQLite's WAL and
// PostgreSQL's are written in order), so no write that depends on it can be
// durable without it; the checkpointer (SQLite) or the WAL writer
// (PostgreSQL) flushes it within a fraction of a second otherwise.
func (s *Store) inTxUnflushed(ctx context.Context, eff *effects, fn func(ctx context.Context, tx querier) error) error {
	if s.commits != nil {
		return s.commits.submit(&writeJob{ctx: ctx, fn: fn, result: make(chan error, 1), effects: eff, unflushed: true})
	}
	return s.inTxEffects(ctx, eff, func(ctx context.Context, tx querier) error {
		if s.d.unflushed != "" {
			if _, err := tx.ExecContext(ctx, s.d.unflushed); err != nil {
				return err
			}
		}
		return fn(ctx, tx)
	})
}

// inTxAlone is inTxUnflushed for a transaction that must not share a
// commit with others (the janitor's purge): with the group commit, it
// commits after the writes queued with it, in a transaction of its own. It
// waits for no flush: lost in a crash, its deletes are made again by the
// next pass, and a flush would be most of a small batch's time.
func (s *Store) inTxAlone(ctx context.Context, fn func(ctx context.Context, tx querier) error) error {
	if s.commits != nil {
		return s.commits.submit(&writeJob{ctx: ctx, fn: fn, result: make(chan error, 1), alone: true})
	}
	return s.inTxUnflushed(ctx, nil, fn)
}

// exec runs one write statement on the write path.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return s.execEffects(ctx, nil, query, args...)
}

// execEffects is exec with the statement's effects on the read cache (see
// inTxEffects).
func (s *Store) execEffects(ctx context.Context, eff *effects, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := s.writeStatementEffects(ctx, eff, func(ctx context.Context, q querier) error {
		var err error
		res, err = q.ExecContext(ctx, query, args...)
		return err
	})
	return res, err
}

// writeStatement runs fn, which runs at most one write statement, in a
// shared transaction where writes are batched, else on the writer pool,
// where the statement commits by itself. fn must use the querier it is given.
func (s *Store) writeStatement(ctx context.Context, fn func(ctx context.Context, q querier) error) error {
	return s.writeStatementEffects(ctx, nil, fn)
}

// writeStatementEffects is writeStatement with fn's effects on the read
// cache (see inTxEffects).
func (s *Store) writeStatementEffects(ctx context.Context, eff *effects, fn func(ctx context.Context, q querier) error) error {
	if s.commits == nil {
		if store.PendingFor(ctx) != nil {
			return s.inTxEffects(ctx, eff, fn) // the statement and its event
		}
		return s.retried(ctx, func() error { return fn(ctx, s.w) })
	}
	return s.commits.doStatement(ctx, eff, fn)
}

// appendAudit writes one audit event on the write path: with the group
// commit, appended together with its batch's other events (appendAudits);
// else as one statement.
func (s *Store) appendAudit(ctx context.Context, e store.AuditEvent) error {
	if s.commits == nil {
		return insertAudit(ctx, s.w, e)
	}
	return s.commits.submit(&writeJob{ctx: ctx, audit: &e, result: make(chan error, 1), effects: neutral()})
}

// neutral is the effects of a write to tables the read cache does not hold.
func neutral() *effects { return &effects{} }

// conflict maps a unique violation to store.ErrConflict, and a foreign key
// violation — the row refers to one that is gone — to store.ErrNotFound.
func (s *Store) conflict(err error) error {
	switch {
	case s.d.isUnique(err):
		return store.ErrConflict
	case s.d.isForeignKey(err):
		return store.ErrNotFound
	}
	return err
}

type scanner interface{ Scan(dest ...any) error }

// notFound maps sql.ErrNoRows to store.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// affected returns store.ErrNotFound when res changed no row.
func affected(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// ms converts t to unix milliseconds; the zero time is 0.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS is the inverse of ms.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// list encodes a string list as a JSON array; nil and empty are "[]".
func list(v []string) string {
	if len(v) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(v) // a []string always marshals
	return string(b)
}

// jsonList decodes a JSON array column into dst; an empty array leaves it nil.
type jsonList struct{ dst *[]string }

func (l jsonList) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("sqlstore: list column holds %T", src)
	}
	*l.dst = nil
	if len(b) == 0 || string(b) == "[]" {
		return nil
	}
	return json.Unmarshal(b, l.dst)
}

// msTime scans a unix-millisecond column into a time.Time.
type msTime struct{ dst *time.Time }

func (m msTime) Scan(src any) error {
	v, ok := src.(int64)
	if !ok {
		return fmt.Errorf("sqlstore: time column holds %T", src)
	}
	*m.dst = fromMS(v)
	return nil
}

// blob passes an empty byte slice as NULL, so nil round-trips as nil.
func blob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
