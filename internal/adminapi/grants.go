package adminapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/store"
)

// grantJSON is one authorization: the tokens of one consent (or one
// client-credentials request), revoked as a unit.
type grantJSON struct {
	ID           string    `json:"id"`
	ClientID     string    `json:"client_id"`
	ClientName   string    `json:"client_name"`
	Username     *string   `json:"username"` // null for client credentials
	Scopes       []string  `json:"scopes"`
	GrantedAt    time.Time `json:"granted_at"`
	LastUsed     time.Time `json:"last_used"` // when the grant last got a token
	ActiveTokens int       `json:"active_tokens"`
}

func toGrantJSON(g admin.Grant) grantJSON {
	out := grantJSON{
		ID: g.ID, ClientID: g.Client.ID, ClientName: g.Client.Name, Scopes: nonNil(g.ScopeList()),
		GrantedAt: jsonTime(g.GrantedAt), LastUsed: jsonTime(g.LastUsed), ActiveTokens: g.Tokens,
	}
	if g.User != nil {
		name := g.User.Username
		out.Username = &name
	}
	return out
}

// GET /rest/gatehouse/latest/grants?client_id=&username=
func (a *API) listGrants(w http.ResponseWriter, r *http.Request, _ admin.Actor) error {
	ctx := r.Context()
	q := r.URL.Query()
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
	grants, err := a.admin.Grants(ctx, f)
	if err != nil {
		return err
	}
	out := make([]grantJSON, 0, len(grants))
	for _, g := range grants {
		out = append(out, toGrantJSON(g))
	}
	writeJSON(w, http.StatusOK, struct {
		Grants []grantJSON `json:"grants"`
	}{out})
	return nil
}

// DELETE /rest/gatehouse/latest/grants/{id} ends every token of the grant.
func (a *API) revokeGrant(w http.ResponseWriter, r *http.Request, actor admin.Actor) error {
	if err := a.admin.RevokeGrant(r.Context(), actor, r.PathValue("id"), ""); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
