package integration

import (
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// Status is an integration's health, as the console, the API and the
// metrics show it.
type Status string

// Statuses.
const (
	StatusHealthy       Status = "healthy"
	StatusNeedsReauth   Status = "needs_reauthorization"
	StatusFailing       Status = "failing"
	StatusNotAuthorized Status = "not_authorized"
)

// Statuses lists every status, for the metrics.
var Statuses = []Status{StatusHealthy, StatusNeedsReauth, StatusFailing, StatusNotAuthorized}

// State is what is shown of an integration's vault: never a token.
type State struct {
	Status       Status
	Account      string
	Scope        string
	ExpiresAt    time.Time
	AuthorizedAt time.Time
	RefreshedAt  time.Time
	// Renewable: a refresh token is held, so the refresher renews the
	// access token (false also before the first authorization).
	Renewable bool
	Failures  int
	LastError *validation.Error // nil after a success
	ErrorAt   time.Time
}

// StateOf computes in's state at now.
func StateOf(in store.Integration, now time.Time) State {
	v := in.Vault
	st := State{
		Account: v.Account, Scope: v.Scope, ExpiresAt: v.ExpiresAt, AuthorizedAt: v.AuthorizedAt, RefreshedAt: v.RefreshedAt,
		Renewable: v.TokensSealed != nil && !v.NeedsReauth && !v.NextRefreshAt.IsZero(),
		Failures:  v.Failures, LastError: decodeWords(v.ErrorKey, v.ErrorDetail), ErrorAt: v.ErrorAt,
	}
	switch {
	case v.TokensSealed == nil:
		st.Status = StatusNotAuthorized
	case v.NeedsReauth, !st.Renewable && !v.ExpiresAt.IsZero() && !now.Before(v.ExpiresAt):
		st.Status = StatusNeedsReauth
	case v.Failures > 0:
		st.Status = StatusFailing
	default:
		st.Status = StatusHealthy
	}
	return st
}
