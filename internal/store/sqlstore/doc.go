// Package sqlstore implements store.Store on database/sql, once for both
// SQLite (modernc.org/sqlite) and PostgreSQL (pgx stdlib). It owns the schema
// and its goose migrations under migrations/<dialect>.
//
// Every query is written once with $N placeholders; Dialect holds the few
// differences: migrations, unique-violation detection and the explicit locks
// PostgreSQL needs where SQLite's single immediate writer already serializes.
//
// PostgreSQL errors that mean the database cannot be reached are wrapped in
// store.ErrUnavailable at the driver (unavailable.go says what counts).
//
// Invariants:
//   - Each method that changes more than one row is one transaction on the
//     writer pool; plain reads go to the reader pool.
//   - RedeemCode and RotateRefreshToken claim the row with one conditional
//     UPDATE, so of concurrent callers exactly one wins; the losers that find
//     the code used or the token rotated (past grace) revoke the whole grant,
//     and that revocation commits although they return ErrCodeReused or
//     ErrTokenReused. A rotated refresh token stays "reused" when revoked
//     later, so every late replay reports reuse rather than ErrNotFound.
//   - The refresh cap never revokes the token being stored; it keeps the
//     newest cap-1 others (by created_at, then hash) and revokes the rest with
//     their access tokens.
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
