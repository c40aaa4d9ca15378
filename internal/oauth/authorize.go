package oauth

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
)

// MaxStateLength bounds the state parameter we echo back.
const MaxStateLength = 2048

// AuthorizeRequest is a validated authorization request (RFC 6749 §4.1.1).
type AuthorizeRequest struct {
	Client      store.Client
	RedirectURI string // where to send the answer
	// RedirectParam is redirect_uri as sent ("" when omitted); the token
	// request must repeat it exactly (RFC 6749 §4.1.3).
	RedirectParam   string
	State           string
	Scopes          []string
	Challenge       string
	ChallengeMethod string
	// Query is the request's parameters, to carry through sign-in and consent.
	Query url.Values
}

// authorizeParameters are the parameters ParseAuthorize reads; any other is
// ignored (RFC 6749 §3.1).
var authorizeParameters = []string{"response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"}

// Essential returns the request's parameters that ParseAuthorize reads: all
// that must travel with a consent page for its decision to validate the
// request again, and no more (unknown parameters could make it any size).
func (r *AuthorizeRequest) Essential() url.Values {
	v := url.Values{}
	for _, k := range authorizeParameters {
		if vs, ok := r.Query[k]; ok {
			v[k] = vs
		}
	}
	return v
}

// ParseAuthorize validates an authorization request. On failure it returns an
// *Error and, when the client and redirect URI are trustworthy, a request
// whose RedirectURI can carry the error (RFC 6749 §4.1.2.1); a nil request
// means the error must be shown to the user, never redirected. Parameters
// sent empty are deleted from q first (RFC 6749 §3.1): an empty state is no
// state, and what is carried on through consent leaves them out.
func (s *Server) ParseAuthorize(ctx context.Context, q url.Values) (*AuthorizeRequest, error) {
	omitEmpty(q)
	for _, k := range []string{"client_id", "redirect_uri"} {
		if len(q[k]) > 1 {
			return nil, invalidRequest("parameter "+k+" is sent more than once").worded("error.detail.repeated", k)
		}
	}
	id := q.Get("client_id")
	if id == "" {
		return nil, invalidRequest("the request has no client_id").worded("error.detail.no_client_id")
	}
	c, err := s.apps.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalidRequest("no application has this client_id").worded("error.detail.unknown_client")
	}
	if err != nil {
		return nil, serverError(err)
	}
	req := &AuthorizeRequest{Client: c, RedirectParam: q.Get("redirect_uri"), Query: q}
	switch {
	case req.RedirectParam != "":
		if _, ok := app.MatchRedirectURI(c.RedirectURIs, req.RedirectParam); !ok {
			return nil, invalidRequest("the redirect_uri is not registered for this application").worded("error.detail.redirect_uri_unregistered")
		}
		req.RedirectURI = req.RedirectParam
	case len(c.RedirectURIs) == 1:
		req.RedirectURI = c.RedirectURIs[0]
	case len(c.RedirectURIs) == 0:
		return nil, invalidRequest("the application registers no redirect URI: it is for server-to-server access (client credentials), not for signing in").worded("error.detail.redirect_uri_none")
	default:
		return nil, invalidRequest("the request has no redirect_uri and the application registers several").worded("error.detail.redirect_uri_ambiguous")
	}
	if !s.apps.RedirectAllowed(req.RedirectURI) {
		return nil, invalidRequest("the redirect_uri is plain http, which this server allows only in development mode").worded("error.detail.redirect_uri_insecure")
	}
	// From here on, errors go back to the client's redirect URI with state
	// exactly as sent (RFC 6749 §4.1.2.1): a state that cannot be echoed so
	// is shown to the user instead, never dropped from the redirect.
	if e := checkParams(q, "state"); e != nil {
		return nil, e.worded("error.detail.state_unfit")
	}
	if len(q.Get("state")) > MaxStateLength {
		return nil, invalidRequest("state is longer than 2048 characters").worded("error.detail.state_unfit")
	}
	req.State = q.Get("state")
	if e := checkParams(q, authorizeParameters...); e != nil {
		return req, e
	}
	switch rt := q.Get("response_type"); rt {
	case "code":
	case "":
		return req, invalidRequest("response_type is required; use code")
	default:
		return req, newError(CodeUnsupportedResponseType, http.StatusBadRequest,
			"only response_type=code is supported (the implicit flow is refused on purpose)")
	}
	if !c.Enabled {
		return req, unauthorizedClient("this application is disabled")
	}
	if !app.HasGrant(c, app.GrantAuthorizationCode) {
		return req, unauthorizedClient("this application may not use the authorization code grant")
	}
	var e *Error
	if req.Scopes, e = s.requestedScopes(q.Get("scope"), c.Scopes, false); e != nil {
		return req, e
	}
	if e := req.parsePKCE(q); e != nil {
		return req, e
	}
	return req, nil
}

