package server

import (
	"context"
	"errors"
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

// The janitor paces a pass over a backlog so that it never holds the
// database for long, nor for more than a fifth of the time. On SQLite its
// batches take the one writer that token requests and sign-ins wait for:
// 1,000-row batches back to back, 220 ms each on a 2 GB file, left the token
// endpoint at 8 requests a second for minutes, and the WAL grew by hundreds
// of megabytes because the checkpointer never caught up.
const (
	// purgeBatch bounds the rows of one purge transaction, however fast
	// the database deletes them.
	purgeBatch = 1000
	// purgeBatchTime is the time one batch aims at: each batch deletes as
	// many rows as the previous one deleted in that time.
	purgeBatchTime = 5 * time.Millisecond
	// purgeMinRows is the least a batch asks for, so a pass moves on
	// however slow the database is.
	purgeMinRows = 16
	// purgeRest is how many times its own duration the janitor rests after
	// each batch: its share of the writer is at most 1/(1+purgeRest).
	purgeRest = 4
)

// PurgeOnce runs one janitor pass if this node holds the lease; it reports
// whether it ran. It purges batch after batch until one comes back short,
// each sized to take about purgeBatchTime and followed by a rest purgeRest
// times as long as it took (queueing for the writer included). On SQLite a
// batch commits alone, after the writes queued with it, so sign-ins and
// token requests wait at most for one short batch.
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
		AuditRetention:   g.Config.Janitor.AuditRetention,
	}
	// The pass ends within its lease: one stalled on a lock would otherwise
	// go on after the lease lapsed, while another node's pass queued behind
	// the same lock. What is left is purged by the next pass.
	ctx, cancel := context.WithTimeout(ctx, lease)
	defer cancel()
	began := time.Now()
	var total int64
	batches := 0
	limit := min(purgeMinRows, g.purgeBatch)
	for ctx.Err() == nil {
		start := time.Now()
		n, err := g.Store.Purge(ctx, now, policy, limit)
		took := time.Since(start)
		total += n
		g.nodeMetrics.purged.Add(float64(n))
		batches++
		if err != nil {
			g.Log.Warn("janitor purge", "error", err, "rows", total)
			return true
		}
		if n < int64(limit) {
			break
		}
		limit = nextPurgeLimit(limit, took, g.purgeBatch)
		rest := time.NewTimer(purgeRest * took)
		select {
		case <-ctx.Done():
		case <-rest.C:
		}
		rest.Stop()
	}
	if total > 0 {
		g.Log.Info("janitor purged expired rows", "rows", total, "batches", batches, "took", time.Since(began).Round(time.Millisecond))
	}
	g.finishDeletions(ctx)
	return true
}

// finishDeletions finishes the deletions of applications that were cut
// short (a node stopped, or its database went away, between the batches
// of a deletion): every application found deleting by this pass and the
// one before, so that one under way is left to the request doing it, which
// would anyway succeed if the janitor finished first. A cut-short
// application lets no token be used and cannot be enabled, but kept its
// name and the rest of its tokens until an administrator deleted it again.
func (g *Gatehouse) finishDeletions(ctx context.Context) {
	ids, err := g.Store.DeletingClients(ctx)
	if err != nil {
		g.Log.Warn("janitor: applications being deleted", "error", err)
		return
	}
	g.deletingMu.Lock()
	defer g.deletingMu.Unlock()
	seen := g.deletingSeen
	g.deletingSeen = make(map[string]bool, len(ids))
	for _, id := range ids {
		g.deletingSeen[id] = true
		if !seen[id] || ctx.Err() != nil {
			continue
		}
		switch err := g.Store.DeleteClient(ctx, id, nil); {
		case err == nil:
			g.Log.Info("janitor finished an application's deletion that was cut short", "client_id", id)
		case !errors.Is(err, store.ErrNotFound): // not gone meanwhile
			g.Log.Warn("janitor: finishing an application's deletion", "client_id", id, "error", err)
		}
	}
}

// nextPurgeLimit sizes the batch after one that asked for limit rows and
// took took: as many rows as fit in purgeBatchTime at that pace, at most
// twice as many as before (one fast batch proves little), and between
// purgeMinRows and most.
func nextPurgeLimit(limit int, took time.Duration, most int) int {
	next := 2 * limit
	if took > 0 {
		next = min(next, int(int64(limit)*int64(purgeBatchTime)/int64(took)))
	}
	return max(min(purgeMinRows, most), min(next, most))
}
