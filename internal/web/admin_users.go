package web

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
)

func (p *Pages) registerAdminUsers(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/users", p.requireAdmin(p.handleUserList))
	mux.HandleFunc("GET /admin/users/new", p.requireAdmin(p.handleUserNew))
	mux.HandleFunc("POST /admin/users/new", p.requireAdmin(p.handleUserCreate))
	mux.HandleFunc("GET /admin/users/{username}", p.requireAdmin(p.handleUserShow))
	mux.HandleFunc("POST /admin/users/{username}", p.requireAdmin(p.handleUserUpdate))
	mux.HandleFunc("POST /admin/users/{username}/password", p.requireAdmin(p.handleUserPassword))
	mux.HandleFunc("POST /admin/users/{username}/signout", p.requireAdmin(p.handleUserSignOut))
}

type userListData struct {
	Users  []store.User
	Groups []string
}

func (p *Pages) handleUserList(w http.ResponseWriter, r *http.Request, u store.User) {
	users, err := p.admin.ListUsers(r.Context())
	if err != nil {
		p.fail(w, r, err)
		return
	}
	groups, err := p.admin.Groups(r.Context())
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, http.StatusOK, "admin_users", p.t(r, "admin.users"), userListData{Users: users, Groups: groups})
}

type userFormData struct {
	New        bool
	User       store.User
	GroupsText string
	Grants     []grantView
	Levels     []levelChoice
	Error      string
}

type levelChoice struct {
	Value    string
	Selected bool
}

func (p *Pages) userForm(u store.User, isNew bool, actor store.User) userFormData {
	d := userFormData{New: isNew, User: u, GroupsText: joinComma(u.Groups)}
	for _, l := range []store.Level{store.LevelUser, store.LevelAdmin, store.LevelSystemAdmin} {
		if l <= actor.Level {
			d.Levels = append(d.Levels, levelChoice{user.LevelName(l), l == u.Level})
		}
	}
	return d
}

func joinComma(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ", "
		}
		out += v
	}
	return out
}

func (p *Pages) handleUserNew(w http.ResponseWriter, r *http.Request, u store.User) {
	p.render(w, r, http.StatusOK, "admin_user", p.t(r, "admin.user_new"), p.userForm(store.User{}, true, u))
}

func (p *Pages) handleUserCreate(w http.ResponseWriter, r *http.Request, u store.User) {
	f := r.PostForm
	level, err := user.ParseLevel(f.Get("level"))
	n := user.NewUser{Username: f.Get("username"), Password: f.Get("password"), DisplayName: f.Get("display_name"),
		Email: f.Get("email"), Level: level, Groups: splitList(f.Get("groups"))}
	var created store.User
	if err == nil {
		created, err = p.admin.CreateUser(r.Context(), p.actor(r, u), n)
	}
	if isRefusal(err) {
		d := p.userForm(store.User{Username: n.Username, DisplayName: n.DisplayName, Email: n.Email, Level: level, Groups: n.Groups}, true, u)
		d.Error = p.refusal(r, err)
		p.render(w, r, http.StatusBadRequest, "admin_user", p.t(r, "admin.user_new"), d)
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.flash(r, "admin.saved")
	http.Redirect(w, r, "/admin/users/"+created.Username, http.StatusSeeOther)
}

func (p *Pages) handleUserShow(w http.ResponseWriter, r *http.Request, u store.User) {
	target, err := p.users.ByUsername(r.Context(), r.PathValue("username"))
	if err != nil {
		p.adminError(w, r, err)
		return
	}
	p.renderUser(w, r, http.StatusOK, target, u, "")
}

func (p *Pages) renderUser(w http.ResponseWriter, r *http.Request, status int, target, actor store.User, problem string) {
	grants, err := p.admin.Grants(r.Context(), store.TokenFilter{UserID: target.ID})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	d := p.userForm(target, false, actor)
	d.Grants, d.Error = p.grantViews(r, grants), problem
	p.render(w, r, status, "admin_user", target.Username, d)
}

func (p *Pages) handleUserUpdate(w http.ResponseWriter, r *http.Request, u store.User) {
	f := r.PostForm
	level, err := user.ParseLevel(f.Get("level"))
	if err != nil {
		p.adminError(w, r, err)
		return
	}
	display, email, groups, disabled := f.Get("display_name"), f.Get("email"), splitList(f.Get("groups")), f.Get("disabled") == "on"
	username := r.PathValue("username")
	_, err = p.admin.UpdateUser(r.Context(), p.actor(r, u), username, admin.UserChange{
		DisplayName: &display, Email: &email, Level: &level, Groups: &groups, Disabled: &disabled,
	})
	if isRefusal(err) {
		target, lookupErr := p.users.ByUsername(r.Context(), username)
		if lookupErr != nil {
			p.adminError(w, r, lookupErr)
			return
		}
		p.renderUser(w, r, http.StatusBadRequest, target, u, p.refusal(r, err))
		return
	}
	if err != nil {
		p.adminError(w, r, err)
		return
	}
	p.flash(r, "admin.saved")
	http.Redirect(w, r, "/admin/users/"+username, http.StatusSeeOther)
}

func (p *Pages) handleUserPassword(w http.ResponseWriter, r *http.Request, u store.User) {
	username := r.PathValue("username")
	err := p.admin.ResetPassword(r.Context(), p.actor(r, u), username, r.PostFormValue("password"))
	if isRefusal(err) {
		target, lookupErr := p.users.ByUsername(r.Context(), username)
		if lookupErr != nil {
			p.adminError(w, r, lookupErr)
			return
		}
		p.renderUser(w, r, http.StatusBadRequest, target, u, p.refusal(r, err))
		return
	}
	if err != nil {
		p.adminError(w, r, err)
		return
	}
	p.flash(r, "admin.password_reset")
	http.Redirect(w, r, "/admin/users/"+username, http.StatusSeeOther)
}

func (p *Pages) handleUserSignOut(w http.ResponseWriter, r *http.Request, u store.User) {
	username := r.PathValue("username")
	if err := p.admin.SignOutEverywhere(r.Context(), p.actor(r, u), username); err != nil {
		p.adminError(w, r, err)
		return
	}
	p.flash(r, "admin.signed_out")
	http.Redirect(w, r, "/admin/users/"+username, http.StatusSeeOther)
}
