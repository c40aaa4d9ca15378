package adminapi

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
)

// clientJSON is an application. The field names are those of
// `gatehouse client … --json`, so the CLI and the API agree.

// clientRequest creates an application or replaces its settings.
type clientRequest struct {
	Name             string   `json:"name"`
	Description      string   `json:"description"`
	Type             string   `json:"type"`
	RedirectURIs     []string `json:"redirect_uris"`
	Scopes           []string `json:"scopes"`
	Grants           []string `json:"grants"`
	RequirePKCE      bool     `json:"require_pkce"`
	Enabled          *bool    `json:"enabled"`
	SubscriberUsers  []string `json:"subscriber_users"`
	SubscriberGroups []string `json:"subscriber_groups"`
	AllowedIPs       []string `json:"allowed_ips"`
	IntrospectAny    bool     `json:"introspect_any"`

	// Read-only fields of clientJSON, accepted (and ignored) so that what a
	// GET returned can be edited and sent back, but only of the types a GET
	// gives them; client_id must then match.
	ClientID     *string    `json:"client_id"`
	HasLogo      *bool      `json:"has_logo"`
	ActiveTokens *int64     `json:"active_tokens"`
	LastUsed     *time.Time `json:"last_used"`
	CreatedAt    *time.Time `json:"created_at"`
	UpdatedAt    *time.Time `json:"updated_at"`
}

// registration reads the request. Without enabled, a new application is
// enabled and an edited one keeps its state as stored when the edit is written.
func (q clientRequest) registration() (app.Registration, error) {
	r := app.Registration{
		Name: q.Name, Description: q.Description, RedirectURIs: q.RedirectURIs, Scopes: q.Scopes, Grants: q.Grants,
		RequirePKCE: q.RequirePKCE, KeepEnabled: q.Enabled == nil,
		SubscriberUsers: q.SubscriberUsers, SubscriberGroups: q.SubscriberGroups, AllowedIPs: q.AllowedIPs,
		IntrospectAny: q.IntrospectAny,
	}
	switch q.Type {
	case "", "confidential":
	case "public":
		r.Public = true
	default:
		return r, badRequest(`type must be "confidential" or "public"`)
	}
	if q.Enabled != nil {
		r.Disabled = !*q.Enabled
	}
	return r, nil
}

func (a *API) writeClient(w http.ResponseWriter, r *http.Request, status int, c store.Client) error {
	s, err := a.admin.Summary(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, status, admin.NewClientView(s, ""))
	return nil
}

// GET /rest/oauth2/latest/client?q=
func (a *API) listClients(w http.ResponseWriter, r *http.Request, _ admin.Actor) error {
	q, err := readQuery(r, "q")
	if err != nil {
		return err
	}
	apps, err := a.admin.ListApps(r.Context(), q.Get("q"))
	if err != nil {
		return err
	}
	out := make([]admin.ClientView, 0, len(apps))
	for _, s := range apps {
		out = append(out, admin.NewClientView(s, ""))
	}
	writeJSON(w, http.StatusOK, struct {
		Clients []admin.ClientView `json:"clients"`
	}{out})
	return nil
}

// POST /rest/oauth2/latest/client
func (a *API) createClient(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	var q clientRequest
	if err := decode(r, &q, "last_used"); err != nil {
		return err
	}
	if q.ClientID != nil {
		return badRequest("client_id is assigned by the server")
	}
	reg, err := q.registration()
	if err != nil {
		return err
	}
	c, secretValue, err := a.admin.CreateApp(r.Context(), actor, reg)
	if err != nil {
		return err
	}
	w.Header().Set("Location", PathClients+"/"+c.ID)
	writeJSON(w, http.StatusCreated, admin.NewClientView(admin.AppSummary{Client: c}, secretValue))
	return nil
}

