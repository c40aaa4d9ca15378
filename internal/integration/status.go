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
	sum := store.IntegrationSummary{Authorized: v.TokensSealed != nil, NeedsReauth: v.NeedsReauth, Failures: v.Failures,
		ExpiresAt: v.ExpiresAt, NextRefreshAt: v.NextRefreshAt}
	return State{
		Status: statusOf(sum, now), Account: v.Account, Scope: v.Scope,
		ExpiresAt: v.ExpiresAt, AuthorizedAt: v.AuthorizedAt, RefreshedAt: v.RefreshedAt, Renewable: renewable(sum),
		Failures: v.Failures, LastError: decodeWords(v.ErrorKey, v.ErrorDetail), ErrorAt: v.ErrorAt,
	}
}

// renewable: a refresh token is held and the refresher will use it.
func renewable(sum store.IntegrationSummary) bool {
	return sum.Authorized && !sum.NeedsReauth && !sum.NextRefreshAt.IsZero()
}

// statusOf is the status of the integration summed up by sum, at now.
func statusOf(sum store.IntegrationSummary, now time.Time) Status {
	switch {
	case !sum.Authorized:
		return StatusNotAuthorized
	case sum.NeedsReauth, !renewable(sum) && !sum.ExpiresAt.IsZero() && !now.Before(sum.ExpiresAt):
		return StatusNeedsReauth
	case sum.Failures > 0:
		return StatusFailing
	}
	return StatusHealthy
}
