package web

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/clientip"
	"github.com/gatehouse/gatehouse/internal/integration"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// ReauthWindow is how long a re-entered password unlocks credential views.
const ReauthWindow = 5 * time.Minute

// adminHandler is a console handler for a signed-in administrator.
// adminHandler is a console page's handler: it returns its error to the
// console's one error writer, consoleError.
type adminHandler func(w http.ResponseWriter, r *http.Request, u store.User) error

// requireAdmin admits administrators; state-changing requests must also pass
// the form check (CSRF token).
func (p *Pages) requireAdmin(h adminHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && !p.acceptForm(w, r) {
			return
		}
		u, ok := p.signedIn(w, r)
		if !ok {
			return
		}
		if u.Level < store.LevelAdmin {
			p.render(w, r, http.StatusForbidden, "error", p.t(r, "error.title"), errorData{Message: p.t(r, "admin.forbidden")})
			return
		}
		if err := h(w, r, *u); err != nil {
			p.consoleError(w, r, err)
		}
	}
}

func (p *Pages) registerAdmin(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/admin/apps", http.StatusFound) })
	mux.HandleFunc("GET /admin/apps", p.requireAdmin(p.handleAppList))
	mux.HandleFunc("GET /admin/apps/new", p.requireAdmin(p.handleAppNew))
	mux.HandleFunc("POST /admin/apps/new", p.requireAdmin(p.handleAppCreate))
	mux.HandleFunc("GET /admin/apps/{id}/new-secret", p.requireAdmin(p.handleAppNewSecret))
	mux.HandleFunc("GET /admin/apps/{id}", p.requireAdmin(p.handleAppShow))
	mux.HandleFunc("GET /admin/apps/{id}/edit", p.requireAdmin(p.handleAppEdit))
	mux.HandleFunc("POST /admin/apps/{id}/edit", p.requireAdmin(p.handleAppUpdate))
	mux.HandleFunc("POST /admin/apps/{id}/enabled", p.requireAdmin(p.handleAppEnabled))
	mux.HandleFunc("GET /admin/apps/{id}/delete", p.requireAdmin(p.handleAppDeleteConfirm))
	mux.HandleFunc("POST /admin/apps/{id}/delete", p.requireAdmin(p.handleAppDelete))
	mux.HandleFunc("GET /admin/apps/{id}/credentials", p.requireAdmin(p.handleAppCredentials))
	mux.HandleFunc("GET /admin/apps/{id}/rotate", p.requireAdmin(p.handleAppRotateConfirm))
	mux.HandleFunc("POST /admin/apps/{id}/rotate", p.requireAdmin(p.handleAppRotate))
	mux.HandleFunc("POST /admin/apps/{id}/logo", p.handleAppLogo) // multipart: checks its own form
	mux.HandleFunc("POST /admin/grants/{id}/revoke", p.requireAdmin(p.handleGrantRevoke))
	mux.HandleFunc("GET /admin/reauth", p.requireAdmin(p.handleReauthPage))
	mux.HandleFunc("POST /admin/reauth", p.requireAdmin(p.handleReauth))
	p.registerAdminUsers(mux)
	p.registerIntegrations(mux)
	p.registerAdminAudit(mux)
	p.registerAdminMail(mux)
}

// consoleError is the console's one error writer: a missing resource is 404,
// a section the caller's level does not open (integrations, mail servers)
// 403, a form the page could not have sent 400, a refusal — an action above
// the caller's level among them, as the admin API answers it — 400 in the
// page's language, and anything else goes to fail (503 when the database is
// unreachable, 500 otherwise).
func (p *Pages) consoleError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errBadForm):
		p.badForm(w, r)
	case errors.Is(err, store.ErrNotFound):
		p.render(w, r, http.StatusNotFound, "error", p.t(r, "error.title"), errorData{Message: p.t(r, "error.not_found")})
	case errors.Is(err, integration.ErrForbidden):
		p.render(w, r, http.StatusForbidden, "error", p.t(r, "error.title"), errorData{Message: p.t(r, "integration.forbidden")})
	case errors.Is(err, mail.ErrForbidden):
		p.render(w, r, http.StatusForbidden, "error", p.t(r, "error.title"), errorData{Message: p.t(r, "mail.forbidden")})
	case isRefusal(err):
		p.render(w, r, http.StatusBadRequest, "error", p.t(r, "error.title"), errorData{Message: p.refusal(r, err)})
	default:
		p.fail(w, r, err)
	}
}