func (req *AuthorizeRequest) parsePKCE(q url.Values) *Error {
	challenge, rawMethod := q.Get("code_challenge"), q.Get("code_challenge_method")
	if challenge == "" {
		if rawMethod != "" {
			return invalidRequest("code_challenge_method was sent without code_challenge")
		}
		if req.Client.Public || req.Client.RequirePKCE {
			return invalidRequest("this application must use PKCE: send code_challenge and code_challenge_method=S256")
		}
		return nil
	}
	method, ok := normalizeMethod(rawMethod)
	if !ok {
		return invalidRequest("code_challenge_method must be S256 or plain")
	}
	if !validVerifier(challenge) {
		return invalidRequest("code_challenge must be 43-128 characters of A-Z a-z 0-9 - . _ ~")
	}
	if method == MethodS256 && !validS256Challenge(challenge) {
		return invalidRequest("an S256 code_challenge is the verifier's SHA-256 in base64url without padding: 43 characters of A-Z a-z 0-9 - _")
	}
	req.Challenge, req.ChallengeMethod = challenge, method
	return nil
}

// requestedScopes parses a scope parameter and checks it against the
// application's list. Catalogue names are matched case-insensitively and
// returned in the catalogue's spelling. An empty parameter means every scope
// of the application when defaultAll, and is an error otherwise.
func (s *Server) requestedScopes(param string, allowed []string, defaultAll bool) ([]string, *Error) {
	names, err := scope.ParseParam(param)
	if err != nil {
		return nil, invalidScope(err.Error())
	}
	if len(names) == 0 {
		if defaultAll {
			return slices.Clone(allowed), nil
		}
		return nil, invalidScope("scope is required; this application may ask for: " + scope.Format(allowed))
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		canon, ok := s.scopes.Canonical(n)
		if !ok || !slices.Contains(allowed, canon) {
			return nil, invalidScope("scope " + quoteScope(n) + " is not allowed for this application; it may ask for: " + scope.Format(allowed))
		}
		if !slices.Contains(out, canon) {
			out = append(out, canon)
		}
	}
	return out, nil
}

// quoteScope quotes a client-chosen value for a description (wireText
// replaces whatever it holds outside error_description's characters).
func quoteScope(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return "'" + s + "'"
}

// effectiveScopes is what a token of these scopes may do now through
// application c, for a user of the given level (nil: no user's level applies,
// as for a client's own token). A scope is allowed while the application's
// list still grants it (that list with what it implies) and, for a user, while
// the level reaches it: so narrowing an application, like lowering a level,
// reaches the tokens already issued (SPEC §4). Scopes not allowed are dropped,
// and in their place come the strongest scopes they imply that are allowed and
// that the kept ones do not already give (an ADMIN grant of a demoted user
// still writes). When all are allowed, kept is names itself: callers only
// read it.
func (s *Server) effectiveScopes(names []string, c store.Client, level *store.Level) (kept, dropped []string) {
	var reach []string // c's scopes expanded, computed only when needed
	allowed := func(name string) bool {
		if level != nil {
			if l, ok := s.scopes.Level(name); !ok || l > *level {
				return false
			}
		}
		if slices.Contains(c.Scopes, name) {
			return true
		}
		if reach == nil {
			reach = s.scopes.Expand(c.Scopes)
		}
		return slices.Contains(reach, name)
	}
	n := 0
	for n < len(names) && allowed(names[n]) {
		n++
	}
	if n == len(names) {
		return names, nil // the usual case, on every Bearer request: nothing to copy
	}
	kept = slices.Clip(names[:n]) // appending copies
	for _, name := range names[n:] {
		if allowed(name) {
			kept = append(kept, name)
		} else {
			dropped = append(dropped, name)
		}
	}
	held := s.scopes.Expand(kept)
	var extra []string
	for _, name := range s.scopes.Expand(dropped) {
		if allowed(name) && !slices.Contains(held, name) {
			extra = append(extra, name)
		}
	}
	// Keep only the strongest of the added scopes: WRITE, not READ and WRITE.
	for _, name := range extra {
		others := slices.DeleteFunc(slices.Clone(extra), func(o string) bool { return o == name })
		if !s.scopes.Includes(others, name) {
			kept = append(kept, name)
		}
	}
	return kept, dropped
}

