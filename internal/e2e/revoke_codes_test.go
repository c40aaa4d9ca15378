package e2e

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestRevocationReachesCodesNotYetRedeemed: a code the user was issued
// before revoking an application (their own Revoke, or an administrator's
// revocation of the grant) gets the application nothing afterwards; it used
// to start a new grant with a working token pair, without a new consent.
func TestRevocationReachesCodesNotYetRedeemed(t *testing.T) {
	revocations := map[string]func(e *env, alice *browser, c store.Client){
		"the user's own Revoke": func(e *env, alice *browser, c store.Client) {
			page := alice.get("/plugins/servlet/oauth2/authorized-apps")
			if p := alice.submit(page, "/plugins/servlet/oauth2/authorized-apps/revoke"); p.status != http.StatusSeeOther {
				t.Fatalf("revoke: %d", p.status)
			}
		},
		"an administrator's revocation of the grant": func(e *env, alice *browser, c store.Client) {
			e.createUser("root", "root-password", store.LevelSystemAdmin)
			root := e.newBrowser()
			root.signIn("root", "root-password")
			grants, err := e.node.Admin.Grants(t.Context(), store.TokenFilter{ClientID: c.ID})
			if err != nil || len(grants) != 1 {
				t.Fatalf("grants: %v, %v", grants, err)
			}
			if p := root.post("/admin/grants/"+grants[0].ID+"/revoke", url.Values{"csrf_token": {root.csrf()}, "next": {"/admin/apps"}}); p.status != http.StatusSeeOther {
				t.Fatalf("revoke: %d", p.status)
			}
		},
	}
	for name, revoke := range revocations {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.createUser("alice", alicePassword, store.LevelUser)
			c, secretValue := e.createClient(app.Registration{Name: "Held codes"})
			other, otherSecret := e.createClient(app.Registration{Name: "Another application"})
			alice := e.newBrowser()
			alice.signIn("alice", alicePassword)
			first := e.token(form("grant_type", "authorization_code", "code", alice.code(authParams(c, "READ")), "redirect_uri", callback), c.ID, secretValue)
			held := alice.code(authParams(c, "READ"))
			otherHeld := alice.code(authParams(other, "READ"))
			revoke(e, alice, c)
			if e.active(first.str("access_token"), c.ID, secretValue) {
				t.Fatal("the redeemed grant's token is still active")
			}
			wantError(t, e.token(form("grant_type", "authorization_code", "code", held, "redirect_uri", callback), c.ID, secretValue),
				http.StatusBadRequest, "invalid_grant")
			// Another application's code is not the revocation's business.
			if r := e.token(form("grant_type", "authorization_code", "code", otherHeld, "redirect_uri", callback), other.ID, otherSecret); r.status != http.StatusOK {
				t.Fatalf("another application's code: %d %v", r.status, r.body)
			}
		})
	}
}
