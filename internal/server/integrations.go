package server

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/internal/integration"
)

// openIntegrations builds the integrations service; its metrics go to the
// node's registry. waitForProviders lets a caller wait as long as a refresh
// may take: its lease, which outlasts the request and the write after it.
func (g *Gatehouse) openIntegrations(waitForProviders bool) {
	cfg := g.Config
	var answerWithin time.Duration // the service's default
	if waitForProviders {
		answerWithin = integration.LeaseFor(cfg.Integrations.RequestTimeout) + cfg.Integrations.RequestTimeout
	}
	g.Integrations = integration.New(g.Store, g.Keys, integration.Options{
		BaseURL: cfg.BaseURL, Dev: cfg.Dev, Node: g.nodeID,
		RequestTimeout: cfg.Integrations.RequestTimeout, PollInterval: cfg.Integrations.PollInterval,
		AnswerWithin: answerWithin, Now: g.Now, Log: g.Log, Metrics: g.Metrics,
	})
}

// runRefresher renews the integrations' tokens until ctx ends, then
// waits for the refreshes in flight; done is closed when it returns, at
// once when background refresh is off.
func (g *Gatehouse) runRefresher(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	if !g.Config.Integrations.BackgroundRefresh {
		g.Log.Warn("integration tokens are refreshed only when asked for (integrations.background_refresh: false)")
		return
	}
	g.Integrations.RunRefresher(ctx)
}
