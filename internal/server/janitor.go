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
func (g *Gatehouse) runJanitor(ctx context.Context) {
	every := g.Config.Janitor.Interval
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		g.PurgeOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// PurgeOnce runs one janitor pass if this node holds the lease; it reports
// whether it ran.
func (g *Gatehouse) PurgeOnce(ctx context.Context) bool {
	now := g.Now()
	ok, err := g.Store.TryLock(ctx, janitorLock, g.nodeID, now, g.Config.Janitor.Interval*3/2)
	if err != nil {
		g.Log.Warn("janitor lease", "error", err)
		return false
	}
	if !ok {
		return false
	}
	n, err := g.Store.Purge(ctx, now, store.PurgePolicy{
		RevokedRetention: g.Config.Janitor.RevokedRetention,
		RotatedRetention: g.Config.Janitor.RotatedRetention,
	})
	if err != nil {
		g.Log.Warn("janitor purge", "error", err)
		return true
	}
	if n > 0 {
		g.Log.Info("janitor purged expired rows", "rows", n)
	}
	return true
}
