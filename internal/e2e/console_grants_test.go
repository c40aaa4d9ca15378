package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestConsoleListsTheMostRecentGrants: an application holding more grants
// than its page lists (a client asking for a token per request) shows the
// most recently used ones and says how many there are, reading only
// those; the admin API still lists them all.
func TestConsoleListsTheMostRecentGrants(t *testing.T) {
	e := newEnv(t)
	e.createUser("root", "root-password", store.LevelSystemAdmin)
	c, secretValue := e.createClient(app.Registration{Name: "Busy robot", Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}})
	const n = 103
	for range n {
		e.clock.Advance(time.Millisecond) // one grant per millisecond: a strict order
		if r := e.token(form("grant_type", "client_credentials", "scope", "READ"), c.ID, secretValue); r.status != http.StatusOK {
			t.Fatalf("client credentials: %d %v", r.status, r.body)
		}
	}
	all, err := e.node.Admin.Grants(t.Context(), store.TokenFilter{ClientID: c.ID})
	if err != nil || len(all) != n {
		t.Fatalf("grants: %d, %v", len(all), err)
	}

	root := e.newBrowser()
	root.signIn("root", "root-password")
	page := root.get("/admin/apps/" + c.ID)
	if page.status != http.StatusOK {
		t.Fatalf("application page: %d", page.status)
	}
	if got := strings.Count(page.body, `action="/admin/grants/`); got != 100 {
		t.Errorf("the page lists %d grants, want 100", got)
	}
	for i, g := range all {
		if listed := strings.Contains(page.body, "/admin/grants/"+g.ID+"/revoke"); listed != (i < 100) {
			t.Errorf("grant %d of %d (newest first) listed: %v", i, n, listed)
		}
	}
	if !strings.Contains(page.body, "The 100 most recently used of 103 authorizations are shown.") {
		t.Error("the page does not say that more grants exist")
	}
	if strings.Contains(root.get("/admin/users/root").body, "most recently used of") {
		t.Error("a page listing every grant says some are left out")
	}
}
