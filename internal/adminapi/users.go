package adminapi

import (
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/clientip"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
)

// userJSON is a user. The field names are those of `gatehouse user … --json`.
// newUserRequest creates a user.
type newUserRequest struct {
	Username    string   `json:"username"`
	Password    string   `json:"password"`
	DisplayName string   `json:"display_name"`
	Email       string   `json:"email"`
	Level       *string  `json:"level"` // user when left out, admin or system-admin
	Groups      []string `json:"groups"`
}

// userPatch changes a user; a field left out (or null) stays as it is.
type userPatch struct {
	DisplayName *string   `json:"display_name"`
	Email       *string   `json:"email"`
	Level       *string   `json:"level"`
	Groups      *[]string `json:"groups"`
	Disabled    *bool     `json:"disabled"`
}

func (p userPatch) change() (admin.UserChange, error) {
	ch := admin.UserChange{DisplayName: p.DisplayName, Email: p.Email, Groups: p.Groups, Disabled: p.Disabled}
	if p.Level != nil {
		l, err := user.ParseLevel(*p.Level)
		if err != nil {
			return ch, err
		}
		ch.Level = &l
	}
	return ch, nil
}

// GET /rest/gatehouse/latest/users?q=&limit=&page= (without parameters,
// every user, read and sent a page at a time)
func (a *API) listUsers(w http.ResponseWriter, r *http.Request, _ admin.Actor) error {
	q, err := readQuery(r, "q", "limit", "page")
	if err != nil {
		return err
	}
	if len(q) == 0 {
		pages := a.admin.UserPages(r.Context(), usersPerRead)
		return streamPages(a, w, r, "users", func() ([]admin.UserView, error) {
			users, err := pages()
			return userViews(users), err
		}, struct {
			Next string `json:"next"`
		}{})
	}
	users, next, err := a.searchUsers(r, q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Users []admin.UserView `json:"users"`
		Next  string           `json:"next"`
	}{userViews(users), next})
	return nil
}

// usersPerRead is how many users a list of every user reads at a time.
const usersPerRead = 500

func userViews(users []store.User) []admin.UserView {
	views := make([]admin.UserView, 0, len(users))
	for _, u := range users {
		views = append(views, admin.NewUserView(u))
	}
	return views
}

// DefaultUserLimit and MaxUserLimit are a user list page's default and
// largest limit.
const (
	DefaultUserLimit = 100
	MaxUserLimit     = 1000
)

// searchUsers answers ?q=&limit=&page=: one page of the users whose
// username, display name or email contains q, in username order, and the
// path and query of the next page ("" on the last).
func (a *API) searchUsers(r *http.Request, q url.Values) ([]store.User, string, error) {
	limit, err := intParam(q, "limit", 1, MaxUserLimit, DefaultUserLimit)
	if err != nil {
		return nil, "", err
	}
	page, err := intParam(q, "page", 1, admin.MaxUserPage, 1)
	if err != nil {
		return nil, "", err
	}
	users, more, err := a.admin.SearchUsers(r.Context(), q.Get("q"), page, limit)
	if err != nil || !more {
		return users, "", err
	}
	next := url.Values{}
	for k, v := range q {
		next[k] = v
	}
	next.Set("page", strconv.Itoa(page+1))
	return users, PathGatehouse + "/users?" + next.Encode(), nil
}

// POST /rest/gatehouse/latest/users
func (a *API) createUser(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	var q newUserRequest
	if err := decode(r, &q); err != nil {
		return err
	}
	level := store.LevelUser // the documented default when left out
	if q.Level != nil {
		l, err := user.ParseLevel(*q.Level)
		if err != nil {
			return err
		}
		level = l
	}
	u, err := a.admin.CreateUser(r.Context(), actor, user.NewUser{
		Username: q.Username, Password: q.Password, DisplayName: q.DisplayName, Email: q.Email, Level: level, Groups: q.Groups,
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", PathGatehouse+"/users/"+u.Username)
	writeJSON(w, http.StatusCreated, admin.NewUserView(u))
	return nil
}

// GET /rest/gatehouse/latest/users/{username}
func (a *API) getUser(w http.ResponseWriter, r *http.Request, _ admin.Actor) error {
	u, err := a.users.ByUsername(r.Context(), r.PathValue("username"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, admin.NewUserView(u))
	return nil
}

// PATCH /rest/gatehouse/latest/users/{username}
func (a *API) updateUser(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	var q userPatch
	if err := decode(r, &q, "display_name", "email", "level", "groups", "disabled"); err != nil {
		return err
	}
	ch, err := q.change()
	if err != nil {
		return err
	}
	u, err := a.admin.UpdateUser(r.Context(), actor, r.PathValue("username"), ch)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, admin.NewUserView(u))
	return nil
}

// resetRequest is a new password and the caller's own.
type resetRequest struct {
	Password     string `json:"password"`
	YourPassword string `json:"your_password"`
}

// POST /rest/gatehouse/latest/users/{username}/password sets a new password
// and ends the user's browser sessions, only against the caller's own
// password: whoever sets a password can sign in as that user.
func (a *API) resetPassword(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	var q resetRequest
	if err := decode(r, &q); err != nil {
		return err
	}
	username := r.PathValue("username")
	if _, err := a.users.ByUsername(r.Context(), username); err != nil {
		return err // an unknown user costs no guess
	}
	if err := a.confirmOwnPassword(r, actor, q.YourPassword, "your_password", "to reset a password"); err != nil {
		return err
	}
	if err := a.admin.ResetPassword(r.Context(), actor, username, q.Password); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// POST /rest/gatehouse/latest/users/{username}/signout ends every browser session of the user.
func (a *API) signOutUser(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	if err := a.admin.SignOutEverywhere(r.Context(), actor, r.PathValue("username")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// groupJSON is a group with the usernames of its members.
type groupJSON struct {
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

// GET /rest/gatehouse/latest/groups
func (a *API) listGroups(w http.ResponseWriter, r *http.Request, _ admin.Actor) error {
	if _, err := readQuery(r); err != nil {
		return err
	}
	// The users are read a page at a time: only their names stay.
	members := map[string][]string{}
	pages := a.admin.UserPages(r.Context(), usersPerRead)
	for {
		users, err := pages()
		if err != nil {
			return err
		}
		if len(users) == 0 {
			break
		}
		for _, u := range users {
			for _, g := range u.Groups {
				members[g] = append(members[g], u.Username)
			}
		}
	}
	out := make([]groupJSON, 0, len(members))
	for name, m := range members {
		slices.Sort(m) // byte order, whatever the database's collation
		out = append(out, groupJSON{Name: name, Members: slices.Compact(m)})
	}
	slices.SortFunc(out, func(x, y groupJSON) int { return strings.Compare(x.Name, y.Name) })
	writeJSON(w, http.StatusOK, struct {
		Groups []groupJSON `json:"groups"`
	}{out})
	return nil
}

func clientAddr(r *http.Request) netip.Addr { return clientip.From(r.Context()) }
