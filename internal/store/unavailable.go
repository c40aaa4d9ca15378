package store

import "errors"

// ErrUnavailable marks an error that means the database cannot be reached
// right now: a backend wraps it around such errors (see sqlstore for what
// counts), so callers can tell an outage, which a retry in a few seconds may
// outlast, from a failure of the request itself. Every HTTP door answers it
// with 503 and Retry-After: RetryAfterSeconds, never 500, because clients and
// load balancers retry a 503 and not a 500.
var ErrUnavailable = errors.New("store: database unavailable")

// RetryAfterSeconds is the Retry-After value of an answer to ErrUnavailable:
// about what a database restart or a failover takes.
const RetryAfterSeconds = "5"