type appListData struct {
	Query string
	Apps  []admin.AppSummary
}

func (p *Pages) handleAppList(w http.ResponseWriter, r *http.Request, u store.User) error {
	q := r.URL.Query().Get("q")
	apps, err := p.admin.ListApps(r.Context(), q)
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "admin_apps", p.t(r, "admin.apps"), appListData{Query: q, Apps: apps})
	return nil
}

// appForm is the create/edit form.
type appForm struct {
	ID           string
	Reg          app.Registration
	RedirectText string
	UsersText    string
	GroupsText   string
	IPsText      string
	Scopes       []scopeChoice
	Problem      formProblem // why the form was refused
}

type scopeChoice struct {
	scopeLine
	Checked bool
}

func (p *Pages) newAppForm(r *http.Request, id string, reg app.Registration) appForm {
	f := appForm{
		ID: id, Reg: reg, RedirectText: strings.Join(reg.RedirectURIs, "\n"),
		UsersText: strings.Join(reg.SubscriberUsers, ", "), GroupsText: strings.Join(reg.SubscriberGroups, ", "),
		IPsText: strings.Join(reg.AllowedIPs, "\n"),
	}
	lang := pickLanguage(r)
	for _, sc := range p.scopes.All() {
		f.Scopes = append(f.Scopes, scopeChoice{p.scopeLine(sc.Name, lang), slices.Contains(reg.Scopes, sc.Name)})
	}
	return f
}

// registrationFromForm reads the posted application form.
// appFormFields are the application form's text fields and its type, which
// the page always sends.
var appFormFields = []string{"name", "description", "redirect_uris", "type", "subscriber_users", "subscriber_groups", "allowed_ips"}

// errNoGrant refuses an application form with no grant type ticked: the
// API's default for an empty list would give it grants the form unticked.
var errNoGrant = validation.Errorf(app.ErrInvalid, "app.grant_required", "choose at least one grant type")

// registrationFromForm reads the application form: errBadForm when a field
// the page always sends is missing, errNoGrant (with the registration, to
// show again) when no grant type is ticked.
func registrationFromForm(r *http.Request) (app.Registration, error) {
	f := r.PostForm
	if !formHas(f, appFormFields...) {
		return app.Registration{}, errBadForm
	}
	reg := app.Registration{
		Name: f.Get("name"), Description: f.Get("description"),
		RedirectURIs: splitList(f.Get("redirect_uris")), Scopes: f["scope"], Grants: f["grant"],
		Public: f.Get("type") == "public", RequirePKCE: f.Get("require_pkce") == "on", Disabled: f.Get("enabled") != "on",
		SubscriberUsers: splitList(f.Get("subscriber_users")), SubscriberGroups: splitList(f.Get("subscriber_groups")),
		AllowedIPs: splitList(f.Get("allowed_ips")), IntrospectAny: f.Get("introspect_any") == "on",
	}
	if len(reg.Grants) == 0 {
		return reg, errNoGrant
	}
	return reg, nil
}

