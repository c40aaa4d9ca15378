package oauth

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
)

// grantHandler turns an authenticated token request into a response.
type grantHandler func(ctx context.Context, c store.Client, form *formValues) (*tokenResponse, error)

// tokenResponse is RFC 6749 §5.1 plus created_at, which integrations written
// for the Atlassian provider read.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
	CreatedAt    int64  `json:"created_at"`
}

// handleToken serves POST /rest/oauth2/latest/token (RFC 6749 §3.2).
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	resp, grantType, err := s.token(w, r)
	s.metrics.token(grantType, err)
	if err != nil {
		writeError(w, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// token also returns the request's grant_type, "" when there is none; it
// may be any text the client sent.
func (s *Server) token(w http.ResponseWriter, r *http.Request) (*tokenResponse, string, error) {
	form, e := readForm(w, r, s.settings.CompatQuery)
	if e != nil {
		return nil, "", e
	}
	grantType := form[paramGrantType]
	grant, known := s.grants[grantType]
	if grantType == "" {
		return nil, "", invalidRequest("grant_type is required")
	}
	if !known {
		d := "grant_type " + quoteScope(grantType) + " is not supported; use authorization_code, refresh_token or client_credentials"
		if grantType == "password" {
			d = "the resource owner password grant is refused on purpose; use authorization_code with PKCE"
		}
		return nil, grantType, newError(CodeUnsupportedGrantType, http.StatusBadRequest, d)
	}
	c, e := s.authenticateClient(r.Context(), r, &form)
	if e != nil {
		return nil, grantType, e
	}
	if !app.HasGrant(c, grantType) {
		return nil, grantType, unauthorizedClient("this application may not use the " + grantType + " grant")
	}
	resp, err := grant(r.Context(), c, &form)
	if errors.Is(err, errClientGone) {
		err = invalidClient("unknown client or wrong secret")
	}
	return resp, grantType, err
}

// pair is a freshly minted access token and optional refresh token.
type pair struct {
	issue    store.Issue
	response *tokenResponse
}

// mint makes an access token, and a refresh token when withRefresh, for one grant.
func (s *Server) mint(c store.Client, userID string, scopes []string, grantID string, grantedAt time.Time, withRefresh bool) (pair, error) {
	now := s.now()
	accessValue, accessHash, err := s.minter.New(token.Access)
	if err != nil {
		return pair{}, serverError(err)
	}
	scopeText := scope.Format(scopes)
	p := pair{
		issue: store.Issue{
			Access: store.Token{
				Hash: accessHash, Kind: store.KindAccess, GrantID: grantID, ClientID: c.ID, UserID: userID,
				Scope: scopeText, GrantedAt: grantedAt, CreatedAt: now, ExpiresAt: wholeSecond(now.Add(s.settings.AccessTTL)),
			},
			RefreshCap: s.settings.RefreshCap,
		},
		response: &tokenResponse{
			AccessToken: accessValue, TokenType: "bearer", ExpiresIn: int64(s.settings.AccessTTL / time.Second),
			Scope: scopeText, CreatedAt: now.Unix(),
		},
	}
	if !withRefresh {
		return p, nil
	}
	refreshValue, refreshHash, err := s.minter.New(token.Refresh)
	if err != nil {
		return pair{}, serverError(err)
	}
	p.issue.Refresh = &store.Token{
		Hash: refreshHash, Kind: store.KindRefresh, GrantID: grantID, ClientID: c.ID, UserID: userID,
		Scope: scopeText, GrantedAt: grantedAt, CreatedAt: now, ExpiresAt: s.refreshExpiry(grantedAt, now),
		AccessHash: accessHash,
	}
	p.response.RefreshToken = refreshValue
	return p, nil
}

// refreshExpiry applies the optional idle and absolute refresh lifetimes.
func (s *Server) refreshExpiry(grantedAt, now time.Time) time.Time {
	var exp time.Time
	if d := s.settings.RefreshIdle; d > 0 {
		exp = now.Add(d)
	}
	if d := s.settings.RefreshAbsolute; d > 0 {
		if abs := grantedAt.Add(d); exp.IsZero() || abs.Before(exp) {
			exp = abs
		}
	}
	if exp.IsZero() {
		return exp
	}
	return wholeSecond(exp)
}

// wholeSecond is t rounded up to a whole second: a token then expires at
// exactly the exp introspection gives (whole seconds, RFC 7662 §2.2), never
// stays active past it.
func wholeSecond(t time.Time) time.Time {
	if w := t.Truncate(time.Second); w.Before(t) {
		return w.Add(time.Second)
	}
	return t
}
