package config

import (
	"fmt"
	"net"
	"net/netip"
)

// Metrics says who may read the Prometheus metrics at /metrics, and where.
type Metrics struct {
	// Allow lists CIDRs (or single addresses) of scrapers besides loopback,
	// which is always allowed. The TCP peer is checked, never a forwarded
	// address.
	Allow []string `yaml:"allow"`
	// Listen, when set, is a second address that serves /metrics alone; the
	// main listener then does not serve it.
	Listen string `yaml:"listen"`
}

func (m Metrics) validate(c *Config) []error {
	var errs []error
	for _, a := range m.Allow {
		if _, err := netip.ParsePrefix(a); err != nil {
			if _, err := netip.ParseAddr(a); err != nil {
				errs = append(errs, fmt.Errorf("metrics.allow: %q is not an IP address or CIDR", a))
			}
		}
	}
	if m.Listen == "" {
		return errs
	}
	if _, _, err := net.SplitHostPort(m.Listen); err != nil {
		return append(errs, fmt.Errorf("metrics.listen %q must be host:port", m.Listen))
	}
	if m.Listen == c.Listen || m.Listen == c.TLS.RedirectListen {
		errs = append(errs, fmt.Errorf("metrics.listen %q must differ from listen and tls.redirect_listen", m.Listen))
	}
	return errs
}
