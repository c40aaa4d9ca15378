package integration

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Refresh results, the label of gatehouse_integration_refreshes_total.
const (
	resultSuccess = "success"
	resultFailure = "failure" // tried again later
	resultReauth  = "reauthorization_needed"
)

// metrics exports the integrations: status and seconds until expiry read
// from the database at each scrape (the same on every node), refreshes
// counted by the node that made them.
type metrics struct {
	s         *Service
	refreshes *prometheus.CounterVec
	status    *prometheus.Desc
	expiry    *prometheus.Desc
}

func newMetrics(s *Service) *metrics {
	m := &metrics{
		s: s,
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_integration_refreshes_total",
			Help: "Token refreshes this node made, by result.",
		}, []string{"result"}),
		status: prometheus.NewDesc("gatehouse_integration_status",
			"1 for the integration's current status (healthy, needs_reauthorization, failing, not_authorized), 0 for the others.",
			[]string{"integration", "name", "status"}, nil),
		expiry: prometheus.NewDesc("gatehouse_integration_token_expiry_seconds",
			"Seconds until the integration's access token expires (negative once expired); absent without a token or a known lifetime.",
			[]string{"integration", "name"}, nil),
	}
	for _, r := range []string{resultSuccess, resultFailure, resultReauth} {
		m.refreshes.WithLabelValues(r)
	}
	return m
}

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	m.refreshes.Describe(ch)
	ch <- m.status
	ch <- m.expiry
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.refreshes.Collect(ch)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list, err := m.s.store.ListIntegrations(ctx)
	if err != nil {
		m.s.log.Warn("integration metrics: cannot list the integrations", "error", err)
		return
	}
	now := m.s.now()
	for _, in := range list {
		st := StateOf(in, now)
		for _, status := range Statuses {
			v := 0.0
			if st.Status == status {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(m.status, prometheus.GaugeValue, v, in.ID, in.Name, string(status))
		}
		if in.Vault.TokensSealed != nil && !in.Vault.ExpiresAt.IsZero() {
			ch <- prometheus.MustNewConstMetric(m.expiry, prometheus.GaugeValue, in.Vault.ExpiresAt.Sub(now).Seconds(), in.ID, in.Name)
		}
	}
}
