package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// PoolSettings sizes the PostgreSQL connection pool. The zero value of each
// field keeps database/sql's meaning: MaxOpenConns 0 is unlimited,
// MaxIdleConns 0 keeps no idle connection, and the durations 0 never close a
// connection for its age or idleness.
type PoolSettings struct {
	// MaxOpenConns bounds the connections one node holds, idle or busy.
	MaxOpenConns int
	// MaxIdleConns bounds the idle connections kept for reuse.
	MaxIdleConns int
	// ConnMaxLifetime closes a connection this long after it was opened, so
	// load spreads again after a failover or a pooler restart.
	ConnMaxLifetime time.Duration
	// ConnMaxIdleTime closes a connection idle this long.
	ConnMaxIdleTime time.Duration
}

// PostgresTarget names the database url points at, for messages: the
// database name and each host:port pgx would try, never the user or password.
func PostgresTarget(url string) (string, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return "", fmt.Errorf("sqlstore: postgres: %w", err)
	}
	hosts := []string{net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))}
	for _, f := range cfg.Fallbacks {
		hosts = append(hosts, net.JoinHostPort(f.Host, strconv.Itoa(int(f.Port))))
	}
	// sslmode=prefer (the default) lists each host twice in a row, with and without TLS.
	return fmt.Sprintf("PostgreSQL database %s on %s", cfg.Database, strings.Join(slices.Compact(hosts), ", ")), nil
}

// OpenPostgres connects to the PostgreSQL database at url (postgres://… or
// any form pgx accepts), migrates it and returns a Store that writes and
// reads through one pool sized by pool. Several nodes may call it at once:
// migrations hold a PostgreSQL session lock, so they run exactly once.
//
// Query parameters that are not pgx settings are sent as run-time
// parameters, so ?search_path=name keeps the tables in schema name.
func OpenPostgres(ctx context.Context, url string, pool PoolSettings) (*Store, error) {
	cfg, err := pgx.ParseConfig(url) // errors never contain the password
	if err != nil {
		return nil, fmt.Errorf("sqlstore: postgres: %w", err)
	}
	outage := new(outage)
	db := sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg), outage})
	db.SetMaxOpenConns(pool.MaxOpenConns)
	db.SetMaxIdleConns(pool.MaxIdleConns)
	db.SetConnMaxLifetime(pool.ConnMaxLifetime)
	db.SetConnMaxIdleTime(pool.ConnMaxIdleTime)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		// At start the cause is the message: a wrong password or database
		// name is no outage that will pass.
		return nil, fmt.Errorf("sqlstore: postgres: connect: %w", withoutUnavailable(err))
	}
	s, err := Open(ctx, Postgres, db, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.outage = outage
	return s, nil
}

// pgLockTokens is Postgres.lockTokens. Its parameters are the client ID,
// then the user ID when user, then the grant ID when grant. PostgreSQL
// evaluates the columns in order, then locks the application's row: the
// user's row (FOR SHARE, so disabling the user waits, or this for the
// disabling, whose flag it then reads), the refresh cap's advisory lock,
// the grant's, the application's row (FOR KEY SHARE, so deleting it waits,
// or this for the deletion, and then finds no row). Every writer and
// revoker of tokens takes them in this order, so none deadlocks another.
func pgLockTokens(user, capLock, grant bool) string {
	cols := []string{"NULL::boolean"}
	next := 2
	if user {
		cols[0] = "(SELECT disabled FROM users WHERE id = $2 FOR SHARE)"
		if capLock {
			// The key rolling upgrades share with builds before this one.
			cols = append(cols, "pg_advisory_xact_lock(hashtextextended($2::text || ' ' || $1::text, 0))::text")
		}
		next = 3
	}
	if grant {
		cols = append(cols, "pg_advisory_xact_lock(1, hashtext($"+strconv.Itoa(next)+"))::text")
	}
	return "SELECT " + strings.Join(cols, ", ") + " FROM clients WHERE id = $1 FOR KEY SHARE OF clients"
}