// splitList reads one item per line or comma.
func splitList(s string) []string {
	var out []string
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == ',' || r == '\r' }) {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func (p *Pages) handleAppNew(w http.ResponseWriter, r *http.Request, u store.User) error {
	reg := app.Registration{Grants: app.DefaultGrants, Scopes: []string{p.scopes.All()[0].Name}}
	p.render(w, r, http.StatusOK, "admin_app_form", p.t(r, "admin.app_new"), p.newAppForm(r, "", reg))
	return nil
}

type createdData struct {
	Client store.Client
	Secret string
	Title  string
}

func (p *Pages) handleAppCreate(w http.ResponseWriter, r *http.Request, u store.User) error {
	reg, err := registrationFromForm(r)
	if errors.Is(err, errBadForm) {
		return err
	}
	var c store.Client
	var secretValue string
	if err == nil {
		c, secretValue, err = p.admin.CreateApp(r.Context(), p.actor(r, u), reg)
	}
	if isRefusal(err) {
		f := p.newAppForm(r, "", reg)
		f.Problem = p.problem(r, err)
		p.render(w, r, http.StatusBadRequest, "admin_app_form", p.t(r, "admin.app_new"), f)
		return nil
	}
	if err != nil {
		return err
	}
	p.showSecretOnce(w, r, c.ID, secretValue, "created")
	return nil
}

// keyNewSecret remembers, for one page view, which application's secret was
// just made, when, and a keyed fingerprint of it
// ("created:ID:UNIX-MS:FINGERPRINT", or "rotated:…").
const keyNewSecret = "new_secret"

// newSecretWindow is how long after its creation or rotation a secret may
// still be shown on that page: a page left unopened is not a way to see a
// later secret, or this one hours later.
const newSecretWindow = 5 * time.Minute

// secretFingerprint identifies a secret in the session without keeping it.
func (p *Pages) secretFingerprint(secretValue string) string {
	return hex.EncodeToString(p.keys.Hash("new-secret:" + secretValue)[:16])
}

// showSecretOnce answers a creation or rotation with a redirect to a page
// that shows the new secret once (Post/Redirect/Get): reloading that page
// cannot create a second application or rotate again, and shows the secret
// no more. Only which application it was is kept in the session, never the
// secret, which the page reads back from its sealed copy.
func (p *Pages) showSecretOnce(w http.ResponseWriter, r *http.Request, id, secretValue, what string) {
	if secretValue == "" { // a public application has none
		http.Redirect(w, r, "/admin/apps/"+id, http.StatusSeeOther)
		return
	}
	p.sessions.Put(r.Context(), keyNewSecret, fmt.Sprintf("%s:%s:%d:%s", what, id, p.now().UnixMilli(), p.secretFingerprint(secretValue)))
	http.Redirect(w, r, "/admin/apps/"+id+"/new-secret", http.StatusSeeOther)
}

// handleAppNewSecret shows the secret just created or rotated, once.
func (p *Pages) handleAppNewSecret(w http.ResponseWriter, r *http.Request, u store.User) error {
	id := r.PathValue("id")
	once, err := p.sessions.PopOnce(r.Context(), keyNewSecret)
	if err != nil {
		return err
	}
	shownOnce := func() error {
		p.flash(r, "admin.secret_shown_once")
		http.Redirect(w, r, "/admin/apps/"+id, http.StatusSeeOther)
		return nil
	}
	what, shownID, madeAt, fingerprint := splitNewSecret(once)
	if shownID != id || p.now().Sub(madeAt) > newSecretWindow || madeAt.After(p.now()) {
		return shownOnce()
	}
	c, secretValue, err := p.admin.NewSecret(r.Context(), p.actor(r, u), id)
	if err != nil {
		return err
	}
	// Rotated again since (from the command line, by another administrator):
	// that secret is not this page's to show.
	if p.secretFingerprint(secretValue) != fingerprint {
		return shownOnce()
	}
	title := p.t(r, "admin.app_created")
	if what == "rotated" {
		title = p.t(r, "admin.rotated")
	}
	p.render(w, r, http.StatusOK, "admin_app_secret", title, createdData{Client: c, Secret: secretValue, Title: title})
	return nil
}

// splitNewSecret reads keyNewSecret's value; zero values where it is not one.
func splitNewSecret(v string) (what, id string, madeAt time.Time, fingerprint string) {
	parts := strings.Split(v, ":")
	if len(parts) != 4 {
		return "", "", time.Time{}, ""
	}
	ms, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return "", "", time.Time{}, ""
	}
	return parts[0], parts[1], time.UnixMilli(ms), parts[3]
}

type appShowData struct {
	App        admin.AppSummary
	Scopes     []scopeLine
	Grants     grantList
	Reauthed   bool
	ScopeTexts map[string]string
	Endpoints  []endpoint
	// Logo is why a logo upload was refused.
	Logo formProblem
	// Beyond says why the viewer may not manage the application ("" when
	// they may), in place of the controls the services would refuse.
	Beyond string
}

// endpoint is one of the server's URLs, as an application's page shows it
// for the application's developers to copy.
type endpoint struct{ ID, Label, URL string }

// endpoints are the URLs a client is configured with, from the base URL.
func (p *Pages) endpoints(r *http.Request) []endpoint {
	base := p.oauth.Issuer()
	return []endpoint{
		{"endpoint_metadata", p.t(r, "admin.endpoint_metadata"), base + oauth.PathMetadata},
		{"endpoint_authorize", p.t(r, "admin.endpoint_authorize"), base + oauth.PathAuthorize},
		{"endpoint_token", p.t(r, "admin.endpoint_token"), base + oauth.PathToken},
	}
}

func (p *Pages) handleAppShow(w http.ResponseWriter, r *http.Request, u store.User) error {
	return p.renderApp(w, r, http.StatusOK, u, r.PathValue("id"), formProblem{})
}

