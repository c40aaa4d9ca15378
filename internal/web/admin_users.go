package web

import (
	"net/http"
	"net/url"
	"strconv"

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

// userPageSize is how many users the list shows at a time.
const userPageSize = 50

type userListData struct {
	Users  []store.User
	Groups []string
	Query  string
	// Page is the page shown, from 1; Prev and Next link to its neighbours
	// ("" when there is none).
	Page       int
	Prev, Next string
}

// handleUserList lists the users whose username, display name or email
// contains ?q=, 50 to a page (?page=, from 1), in username order.
func (p *Pages) handleUserList(w http.ResponseWriter, r *http.Request, u store.User) error {
	q := r.URL.Query().Get("q")
	page, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	users, more, err := p.admin.SearchUsers(r.Context(), q, page, userPageSize)
	if err != nil {
		return err
	}
	groups, err := p.admin.Groups(r.Context())
	if err != nil {
		return err
	}
	d := userListData{Users: users, Groups: groups, Query: q, Page: page}
	link := func(page int) string {
		v := url.Values{}
		if q != "" {
			v.Set("q", q)
		}
		if page > 1 {
			v.Set("page", strconv.Itoa(page))
		}
		if len(v) == 0 {
			return "/admin/users"
		}
		return "/admin/users?" + v.Encode()
	}
	if page > 1 && len(users) > 0 { // past the end, the page links to the first instead
		d.Prev = link(page - 1)
	}
	if more {
		d.Next = link(page + 1)
	}
	p.render(w, r, http.StatusOK, "admin_users", p.t(r, "admin.users"), d)
	return nil
}

type userFormData struct {
	New        bool
	User       store.User
	GroupsText string
	Grants     grantList
	Levels     []levelChoice
	Problem    formProblem // why a form of the page was refused
	// AskOwnPassword: outside a secure administrator session the reset
	// form asks for the administrator's own password too.
	AskOwnPassword bool
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

func (p *Pages) handleUserNew(w http.ResponseWriter, r *http.Request, u store.User) error {
	p.render(w, r, http.StatusOK, "admin_user", p.t(r, "admin.user_new"), p.userForm(store.User{}, true, u))
	return nil
}

// userFormFields are the user form's text fields and level, which the page
// always sends (the new-user form also the username and password).
var userFormFields = []string{"display_name", "email", "level", "groups"}

func (p *Pages) handleUserCreate(w http.ResponseWriter, r *http.Request, u store.User) error {
	f := r.PostForm
	if !formHas(f, append(userFormFields, "username", "password")...) {
		return errBadForm
	}
	level, err := user.ParseLevel(f.Get("level"))
	n := user.NewUser{Username: f.Get("username"), Password: f.Get("password"), DisplayName: f.Get("display_name"),
		Email: f.Get("email"), Level: level, Groups: splitList(f.Get("groups"))}
	var created store.User
	if err == nil {
		created, err = p.admin.CreateUser(r.Context(), p.actor(r, u), n)
	}
	if isRefusal(err) {
		d := p.userForm(store.User{Username: n.Username, DisplayName: n.DisplayName, Email: n.Email, Level: level, Groups: n.Groups}, true, u)
		d.Problem = p.problem(r, err)
		p.render(w, r, http.StatusBadRequest, "admin_user", p.t(r, "admin.user_new"), d)
		return nil
	}
	if err != nil {
		return err
	}
	p.flash(r, "admin.saved")
	http.Redirect(w, r, "/admin/users/"+created.Username, http.StatusSeeOther)
	return nil
}

func (p *Pages) handleUserShow(w http.ResponseWriter, r *http.Request, u store.User) error {
	target, err := p.users.ByUsername(r.Context(), r.PathValue("username"))
	if err != nil {
		return err
	}
	return p.renderUser(w, r, http.StatusOK, target, u, formProblem{})
}

// renderUser shows a user's page; after a refusal, target holds what the
// administrator typed rather than what is stored.
func (p *Pages) renderUser(w http.ResponseWriter, r *http.Request, status int, target, actor store.User, problem formProblem) error {
	grants, err := p.recentGrants(r, store.TokenFilter{UserID: target.ID})
	if err != nil {
		return err
	}
	d := p.userForm(target, false, actor)
	d.Grants, d.Problem, d.AskOwnPassword = grants, problem, !p.reauthed(r)
	p.render(w, r, status, "admin_user", target.Username, d)
	return nil
}

func (p *Pages) handleUserUpdate(w http.ResponseWriter, r *http.Request, u store.User) error {
	f := r.PostForm
	if !formHas(f, userFormFields...) {
		return errBadForm
	}
	display, email, groups, disabled := f.Get("display_name"), f.Get("email"), splitList(f.Get("groups")), f.Get("disabled") == "on"
	username := r.PathValue("username")
	level, err := user.ParseLevel(f.Get("level"))
	if err == nil {
		_, err = p.admin.UpdateUser(r.Context(), p.actor(r, u), username, admin.UserChange{
			DisplayName: &display, Email: &email, Level: &level, Groups: &groups, Disabled: &disabled,
		})
	}
	if isRefusal(err) {
		target, lookupErr := p.users.ByUsername(r.Context(), username)
		if lookupErr != nil {
			return lookupErr
		}
		// Show the form as it was sent, not as it is stored.
		problem, stored := p.problem(r, err), target.Level
		target.DisplayName, target.Email, target.Groups, target.Disabled = display, email, groups, disabled
		if _, levelErr := user.ParseLevel(f.Get("level")); levelErr == nil {
			target.Level = level
		}
		// The last system administrator stays one: when the level was left
		// as it is, it is the Disabled box that would have broken the rule.
		if refusalKey(err) == "admin.last_system_admin" && disabled && target.Level == stored {
			problem.Field = "disabled"
		}
		return p.renderUser(w, r, http.StatusBadRequest, target, u, problem)
	}
	if err != nil {
		return err
	}
	p.flash(r, "admin.saved")
	http.Redirect(w, r, "/admin/users/"+username, http.StatusSeeOther)
	return nil
}

// handleUserPassword sets a user's password, in a secure administrator
// session only: whoever sets a password can sign in as that user, so an
// unattended or stolen session must not be enough. Outside one the form
// carries the administrator's own password (your_password), confirmed
// here first; a post without it goes to the password page and back.
func (p *Pages) handleUserPassword(w http.ResponseWriter, r *http.Request, u store.User) error {
	username := r.PathValue("username")
	if !p.reauthed(r) && r.PostForm.Has("your_password") {
		refused, err := p.confirmPassword(w, r, u, r.PostFormValue("your_password"), "your_password")
		if err != nil {
			return err
		}
		if refused != nil {
			target, err := p.users.ByUsername(r.Context(), username)
			if err != nil {
				return err
			}
			return p.renderUser(w, r, refused.status, target, u, refused.problem)
		}
	}
	if p.requireReauth(w, r, "/admin/users/"+url.PathEscape(username)) {
		return nil
	}
	err := p.admin.ResetPassword(r.Context(), p.actor(r, u), username, r.PostFormValue("password"))
	if isRefusal(err) {
		target, lookupErr := p.users.ByUsername(r.Context(), username)
		if lookupErr != nil {
			return lookupErr
		}
		problem := p.problem(r, err)
		if problem.Field == "password" {
			problem.Field = "new_password" // the reset form's field
		}
		return p.renderUser(w, r, http.StatusBadRequest, target, u, problem)
	}
	if err != nil {
		return err
	}
	p.flash(r, "admin.password_reset")
	http.Redirect(w, r, "/admin/users/"+username, http.StatusSeeOther)
	return nil
}

func (p *Pages) handleUserSignOut(w http.ResponseWriter, r *http.Request, u store.User) error {
	username := r.PathValue("username")
	if err := p.admin.SignOutEverywhere(r.Context(), p.actor(r, u), username); err != nil {
		return err
	}
	p.flash(r, "admin.signed_out")
	http.Redirect(w, r, "/admin/users/"+username, http.StatusSeeOther)
	return nil
}
