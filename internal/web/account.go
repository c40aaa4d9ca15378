package web

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/store"
)

// PathAuthorizedApps is the signed-in user's list of grants.
const PathAuthorizedApps = "/plugins/servlet/oauth2/authorized-apps"

// grantView is a grant as a page shows it.
type grantView struct {
	ID, ClientID, ClientName, Username string
	HasLogo                            bool
	Scopes                             []scopeLine
	GrantedAt, LastUsed                time.Time
	Tokens                             int
}

// consoleGrants is how many grants an application's or a user's console
// page lists, the most recently used; the admin API lists them all.
const consoleGrants = 100

// grantList is a console page's grants and how many there are in all.
type grantList struct {
	Shown []grantView
	Total int
}

// recentGrants reads the consoleGrants most recently used grants matching f.
func (p *Pages) recentGrants(r *http.Request, f store.TokenFilter) (grantList, error) {
	grants, total, err := p.admin.RecentGrants(r.Context(), f, consoleGrants)
	return grantList{Shown: p.grantViews(r, grants), Total: total}, err
}

func (p *Pages) grantViews(r *http.Request, grants []admin.Grant) []grantView {
	lang := pickLanguage(r)
	out := make([]grantView, 0, len(grants))
	for _, g := range grants {
		v := grantView{ID: g.ID, ClientID: g.Client.ID, ClientName: g.Client.Name, HasLogo: g.Client.HasLogo,
			GrantedAt: g.GrantedAt, LastUsed: g.LastUsed, Tokens: g.Tokens}
		if g.User != nil {
			v.Username = g.User.Username
		}
		for _, name := range g.ScopeList() {
			v.Scopes = append(v.Scopes, p.scopeLine(name, lang))
		}
		out = append(out, v)
	}
	return out
}

// signedIn returns the current user, or sends the browser to sign in.
func (p *Pages) signedIn(w http.ResponseWriter, r *http.Request) (*store.User, bool) {
	u, err := p.currentUser(r)
	if err != nil {
		p.fail(w, r, err)
		return nil, false
	}
	if u == nil {
		target := r.URL.RequestURI()
		if r.Method != http.MethodGet {
			target = "/"
		}
		http.Redirect(w, r, "/login?next="+escapeQuery(target), http.StatusSeeOther)
		return nil, false
	}
	return u, true
}

// handleAuthorizedApps lists the applications that hold the user's access.
func (p *Pages) handleAuthorizedApps(w http.ResponseWriter, r *http.Request) {
	u, ok := p.signedIn(w, r)
	if !ok {
		return
	}
	grants, err := p.admin.Grants(r.Context(), store.TokenFilter{UserID: u.ID})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.renderFor(w, r, u, http.StatusOK, "authorized_apps", p.t(r, "apps.title"), p.grantViews(r, byApplication(grants)))
}

// byApplication merges the grants of each application into one: a user who
// consented to one application several times sees it once, with every scope
// granted, first granted and last used, and one Revoke for all of it.
func byApplication(grants []admin.Grant) []admin.Grant {
	var out []admin.Grant
	at := map[string]int{}
	for _, g := range grants {
		i, seen := at[g.Client.ID]
		if !seen {
			at[g.Client.ID] = len(out)
			out = append(out, g)
			continue
		}
		m := &out[i]
		for _, name := range g.ScopeList() {
			if !slices.Contains(m.ScopeList(), name) {
				m.Scope += " " + name
			}
		}
		if g.GrantedAt.Before(m.GrantedAt) {
			m.GrantedAt = g.GrantedAt
		}
		if g.LastUsed.After(m.LastUsed) {
			m.LastUsed = g.LastUsed
		}
		m.Tokens += g.Tokens
	}
	return out
}

// handleAuthorizedAppRevoke ends every grant the user gave one application.
func (p *Pages) handleAuthorizedAppRevoke(w http.ResponseWriter, r *http.Request) {
	if !p.acceptForm(w, r) {
		return
	}
	u, ok := p.signedIn(w, r)
	if !ok {
		return
	}
	clientID := r.PostFormValue("client_id")
	if clientID == "" {
		p.badForm(w, r)
		return
	}
	err := p.admin.RevokeAppForUser(r.Context(), p.actor(r, *u), u.ID, clientID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		p.fail(w, r, err)
		return
	}
	if err == nil {
		p.flash(r, "apps.revoked")
	}
	http.Redirect(w, r, PathAuthorizedApps, http.StatusSeeOther)
}

// handleLogo serves an application's logo: stored only after it was decoded
// and re-encoded as PNG, and sent with nosniff so it is never run as anything else.
func (p *Pages) handleLogo(w http.ResponseWriter, r *http.Request) {
	data, contentType, err := p.admin.Logo(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	w.Write(data)
}