// ConsentScopes splits the request's scopes into those the user will grant and
// those dropped because the user's level is too low.
func (s *Server) ConsentScopes(req *AuthorizeRequest, u store.User) (kept, dropped []string) {
	return s.effectiveScopes(req.Scopes, req.Client, &u.Level)
}

// CheckUser refuses a user who may not use the application.
func (s *Server) CheckUser(req *AuthorizeRequest, u store.User) error {
	if u.Disabled {
		return newError(CodeAccessDenied, http.StatusForbidden, "your account is disabled")
	}
	if !app.MayUse(req.Client, u) {
		return newError(CodeAccessDenied, http.StatusForbidden, "you are not allowed to use this application; ask an administrator to add you to its users")
	}
	return nil
}

// Approve issues an authorization code for the user's consent and returns the
// redirect that carries it (RFC 6749 §4.1.2).
func (s *Server) Approve(ctx context.Context, req *AuthorizeRequest, u store.User) (string, error) {
	code, target, err := s.PrepareApproval(req, u)
	if err != nil {
		return "", err
	}
	if err := s.store.CreateCode(ctx, code); err != nil {
		return "", serverError(err)
	}
	return target, nil
}

// PrepareApproval is Approve without storing the code: it returns the code
// to store and the redirect that carries it once stored (the consent page
// stores it in the transaction that records the consent decided).
func (s *Server) PrepareApproval(req *AuthorizeRequest, u store.User) (store.Code, string, error) {
	if err := s.CheckUser(req, u); err != nil {
		return store.Code{}, "", err
	}
	kept, _ := s.ConsentScopes(req, u)
	if len(kept) == 0 {
		return store.Code{}, "", invalidScope("none of the requested scopes are available to your account")
	}
	value, hash, err := s.minter.New(token.Code)
	if err != nil {
		return store.Code{}, "", serverError(err)
	}
	now := s.now()
	code := store.Code{
		Hash: hash, ClientID: req.Client.ID, UserID: u.ID, RedirectURI: req.RedirectParam,
		Scope: scope.Format(kept), Challenge: req.Challenge, ChallengeMethod: req.ChallengeMethod,
		GrantID: NewGrantID(now), CreatedAt: now, ExpiresAt: now.Add(s.settings.CodeTTL),
	}
	return code, s.redirect(req, url.Values{"code": {value}}), nil
}

// ErrorRedirect returns the redirect that carries err to the client
// (RFC 6749 §4.1.2.1), with state and iss (RFC 9207).
func (s *Server) ErrorRedirect(req *AuthorizeRequest, err error) string {
	e := asError(err)
	v := url.Values{"error": {e.Code}}
	if e.Description != "" {
		v.Set("error_description", wireText(e.Description))
	}
	return s.redirect(req, v)
}

// redirect adds the response's parameters to the redirect URI's query,
// which is kept byte for byte (RFC 6749 §3.1.2: "MUST retain the query
// component"); registration refuses a query naming one of them.
func (s *Server) redirect(req *AuthorizeRequest, v url.Values) string {
	u, _ := url.Parse(req.RedirectURI) // validated at registration
	if req.State != "" {
		v.Set("state", req.State)
	}
	v.Set("iss", s.settings.Issuer)
	if u.RawQuery != "" {
		u.RawQuery += "&"
	}
	u.RawQuery += v.Encode()
	return u.String()
}

// Describe returns the client-facing description of an authorization error.
func Describe(err error) (code, description string) {
	e := asError(err)
	return e.Code, e.Description
}

// NewGrantID returns 32 hex characters: the time in milliseconds, then 80
// random bits. Time first makes new grants sort last, so the grant index
// grows at its end instead of taking a write in a random page per token.
func NewGrantID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	rand.Read(b[6:])
	return hex.EncodeToString(b[:])
}

// AccessDenied is the error for a user who refused consent.
func AccessDenied(description string) error {
	return newError(CodeAccessDenied, http.StatusForbidden, description)
}
