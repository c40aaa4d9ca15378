package oauth

import (
	"context"
	"errors"

	"github.com/gatehouse/gatehouse/internal/store"
)

// grantClientCredentials issues a token that acts for the application itself
// (RFC 6749 §4.4): confidential clients only, no user, no refresh token
// (§4.4.3), scopes within the application's list (all of them by default).
func (s *Server) grantClientCredentials(ctx context.Context, c store.Client, form *formValues) (*tokenResponse, error) {
	if c.Public {
		return nil, unauthorizedClient("a public application cannot use client_credentials")
	}
	scopes, e := s.requestedScopes(form[paramScope], c.Scopes, true)
	if e != nil {
		return nil, e
	}
	now := s.now()
	p, err := s.mint(c, "", scopes, NewGrantID(now), now, false)
	if err != nil {
		return nil, err
	}
	if err := s.store.IssueTokens(ctx, p.issue); errors.Is(err, store.ErrNotFound) {
		return nil, errClientGone
	} else if err != nil {
		return nil, serverError(err)
	}
	return p.response, nil
}
