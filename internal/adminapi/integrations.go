package adminapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/integration"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
)

// PathIntegrations is the integrations' part of the API.
const PathIntegrations = PathGatehouse + "/integrations"

// AddIntegrations serves the outgoing integrations from s; scopes tells
// which scopes of a token are at the system-administrator level.
func (a *API) AddIntegrations(s *integration.Service, scopes *scope.Catalogue) *API {
	a.integrations, a.scopes = s, scopes
	m := a.mux
	m.Handle("GET "+PathIntegrations, a.systemRoute(integration.ErrForbidden, noBody, a.listIntegrations))
	m.Handle("POST "+PathIntegrations, a.systemRoute(integration.ErrForbidden, jsonBody, a.createIntegration))
	m.Handle("GET "+PathIntegrations+"/{id}", a.systemRoute(integration.ErrForbidden, noBody, a.getIntegration))
	m.Handle("PATCH "+PathIntegrations+"/{id}", a.systemRoute(integration.ErrForbidden, jsonBody, a.updateIntegration))
	m.Handle("DELETE "+PathIntegrations+"/{id}", a.systemRoute(integration.ErrForbidden, noBody, a.deleteIntegration))
	m.Handle("POST "+PathIntegrations+"/{id}/authorize", a.systemRoute(integration.ErrForbidden, noBody, a.authorizeIntegration))
	m.Handle("POST "+PathIntegrations+"/{id}/test", a.systemRoute(integration.ErrForbidden, noBody, a.testIntegration))
	m.Handle("POST "+PathIntegrations+"/{id}/credentials", a.systemRoute(integration.ErrForbidden, jsonBody, a.integrationCredentials))
	m.Handle("GET "+PathIntegrations+"/{id}/token", a.tokenRoute(a.integrationToken))
	return a
}

// integrationRequest creates an integration (provider and name required)
// or, as PATCH, changes the fields it has.
type integrationRequest struct {
	Provider                *string   `json:"provider"`
	Name                    *string   `json:"name"`
	Description             *string   `json:"description"`
	ClientID                *string   `json:"client_id"`
	ClientSecret            *string   `json:"client_secret"`
	Scopes                  *[]string `json:"scopes"`
	AuthorizationEndpoint   *string   `json:"authorization_endpoint"`
	TokenEndpoint           *string   `json:"token_endpoint"`
	UserinfoEndpoint        *string   `json:"userinfo_endpoint"`
	Issuer                  *string   `json:"issuer"`
	Tenant                  *string   `json:"tenant"`
	AuthorizationParameters *string   `json:"authorization_parameters"`
	PKCE                    *bool     `json:"pkce"`
}

func (q integrationRequest) change() integration.Change {
	ch := integration.Change{
		Name: q.Name, Description: q.Description, ClientID: q.ClientID, ClientSecret: q.ClientSecret, Scopes: q.Scopes,
		AuthURL: q.AuthorizationEndpoint, TokenURL: q.TokenEndpoint, UserinfoURL: q.UserinfoEndpoint, Issuer: q.Issuer,
		Tenant: q.Tenant, AuthParams: q.AuthorizationParameters,
	}
	if q.PKCE != nil {
		noPKCE := !*q.PKCE
		ch.NoPKCE = &noPKCE
	}
	return ch
}

func (q integrationRequest) settings() integration.Settings {
	v := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	st := integration.Settings{
		Provider: v(q.Provider), Name: v(q.Name), Description: v(q.Description), ClientID: v(q.ClientID),
		ClientSecret: v(q.ClientSecret), AuthURL: v(q.AuthorizationEndpoint), TokenURL: v(q.TokenEndpoint),
		UserinfoURL: v(q.UserinfoEndpoint), Issuer: v(q.Issuer), Tenant: v(q.Tenant), AuthParams: v(q.AuthorizationParameters),
		NoPKCE: q.PKCE != nil && !*q.PKCE,
	}
	if q.Scopes != nil {
		st.Scopes = *q.Scopes
	}
	return st
}

// GET /rest/gatehouse/latest/integrations
func (a *API) listIntegrations(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	if _, err := readQuery(r); err != nil {
		return err
	}
	list, err := a.integrations.List(r.Context(), actor)
	if err != nil {
		return err
	}
	out := make([]integration.View, 0, len(list))
	for _, in := range list {
		out = append(out, a.integrations.ViewOf(in))
	}
	writeJSON(w, http.StatusOK, struct {
		Integrations []integration.View `json:"integrations"`
	}{out})
	return nil
}

