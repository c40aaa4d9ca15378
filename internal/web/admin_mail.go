package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The console's incoming mail servers, for system administrators only.
func (p *Pages) registerAdminMail(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/mail", p.requireSystemAdmin(p.handleMailList))
	mux.HandleFunc("GET /admin/mail/new", p.requireSystemAdmin(p.handleMailNew))
	mux.HandleFunc("POST /admin/mail/new", p.requireSystemAdmin(p.handleMailCreate))
	mux.HandleFunc("GET /admin/mail/{id}", p.requireSystemAdmin(p.handleMailShow))
	mux.HandleFunc("GET /admin/mail/{id}/edit", p.requireSystemAdmin(p.handleMailEdit))
	mux.HandleFunc("POST /admin/mail/{id}/edit", p.requireSystemAdmin(p.handleMailUpdate))
	mux.HandleFunc("POST /admin/mail/{id}/test", p.requireSystemAdmin(p.handleMailTest))
	mux.HandleFunc("GET /admin/mail/{id}/delete", p.requireSystemAdmin(p.handleMailDeleteConfirm))
	mux.HandleFunc("POST /admin/mail/{id}/delete", p.requireSystemAdmin(p.handleMailDelete))
}

// requireSystemAdmin admits system administrators (after requireAdmin's
// sign-in and form checks).
func (p *Pages) requireSystemAdmin(h adminHandler) http.HandlerFunc {
	return p.requireAdmin(func(w http.ResponseWriter, r *http.Request, u store.User) error {
		if u.Level < store.LevelSystemAdmin {
			return mail.ErrForbidden
		}
		return h(w, r, u)
	})
}

func mailActor(r *http.Request, u store.User) mail.Actor {
	return audit.UserActor(u, clientAddr(r).String())
}

type mailListData struct {
	Servers      []store.MailServer
	Integrations map[string]string // ID → name
}

func (p *Pages) handleMailList(w http.ResponseWriter, r *http.Request, u store.User) error {
	a := mailActor(r, u)
	servers, err := p.mail.List(r.Context(), a)
	if err != nil {
		return err
	}
	names, err := p.mail.IntegrationNames(r.Context(), a)
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "admin_mail_servers", p.t(r, "admin.mail"), mailListData{Servers: servers, Integrations: names})
	return nil
}

// mailForm is the add/edit form.
type mailForm struct {
	ID           string
	Set          mail.Settings
	Port         string // "" for the default
	ByToken      bool   // sign in with an integration
	HasPassword  bool   // editing a server whose password is stored
	Integrations []integrationChoice
	// IntegrationChosen: one of Integrations is selected; otherwise the
	// form offers none, rather than letting the browser pick the first.
	IntegrationChosen bool
	Problem           formProblem
}

type integrationChoice struct {
	ID, Name string
	Selected bool
}