// renderApp shows an application's page to u; logo is why a logo upload was
// refused, shown by the logo form.
func (p *Pages) renderApp(w http.ResponseWriter, r *http.Request, status int, u store.User, id string, logo formProblem) error {
	ctx := r.Context()
	c, err := p.admin.GetApp(ctx, id)
	if err != nil {
		return err
	}
	apps, err := p.admin.ListApps(ctx, c.ID)
	if err != nil {
		return err
	}
	grants, err := p.recentGrants(r, store.TokenFilter{ClientID: c.ID})
	if err != nil {
		return err
	}
	data := appShowData{App: admin.AppSummary{Client: c}, Grants: grants, Reauthed: p.reauthed(r),
		Endpoints: p.endpoints(r), Logo: logo}
	if len(apps) == 1 {
		data.App = apps[0]
	}
	lang := pickLanguage(r)
	for _, name := range c.Scopes {
		data.Scopes = append(data.Scopes, p.scopeLine(name, lang))
	}
	if name := p.admin.ScopeBeyond(p.actor(r, u), c.Scopes); name != "" {
		data.Beyond = p.t(r, "admin.app_beyond_level", name)
	}
	p.render(w, r, status, "admin_app", c.Name, data)
	return nil
}

// beyondReach sends an administrator who may not manage c from a form the
// services would refuse to c's page, which says why, and reports whether it did.
func (p *Pages) beyondReach(w http.ResponseWriter, r *http.Request, u store.User, c store.Client) bool {
	if p.admin.ScopeBeyond(p.actor(r, u), c.Scopes) == "" {
		return false
	}
	http.Redirect(w, r, "/admin/apps/"+c.ID, http.StatusSeeOther)
	return true
}

func (p *Pages) handleAppEdit(w http.ResponseWriter, r *http.Request, u store.User) error {
	c, err := p.admin.GetApp(r.Context(), r.PathValue("id"))
	if err != nil || p.beyondReach(w, r, u, c) {
		return err
	}
	p.render(w, r, http.StatusOK, "admin_app_form", p.t(r, "admin.app_edit"), p.newAppForm(r, c.ID, admin.RegistrationOf(c)))
	return nil
}

func (p *Pages) handleAppUpdate(w http.ResponseWriter, r *http.Request, u store.User) error {
	id := r.PathValue("id")
	reg, err := registrationFromForm(r)
	if errors.Is(err, errBadForm) {
		return err
	}
	var c store.Client
	var secretValue string
	if err == nil {
		c, secretValue, err = p.admin.UpdateApp(r.Context(), p.actor(r, u), id, reg)
	}
	if isRefusal(err) {
		f := p.newAppForm(r, id, reg)
		f.Problem = p.problem(r, err)
		p.render(w, r, http.StatusBadRequest, "admin_app_form", p.t(r, "admin.app_edit"), f)
		return nil
	}
	if err != nil {
		return err
	}
	if secretValue != "" { // made confidential: its first secret, shown once
		p.showSecretOnce(w, r, c.ID, secretValue, "created")
		return nil
	}
	p.flash(r, "admin.saved")
	http.Redirect(w, r, "/admin/apps/"+c.ID, http.StatusSeeOther)
	return nil
}

func (p *Pages) handleAppEnabled(w http.ResponseWriter, r *http.Request, u store.User) error {
	enabled := r.PostFormValue("enabled")
	if enabled != "true" && enabled != "false" {
		return errBadForm
	}
	c, err := p.admin.SetAppEnabled(r.Context(), p.actor(r, u), r.PathValue("id"), enabled == "true")
	if err != nil {
		return err
	}
	p.flash(r, "admin.saved")
	http.Redirect(w, r, "/admin/apps/"+c.ID, http.StatusSeeOther)
	return nil
}

type confirmData struct {
	Client  store.Client
	Message string
	Action  string
	Button  string
}

func (p *Pages) handleAppDeleteConfirm(w http.ResponseWriter, r *http.Request, u store.User) error {
	c, err := p.admin.GetApp(r.Context(), r.PathValue("id"))
	if err != nil || p.beyondReach(w, r, u, c) {
		return err
	}
	p.render(w, r, http.StatusOK, "admin_confirm", p.t(r, "admin.delete_title", c.Name), confirmData{
		Client: c, Message: p.t(r, "admin.delete_confirm", c.Name), Action: "/admin/apps/" + c.ID + "/delete", Button: p.t(r, "admin.delete"),
	})
	return nil
}