// POST /rest/gatehouse/latest/integrations
func (a *API) createIntegration(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	var q integrationRequest
	if err := decode(r, &q); err != nil {
		return err
	}
	if q.Provider == nil {
		return badRequest(`provider is required: "google", "microsoft" or "custom"`)
	}
	in, err := a.integrations.Create(r.Context(), actor, q.settings())
	if err != nil {
		return err
	}
	w.Header().Set("Location", PathIntegrations+"/"+in.ID)
	writeJSON(w, http.StatusCreated, a.integrations.ViewOf(in))
	return nil
}

// GET /rest/gatehouse/latest/integrations/{id} (an ID or a name)
func (a *API) getIntegration(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	in, err := a.integrations.Find(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.integrations.ViewOf(in))
	return nil
}

// updatedJSON is an integration after a change, with what the change meant.
type updatedJSON struct {
	integration.View
	RedirectURLChanged bool `json:"redirect_url_changed"`
	TokensDropped      bool `json:"tokens_dropped"`
}

// PATCH /rest/gatehouse/latest/integrations/{id} changes the fields sent.
func (a *API) updateIntegration(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	var q integrationRequest
	if err := decode(r, &q); err != nil {
		return err
	}
	ctx, ia := r.Context(), actor
	in, err := a.integrations.Find(ctx, ia, r.PathValue("id"))
	if err != nil {
		return err
	}
	if q.Provider != nil && *q.Provider != in.Provider {
		return badRequest("the provider of an integration cannot change; create another integration")
	}
	up, err := a.integrations.Update(ctx, ia, in.ID, q.change())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, updatedJSON{View: a.integrations.ViewOf(up.Integration), RedirectURLChanged: up.RedirectChanged, TokensDropped: up.Forgotten})
	return nil
}

// DELETE /rest/gatehouse/latest/integrations/{id}
func (a *API) deleteIntegration(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	ctx, ia := r.Context(), actor
	in, err := a.integrations.Find(ctx, ia, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := a.integrations.Delete(ctx, ia, in.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// POST /rest/gatehouse/latest/integrations/{id}/authorize returns a
// single-use authorization URL that any browser may complete within 10
// minutes (for headless set-ups; the console's button is bound to the
// administrator's browser session instead).
func (a *API) authorizeIntegration(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	ctx, ia := r.Context(), actor
	in, err := a.integrations.Find(ctx, ia, r.PathValue("id"))
	if err != nil {
		return err
	}
	u, expires, err := a.integrations.StartAuthorization(ctx, ia, in.ID, nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		URL       string    `json:"url"`
		ExpiresAt time.Time `json:"expires_at"`
	}{u, store.AsStored(expires)})
	return nil
}

// POST /rest/gatehouse/latest/integrations/{id}/test: the provider's
// refusal is an answer ("ok": false), not an error.
func (a *API) testIntegration(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	ctx, ia := r.Context(), actor
	in, err := a.integrations.Find(ctx, ia, r.PathValue("id"))
	if err != nil {
		return err
	}
	res, err := a.integrations.Test(ctx, ia, in.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		OK      bool   `json:"ok"`
		Message string `json:"message"`
	}{res.OK, res.Message()})
	return nil
}

// POST /rest/gatehouse/latest/integrations/{id}/credentials shows the
// client secret, only against the caller's own password; audited.
func (a *API) integrationCredentials(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	ctx, ia := r.Context(), actor
	in, err := a.integrations.Find(ctx, ia, r.PathValue("id"))
	if err != nil {
		return err
	}
	var q passwordRequest
	if hasBody(r) {
		if err := decode(r, &q); err != nil {
			return err
		}
	}
	if q.Password == "" {
		return &apiError{Status: http.StatusForbidden, Code: "invalid_password",
			Message: `your own password is required to view the client secret: send {"password": "…"}`}
	}
	_, err = a.users.Authenticate(ctx, actor.Username, q.Password, clientAddr(r))
	if errors.Is(err, user.ErrInvalidCredentials) {
		return &apiError{Status: http.StatusForbidden, Code: "invalid_password",
			Message: "that is not your password: send your own password to view the client secret"}
	}
	if err != nil {
		return err
	}
	secretValue, err := a.integrations.RevealSecret(ctx, ia, in.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}{in.ClientID, secretValue})
	return nil
}

