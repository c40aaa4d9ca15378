package server

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

const janitorLock = "janitor"

// runJanitor purges expired rows every interval. A lease in the store makes
// one node at a time do it; the lease outlives the interval slightly so the
// holder keeps it while alive, and another node takes over when it dies.
// When ctx ends (the node stops) it gives the lease back, so that another
// node takes over at once.
func (g *Gatehouse) runJanitor(ctx context.Context) {
	every := g.Config.Janitor.Interval
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		g.PurgeOnce(ctx)
		select {
		case <-ctx.Done():
			release, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := g.Store.ReleaseLock(release, janitorLock, g.nodeID); err != nil {
				g.Log.Warn("janitor lease not given back; another node takes it when it expires", "error", err)
			}
			return
		case <-t.C:
		}
	}
}

// purgeBatch bounds the rows one purge transaction deletes, so that the
// janitor holds SQLite's only writer (or PostgreSQL's row locks) for a few
// milliseconds at a time, however much is due.
const purgeBatch = 1000

// PurgeOnce runs one janitor pass if this node holds the lease; it reports
// whether it ran. It purges batch after batch until one comes back short.
// Between batches the writer is free: writes that queued during a batch
// commit before the next one starts (the group committer serves in order),
// so sign-ins and token requests are never stuck behind a long purge.
func (g *Gatehouse) PurgeOnce(ctx context.Context) bool {
	now := g.Now()
	lease := g.Config.Janitor.Interval * 3 / 2
	ok, err := g.Store.TryLock(ctx, janitorLock, g.nodeID, now, lease)
	if err != nil {
		g.Log.Warn("janitor lease", "error", err)
		return false
	}
	if !ok {
		return false
	}
	policy := store.PurgePolicy{
		RevokedRetention: g.Config.Janitor.RevokedRetention,
		RotatedRetention: g.Config.Janitor.RotatedRetention,
	}
	// The pass ends within its lease: one stalled on a lock would otherwise
	// go on after the lease lapsed, while another node's pass queued behind
	// the same lock. What is left is purged by the next pass.
	ctx, cancel := context.WithTimeout(ctx, lease)
	defer cancel()
	var total int64
	batches := 0
	for ctx.Err() == nil {
		n, err := g.Store.Purge(ctx, now, policy, g.purgeBatch)
		total += n
		g.nodeMetrics.purged.Add(float64(n))
		batches++
		if err != nil {
			g.Log.Warn("janitor purge", "error", err, "rows", total)
			return true
		}
		if n < int64(g.purgeBatch) {
			break
		}
	}
	if total > 0 {
		g.Log.Info("janitor purged expired rows", "rows", total, "batches", batches)
	}
	return true
}
