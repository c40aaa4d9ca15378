package adminapi

import (
	"errors"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/store"
)

// MaxGrantsPage is the largest limit a grant list takes.
const MaxGrantsPage = 1000

// grantsPerRead is how many grants a list reads at a time; a variable so
// that tests can cross its boundaries with a few grants.
var grantsPerRead = 500

// GET /rest/gatehouse/latest/grants?client_id=&username=&limit=
func (a *API) listGrants(w http.ResponseWriter, r *http.Request, _ admin.Actor) error {
	ctx := r.Context()
	q, err := readQuery(r, "client_id", "username", "limit")
	if err != nil {
		return err
	}
	limit, err := intParam(q, "limit", 1, MaxGrantsPage, 0) // 0: every grant
	if err != nil {
		return err
	}
	var f store.TokenFilter
	if id := q.Get("client_id"); id != "" {
		c, err := a.admin.GetApp(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "no such application"}
		}
		if err != nil {
			return err
		}
		f.ClientID = c.ID
	}
	if name := q.Get("username"); name != "" {
		u, err := a.users.ByUsername(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "no such user"}
		}
		if err != nil {
			return err
		}
		f.UserID = u.ID
	}
	ids, total, err := a.admin.GrantIDs(ctx, f, limit)
	if err != nil {
		return err
	}
	// A slice of the IDs at a time: a list of every grant of an application
	// holding 200,000 client-credentials grants is never in memory whole.
	// A slice whose grants all ended since their IDs were read gives none:
	// the next is read then, since an empty page ends the list.
	next := func() ([]admin.GrantView, error) {
		for len(ids) > 0 {
			n := min(len(ids), grantsPerRead)
			grants, err := a.admin.GrantsByID(ctx, ids[:n], f.Kind)
			if err != nil {
				return nil, err
			}
			ids = ids[n:]
			if len(grants) > 0 {
				views := make([]admin.GrantView, 0, len(grants))
				for _, g := range grants {
					views = append(views, admin.NewGrantView(g))
				}
				return views, nil
			}
		}
		return nil, nil
	}
	return streamPages(a, w, r, "grants", next, struct {
		Total int `json:"total"`
	}{total})
}

// DELETE /rest/gatehouse/latest/grants/{id} ends every token of the grant.
func (a *API) revokeGrant(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	if err := a.admin.RevokeGrant(r.Context(), actor, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
