package oauth

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
)

// grantRefreshToken rotates a refresh token (RFC 6749 §6, RFC 9700 §4.14.2):
// the old refresh token and its access token stop working, a new pair is
// returned, and reuse of a rotated token revokes the whole grant — except
// within the grace window, where a retry whose answer was lost still gets a
// working pair.
func (s *Server) grantRefreshToken(ctx context.Context, c store.Client, form *formValues) (*tokenResponse, error) {
	value := form[paramRefreshToken]
	if value == "" {
		return nil, invalidRequest("refresh_token is required")
	}
	hash, ok := s.minter.Parse(token.Refresh, value)
	if !ok {
		return nil, invalidGrant("the refresh token is invalid")
	}
	old, u, err := s.store.TokenWithUser(ctx, hash)
	if errors.Is(err, store.ErrNotFound) || (err == nil && old.Kind != store.KindRefresh) {
		return nil, invalidGrant("the refresh token is invalid")
	}
	if err != nil {
		return nil, serverError(err)
	}
	if old.ClientID != c.ID {
		return nil, invalidGrant("the refresh token was issued to another application")
	}
	granted := strings.Fields(old.Scope)
	scopes := granted
	if form[paramScope] != "" {
		// RFC 6749 §6: a narrower scope may be asked for, never a wider one:
		// anything the grant includes (READ of a WRITE grant) that the
		// application may still ask for (SPEC §4).
		var e *Error
		if scopes, e = s.requestedScopes(form[paramScope], s.grantable(granted, c), false); e != nil {
			return nil, invalidScope("the requested scope must be within the original grant (" + scope.Format(granted) + ") and the application's scopes (" + scope.Format(c.Scopes) + ")")
		}
	}
	if u == nil || u.Disabled || !app.MayUse(c, *u) {
		return nil, invalidGrant("the user of this grant may no longer use this application")
	}
	// The user's level or the application's scopes may have been lowered:
	// the access token carries only what the two still allow.
	scopes, _ = s.effectiveScopes(scopes, c, &u.Level)
	if len(scopes) == 0 {
		return nil, invalidGrant("none of the granted scopes are allowed any more: the application's scopes or the user's level were lowered")
	}
	p, err := s.mint(c, old.UserID, scopes, old.GrantID, old.GrantedAt, true)
	if err != nil {
		return nil, err
	}
	// §6: the new refresh token's scope is identical to the old one's. A
	// narrower request, a lowered level or a narrowed application shrinks this
	// access token only, so a later refresh may ask again for anything
	// originally granted once it is allowed again.
	p.issue.Refresh.Scope = old.Scope
	err = s.store.RotateRefreshToken(ctx, hash, s.now(), s.settings.RefreshGrace, p.issue)
	switch {
	case errors.Is(err, store.ErrTokenReused):
		s.metrics.reuse.Inc()
		return nil, invalidGrant("the refresh token was already used; every token of this grant is revoked")
	case errors.Is(err, store.ErrNotFound):
		return nil, invalidGrant("the refresh token is invalid, expired or revoked")
	case err != nil:
		return nil, serverError(err)
	}
	return p.response, nil
}

// grantable is what a refresh of a grant of these scopes may ask for: every
// scope the grant includes that application c's scopes include too.
func (s *Server) grantable(granted []string, c store.Client) []string {
	reach := s.scopes.Expand(c.Scopes)
	return slices.DeleteFunc(s.scopes.Expand(granted), func(name string) bool { return !slices.Contains(reach, name) })
}
