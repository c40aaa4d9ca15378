package config

import (
	"fmt"
	"time"
)

// Integrations tunes the outgoing OAuth 2.0 integrations (internal/integration).
type Integrations struct {
	// RequestTimeout bounds one request to a provider. A refresh lease lasts
	// one and a half times as long plus 2 seconds, so a node that died while
	// refreshing holds an integration for at most that.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// PollInterval is the refresher's longest sleep: how soon a node sees
	// tokens that another node stored.
	PollInterval time.Duration `yaml:"poll_interval"`
	// BackgroundRefresh renews tokens before they expire (the default).
	// Off, tokens are refreshed only when asked for: for a copy of the data
	// started to rehearse an upgrade, whose refreshes would present the
	// live node's refresh tokens and, at a provider that detects reuse,
	// revoke its grants.
	BackgroundRefresh bool `yaml:"background_refresh"`
}

func (i Integrations) validate() []error {
	var errs []error
	if i.RequestTimeout < time.Second || i.RequestTimeout > 5*time.Minute {
		errs = append(errs, fmt.Errorf("integrations.request_timeout must be 1s to 5m, not %v", i.RequestTimeout))
	}
	if i.PollInterval < 100*time.Millisecond || i.PollInterval > time.Hour {
		errs = append(errs, fmt.Errorf("integrations.poll_interval must be 100ms to 1h, not %v", i.PollInterval))
	}
	return errs
}
