package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/integration"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// keyIntegrationProblem carries an authorization's failure to the
// integration's page, shown there as an alert (the flash is for successes).
const keyIntegrationProblem = "integration_problem"

func (p *Pages) registerIntegrations(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/integrations", p.requireIntegrationAdmin(p.handleIntegrationList))
	mux.HandleFunc("GET /admin/integrations/new", p.requireIntegrationAdmin(p.handleIntegrationNew))
	mux.HandleFunc("POST /admin/integrations/new", p.requireIntegrationAdmin(p.handleIntegrationCreate))
	mux.HandleFunc("GET /admin/integrations/{id}", p.requireIntegrationAdmin(p.handleIntegrationShow))
	mux.HandleFunc("GET /admin/integrations/{id}/edit", p.requireIntegrationAdmin(p.handleIntegrationEdit))
	mux.HandleFunc("POST /admin/integrations/{id}/edit", p.requireIntegrationAdmin(p.handleIntegrationUpdate))
	mux.HandleFunc("POST /admin/integrations/{id}/authorize", p.requireIntegrationAdmin(p.handleIntegrationAuthorize))
	mux.HandleFunc("POST /admin/integrations/{id}/test", p.requireIntegrationAdmin(p.handleIntegrationTest))
	mux.HandleFunc("GET /admin/integrations/{id}/secret", p.requireIntegrationAdmin(p.handleIntegrationSecret))
	mux.HandleFunc("GET /admin/integrations/{id}/delete", p.requireIntegrationAdmin(p.handleIntegrationDeleteConfirm))
	mux.HandleFunc("POST /admin/integrations/{id}/delete", p.requireIntegrationAdmin(p.handleIntegrationDelete))
	mux.HandleFunc("GET "+integration.CallbackPath+"{key}", p.handleIntegrationCallback)
}

// requireIntegrationAdmin admits system administrators (after requireAdmin's
// sign-in and form checks).
func (p *Pages) requireIntegrationAdmin(h adminHandler) http.HandlerFunc {
	return p.requireAdmin(func(w http.ResponseWriter, r *http.Request, u store.User) error {
		if u.Level < store.LevelSystemAdmin {
			return integration.ErrForbidden
		}
		return h(w, r, u)
	})
}

func integrationActor(r *http.Request, u store.User) integration.Actor {
	return audit.UserActor(u, clientAddr(r).String())
}

// integrationBinding ties an authorization started from the console to the
// browser session that started it.
func (p *Pages) integrationBinding(r *http.Request) []byte {
	return p.bindingOf(p.csrfToken(r))
}

// callbackBinding is the binding of the session a provider's callback
// arrives in; nil without one, so that anonymous callbacks store no session.
func (p *Pages) callbackBinding(r *http.Request) []byte {
	t := p.sessions.GetString(r.Context(), keyCSRF)
	if t == "" {
		return nil
	}
	return p.bindingOf(t)
}

func (p *Pages) bindingOf(formToken string) []byte {
	return p.keys.Hash("integration-binding:" + formToken)
}

// words words a service's message in the page's language.
func (p *Pages) words(r *http.Request, v *validation.Error) string {
	lang := pickLanguage(r)
	if p.messages.Has(lang, refusalPrefix+v.Key) {
		return p.messages.T(lang, refusalPrefix+v.Key, p.labelled(lang, v)...)
	}
	p.log.Warn("message without a translation", "key", v.Key, "lang", lang)
	return v.Error()
}

// integrationRow is an integration with its state, for the list and the page.
type integrationRow struct {
	store.Integration
	State       integration.State
	RedirectURL string
}

func (p *Pages) integrationRow(in store.Integration) integrationRow {
	return integrationRow{Integration: in, State: integration.StateOf(in, p.now()), RedirectURL: p.integrations.RedirectURL(in)}
}

func (p *Pages) handleIntegrationList(w http.ResponseWriter, r *http.Request, u store.User) error {
	list, err := p.integrations.List(r.Context(), integrationActor(r, u))
	if err != nil {
		return err
	}
	rows := make([]integrationRow, 0, len(list))
	for _, in := range list {
		rows = append(rows, p.integrationRow(in))
	}
	p.render(w, r, http.StatusOK, "admin_integrations", p.t(r, "integration.list_title"), rows)
	return nil
}

