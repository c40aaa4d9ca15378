package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"testing"
)

// What an HTTP door answers 503: an outage the backend marked, a request
// out of time, and database/sql giving up on broken connections (every one
// it tried was broken: after a database restart, with the pool full, it
// returned "driver: bad connection", answered 500). An ordinary failure is
// none of them.
func TestUnavailable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("issue tokens: %w: refused", ErrUnavailable), true},
		{fmt.Errorf("token with user: %w", context.DeadlineExceeded), true},
		{fmt.Errorf("sqlstore: issue tokens: %w", driver.ErrBadConn), true},
		{errors.New("constraint failed"), false},
		{ErrConflict, false},
		{context.Canceled, false},
	} {
		if got := Unavailable(c.err); got != c.want {
			t.Errorf("Unavailable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
