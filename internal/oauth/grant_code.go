package oauth

import (
	"context"
	"errors"
	"strings"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
)

// grantAuthorizationCode redeems a code (RFC 6749 §4.1.3, RFC 7636 §4.5-4.6).
// Validation reads the code without using it up; RedeemCode then marks it
// used and stores the tokens in one transaction, so exactly one request wins
// and a replay revokes what the code issued (RFC 6749 §10.5).
func (s *Server) grantAuthorizationCode(ctx context.Context, c store.Client, form *formValues) (*tokenResponse, error) {
	value := form[paramCode]
	if value == "" {
		return nil, invalidRequest("code is required")
	}
	hash, ok := s.minter.Parse(token.Code, value)
	if !ok {
		return nil, invalidGrant("the authorization code is invalid")
	}
	code, err := s.store.CodeByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalidGrant("the authorization code is invalid or expired")
	}
	if err != nil {
		return nil, serverError(err)
	}
	if code.ClientID != c.ID {
		return nil, invalidGrant("the authorization code was issued to another application")
	}
	if !code.UsedAt.IsZero() {
		return nil, s.redeemReplay(ctx, hash)
	}
	if !s.now().Before(code.ExpiresAt) {
		return nil, invalidGrant("the authorization code has expired")
	}
	if !redirectMatches(code, c, form[paramRedirectURI]) {
		return nil, invalidGrant("redirect_uri does not match the one of the authorization request")
	}
	// A URI removed since the code was sent there may be one the
	// application gave up, or lost to someone else: its codes stop with it.
	if _, ok := app.MatchRedirectURI(c.RedirectURIs, code.RedirectURI); code.RedirectURI != "" && !ok {
		return nil, invalidGrant("the redirect_uri this code was sent to is no longer registered for the application")
	}
	verifier := form[paramCodeVerifier]
	switch {
	case code.Challenge != "" && verifier == "":
		return nil, invalidGrant("code_verifier is required: the authorization request sent a code_challenge")
	case code.Challenge == "" && verifier != "":
		return nil, invalidGrant("code_verifier was sent but the authorization request had no code_challenge")
	case code.Challenge != "" && !verifyPKCE(code.ChallengeMethod, code.Challenge, verifier):
		return nil, invalidGrant("code_verifier does not match the code_challenge")
	case code.Challenge == "" && (c.Public || c.RequirePKCE):
		return nil, invalidGrant("this application must use PKCE")
	}
	// The application's scopes may have been narrowed since the consent (its
	// user's level was applied there, and is again at every use).
	scopes, _ := s.effectiveScopes(strings.Fields(code.Scope), c, nil)
	if len(scopes) == 0 {
		return nil, invalidGrant("none of the scopes of this code are allowed to the application any more")
	}
	p, err := s.mint(c, code.UserID, scopes, code.GrantID, code.CreatedAt, app.HasGrant(c, app.GrantRefreshToken))
	if err != nil {
		return nil, err
	}
	err = s.store.RedeemCode(ctx, hash, s.now(), p.issue)
	switch {
	case errors.Is(err, store.ErrCodeReused): // a concurrent request redeemed it first
		s.metrics.replayed.Inc()
		return nil, invalidGrant("the authorization code was already used; the tokens issued for it are revoked")
	case errors.Is(err, store.ErrNotFound):
		return nil, invalidGrant("the authorization code is invalid or expired")
	case err != nil:
		return nil, serverError(err)
	}
	s.metrics.redeemed.Inc()
	return p.response, nil
}

// redeemReplay lets the store revoke what a reused code issued.
func (s *Server) redeemReplay(ctx context.Context, hash []byte) error {
	s.metrics.replayed.Inc()
	err := s.store.RedeemCode(ctx, hash, s.now(), store.Issue{})
	if err != nil && !errors.Is(err, store.ErrCodeReused) && !errors.Is(err, store.ErrNotFound) {
		return serverError(err)
	}
	return invalidGrant("the authorization code was already used; the tokens issued for it are revoked")
}

// redirectMatches reports whether a token request's redirect_uri (sent
// empty when omitted) fits the code's authorization request: identical when
// that request sent one (RFC 6749 §4.1.3); else omitted, or the application's
// one registered URI, where the code went (libraries always send it).
func redirectMatches(code store.Code, c store.Client, sent string) bool {
	if code.RedirectURI != "" || sent == "" {
		return sent == code.RedirectURI
	}
	return len(c.RedirectURIs) == 1 && sent == c.RedirectURIs[0]
}