// integrationForm is the create and edit form.
type integrationForm struct {
	ID          string // "" while creating
	Settings    integration.Settings
	ScopesText  string
	RedirectURL string // for a preset, known before creating
	Providers   []string
	Problem     formProblem
}

func (p *Pages) newIntegrationForm(id string, st integration.Settings) integrationForm {
	f := integrationForm{ID: id, Settings: st, ScopesText: strings.Join(st.Scopes, "\n"), Providers: integration.Providers}
	if st.AuthURL != "" && st.TokenURL != "" {
		f.RedirectURL = p.integrations.RedirectURL(store.Integration{AuthURL: st.AuthURL, TokenURL: st.TokenURL})
	}
	return f
}

// handleIntegrationNew offers the providers, then the chosen one's form
// filled with its preset.
func (p *Pages) handleIntegrationNew(w http.ResponseWriter, r *http.Request, u store.User) error {
	provider := r.URL.Query().Get("provider")
	if !slices.Contains(integration.Providers, provider) {
		provider = ""
	}
	f := p.newIntegrationForm("", p.integrations.Defaults(provider))
	f.Settings.Provider = provider
	p.render(w, r, http.StatusOK, "admin_integration_form", p.t(r, "integration.new_title"), f)
	return nil
}

// settingsFromForm reads the posted form.
func settingsFromForm(r *http.Request) integration.Settings {
	f := r.PostForm
	return integration.Settings{
		Provider: f.Get("provider"), Name: f.Get("name"), Description: f.Get("description"),
		ClientID: f.Get("client_id"), ClientSecret: f.Get("client_secret"), Scopes: splitScopes(f.Get("scopes")),
		AuthURL: f.Get("authorization_endpoint"), TokenURL: f.Get("token_endpoint"), UserinfoURL: f.Get("userinfo_endpoint"),
		Issuer: f.Get("issuer"), Tenant: f.Get("tenant"), AuthParams: f.Get("authorization_parameters"),
		NoPKCE: f.Get("provider") == integration.Custom && f.Get("pkce") != "on",
	}
}

// splitScopes reads scopes one per line or separated by spaces; none is an
// empty list, not "the preset's".
func splitScopes(s string) []string {
	return append([]string{}, strings.Fields(s)...)
}

func (p *Pages) handleIntegrationCreate(w http.ResponseWriter, r *http.Request, u store.User) error {
	st := settingsFromForm(r)
	ctx := r.Context()
	if r.PostForm.Has("discover") {
		p.discoverIntoForm(w, r, "", st)
		return nil
	}
	in, err := p.integrations.Create(ctx, integrationActor(r, u), st)
	if isRefusal(err) {
		st.ClientSecret = "" // never echoed into a page
		f := p.newIntegrationForm("", st)
		f.Problem = p.problem(r, err)
		p.render(w, r, http.StatusBadRequest, "admin_integration_form", p.t(r, "integration.new_title"), f)
		return nil
	}
	if err != nil {
		return err
	}
	p.flash(r, "integration.created")
	http.Redirect(w, r, "/admin/integrations/"+in.ID, http.StatusSeeOther)
	return nil
}

// discoverIntoForm fills a custom provider's endpoints from its issuer and
// shows the form again.
func (p *Pages) discoverIntoForm(w http.ResponseWriter, r *http.Request, id string, st integration.Settings) {
	title := p.t(r, "integration.new_title")
	if id != "" {
		title = p.t(r, "integration.edit_title")
	}
	st.ClientSecret = ""
	m, err := p.integrations.Discover(r.Context(), st.Issuer)
	if err != nil {
		f := p.newIntegrationForm(id, st)
		f.Problem = p.problem(r, err)
		p.render(w, r, http.StatusBadRequest, "admin_integration_form", title, f)
		return
	}
	st.Issuer, st.AuthURL, st.TokenURL = m.Issuer, m.AuthURL, m.TokenURL
	if st.UserinfoURL == "" {
		st.UserinfoURL = m.UserinfoURL
	}
	st.NoPKCE = m.NoS256
	p.render(w, r, http.StatusOK, "admin_integration_form", title, p.newIntegrationForm(id, st))
}

type integrationPage struct {
	integrationRow
	Warnings        []string
	Problem         string // an authorization's failure, just now
	RedirectChanged bool
	LastError       string
	ProviderNote    string // why the token cannot be renewed, when it cannot
}

