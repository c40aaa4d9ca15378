package resource

import (
	"context"
	"net/http"
	"slices"
	"time"
)

// Token is what introspection said about a request's access token.
type Token struct {
	// Username is the user the token acts for; empty for an application's
	// own token (the client_credentials grant).
	Username string
	// Subject is the user's ID, or the client ID for an application's own
	// token.
	Subject string
	// ClientID is the application the token was issued to.
	ClientID string
	// Scopes are the scope names the token lists, as introspection answers
	// them (granted scopes, capped by the user's current permission level;
	// not what they imply).
	Scopes []string
	// Expiry is when the token expires; zero if introspection did not say.
	Expiry time.Time
}

// HasScope reports whether the token lists the scope name (exactly; see
// RequireScope).
func (t Token) HasScope(name string) bool {
	return slices.Contains(t.Scopes, name)
}

type contextKey struct{}

// principal is what Middleware.Handler puts in the request context.
type principal struct {
	tok   Token
	realm string // for RequireScope's challenge
}

// FromContext returns the token of a request that passed Middleware.Handler.
func FromContext(ctx context.Context) (Token, bool) {
	p, ok := ctx.Value(contextKey{}).(*principal)
	if !ok {
		return Token{}, false
	}
	return p.tok, true
}

// RequireScope returns middleware that lets a request through when its token
// lists at least one of the scope names, and otherwise answers 403
// insufficient_scope naming them all (RFC 6750 §3.1). Names match exactly as
// introspection lists them: Gatehouse lists what a token was granted, not
// what that implies, so list every scope that suffices, such as
// RequireScope("READ", "WRITE", "ADMIN", "SYSTEM_ADMIN") in the atlassian
// catalogue where each includes READ. With no names it refuses every token.
//
// It must run behind Middleware.Handler; a request that did not pass one is
// answered 500, never let through.
func RequireScope(scopes ...string) func(http.Handler) http.Handler {
	scopes = slices.Clone(scopes)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := r.Context().Value(contextKey{}).(*principal)
			if !ok {
				http.Error(w, "resource: RequireScope runs without Middleware.Handler in front of it", http.StatusInternalServerError)
				return
			}
			if !slices.ContainsFunc(scopes, p.tok.HasScope) {
				insufficientScope.write(w, p.realm, scopes)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
