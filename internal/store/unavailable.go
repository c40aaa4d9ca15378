package store

import (
	"context"
	"database/sql/driver"
	"errors"
)

// ErrUnavailable marks an error that means the database cannot be reached
// right now: a backend wraps it around such errors (see sqlstore for what
// counts), so callers can tell an outage, which a retry in a few seconds may
// outlast, from a failure of the request itself. Every HTTP door answers it
// with 503 and Retry-After: RetryAfterSeconds, never 500, because clients and
// load balancers retry a 503 and not a 500.
var ErrUnavailable = errors.New("store: database unavailable")

// Unavailable reports whether err is an outage to answer 503: ErrUnavailable,
// or a request that ran out of its time (a node on PostgreSQL gives every
// request a deadline, a few seconds under the server's write timeout) while
// it waited — for a database that stopped answering without closing its
// connections, say.
// Without that deadline such a request would wait for the database as long
// as it stalled, and its answer be written to a connection long closed.
//
// driver.ErrBadConn counts too: database/sql returns it once every
// connection it tried was broken (a database restarted under a full pool),
// where the backend had no chance to mark it.
func Unavailable(err error) bool {
	return errors.Is(err, ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, driver.ErrBadConn)
}

// RetryAfterSeconds is the Retry-After value of an answer to ErrUnavailable:
// about what a database restart or a failover takes.
const RetryAfterSeconds = "5"