func (p *Pages) handleIntegrationShow(w http.ResponseWriter, r *http.Request, u store.User) error {
	in, err := p.integrations.Get(r.Context(), integrationActor(r, u), r.PathValue("id"))
	if err != nil {
		return err
	}
	d := integrationPage{integrationRow: p.integrationRow(in), RedirectChanged: r.URL.Query().Has("redirect_changed")}
	d.Problem = p.sessions.PopString(r.Context(), keyIntegrationProblem)
	for _, warning := range p.integrations.Warnings(in) {
		d.Warnings = append(d.Warnings, p.words(r, warning))
	}
	if d.State.LastError != nil {
		d.LastError = p.words(r, d.State.LastError)
	}
	// The Authorize form's answer redirects to the provider: browsers apply
	// form-action to that redirect too.
	if u, err := url.Parse(in.AuthURL); err == nil && u.Scheme != "" && u.Host != "" {
		w.Header().Set("Content-Security-Policy", csp(" "+formSource(u)))
	}
	p.render(w, r, http.StatusOK, "admin_integration", in.Name, d)
	return nil
}

// settingsOf turns an integration back into the form that edits it.
func settingsOf(in store.Integration) integration.Settings {
	return integration.Settings{
		Provider: in.Provider, Name: in.Name, Description: in.Description, ClientID: in.ClientID, Scopes: in.Scopes,
		AuthURL: in.AuthURL, TokenURL: in.TokenURL, UserinfoURL: in.UserinfoURL, Issuer: in.Issuer, Tenant: in.Tenant,
		AuthParams: in.AuthParams, NoPKCE: !in.PKCE,
	}
}

func (p *Pages) handleIntegrationEdit(w http.ResponseWriter, r *http.Request, u store.User) error {
	in, err := p.integrations.Get(r.Context(), integrationActor(r, u), r.PathValue("id"))
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "admin_integration_form", p.t(r, "integration.edit_title"), p.newIntegrationForm(in.ID, settingsOf(in)))
	return nil
}