func (p *Pages) newMailForm(r *http.Request, u store.User, id string, set mail.Settings, hasPassword bool) (mailForm, error) {
	names, err := p.mail.IntegrationNames(r.Context(), mailActor(r, u))
	if err != nil {
		return mailForm{}, err
	}
	f := mailForm{ID: id, Set: set, ByToken: set.Integration != "", HasPassword: hasPassword}
	if set.Port != 0 {
		f.Port = strconv.Itoa(set.Port)
	}
	for id, name := range names {
		chosen := set.Integration != "" && (id == set.Integration || strings.EqualFold(name, set.Integration))
		f.Integrations = append(f.Integrations, integrationChoice{id, name, chosen})
		f.IntegrationChosen = f.IntegrationChosen || chosen
	}
	slices.SortFunc(f.Integrations, func(a, b integrationChoice) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	return f, nil
}

// mailSettingsFromForm reads the posted form. A port that is not a number
// is passed on as out of range, for the service to refuse with the rest.
func mailSettingsFromForm(r *http.Request) mail.Settings {
	f := r.PostForm
	set := mail.Settings{
		Name: f.Get("name"), Protocol: f.Get("protocol"), Host: f.Get("host"), TLS: f.Get("tls"),
		CACert: f.Get("ca_cert"), Username: f.Get("username"),
	}
	if port := strings.TrimSpace(f.Get("port")); port != "" {
		var err error
		if set.Port, err = strconv.Atoi(port); err != nil {
			set.Port = -1
		}
	}
	if f.Get("auth") == "integration" {
		set.Integration, set.SASL = f.Get("integration"), f.Get("sasl")
	} else {
		set.Password = f.Get("password")
	}
	return set
}

func (p *Pages) renderMailForm(w http.ResponseWriter, r *http.Request, u store.User, status int, f mailForm) {
	title := p.t(r, "mail.new")
	if f.ID != "" {
		title = p.t(r, "mail.edit")
	}
	f.Set.Password = "" // never sent back to the browser
	p.render(w, r, status, "admin_mail_form", title, f)
}

func (p *Pages) handleMailNew(w http.ResponseWriter, r *http.Request, u store.User) error {
	f, err := p.newMailForm(r, u, "", mail.Settings{Protocol: mail.IMAP, TLS: mail.TLSImplicit}, false)
	if err != nil {
		return err
	}
	p.renderMailForm(w, r, u, http.StatusOK, f)
	return nil
}

func (p *Pages) handleMailCreate(w http.ResponseWriter, r *http.Request, u store.User) error {
	set := mailSettingsFromForm(r)
	m, err := p.mail.Create(r.Context(), mailActor(r, u), set)
	if isRefusal(err) {
		return p.mailFormRefused(w, r, u, "", set, false, err)
	}
	if err != nil {
		return err
	}
	p.flash(r, "admin.saved")
	http.Redirect(w, r, "/admin/mail/"+m.ID, http.StatusSeeOther)
	return nil
}

// mailFormRefused shows the form again with the refusal in the page's language.
func (p *Pages) mailFormRefused(w http.ResponseWriter, r *http.Request, u store.User, id string, set mail.Settings, hasPassword bool, refusal error) error {
	f, err := p.newMailForm(r, u, id, set, hasPassword)
	if err != nil {
		return err
	}
	f.Problem = p.problem(r, refusal)
	p.renderMailForm(w, r, u, http.StatusBadRequest, f)
	return nil
}

type mailShowData struct {
	Server      store.MailServer
	Integration string // its name, when it signs in with one
	Result      *mailResultView
}

// mailResultView is a connection test's outcome in the page's language.
type mailResultView struct {
	OK        bool
	Text      string
	Step      string
	Refreshed bool
}

func (p *Pages) mailShow(w http.ResponseWriter, r *http.Request, u store.User, status int, result *mailResultView) error {
	a := mailActor(r, u)
	m, err := p.mail.Get(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	names, err := p.mail.IntegrationNames(r.Context(), a)
	if err != nil {
		return err
	}
	p.render(w, r, status, "admin_mail_server", m.Name, mailShowData{Server: m, Integration: names[m.IntegrationID], Result: result})
	return nil
}

func (p *Pages) handleMailShow(w http.ResponseWriter, r *http.Request, u store.User) error {
	return p.mailShow(w, r, u, http.StatusOK, nil)
}

// handleMailTest runs the connection test and shows its outcome on the
// server's page. A failed test is an answer, not an error: 200.
func (p *Pages) handleMailTest(w http.ResponseWriter, r *http.Request, u store.User) error {
	res, err := p.mail.Test(r.Context(), mailActor(r, u), r.PathValue("id"))
	if err != nil {
		return err
	}
	view := &mailResultView{OK: res.OK, Refreshed: res.Refreshed}
	if res.OK {
		view.Text = p.t(r, "mail.test_ok", res.Mechanism, res.Messages)
	} else {
		view.Step = p.t(r, "mail.step."+res.Step)
		view.Text = p.refusal(r, res.Problem)
	}
	return p.mailShow(w, r, u, http.StatusOK, view)
}

func (p *Pages) handleMailEdit(w http.ResponseWriter, r *http.Request, u store.User) error {
	m, err := p.mail.Get(r.Context(), mailActor(r, u), r.PathValue("id"))
	if err != nil {
		return err
	}
	f, err := p.newMailForm(r, u, m.ID, mail.SettingsOf(m), m.PasswordSealed != nil)
	if err != nil {
		return err
	}
	p.renderMailForm(w, r, u, http.StatusOK, f)
	return nil
}

func (p *Pages) handleMailUpdate(w http.ResponseWriter, r *http.Request, u store.User) error {
	id := r.PathValue("id")
	set := mailSettingsFromForm(r)
	m, err := p.mail.Update(r.Context(), mailActor(r, u), id, set)
	if isRefusal(err) {
		stored, getErr := p.mail.Get(r.Context(), mailActor(r, u), id)
		if getErr != nil {
			return getErr
		}
		return p.mailFormRefused(w, r, u, id, set, stored.PasswordSealed != nil, err)
	}
	if err != nil {
		return err
	}
	p.flash(r, "admin.saved")
	http.Redirect(w, r, "/admin/mail/"+m.ID, http.StatusSeeOther)
	return nil
}

type mailConfirmData struct {
	Server  store.MailServer
	Message string
}

func (p *Pages) handleMailDeleteConfirm(w http.ResponseWriter, r *http.Request, u store.User) error {
	m, err := p.mail.Get(r.Context(), mailActor(r, u), r.PathValue("id"))
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "admin_mail_delete", p.t(r, "admin.delete_title", m.Name), mailConfirmData{Server: m, Message: p.t(r, "mail.delete_confirm", m.Name)})
	return nil
}

func (p *Pages) handleMailDelete(w http.ResponseWriter, r *http.Request, u store.User) error {
	if err := p.mail.Delete(r.Context(), mailActor(r, u), r.PathValue("id")); err != nil {
		return err
	}
	p.flash(r, "mail.deleted")
	http.Redirect(w, r, "/admin/mail", http.StatusSeeOther)
	return nil
}