func (p *Pages) handleAppDelete(w http.ResponseWriter, r *http.Request, u store.User) error {
	if err := p.admin.DeleteApp(r.Context(), p.actor(r, u), r.PathValue("id")); err != nil {
		return err
	}
	p.flash(r, "admin.deleted")
	http.Redirect(w, r, "/admin/apps", http.StatusSeeOther)
	return nil
}

// reauthed reports whether the administrator re-entered their password
// within ReauthWindow (the "secure administrator session").
func (p *Pages) reauthed(r *http.Request) bool {
	at := p.sessions.GetInt64(r.Context(), keyReauth)
	return at != 0 && p.now().Sub(time.UnixMilli(at)) < ReauthWindow
}

// requireReauth sends an administrator outside a secure administrator session
// to the password page, which then brings them back to the page next, and
// reports whether it did. Every action that yields a working credential
// (viewing or regenerating a client secret, setting a user's password)
// needs one. A request another site started
// (Sec-Fetch-Site) goes to the resource's own page instead: a link elsewhere
// must not make a view happen that the audit log records as the
// administrator's own.
func (p *Pages) requireReauth(w http.ResponseWriter, r *http.Request, next string) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		http.Redirect(w, r, path.Dir(next), http.StatusSeeOther)
		return true
	}
	if p.reauthed(r) {
		return false
	}
	http.Redirect(w, r, "/admin/reauth?next="+url.QueryEscape(next), http.StatusSeeOther)
	return true
}

// handleAppCredentials shows the client secret again, only inside a secure
// administrator session; every view is audited.
func (p *Pages) handleAppCredentials(w http.ResponseWriter, r *http.Request, u store.User) error {
	id := r.PathValue("id")
	if p.requireReauth(w, r, "/admin/apps/"+id+"/credentials") {
		return nil
	}
	c, err := p.admin.GetApp(r.Context(), id)
	if err != nil {
		return err
	}
	secretValue, err := p.admin.ViewSecret(r.Context(), p.actor(r, u), id)
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "admin_app_secret", p.t(r, "admin.credentials"), createdData{Client: c, Secret: secretValue, Title: p.t(r, "admin.credentials")})
	return nil
}

func (p *Pages) handleAppRotateConfirm(w http.ResponseWriter, r *http.Request, u store.User) error {
	id := r.PathValue("id")
	if p.requireReauth(w, r, "/admin/apps/"+id+"/rotate") {
		return nil
	}
	c, err := p.admin.GetApp(r.Context(), id)
	if err != nil || p.beyondReach(w, r, u, c) {
		return err
	}
	p.render(w, r, http.StatusOK, "admin_confirm", p.t(r, "admin.rotate_title", c.Name), confirmData{
		Client: c, Message: p.t(r, "admin.rotate_confirm", c.Name), Action: "/admin/apps/" + c.ID + "/rotate", Button: p.t(r, "admin.rotate"),
	})
	return nil
}

// handleAppRotate regenerates the secret, only inside a secure administrator
// session: the answer shows a working secret, like viewing credentials. A
// post from outside one goes to the password page and back to the
// confirmation, never straight to a rotation.
func (p *Pages) handleAppRotate(w http.ResponseWriter, r *http.Request, u store.User) error {
	id := r.PathValue("id")
	if p.requireReauth(w, r, "/admin/apps/"+id+"/rotate") {
		return nil
	}
	secretValue, err := p.admin.RotateSecret(r.Context(), p.actor(r, u), id)
	if err != nil {
		return err
	}
	p.showSecretOnce(w, r, id, secretValue, "rotated")
	return nil
}

