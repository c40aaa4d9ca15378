package sqlstore

import (
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// outage follows the database's availability for the operator's log: one
// line when it stops answering (PostgreSQL unreachable, SQLite's disk no
// longer taking writes) and one when it answers again, saying how long it
// was away and how many calls failed meanwhile. The requests in between log
// their own 503s; these two lines say where an outage began and ended.
type outage struct {
	log  atomic.Pointer[slog.Logger]
	down atomic.Bool // read on every answer: the common case takes no lock

	mu       sync.Mutex
	since    time.Time
	failures int
}

// failed notes err when it is an outage (store.ErrUnavailable).
func (o *outage) failed(err error) {
	if !errors.Is(err, store.ErrUnavailable) {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failures++
	if o.down.Load() {
		return
	}
	o.down.Store(true)
	o.since, o.failures = time.Now(), 1
	if log := o.log.Load(); log != nil {
		log.Error("database unavailable", "error", withoutUnavailable(err))
	}
}

// answered notes that the database answered a call.
func (o *outage) answered() {
	if !o.down.Load() {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.down.Load() {
		return
	}
	o.down.Store(false)
	if log := o.log.Load(); log != nil {
		log.Info("database available again", "after", time.Since(o.since).Round(time.Millisecond), "failures", o.failures)
	}
}

// LogOutages writes the start and the end of each database outage to log
// (see outage).
func (s *Store) LogOutages(log *slog.Logger) { s.outage.log.Store(log) }
