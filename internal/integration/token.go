package integration

import (
	"context"
	"errors"
	"time"
)

// Token is an integration's current access token, as other services use it
// (the mail connection test, the token API).
type Token struct {
	AccessToken string
	TokenType   string    // "Bearer" unless the provider said otherwise
	ExpiresAt   time.Time // zero when the provider gave no lifetime
	Scope       string    // the scopes granted, space-separated
	Account     string    // the account the tokens act for (e.g. ops@example.com), when known
}

// ErrNeedsReauthorization is wrapped by AccessToken's error when the
// integration holds no usable grant: never authorized, or the provider
// refused the refresh token (invalid_grant). Only an administrator pressing
// Authorize again can fix it; retrying cannot.
var ErrNeedsReauthorization = errors.New("the integration needs to be authorized again")

// AccessToken returns a current access token of the integration with this
// ID: the stored one, or a refreshed one when it is inside the refresh
// margin or forceRefresh is set. In a cluster only one node refreshes at a
// time; the others wait for its result. errors.Is(err,
// ErrNeedsReauthorization) tells a grant that is gone from a failure that a
// retry may outlast; store.ErrNotFound an unknown ID.
func (s *Service) AccessToken(ctx context.Context, id string, forceRefresh bool) (Token, error) {
	return s.accessToken(ctx, id, forceRefresh)
}