// GET /rest/oauth2/latest/client/{id}
func (a *API) getClient(w http.ResponseWriter, r *http.Request, _ admin.Actor) error {
	c, err := a.admin.GetApp(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return a.writeClient(w, r, http.StatusOK, c)
}

// PUT /rest/oauth2/latest/client/{id} replaces every setting; enabled, when
// left out, stays as it is.
func (a *API) replaceClient(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	id := r.PathValue("id")
	var q clientRequest
	if err := decode(r, &q, "last_used"); err != nil {
		return err
	}
	if q.ClientID != nil && *q.ClientID != id {
		return badRequest("client_id in the body does not match the URL")
	}
	reg, err := q.registration()
	if err != nil {
		return err
	}
	c, secretValue, err := a.admin.UpdateApp(r.Context(), actor, id, reg)
	if err != nil {
		return err
	}
	s, err := a.admin.Summary(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, admin.NewClientView(s, secretValue)) // a secret only when it was made confidential
	return nil
}

// DELETE /rest/oauth2/latest/client/{id} removes the application and revokes every token it holds.
func (a *API) deleteClient(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	if err := a.admin.DeleteApp(r.Context(), actor, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// POST /rest/oauth2/latest/client/{id}/enable
func (a *API) enableClient(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	return a.setEnabled(w, r, actor, true)
}

// POST /rest/oauth2/latest/client/{id}/disable: the application's tokens stop working at once.
func (a *API) disableClient(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	return a.setEnabled(w, r, actor, false)
}

func (a *API) setEnabled(w http.ResponseWriter, r *http.Request, actor admin.Actor, enabled bool) error {
	c, err := a.admin.SetAppEnabled(r.Context(), actor, r.PathValue("id"), enabled)
	if err != nil {
		return err
	}
	return a.writeClient(w, r, http.StatusOK, c)
}

// secretJSON is an application's secret.
type secretJSON struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// POST /rest/oauth2/latest/client/{id}/secret gives the application a new
// secret, only against the caller's own password, as viewing credentials:
// whoever regenerates a secret sees a working one.
func (a *API) rotateSecret(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	ctx := r.Context()
	id := r.PathValue("id")
	if err := a.confirmPassword(r, actor, id, "to regenerate the secret"); err != nil {
		return err
	}
	secretValue, err := a.admin.RotateSecret(ctx, actor, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, secretJSON{ClientID: id, ClientSecret: secretValue})
	return nil
}

// passwordRequest carries a password.
type passwordRequest struct {
	Password string `json:"password"`
}

// confirmPassword checks, for an operation that yields a working client
// secret, the caller's own password sent in the body as {"password": …}
// (confirmOwnPassword). The application must exist, so an unknown one is a
// 404 and costs no guess.
func (a *API) confirmPassword(r *http.Request, actor admin.Actor, id, purpose string) error {
	var q passwordRequest
	if hasBody(r) {
		if err := decode(r, &q); err != nil {
			return err
		}
	}
	if _, err := a.admin.GetApp(r.Context(), id); err != nil {
		return err
	}
	return a.confirmOwnPassword(r, actor, q.Password, "password", purpose)
}

// confirmOwnPassword checks given, the body's field, against the caller's
// own password, checked and throttled like a sign-in, for a Bearer caller
// too: a token alone is not enough for an action that hands someone a
// working credential. No password is refused without counting as a guess.
func (a *API) confirmOwnPassword(r *http.Request, actor admin.Actor, given, field, purpose string) error {
	if given == "" {
		return &apiError{Status: http.StatusForbidden, Code: "invalid_password",
			Message: `your own password is required ` + purpose + `: send {"` + field + `": "…"}`}
	}
	err := a.admin.ConfirmPassword(r.Context(), actor, given, clientAddr(r))
	if errors.Is(err, user.ErrInvalidCredentials) {
		return &apiError{Status: http.StatusForbidden, Code: "invalid_password",
			Message: "that is not your password: send your own password " + purpose}
	}
	return err
}

// POST /rest/oauth2/latest/client/{id}/credentials shows the current secret
// again, only against the caller's own password; every view is audited.
func (a *API) viewCredentials(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	ctx := r.Context()
	id := r.PathValue("id")
	if err := a.confirmPassword(r, actor, id, "to view credentials"); err != nil {
		return err
	}
	secretValue, err := a.admin.ViewSecret(ctx, actor, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, secretJSON{ClientID: id, ClientSecret: secretValue})
	return nil
}

// PUT /rest/oauth2/latest/client/{id}/logo with a raw image/png or image/jpeg body.
func (a *API) setLogo(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	if !hasBody(r) {
		return badRequest("send the logo as the body, with Content-Type image/png or image/jpeg")
	}
	data, err := io.ReadAll(r.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return err
	}
	if err != nil {
		return badRequest("the logo could not be read")
	}
	if err := a.admin.SetLogo(r.Context(), actor, r.PathValue("id"), data); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// DELETE /rest/oauth2/latest/client/{id}/logo
func (a *API) removeLogo(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	if err := a.admin.RemoveLogo(r.Context(), actor, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
