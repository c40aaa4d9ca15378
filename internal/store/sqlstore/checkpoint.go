package sqlstore

import (
	"context"
	"database/sql"
	"time"
)

// checkpointEvery is how often the checkpointer copies the WAL into the
// database file.
const checkpointEvery = 100 * time.Millisecond

// truncateWhenIdle is how long the WAL must have taken no new frames before
// the checkpointer empties its file: under load the WAL grows to ~40 MB and
// SQLite reuses the file from its start rather than shrink it, so an idle
// node would otherwise keep that much disk (and need it free to recover
// from a full disk).
const truncateWhenIdle = 5 * time.Second

// checkpointer copies committed WAL frames into the database file from a
// connection of its own, so the writer's commits do not pay for it (SQLite's
// automatic checkpoint runs inside the COMMIT that crosses the threshold).
// PASSIVE never blocks the writer or readers. The writer keeps a much higher
// automatic threshold as a safety net should this fall behind.
type checkpointer struct {
	db   *sql.DB
	idle time.Duration // truncateWhenIdle; shorter in tests
	stop chan struct{}
	done chan struct{}
}

func startCheckpointer(db *sql.DB, idle time.Duration) *checkpointer {
	c := &checkpointer{db: db, idle: idle, stop: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c
}

func (c *checkpointer) loop() {
	defer close(c.done)
	tick := time.NewTicker(checkpointEvery)
	defer tick.Stop()
	ctx := context.Background()
	lastFrames, since := -1, time.Now()
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		// A failure (the database busy, say) is retried at the next tick.
		var busy, frames, done int
		if c.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &done) != nil {
			continue
		}
		if frames != lastFrames {
			lastFrames, since = frames, time.Now()
			continue
		}
		// TRUNCATE needs no reader in the WAL: tried once the WAL has long
		// been still and wholly copied, and given up at once when busy
		// (this connection's busy timeout is zero), tried again later.
		if frames > 0 && done == frames && time.Since(since) >= c.idle {
			c.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
			lastFrames = -1
		}
	}
}

// close stops the checkpointer and closes its connection.
func (c *checkpointer) close() error {
	close(c.stop)
	<-c.done
	return c.db.Close()
}
