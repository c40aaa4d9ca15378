package adminapi

import (
	"errors"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/clientip"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/store"
)

// bearerChallenge is the RFC 6750 §3 challenge of a request without credentials.
const bearerChallenge = `Bearer realm="gatehouse"`

var (
	errNoCredentials = &apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Challenge: bearerChallenge,
		Message: "sign in as an administrator, or send Authorization: Bearer <access token>"}
	errNotAdmin = &apiError{Status: http.StatusForbidden, Code: "forbidden",
		Message: "only administrators may use the admin API"}
	errNoUser = &apiError{Status: http.StatusForbidden, Code: "forbidden",
		Message: "a client-credentials token acts for no user: the admin API needs an administrator's token"}
	errNoAdminScope = &apiError{Status: http.StatusForbidden, Code: oauth.CodeInsufficientScope,
		Challenge: bearerChallenge + `, error="insufficient_scope", error_description="the token needs an administrator-level scope"`,
		Message:   "the token needs an administrator-level scope (such as ADMIN)"}
	errCrossOrigin = &apiError{Status: http.StatusForbidden, Code: "cross_origin_request",
		Message: "a state-changing request with a browser session must come from this site (Origin or Sec-Fetch-Site)"}
)

// authenticate admits an administrator, by Bearer token when the request
// carries an Authorization header (never falling back to the session), else
// by browser session. A token's actor acts at the lower of its user's level
// and its scopes' (SPEC §4: a token never does more than it was granted);
// capped reports that the scopes lowered it.
func (a *API) authenticate(r *http.Request) (actor admin.Actor, capped bool, err error) {
	actor = admin.Actor{Address: clientip.From(r.Context()).String()}
	if oauth.CarriesAuthorization(r) {
		p, err := a.oauth.Authenticate(r)
		if err != nil {
			return actor, false, fromBearer(err)
		}
		granted := a.oauth.ScopeLevel(p.Scopes)
		switch {
		case p.User == nil:
			return actor, false, errNoUser
		case p.User.Level < store.LevelAdmin:
			return actor, false, errNotAdmin
		case granted < store.LevelAdmin:
			return actor, false, errNoAdminScope
		}
		actor = audit.UserActor(*p.User, actor.Address)
		if granted < actor.Level {
			actor.Level, capped = granted, true
		}
		return actor, capped, nil
	}
	u, err := a.sessions.User(r)
	if err != nil {
		return actor, false, err
	}
	if u == nil {
		return actor, false, errNoCredentials
	}
	if u.Level < store.LevelAdmin {
		return actor, false, errNotAdmin
	}
	// net/http's cross-origin check lets through a request that carries
	// neither header (it assumes a non-browser client). A browser always
	// sends Origin on a state-changing fetch, so for a session, which only a
	// browser holds, its absence is refused too.
	if !safeMethod(r.Method) && r.Header.Get("Origin") == "" && r.Header.Get("Sec-Fetch-Site") == "" {
		return actor, false, errCrossOrigin
	}
	return audit.UserActor(*u, actor.Address), false, nil
}

// errScopeBelowAction answers a token whose scopes, not its user, fall short
// of an action: a wider token of the same user would be admitted.
var errScopeBelowAction = &apiError{Status: http.StatusForbidden, Code: oauth.CodeInsufficientScope,
	Challenge: bearerChallenge + `, error="insufficient_scope", error_description="the token's scopes do not reach this action's level"`,
	Message:   "the token's scopes let it act only as an administrator: this needs a system-administrator scope (such as SYSTEM_ADMIN)"}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// fromBearer turns a failed token check into the API's error, keeping the
// RFC 6750 status and challenge.
func fromBearer(err error) error {
	var be *oauth.BearerError
	if !errors.As(err, &be) {
		return err
	}
	e := &apiError{Status: be.Status, Code: be.Code, Message: be.Description, Challenge: bearerChallenge}
	if be.Code == "" {
		e.Code = "unauthorized"
	} else {
		e.Challenge += `, error="` + be.Code + `", error_description="` + be.Description + `"`
	}
	return e
}