// handleAppLogo takes a multipart upload (or a removal); the body is capped
// before parsing and the CSRF token checked like every other form. A refused
// upload shows the application's page again, with the reason by the logo
// form.
func (p *Pages) handleAppLogo(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, admin.MaxLogoBytes+64<<10)
	// A form that is not multipart holds no file but was read (ParseForm ran
	// first): the handler below checks its token and says what is missing.
	if err := r.ParseMultipartForm(admin.MaxLogoBytes + 64<<10); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		// Too large to read, or not a readable upload, so no form token
		// either: nothing changes, and only an administrator sees the page.
		u, ok := p.signedIn(w, r)
		if !ok {
			return
		}
		if u.Level < store.LevelAdmin {
			p.render(w, r, http.StatusForbidden, "error", p.t(r, "error.title"), errorData{Message: p.t(r, "admin.forbidden")})
			return
		}
		status := http.StatusBadRequest
		var refusal error = errNoLogoFile
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) || errors.Is(err, multipart.ErrMessageTooLarge) {
			status = http.StatusRequestEntityTooLarge
			refusal = validation.Errorf(admin.ErrInvalid, "admin.logo_too_large", "the logo must be at most %d KiB", admin.MaxLogoBytes>>10)
		}
		if err := p.renderApp(w, r, status, *u, r.PathValue("id"), p.problem(r, refusal)); err != nil {
			p.consoleError(w, r, err)
		}
		return
	}
	p.requireAdmin(func(w http.ResponseWriter, r *http.Request, u store.User) error {
		id := r.PathValue("id")
		var err error
		if r.PostFormValue("remove") == "true" {
			err = p.admin.RemoveLogo(r.Context(), p.actor(r, u), id)
		} else {
			err = p.uploadLogo(r, u, id)
		}
		if isRefusal(err) {
			return p.renderApp(w, r, http.StatusBadRequest, u, id, p.problem(r, err))
		}
		if err != nil {
			return err
		}
		p.flash(r, "admin.saved")
		http.Redirect(w, r, "/admin/apps/"+id, http.StatusSeeOther)
		return nil
	})(w, r)
}

// errNoLogoFile refuses a logo form without a readable file.
var errNoLogoFile = validation.Errorf(admin.ErrInvalid, "admin.logo_missing", "choose a PNG or JPEG file")

func (p *Pages) uploadLogo(r *http.Request, u store.User, id string) error {
	file, _, err := r.FormFile("logo")
	if err != nil {
		return errNoLogoFile
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, admin.MaxLogoBytes+1))
	if err != nil {
		return err
	}
	return p.admin.SetLogo(r.Context(), p.actor(r, u), id, data)
}

func (p *Pages) handleGrantRevoke(w http.ResponseWriter, r *http.Request, u store.User) error {
	err := p.admin.RevokeGrant(r.Context(), p.actor(r, u), r.PathValue("id"))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	p.flash(r, "apps.revoked")
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
	return nil
}

type reauthData struct {
	Next    string
	Problem formProblem // why the password was not accepted
}

func (p *Pages) handleReauthPage(w http.ResponseWriter, r *http.Request, u store.User) error {
	p.render(w, r, http.StatusOK, "admin_reauth", p.t(r, "admin.reauth"), reauthData{Next: safeNext(r.URL.Query().Get("next"))})
	return nil
}

// handleReauth checks the administrator's password again (throttled like
// any sign-in) and opens the secure administrator session.
func (p *Pages) handleReauth(w http.ResponseWriter, r *http.Request, u store.User) error {
	next := safeNext(r.PostFormValue("next"))
	refused, err := p.confirmPassword(w, r, u, r.PostFormValue("password"), "password")
	if err != nil {
		return err
	}
	if refused != nil {
		p.render(w, r, refused.status, "admin_reauth", p.t(r, "admin.reauth"), reauthData{Next: next, Problem: refused.problem})
		return nil
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// passwordRefusal is why confirmPassword did not confirm: the status and
// the problem to show by the password's field.
type passwordRefusal struct {
	status  int
	problem formProblem
}

// confirmPassword checks the administrator's own password again, throttled
// and audited like a sign-in, and when it is right opens the secure
// administrator session (audited). field names the form's password field.
func (p *Pages) confirmPassword(w http.ResponseWriter, r *http.Request, u store.User, password, field string) (*passwordRefusal, error) {
	err := p.admin.ConfirmPassword(r.Context(), p.actor(r, u), password, clientAddr(r))
	switch {
	case errors.Is(err, user.ErrInvalidCredentials):
		return &passwordRefusal{http.StatusUnauthorized, formProblem{Message: p.t(r, "admin.reauth_failed"), Field: field}}, nil
	case errors.Is(err, user.ErrThrottled):
		return &passwordRefusal{http.StatusTooManyRequests, p.throttled(w, r, err, field)}, nil
	case err != nil:
		return nil, err
	}
	// The raised privilege comes with a new session token (ASVS 3.2.1): a
	// copy of the cookie taken before does not carry it.
	if err := p.sessions.RenewToken(r.Context()); err != nil {
		return nil, err
	}
	p.sessions.Put(r.Context(), keyReauth, p.now().UnixMilli())
	p.audit.Record(r.Context(), store.AuditEvent{Kind: audit.AdminReauth, Actor: u.Username, Username: u.Username, Address: clientAddr(r).String()})
	return nil, nil
}

func clientAddr(r *http.Request) netip.Addr { return clientip.From(r.Context()) }