func (p *Pages) handleIntegrationUpdate(w http.ResponseWriter, r *http.Request, u store.User) error {
	id := r.PathValue("id")
	ctx, a := r.Context(), integrationActor(r, u)
	in, err := p.integrations.Get(ctx, a, id)
	if err != nil {
		return err
	}
	st := settingsFromForm(r)
	st.Provider = in.Provider // fixed at creation
	if r.PostForm.Has("discover") {
		p.discoverIntoForm(w, r, id, st)
		return nil
	}
	ch := integration.Change{
		Name: &st.Name, Description: &st.Description, ClientID: &st.ClientID, ClientSecret: &st.ClientSecret,
		Scopes: &st.Scopes, Tenant: &st.Tenant, AuthParams: &st.AuthParams,
	}
	if in.Provider == integration.Custom {
		ch.AuthURL, ch.TokenURL, ch.UserinfoURL, ch.Issuer, ch.NoPKCE = &st.AuthURL, &st.TokenURL, &st.UserinfoURL, &st.Issuer, &st.NoPKCE
	}
	up, err := p.integrations.Update(ctx, a, id, ch)
	if isRefusal(err) {
		st.ClientSecret = ""
		f := p.newIntegrationForm(id, st)
		f.Problem = p.problem(r, err)
		p.render(w, r, http.StatusBadRequest, "admin_integration_form", p.t(r, "integration.edit_title"), f)
		return nil
	}
	if err != nil {
		return err
	}
	p.flash(r, "admin.saved")
	target := "/admin/integrations/" + id
	if up.RedirectChanged {
		target += "?redirect_changed=1"
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// handleIntegrationAuthorize sends the administrator to the provider; the
// state is bound to this browser session.
func (p *Pages) handleIntegrationAuthorize(w http.ResponseWriter, r *http.Request, u store.User) error {
	id := r.PathValue("id")
	target, _, err := p.integrations.StartAuthorization(r.Context(), integrationActor(r, u), id, p.integrationBinding(r))
	if isRefusal(err) {
		p.sessions.Put(r.Context(), keyIntegrationProblem, p.refusal(r, err))
		http.Redirect(w, r, "/admin/integrations/"+id, http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// handleIntegrationCallback is where the provider sends the browser back.
// A console authorization returns to the integration's page; a URL made for
// any browser (the command line's) ends on a page of its own, which needs
// no sign-in.
func (p *Pages) handleIntegrationCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, err := p.integrations.CompleteAuthorization(ctx, integration.Callback{
		Key: r.PathValue("key"), Query: r.URL.Query(), Binding: p.callbackBinding(r), Address: clientAddr(r).String(),
	})
	if errors.Is(err, integration.ErrUnknownState) {
		p.render(w, r, http.StatusBadRequest, "error", p.t(r, "error.title"), errorData{Message: p.t(r, "integration.state_unknown")})
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if c.Bound {
		if c.Failure != nil {
			p.sessions.Put(ctx, keyIntegrationProblem, p.t(r, "integration.authorize_failed", p.words(r, c.Failure.Why)))
		} else {
			p.flash(r, "integration.authorized", c.Integration.Name)
		}
		http.Redirect(w, r, "/admin/integrations/"+c.Integration.ID, http.StatusSeeOther)
		return
	}
	d := errorData{Message: p.t(r, "integration.authorized_page", c.Integration.Name)}
	title, status := p.t(r, "integration.authorized_title"), http.StatusOK
	if c.Failure != nil {
		// The provider refused or failed, as the admin API's 424 says.
		d.Message, title = p.t(r, "integration.authorize_failed", p.words(r, c.Failure.Why)), p.t(r, "error.title")
		status = http.StatusFailedDependency
	}
	p.render(w, r, status, "integration_done", title, d)
}

func (p *Pages) handleIntegrationTest(w http.ResponseWriter, r *http.Request, u store.User) error {
	id := r.PathValue("id")
	res, err := p.integrations.Test(r.Context(), integrationActor(r, u), id)
	if err != nil {
		return err
	}
	if !res.OK {
		p.sessions.Put(r.Context(), keyIntegrationProblem, p.t(r, "integration.test_failed", p.words(r, res.Failure.Why)))
		http.Redirect(w, r, "/admin/integrations/"+id, http.StatusSeeOther)
		return nil
	}
	valid := p.t(r, "integration.no_expiry")
	if !res.ExpiresAt.IsZero() {
		valid = p.remaining(r, res.ExpiresAt.Sub(p.now()))
	}
	switch {
	case res.FromUserinfo:
		p.flash(r, "integration.test_ok", res.Account, valid)
	case res.Account != "":
		p.flash(r, "integration.test_ok_token", res.Account, valid)
	default:
		p.flash(r, "integration.test_ok_anonymous", valid)
	}
	http.Redirect(w, r, "/admin/integrations/"+id, http.StatusSeeOther)
	return nil
}

// remaining words how long a token stays valid.
func (p *Pages) remaining(r *http.Request, d time.Duration) string {
	text := integration.Remaining(d)
	n, unit, _ := strings.Cut(text, " ")
	return p.t(r, "integration.valid_"+unit, n)
}

type integrationSecretData struct {
	Integration store.Integration
	Secret      string
}

// handleIntegrationSecret shows the client secret again, only inside a
// secure administrator session; every view is audited.
func (p *Pages) handleIntegrationSecret(w http.ResponseWriter, r *http.Request, u store.User) error {
	id := r.PathValue("id")
	if p.requireReauth(w, r, "/admin/integrations/"+id+"/secret") {
		return nil
	}
	a := integrationActor(r, u)
	in, err := p.integrations.Get(r.Context(), a, id)
	if err != nil {
		return err
	}
	secretValue, err := p.integrations.RevealSecret(r.Context(), a, id)
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "admin_integration_secret", p.t(r, "integration.secret_title"), integrationSecretData{in, secretValue})
	return nil
}

type integrationDeleteData struct {
	Integration store.Integration
	Message     string
}

func (p *Pages) handleIntegrationDeleteConfirm(w http.ResponseWriter, r *http.Request, u store.User) error {
	in, err := p.integrations.Get(r.Context(), integrationActor(r, u), r.PathValue("id"))
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "admin_integration_delete", p.t(r, "admin.delete_title", in.Name),
		integrationDeleteData{in, p.t(r, "integration.delete_confirm", in.Name)})
	return nil
}

func (p *Pages) handleIntegrationDelete(w http.ResponseWriter, r *http.Request, u store.User) error {
	if err := p.integrations.Delete(r.Context(), integrationActor(r, u), r.PathValue("id")); err != nil {
		return err
	}
	p.flash(r, "admin.deleted")
	http.Redirect(w, r, "/admin/integrations", http.StatusSeeOther)
	return nil
}
