package oauth

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/app"
)

// Outcomes of a token request besides the RFC 6749 §5.2 error codes.
const (
	outcomeIssued   = "issued"
	outcomeCanceled = "canceled" // the client hung up first
	grantOther      = "other"    // a missing or unsupported grant_type
)

// metrics counts what the token endpoint does. Every series is resolved at
// start, so counting costs two map reads and an atomic add; labels come
// from fixed sets only, never from a client's input.
type metrics struct {
	grantsVec *prometheus.CounterVec
	grants    map[string]map[string]prometheus.Counter // grant type → outcome
	reuse     prometheus.Counter
	codesVec  *prometheus.CounterVec
	redeemed  prometheus.Counter
	replayed  prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		grantsVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_token_requests_total",
			Help: "Token endpoint requests by grant_type and outcome: issued, or the OAuth error code answered.",
		}, []string{"grant_type", "outcome"}),
		grants: map[string]map[string]prometheus.Counter{},
		reuse: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatehouse_refresh_token_reuse_total",
			Help: "Rotated refresh tokens presented again past the grace window; each revoked its grant.",
		}),
		codesVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_authorization_codes_total",
			Help: "Authorization codes redeemed, and replayed (a used code presented again; the tokens it issued are revoked).",
		}, []string{"outcome"}),
	}
	m.redeemed = m.codesVec.WithLabelValues("redeemed")
	m.replayed = m.codesVec.WithLabelValues("replayed")
	// The outcomes each can have: a request without a known grant type is
	// refused before anything else is looked at.
	granted := []string{outcomeIssued, outcomeCanceled, CodeInvalidRequest, CodeInvalidClient, CodeInvalidGrant,
		CodeUnauthorizedClient, CodeInvalidScope, CodeServerError, CodeTemporarilyUnavailable}
	for g, outcomes := range map[string][]string{
		app.GrantAuthorizationCode: granted, app.GrantRefreshToken: granted, app.GrantClientCredentials: granted,
		grantOther: {CodeInvalidRequest, CodeUnsupportedGrantType},
	} {
		m.grants[g] = map[string]prometheus.Counter{}
		for _, o := range outcomes {
			m.grants[g][o] = m.grantsVec.WithLabelValues(g, o)
		}
	}
	return m
}

// token counts one token request; err is what it was answered with.
func (m *metrics) token(grantType string, err error) {
	byOutcome, ok := m.grants[grantType]
	if !ok {
		byOutcome = m.grants[grantOther]
	}
	outcome := outcomeIssued
	if err != nil {
		e := asError(err)
		outcome = e.Code
		if e.Status == StatusClientClosedRequest {
			outcome = outcomeCanceled
		}
	}
	// Only the outcomes resolved above can happen; anything else would be a
	// new error code, left uncounted rather than made a label unchecked.
	if c, ok := byOutcome[outcome]; ok {
		c.Inc()
	}
}

// Metrics returns the token endpoint's collectors, for the node's registry.
func (s *Server) Metrics() []prometheus.Collector {
	return []prometheus.Collector{s.metrics.grantsVec, s.metrics.reuse, s.metrics.codesVec}
}