// tokenJSON is the token API's answer.
type tokenJSON struct {
	AccessToken string     `json:"access_token"`
	TokenType   string     `json:"token_type"`
	ExpiresAt   *time.Time `json:"expires_at"`
	Scope       string     `json:"scope"`
}

// GET /rest/gatehouse/latest/integrations/{id}/token (an ID or a name)
// hands out a current access token, refreshed first when it is about to
// expire; every call is audited without the token.
func (a *API) integrationToken(w http.ResponseWriter, r *http.Request, actor integration.Actor) error {
	tok, err := a.integrations.HandOut(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	out := tokenJSON{AccessToken: tok.AccessToken, TokenType: tok.TokenType, Scope: tok.Scope}
	if !tok.ExpiresAt.IsZero() {
		at := store.AsStored(tok.ExpiresAt) // as stored: the refreshing node holds it to the nanosecond
		out.ExpiresAt = &at
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

var errNoIntegrationScope = &apiError{Status: http.StatusForbidden, Code: "insufficient_scope",
	Challenge: bearerChallenge + `, error="insufficient_scope", error_description="the token needs the ` + scope.IntegrationToken + ` scope"`,
	Message:   "an application's token needs the " + scope.IntegrationToken + " scope, an administrator's a system-administrator scope"}

// errCrossSiteToken refuses a token to a browser session on a request
// another site started: a link or redirect elsewhere must not make a token
// be refreshed and handed out in the administrator's name (the audit log
// would record it as theirs), though that site cannot read the answer.
var errCrossSiteToken = &apiError{Status: http.StatusForbidden, Code: "cross_origin_request",
	Message: "another site started this request: open the token route from this site, or call it with a Bearer token"}

// startedElsewhere reports whether the browser says another site, or a
// sibling subdomain, started the request (Sec-Fetch-Site). A request
// without the header (curl with the session cookie) passes.
func startedElsewhere(r *http.Request) bool {
	site := r.Header.Get("Sec-Fetch-Site")
	return site == "cross-site" || site == "same-site"
}

var errNotSystemAdmin = &apiError{Status: http.StatusForbidden, Code: "forbidden",
	Message: "only system administrators may use the integrations"}

// tokenRoute adapts the token endpoint, whose callers are a system
// administrator (session or token with a system-administrator scope) or an
// application's client-credentials token with the INTEGRATION_TOKEN scope.
func (a *API) tokenRoute(h func(http.ResponseWriter, *http.Request, integration.Actor) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, err := a.authenticateTokenCaller(r)
		if err == nil {
			err = h(w, r, actor)
		}
		if err != nil {
			a.writeError(w, r, err)
		}
	})
}

func (a *API) authenticateTokenCaller(r *http.Request) (integration.Actor, error) {
	actor := integration.Actor{Address: clientAddr(r).String()}
	if !oauth.CarriesAuthorization(r) {
		u, err := a.sessions.User(r)
		switch {
		case err != nil:
			return actor, err
		case u == nil:
			return actor, errNoCredentials
		case u.Level < store.LevelSystemAdmin:
			return actor, errNotSystemAdmin
		case startedElsewhere(r):
			return actor, errCrossSiteToken
		}
		return audit.UserActor(*u, actor.Address), nil
	}
	p, err := a.oauth.Authenticate(r)
	if err != nil {
		return actor, fromBearer(err)
	}
	actor.ClientID = p.Client.ID
	if p.User == nil {
		if !a.holdsScope(p.Scopes, scope.IntegrationToken) {
			return actor, errNoIntegrationScope
		}
		// The scope, at the system-administrator level, is the permission.
		actor.Username, actor.Level = "client:"+p.Client.ID, store.LevelSystemAdmin
		return actor, nil
	}
	if p.User.Level < store.LevelSystemAdmin {
		return actor, errNotSystemAdmin
	}
	if !a.holdsScope(p.Scopes, "") {
		return actor, errNoIntegrationScope
	}
	actor.UserID, actor.Username, actor.Level = p.User.ID, p.User.Username, p.User.Level
	return actor, nil
}

// holdsScope reports whether scopes include want ("": any scope) at the
// system-administrator level.
func (a *API) holdsScope(scopes []string, want string) bool {
	for _, name := range scopes {
		if level, found := a.scopes.Level(name); found && level >= store.LevelSystemAdmin && (want == "" || name == want) {
			return true
		}
	}
	return false
}
