package adminapi

import (
	"errors"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/store"
)

// MaxGrantsPage is the largest limit a grant list takes.
const MaxGrantsPage = 1000

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
	grants, total, err := a.admin.RecentGrants(ctx, f, limit)
	if err != nil {
		return err
	}
	out := make([]admin.GrantView, 0, len(grants))
	for _, g := range grants {
		out = append(out, admin.NewGrantView(g))
	}
	writeJSON(w, http.StatusOK, struct {
		Grants []admin.GrantView `json:"grants"`
		Total  int               `json:"total"`
	}{out, total})
	return nil
}

// DELETE /rest/gatehouse/latest/grants/{id} ends every token of the grant.
func (a *API) revokeGrant(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	if err := a.admin.RevokeGrant(r.Context(), actor, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
