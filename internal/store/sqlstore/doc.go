// Package sqlstore implements store.Store on database/sql, once for both
// SQLite (modernc.org/sqlite) and PostgreSQL (pgx stdlib). It owns the schema
// and its goose migrations under migrations/<dialect>.
//
// Every query is written once with $N placeholders; Dialect holds the few
// differences: migrations, unique-violation detection and the explicit locks
// PostgreSQL needs where SQLite's single immediate writer already serializes.
//
// # The write path
//
// Every write goes through one path in sqlstore.go: inTx for a transaction
// (inTxUnflushed for one that may be answered before its flush, inTxAlone
// for the janitor's purge, which also commits apart from others), exec and
// writeStatement for a single statement (and their Effects forms, which say
// what the write changes that the read cache may hold), and
// appendAudit for an audit event (the group commit appends a batch's events
// with a few multi-row INSERTs, since a busy token API audits every call).
// Nothing
// else touches the writer pool (Store.w) or the group committer, and no write
// goes through the reader pool (write_path_test.go checks both).
//
//   - SQLite: group commit (commit.go). SQLite has one writer, and with
//     synchronous=FULL every COMMIT waits for an fsync; so the writes of all
//     callers queue for the one writer connection, and those that queued
//     while a batch committed share the next transaction and its one fsync.
//     The committer holds that connection for its life (writer, exec.go):
//     its BEGIN IMMEDIATE and COMMIT are statements of its own and every
//     query is prepared once on it, not bound to a database/sql transaction
//     for each use.
//     Jobs run without savepoints; when a job of several statements fails
//     after writing, the batch is rolled back and runs again with that job
//     settled and every other one in a savepoint of its own, so a failure
//     undoes only that caller's writes. The queue is served in order, so a
//     long job (the janitor's purge, in bounded batches) delays the others
//     by one batch at most. A write that went around the committer would not
//     be faster: it would wait for the writer connection behind a whole
//     batch, outside the queue's order.
//   - Durability: every write is answered after the flush that puts it on
//     disk, except the consent's decision (inTxUnflushed), answered once it
//     is committed and visible, and the janitor's purge (inTxAlone), whose
//     deletes a crash loses only to have the next pass make them again. On
//     SQLite the committer flushes the WAL itself (sqlitevfs.SyncWAL): its
//     connection commits with synchronous=NORMAL, a batch is one
//     transaction whatever it holds, and after its commit the decisions are
//     answered, then the WAL is flushed (an fsync, as SQLite's COMMIT makes
//     under FULL), then the rest are answered; where the VFS is not
//     available the connection stays on FULL and every job waits for the
//     flush. On PostgreSQL the decision's transaction sets
//     synchronous_commit off. Both WALs are flushed in order, so the flush
//     of any later durable commit (the code's exchange above all) covers the
//     decision; until one comes, the checkpointer's sync (SQLite, within
//     ~100 ms) or the WAL writer (PostgreSQL) does. A power cut may so lose
//     a decision whose code nobody exchanged yet, never a token without its
//     consent's audit row. A batch is visible to readers from its commit,
//     one flush before it is durable: any durable write made on what they
//     read comes later in the WAL and is flushed with it, and its own
//     writers are not answered until then (a flush that fails answers them
//     ErrUnavailable), so a power cut in between loses only writes nobody
//     was told had succeeded.
//   - SQLite's fsyncs go through sqlitevfs, which parks the goroutine while
//     the kernel syncs instead of holding the process's P: the node keeps
//     serving while a commit is on its way to the disk.
//   - SQLite: the read cache (readcache.go) serves tokens, users and
//     sessions while SQLite's WAL-index change counter proves nothing it
//     cannot account for was committed; each batch applies its jobs' effects
//     before its writers get their answers.
//   - PostgreSQL: no group commit. It has many writer connections and
//     already flushes the WAL of concurrent commits together; batching on one
//     connection would serialize them. inTx is a transaction of its own on
//     the pool; a single statement commits by itself. Either runs again
//     (up to three times) when PostgreSQL aborts it as a deadlock's victim
//     or for a serialization failure, as the group commit may run a job
//     twice: only the run that commits counts.
//
// The exceptions, each on a connection of its own and none a row change of
// the store's: Migrate (goose, before the store serves, under its session
// lock), the checkpointer (PRAGMA wal_checkpoint copies committed pages into
// the database file) and BackupSQLite (VACUUM INTO reads one snapshot and
// writes another file).
//
// PostgreSQL errors that mean the database cannot be reached are wrapped in
// store.ErrUnavailable at the driver (unavailable.go says what counts).
//
// Invariants:
//   - Each method that changes more than one row is one transaction on the
//     write path; plain reads go to the reader pool.
//   - RedeemCode and RotateRefreshToken claim the row with one conditional
//     UPDATE, so of concurrent callers exactly one wins; the losers that find
//     the code used or the token rotated (past grace) revoke the whole grant,
//     and that revocation commits although they return ErrCodeReused or
//     ErrTokenReused. A rotated refresh token stays "reused" when revoked
//     later, so every late replay reports reuse rather than ErrNotFound.
//   - The refresh cap never revokes the token being stored; it keeps the
//     newest cap-1 others (by created_at, then hash) and revokes the rest with
//     their access tokens. A rotation, which replaces a live refresh token by
//     one, cannot raise the count and does not query it; a grace reuse does.
//   - DecideConsent records a consent page as decided and stores its code
//     and audit event in one transaction: a decision and what it produces
//     commit together or not at all, and a page is decided once. Any write
//     answered after it (its code's exchange) is flushed with it. Its code
//     is stored under lockForTokens, as tokens are, and refused for a
//     disabled user, so a disabling drops it or it sees the disabling.
//   - With the read cache, an answer is never older than the last write
//     whose caller has its answer, by this node or any other process.
//   - Times are unix milliseconds in BIGINT columns, 0 meaning the zero
//     time.Time ("never"); string lists are JSON arrays in TEXT; hashes are
//     BLOB/BYTEA, NULL when empty.
//   - Throttle rows keep their window length, so Purge can drop stale ones.
//   - Migrations only add (columns with defaults, tables, indexes), so nodes
//     of the previous release keep working during a rolling upgrade.
//   - Client.HasLogo is computed from client_logos on every read; logos live
//     apart so client listings never load them.
//   - audit_events is append-only: nothing but RecordAudit writes it and
//     Purge leaves it alone. IDs only grow, so ListAudit pages by id.
package sqlstore
