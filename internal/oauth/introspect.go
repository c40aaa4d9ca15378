package oauth

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
)

// introspection is the RFC 7662 §2.2 answer.
type introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Username  string `json:"username,omitempty"`
	Sub       string `json:"sub,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
	Iat       int64  `json:"iat,omitempty"`
	Iss       string `json:"iss,omitempty"`
}

// handleIntrospect serves RFC 7662. The caller authenticates as a
// confidential application, or with a Bearer token of an administrator whose
// token holds an administrator-level scope. An application learns only about
// the tokens issued to it unless it may introspect any (store.Client's
// IntrospectAny, for resource servers): another client's token is answered
// as inactive (§4; RFC 9700 §2.3), so one client's credentials tell nothing
// about another's tokens. A refresh token is active to its own application
// and administrators only (mayLearnAbout). A token that is not active gets only
// {"active":false} (§2.2), whatever the reason.
func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	resp, err := s.introspect(w, r)
	if err != nil {
		writeError(w, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) introspect(w http.ResponseWriter, r *http.Request) (*introspection, error) {
	form, e := readForm(w, r, s.settings.CompatQuery)
	if e != nil {
		return nil, e
	}
	caller, admin, err := s.authorizeIntrospection(r, &form)
	if err != nil {
		return nil, err
	}
	value := form[paramToken]
	if value == "" {
		return nil, invalidRequest("token is required")
	}
	kind := token.KindOf(value)
	if kind != token.Access && kind != token.Refresh {
		return &introspection{}, nil
	}
	p, ok, err := s.inspect(r.Context(), kind, value, &caller)
	if err != nil {
		return nil, serverError(err)
	}
	if !ok || !admin && !mayLearnAbout(&caller, p) {
		return &introspection{}, nil
	}
	out := &introspection{
		Active: true, Scope: scope.Format(p.Scopes), ClientID: p.Client.ID, Sub: p.Client.ID,
		TokenType: "bearer", Iat: p.Token.CreatedAt.Unix(), Iss: s.settings.Issuer,
	}
	if p.Token.Kind == store.KindRefresh {
		out.TokenType = "refresh_token"
	}
	if !p.Token.ExpiresAt.IsZero() {
		out.Exp = p.Token.ExpiresAt.Unix()
	}
	if p.User != nil {
		out.Username, out.Sub = p.User.Username, p.User.ID
	}
	return out, nil
}

// mayLearnAbout reports whether the application caller may learn that p's
// token is active (an administrator's token may learn about any): its own
// application may, and a resource server that may introspect any token may
// for access tokens. A refresh token is its application's credential, never
// a Bearer token (RFC 6749 §1.5), so to a resource server it is inactive: one
// that checks only "active" (Dovecot's passdb does) cannot take it for an
// access token.
func mayLearnAbout(caller *store.Client, p Principal) bool {
	switch {
	case caller.ID == p.Client.ID:
		return true
	case p.Token.Kind == store.KindRefresh:
		return false
	}
	return caller.IntrospectAny
}

// authorizeIntrospection admits a confidential application, which it
// returns, or an administrator's Bearer token carrying an administrator-level
// scope (admin: every token may be introspected). The application comes back
// by value: a pointer would put it on the heap on every introspection. A
// Bearer header beside client credentials in the body is the client's
// second method, refused by authenticateClient.
func (s *Server) authorizeIntrospection(r *http.Request, form *formValues) (caller store.Client, admin bool, err error) {
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	credentialsInBody := form[paramClientID] != "" || form[paramClientSecret] != ""
	if strings.EqualFold(scheme, "Bearer") && !credentialsInBody {
		p, err := s.Authenticate(r)
		var be *BearerError
		if err != nil && !errors.As(err, &be) {
			return caller, false, serverError(err) // the token could not be checked: not a refusal
		}
		// RFC 7662 §2.3: a Bearer caller refused gets 401, worded as RFC 6750 §3.
		switch {
		case be != nil && be.Code == CodeInvalidRequest:
			return caller, false, bearerRefusal(http.StatusBadRequest, CodeInvalidRequest, be.Description)
		case be != nil && be.Code == CodeInvalidToken:
			return caller, false, bearerRefusal(http.StatusUnauthorized, CodeInvalidToken, be.Description)
		case err != nil || p.User == nil || p.User.Level < store.LevelAdmin || s.ScopeLevel(p.Scopes) < store.LevelAdmin:
			return caller, false, bearerRefusal(http.StatusUnauthorized, CodeInsufficientScope, "introspection needs a confidential application's credentials or an administrator's token with an administrator scope")
		}
		return caller, true, nil
	}
	c, e := s.authenticateClient(r.Context(), r, form)
	if e != nil {
		return caller, false, e
	}
	if c.Public {
		return caller, false, invalidClient("a public application cannot introspect tokens")
	}
	return c, false, nil
}

// bearerRefusal is a refusal with its RFC 6750 §3 challenge.
func bearerRefusal(status int, code, description string) *Error {
	e := newError(code, status, description)
	e.challenge = bearerChallenge(code, description)
	return e
}

// ScopeLevel is the highest permission level any of scopes needs: a token
// holding them may do at most what a user of that level may (SPEC §4), so
// a system administrator's token granted only ADMIN acts as an administrator.
// INTEGRATION_TOKEN is left out: its level says who may hold it, while what
// it lets a token do is the integrations' token route alone, which asks for
// it by name.
func (s *Server) ScopeLevel(scopes []string) store.Level {
	level := store.LevelUser
	for _, name := range scopes {
		if name == scope.IntegrationToken {
			continue
		}
		if sc, ok := s.scopes.Lookup(name); ok && sc.Level > level {
			level = sc.Level
		}
	}
	return level
}
