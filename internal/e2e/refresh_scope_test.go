package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
)

// RFC 6749 §6: a refresh may ask for less than was granted, and a later one
// for anything originally granted again; never for more.
func TestRefreshWithNarrowerScopeKeepsTheGrant(t *testing.T) {
	eachDatabase(t, testRefreshWithNarrowerScope)
}

func testRefreshWithNarrowerScope(t *testing.T, useDB func(*config.Config)) {
	w := newWorld(t, app.Registration{}, useDB)
	first := w.issue(w.alice, w.client, w.secret, "READ WRITE")

	narrow := w.refresh(w.client, w.secret, first.str("refresh_token"), "scope", "READ")
	wantOK(t, narrow)
	wantScope(t, "narrow refresh", narrow.str("scope"), "READ")
	wantScope(t, "introspected narrow access token", w.introspect(narrow.str("access_token")).str("scope"), "READ")

	// Never granted: refused, and nothing rotates.
	for _, s := range []string{"ADMIN", "READ ADMIN"} {
		wantError(t, w.refresh(w.client, w.secret, narrow.str("refresh_token"), "scope", s), http.StatusBadRequest, "invalid_scope")
	}
	w.wantActive(true, "the narrow pair", narrow.str("access_token"), narrow.str("refresh_token"))

	write := w.refresh(w.client, w.secret, narrow.str("refresh_token"), "scope", "WRITE")
	wantOK(t, write)
	wantScope(t, "refresh asking for WRITE after READ", write.str("scope"), "WRITE")
	// The refresh token stands for the whole grant, and so does the grant listed.
	wantScope(t, "introspected refresh token", w.introspect(write.str("refresh_token")).str("scope"), "READ WRITE")
	grants, err := w.node.Admin.Grants(context.Background(), store.TokenFilter{ClientID: w.client.ID})
	if err != nil || len(grants) != 1 {
		t.Fatalf("grants: %v %+v", err, grants)
	}
	wantScope(t, "the grant listed", grants[0].Scope, "READ WRITE")

	all := w.refresh(w.client, w.secret, write.str("refresh_token"))
	wantOK(t, all)
	wantScope(t, "refresh without scope", all.str("scope"), "READ WRITE")
}

// A lowered level drops scopes from new access tokens; raising it again
// restores them, up to what was granted.
func TestRefreshAfterLevelChangesRestoresTheGrant(t *testing.T) {
	eachDatabase(t, testRefreshAfterLevelChanges)
}

func testRefreshAfterLevelChanges(t *testing.T, useDB func(*config.Config)) {
	ctx := context.Background()
	w := newWorld(t, app.Registration{}, useDB)
	w.createUser("ada", "ada-password", store.LevelAdmin)
	ada := w.newBrowser()
	ada.signIn("ada", "ada-password")
	pair := w.issue(ada, w.client, w.secret, "ADMIN")

	if err := w.node.Users.SetLevel(ctx, "ada", store.LevelUser); err != nil {
		t.Fatal(err)
	}
	demoted := w.refresh(w.client, w.secret, pair.str("refresh_token"))
	wantOK(t, demoted)
	if !w.readWriteOnly(demoted.str("scope")) {
		t.Fatalf("scope after demotion %q, want READ and WRITE but not ADMIN", demoted.str("scope"))
	}
	if got := w.introspect(demoted.str("refresh_token")).str("scope"); !w.readWriteOnly(got) {
		t.Fatalf("introspected refresh token after demotion: %q, want READ and WRITE but not ADMIN", got)
	}

	if err := w.node.Users.SetLevel(ctx, "ada", store.LevelAdmin); err != nil {
		t.Fatal(err)
	}
	restored := w.refresh(w.client, w.secret, demoted.str("refresh_token"))
	wantOK(t, restored)
	wantScope(t, "refresh after promotion", restored.str("scope"), "ADMIN")
	// Promotion restores what was granted, nothing beyond it.
	wantError(t, w.refresh(w.client, w.secret, restored.str("refresh_token"), "scope", "ADMIN SYSTEM_ADMIN"), http.StatusBadRequest, "invalid_scope")
}

// wantScope compares scope values as sets.
func wantScope(t *testing.T, what, got, want string) {
	t.Helper()
	g, w := strings.Fields(got), strings.Fields(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Fatalf("%s: scope %q, want %q", what, got, want)
	}
}

// Taking a scope away from an application reaches the tokens it already
// holds (SPEC §4: the application's list bounds what it may ask for, and a
// refresh is a request): an access token loses the scope at its next use, a
// refresh mints none with it, a code redeemed after the change carries only
// what the application may still ask for (READ of ADMIN), and the application's own client-credentials tokens lose it too.
// Giving the scope back restores it, up to what was granted, as a raised
// level does.
func TestNarrowedApplicationReachesIssuedTokens(t *testing.T) {
	eachDatabase(t, testNarrowedApplication)
}

