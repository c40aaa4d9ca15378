package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/clientip"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Client authentication methods (RFC 8414 §2, token_endpoint_auth_methods_supported).
const (
	AuthBasic = "client_secret_basic"
	AuthPost  = "client_secret_post"
	AuthNone  = "none"
)

// authenticateClient identifies the caller of a token, revocation or
// introspection request (RFC 6749 §2.3.1, §3.2.1) and checks its address
// against the application's IP allow-list.
func (s *Server) authenticateClient(ctx context.Context, r *http.Request, form *formValues) (store.Client, *Error) {
	// readForm reads an empty parameter as omitted, so client_id= and
	// client_secret= beside Basic (Dovecot sends both) are no second method.
	id, secretValue, method := form[paramClientID], form[paramClientSecret], AuthNone
	if form[paramClientSecret] != "" {
		method = AuthPost
	}
	if len(r.Header.Values("Authorization")) > 1 {
		return store.Client{}, errTwoAuthorizations
	}
	if user, pass, ok := basicAuth(r); ok {
		if method == AuthPost {
			return store.Client{}, invalidRequest("use one client authentication method, not both HTTP Basic and client_secret")
		}
		// RFC 6749 §2.3.1: both parts are form-encoded before Basic encoding.
		u, err1 := url.QueryUnescape(user)
		p, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return store.Client{}, invalidClient("the Basic credentials are not form-encoded correctly")
		}
		if id != "" && id != u {
			return store.Client{}, invalidRequest("client_id in the body does not match the Basic credentials")
		}
		id, secretValue, method = u, p, AuthBasic
	} else if r.Header.Get("Authorization") != "" {
		if method == AuthNone && id == "" {
			return store.Client{}, invalidClient("client authentication failed: use HTTP Basic with the client ID and secret")
		}
		// RFC 6749 §2.3: one method per request; this header is a second.
		return store.Client{}, invalidRequest("use one client authentication method: the Authorization header is not HTTP Basic with the client ID and secret, and the body names the client too")
	}
	if id == "" {
		return store.Client{}, invalidClient("client authentication is required: send client_id (and client_secret for a confidential application)")
	}
	c, err := s.apps.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Client{}, invalidClient("unknown client or wrong secret")
	}
	if err != nil {
		return store.Client{}, serverError(err)
	}
	// A public application has no secret: libraries that always use Basic
	// (requests-oauthlib, x/oauth2's header style) send its ID with an empty
	// password, which authenticates it as "none" does.
	if c.Public && method == AuthBasic && secretValue == "" {
		method = AuthNone
	}
	secretOK := !c.Public && method != AuthNone && s.apps.CheckSecret(c, secretValue)
	if !c.Public && method != AuthNone && !secretOK {
		// Perhaps regenerated elsewhere since this node cached the application.
		if c, err = s.apps.Reread(ctx, id); errors.Is(err, store.ErrNotFound) {
			return store.Client{}, invalidClient("unknown client or wrong secret")
		} else if err != nil {
			return store.Client{}, serverError(err)
		}
		secretOK = s.apps.CheckSecret(c, secretValue)
	}
	switch {
	case c.Public && method != AuthNone:
		return store.Client{}, invalidClient("this is a public application: it has no secret; send only client_id")
	case !c.Public && method == AuthNone:
		return store.Client{}, invalidClient("this application is confidential: authenticate with its client secret")
	case !c.Public && !secretOK:
		return store.Client{}, invalidClient("unknown client or wrong secret")
	case !c.Enabled:
		return store.Client{}, invalidClient("this application is disabled")
	}
	if !app.AddressAllowed(c, clientip.From(ctx)) {
		return store.Client{}, newError(CodeUnauthorizedClient, http.StatusForbidden,
			"requests from this address are not allowed for this application (IP allow-list)")
	}
	return c, nil
}

// errTwoAuthorizations refuses a request with more than one Authorization
// header: which one counts would be a guess, and a proxy may read another.
var errTwoAuthorizations = invalidRequest("send one Authorization header, not several")

// errClientGone is a grant's report that its application was deleted (by
// another node, within this node's application cache) before its tokens
// were stored; token answers it as the unknown client it now is.
var errClientGone = errors.New("oauth: the application was deleted")

// basicAuth is r.BasicAuth, reading past more than one space after the
// scheme, which RFC 9110 §11.4 allows (1*SP) and net/http does not.
func basicAuth(r *http.Request) (user, pass string, ok bool) {
	auth := r.Header.Get("Authorization")
	scheme, rest, found := strings.Cut(auth, " ")
	if !found || !strings.HasPrefix(rest, " ") || !strings.EqualFold(scheme, "Basic") {
		return r.BasicAuth()
	}
	one := http.Request{Header: http.Header{"Authorization": {"Basic " + strings.TrimLeft(rest, " ")}}}
	return one.BasicAuth()
}
