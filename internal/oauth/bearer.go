package oauth

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/clientip"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
)

// Principal is who a valid access token acts for.
type Principal struct {
	Token  store.Token
	Client store.Client
	User   *store.User // nil for a client-credentials token
	// Scopes are what the token may do now: its scopes capped by the
	// application's current list and the user's current level.
	Scopes []string
	// noScopeLeft marks a token refused only because that capping left it
	// nothing (RFC 6750 §3.1: insufficient_scope rather than invalid_token).
	noScopeLeft bool
}

// inspect checks an access or refresh token and returns its principal, or
// ok false when the token is not active. The token and its user are read in
// one query, or on SQLite from the store's read cache, which serves a row
// only while it can prove it current (sqlstore's readCache): either way a
// revocation, a disabled user or a lowered level takes effect at once; the
// application comes from the bounded cache (see store.ClientCache), so a
// narrowed scope list takes effect within its lifetime. A token left with no
// scope is not active. caller, when not nil, is the application this request
// authenticated as, read a moment ago: the token's own application is not
// read twice.
func (s *Server) inspect(ctx context.Context, kind token.Kind, value string, caller *store.Client) (p Principal, ok bool, err error) {
	t, u, err := s.readToken(ctx, kind, value)
	if errors.Is(err, store.ErrNotFound) {
		return p, false, nil
	}
	if err != nil || !t.Active(s.now()) {
		return p, false, err
	}
	var c store.Client
	if caller != nil && caller.ID == t.ClientID {
		c = *caller
	} else {
		c, err = s.store.ClientByID(ctx, t.ClientID)
	}
	if errors.Is(err, store.ErrNotFound) || (err == nil && !c.Enabled) {
		return p, false, nil
	}
	if err != nil {
		return p, false, err
	}
	p = Principal{Token: t, Client: c}
	var level *store.Level
	if t.UserID != "" {
		if u == nil || u.Disabled || !app.MayUse(c, *u) {
			return p, false, nil
		}
		p.User, level = u, &u.Level
	}
	p.Scopes, _ = s.effectiveScopes(strings.Fields(t.Scope), c, level)
	p.noScopeLeft = len(p.Scopes) == 0
	return p, !p.noScopeLeft, nil
}

// readToken finds the token value names, and its user; ErrNotFound when
// there is none or value is not one of ours. A token the store holds in
// memory is genuine, its keyed hash having matched: the tag's MAC is
// computed only before a database read, which it spares a forged value.
func (s *Server) readToken(ctx context.Context, kind token.Kind, value string) (store.Token, *store.User, error) {
	hash, shaped := s.minter.HashOf(kind, value)
	if !shaped {
		return store.Token{}, nil, store.ErrNotFound
	}
	if t, u, ok := s.store.CachedTokenWithUser(hash); ok {
		return t, u, nil
	}
	if !s.minter.Tagged(kind, value) {
		return store.Token{}, nil, store.ErrNotFound
	}
	return s.store.TokenWithUser(ctx, hash)
}

// BearerError is an RFC 6750 §3 failure.
type BearerError struct {
	Status      int
	Code        string // "" when the request carried no token at all (§3.1)
	Description string
}

func (e *BearerError) Error() string { return e.Code + ": " + e.Description }

// CarriesAuthorization reports whether r has an Authorization header at
// all, even an empty one or several: such a request is judged by its
// header alone (Authenticate refuses what is not one Bearer token), never
// by a browser session.
func CarriesAuthorization(r *http.Request) bool {
	_, ok := r.Header["Authorization"]
	return ok
}

// Authenticate checks the Bearer token of a request to a protected resource
// (RFC 6750 §2.1): active, from an allowed address, with a scope left after
// capping by the user's current level.
func (s *Server) Authenticate(r *http.Request) (Principal, error) {
	if len(r.Header["Authorization"]) > 1 {
		return Principal{}, &BearerError{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Description: "the request must carry one Authorization header: Bearer <access token>"}
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return Principal{}, &BearerError{Status: http.StatusUnauthorized, Description: "a Bearer token is required"}
	}
	scheme, value, found := strings.Cut(auth, " ")
	value = strings.TrimSpace(value)
	if !strings.EqualFold(scheme, "Bearer") {
		// Another scheme (Basic, say) carries no Bearer token: RFC 6750 §3.1
		// asks for the bare challenge, as for no header at all.
		return Principal{}, &BearerError{Status: http.StatusUnauthorized, Description: "a Bearer token is required"}
	}
	if !found || !isB64Token(value) {
		return Principal{}, &BearerError{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Description: "the request must carry one Authorization header: Bearer <access token>"}
	}
	ctx := r.Context()
	p, ok, err := s.inspect(ctx, token.Access, value, nil)
	if err != nil {
		return Principal{}, err
	}
	if !ok {
		if p.noScopeLeft {
			return Principal{}, &BearerError{Status: http.StatusForbidden, Code: CodeInsufficientScope, Description: "no scope of this token is allowed any more: the application's scopes or your permission level were lowered"}
		}
		return Principal{}, &BearerError{Status: http.StatusUnauthorized, Code: CodeInvalidToken, Description: "the access token is invalid, expired or revoked"}
	}
	if !app.AddressAllowed(p.Client, clientip.From(ctx)) {
		return Principal{}, &BearerError{Status: http.StatusForbidden, Code: CodeInvalidToken, Description: "this token may not be used from this address (IP allow-list)"}
	}
	return p, nil
}

// isB64Token reports whether v has RFC 6750 §2.1's b64token syntax:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(v string) bool {
	body := strings.TrimRight(v, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			return false
		}
	}
	return true
}

// bearerChallenge is RFC 6750 §3's WWW-Authenticate value; a request that
// sent no token (code "") is told only the scheme and realm.
func bearerChallenge(code, description string) string {
	if code == "" {
		return `Bearer realm="gatehouse"`
	}
	return `Bearer realm="gatehouse", error="` + code + `", error_description="` + wireText(description) + `"`
}

// WriteBearerError answers a failed Authenticate (RFC 6750 §3); a failure
// of the server itself is answered as the token endpoint answers it.
func (s *Server) WriteBearerError(w http.ResponseWriter, err error) {
	var be *BearerError
	if !errors.As(err, &be) {
		writeError(w, s.log, err)
		return
	}
	w.Header().Set("WWW-Authenticate", bearerChallenge(be.Code, be.Description))
	writeJSON(w, be.Status, struct {
		Error       string `json:"error,omitempty"`
		Description string `json:"error_description"`
	}{be.Code, wireText(be.Description)})
}