func testNarrowedApplication(t *testing.T, useDB func(*config.Config)) {
	w := newWorld(t, app.Registration{Grants: []string{app.GrantAuthorizationCode, app.GrantRefreshToken, app.GrantClientCredentials}}, useDB)
	w.createUser("ada", "ada-password", store.LevelAdmin)
	ada := w.newBrowser()
	ada.signIn("ada", "ada-password")
	pair := w.issue(ada, w.client, w.secret, "READ ADMIN")
	own := w.token(form("grant_type", "client_credentials", "scope", "WRITE"), w.client.ID, w.secret)
	wantOK(t, own)
	pendingCode, verifier := pkceCode(ada, w.client, "ADMIN")
	if r := w.myself(pair.str("access_token")); r.status != http.StatusOK {
		t.Fatalf("before the change: %d %s", r.status, r.raw)
	}
	usersAPI := func(access string) int {
		return w.request("GET", "/rest/gatehouse/latest/users", "", nil, withHeader("Authorization", "Bearer "+access)).status
	}
	if got := usersAPI(pair.str("access_token")); got != http.StatusOK {
		t.Fatalf("the admin API with ADMIN before the change: %d", got)
	}

	setScopes := func(scopes string) {
		t.Helper()
		body := fmt.Sprintf(`{"name":%q,"redirect_uris":[%q],"scopes":%s,"grants":["authorization_code","refresh_token","client_credentials"]}`, w.client.Name, callback, scopes)
		if r := w.jsonAs(ada, "PUT", "/rest/oauth2/latest/client/"+w.client.ID, body); r.status != http.StatusOK {
			t.Fatalf("PUT scopes %s: %d %s", scopes, r.status, r.raw)
		}
	}
	setScopes(`["READ"]`)

	// Issued before the change, used after it.
	wantScope(t, "the access token issued with ADMIN", w.introspect(pair.str("access_token")).str("scope"), "READ")
	if got := usersAPI(pair.str("access_token")); got != http.StatusForbidden {
		t.Errorf("the admin API with a token whose ADMIN was taken from its application: %d, want 403", got)
	}
	wantScope(t, "the application's own WRITE token", w.introspect(own.str("access_token")).str("scope"), "READ")
	narrowed := w.refresh(w.client, w.secret, pair.str("refresh_token"))
	wantOK(t, narrowed)
	wantScope(t, "refresh after the change", narrowed.str("scope"), "READ")
	if got := usersAPI(narrowed.str("access_token")); got != http.StatusForbidden {
		t.Errorf("the admin API with a token refreshed after the change: %d, want 403", got)
	}
	wantError(t, w.refresh(w.client, w.secret, narrowed.str("refresh_token"), "scope", "ADMIN"), http.StatusBadRequest, "invalid_scope")
	late := w.redeem(w.client, w.secret, pendingCode, "code_verifier", verifier)
	wantOK(t, late)
	wantScope(t, "a code for ADMIN redeemed after the change", late.str("scope"), "READ")

	setScopes(`["READ","WRITE","ADMIN"]`)
	restored := w.refresh(w.client, w.secret, narrowed.str("refresh_token"))
	wantOK(t, restored)
	wantScope(t, "refresh once ADMIN is given back", restored.str("scope"), "READ ADMIN")
	// A refresh may ask for what the grant includes: READ of the ADMIN grant.
	read := w.refresh(w.client, w.secret, restored.str("refresh_token"), "scope", "WRITE")
	wantOK(t, read)
	wantScope(t, "refresh narrowed to a scope ADMIN includes", read.str("scope"), "WRITE")
}

// The consent's audit row says what the user granted, not what the
// application asked for: a user-level account asked for READ ADMIN grants
// READ WRITE (ADMIN is above its level; WRITE is what ADMIN implies within it).
func TestConsentAuditNamesTheGrantedScope(t *testing.T) {
	w := newWorld(t, app.Registration{})
	pair := w.issue(w.alice, w.client, w.secret, "READ ADMIN")
	wantScope(t, "the token", pair.str("scope"), "READ WRITE")
	events, err := w.node.Store.ListAudit(t.Context(), store.AuditFilter{Kind: "consent.allow"})
	if err != nil || len(events) != 1 {
		t.Fatalf("consent.allow events: %v %+v", err, events)
	}
	wantScope(t, "the consent's audit row", events[0].Detail, "READ WRITE")
}
