package server

import (
	"context"
	"net"
	"net/http"
	"net/netip"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse/gatehouse/internal/integration"
)

// openIntegrations builds the metrics registry and the integrations service.
func (g *Gatehouse) openIntegrations() {
	g.Metrics = prometheus.NewRegistry()
	cfg := g.Config
	g.Integrations = integration.New(g.Store, g.Keys, integration.Options{
		BaseURL: cfg.BaseURL, Dev: cfg.Dev, Node: g.nodeID,
		RequestTimeout: cfg.Integrations.RequestTimeout, PollInterval: cfg.Integrations.PollInterval,
		Now: g.Now, Log: g.Log, Metrics: g.Metrics,
	})
}

// runRefresher renews the integrations' tokens until ctx ends, then
// waits for the refreshes in flight; done is closed when it returns.
func (g *Gatehouse) runRefresher(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	g.Integrations.RunRefresher(ctx)
}

// handleMetrics serves the Prometheus metrics to a caller on this machine
// only: the TCP peer must be a loopback address and the request must not
// have come through a proxy (which would make every caller look local).
func (g *Gatehouse) handleMetrics() http.Handler {
	h := promhttp.HandlerFor(g.Metrics, promhttp.HandlerOpts{ErrorLog: nil})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !localCaller(r) {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func localCaller(r *http.Request) bool {
	if r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" || r.Header.Get("X-Real-Ip") != "" {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
