package user

import "github.com/prometheus/client_golang/prometheus"

// signInMetrics counts password checks by result, series resolved at start.
type signInMetrics struct {
	vec                         *prometheus.CounterVec
	success, failure, throttled prometheus.Counter
}

func newSignInMetrics() signInMetrics {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_sign_ins_total",
		Help: "Password checks (sign-ins and the console's and admin API's password confirmations) by result: success, failure, throttled.",
	}, []string{"result"})
	return signInMetrics{
		vec:       vec,
		success:   vec.WithLabelValues("success"),
		failure:   vec.WithLabelValues("failure"),
		throttled: vec.WithLabelValues("throttled"),
	}
}

// Metrics returns the sign-in and hashing collectors, for the node's registry.
func (s *Service) Metrics() []prometheus.Collector {
	return []prometheus.Collector{s.signIns.vec, s.hasher.rests}
}
