package integration

import (
	"context"
	"sync"
	"time"
)

// Refresher settings: how many integrations a node claims at a time, and how
// many it refreshes at once (each refresh waits on a provider).
const (
	claimBatch     = 16
	refreshWorkers = 4
)

// RunRefresher renews tokens before they expire until ctx ends, then waits
// for the refreshes in flight. Every node runs one; the leases make each
// integration's refresh happen on one of them. It sleeps until the earliest
// scheduled refresh (read from the index, never by scanning), at most the
// poll interval, so that it sees schedules other nodes wrote.
func (s *Service) RunRefresher(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	workers := make(chan struct{}, refreshWorkers)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-s.wake:
		}
		s.RefreshDue(ctx, &wg, workers)
		timer.Reset(s.untilNext(ctx))
	}
}

// RefreshDue claims the integrations that are due and starts their
// refreshes, at most cap(workers) at once; wg counts them.
func (s *Service) RefreshDue(ctx context.Context, wg *sync.WaitGroup, workers chan struct{}) {
	for ctx.Err() == nil {
		claimed, err := s.store.ClaimDueIntegrations(ctx, s.holder, s.now(), s.lease, claimBatch)
		if err != nil {
			s.log.Warn("integration refresher: cannot read the due integrations", "error", err)
			return
		}
		for _, in := range claimed {
			workers <- struct{}{}
			wg.Go(func() {
				defer func() { <-workers }()
				// Detached: a refresh under way must store what the provider answered.
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.lease)
				defer cancel()
				s.refreshHeld(rctx, in, false, time.Time{})
			})
		}
		if len(claimed) < claimBatch {
			return
		}
	}
}

// untilNext is how long the refresher may sleep.
func (s *Service) untilNext(ctx context.Context) time.Duration {
	next, err := s.store.NextIntegrationRefresh(ctx)
	if err != nil || next.IsZero() {
		return s.poll
	}
	return min(s.poll, max(next.Sub(s.now()), 10*time.Millisecond))
}
