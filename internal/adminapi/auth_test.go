package adminapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/session"

	"github.com/gatehouse/gatehouse/internal/store"
)

// route is one API route with a body it would accept.
type route struct {
	method, path string
	body         any
}

// everyRoute lists every route, against an application and a user that
// exist, so that only authentication can refuse them.
func everyRoute(clientID string) []route {
	c := pathClients + "/" + clientID
	return []route{
		{"GET", pathClients, nil},
		{"POST", pathClients, map[string]any{"name": "x", "redirect_uris": []string{callback}, "scopes": []string{"READ"}}},
		{"GET", c, nil},
		{"PUT", c, map[string]any{"name": "x", "redirect_uris": []string{callback}, "scopes": []string{"READ"}}},
		{"DELETE", c, nil},
		{"POST", c + "/enable", nil},
		{"POST", c + "/disable", nil},
		{"POST", c + "/secret", nil},
		{"POST", c + "/credentials", map[string]string{"password": adaPassword}},
		{"PUT", c + "/logo", raw{"image/png", pngImage(8, 8)}},
		{"DELETE", c + "/logo", nil},
		{"GET", adminPathUser, nil},
		{"POST", adminPathUser, map[string]any{"username": "newbie", "password": "newbie-password"}},
		{"GET", adminPathUser + "/uma", nil},
		{"PATCH", adminPathUser + "/uma", map[string]any{"display_name": "Uma"}},
		{"POST", adminPathUser + "/uma/password", map[string]string{"password": "another-password"}},
		{"POST", adminPathUser + "/uma/signout", nil},
		{"GET", "/rest/gatehouse/latest/groups", nil},
		{"GET", "/rest/gatehouse/latest/grants", nil},
		{"DELETE", "/rest/gatehouse/latest/grants/some-grant", nil},
		{"GET", "/rest/gatehouse/latest/audit", nil},
	}
}

// Every route refuses every caller that is not an administrator with an
// administrator-level token or session, and changes nothing when it does.
func TestEveryRouteRefusesNonAdministrators(t *testing.T) {
	f := newFixture(t)
	created := f.newClient("Target", nil)
	clientID := created.str("client_id")
	userSession := f.withSession("uma", userPassword)
	callers := []struct {
		name   string
		caller *caller
		status int
		code   string
	}{
		{"no credentials", f.anonymous(), http.StatusUnauthorized, "unauthorized"},
		{"unknown bearer token", f.withToken("gat_not-a-real-token"), http.StatusUnauthorized, "invalid_token"},
		{"user-level session", userSession, http.StatusForbidden, "forbidden"},
		{"user-level bearer token", f.withToken(f.accessToken("uma", userPassword, "WRITE")), http.StatusForbidden, "forbidden"},
		{"administrator's token without an admin scope", f.withToken(f.accessToken("ada", adaPassword, "READ")), http.StatusForbidden, "insufficient_scope"},
		{"client-credentials token", f.withToken(f.clientCredentialsToken()), http.StatusForbidden, "forbidden"},
	}
	for _, rt := range everyRoute(clientID) {
		for _, c := range callers {
			t.Run(rt.method+" "+rt.path+"/"+c.name, func(t *testing.T) {
				r := c.caller.do(rt.method, rt.path, rt.body)
				want(t, r, c.status, c.code)
				if c.status == http.StatusUnauthorized && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
					t.Fatalf("401 without a Bearer challenge: %q", r.header.Get("WWW-Authenticate"))
				}
				if c.code == "insufficient_scope" && !strings.Contains(r.header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
					t.Fatalf("insufficient_scope without its challenge: %q", r.header.Get("WWW-Authenticate"))
				}
			})
		}
	}
	// Nothing changed: the application is still there and enabled, with no logo.
	r := f.admin.do("GET", pathClients+"/"+clientID, nil)
	want(t, r, http.StatusOK, "")
	if r.body["enabled"] != true || r.body["has_logo"] != false || r.str("name") != "Target" {
		t.Fatalf("a refused request changed the application: %s", r.raw)
	}
	if kinds := f.auditKinds(clientID); len(kinds) != 1 || kinds[0] != "client.create" {
		t.Fatalf("audit events of refused requests: %v", kinds)
	}
}

// An administrator's session and an administrator's ADMIN-scoped token both work.
func TestAdministratorsAreAdmitted(t *testing.T) {
	f := newFixture(t)
	callers := map[string]*caller{
		"admin session":               f.withSession("ada", adaPassword),
		"system-admin session":        f.withSession("root", rootPassword),
		"admin token with ADMIN":      f.admin,
		"system-admin token (SYSTEM)": f.root,
	}
	for name, c := range callers {
		t.Run(name, func(t *testing.T) {
			want(t, c.do("GET", adminPathUser+"/ada", nil), http.StatusOK, "")
			r := c.do("POST", pathClients, map[string]any{"name": name, "redirect_uris": []string{callback}, "scopes": []string{"READ"}})
			want(t, r, http.StatusCreated, "")
		})
	}
}

// A request with a token is the token's, even from a browser holding a
// system administrator's session: the session is neither consulted nor
// touched (no cookie set), and it keeps working for its own requests.
func TestTokenRequestsIgnoreTheSession(t *testing.T) {
	f := newFixture(t)
	session := f.withSession("root", rootPassword)
	both := *session
	both.bearer = f.admin.bearer // ada: an administrator, not a system administrator
	r := both.do("GET", pathIntegrations, nil)
	want(t, r, http.StatusForbidden, "forbidden")
	if c := r.header.Values("Set-Cookie"); len(c) > 0 {
		t.Errorf("a token request set cookies: %q", c)
	}
	want(t, both.do("GET", adminPathUser+"/ada", nil), http.StatusOK, "")
	want(t, session.do("GET", pathIntegrations, nil), http.StatusOK, "")
	// An Authorization header that is empty, or empty before a token, is still
	// the request's credential: the session does not stand in for it.
	for _, values := range [][]string{{""}, {"", "Bearer gat_not-a-real-token"}} {
		req, _ := http.NewRequest("GET", f.base+pathIntegrations, nil)
		req.Header["Authorization"] = values
		if r := f.roundTrip(session.http, req); r.status == http.StatusOK {
			t.Fatalf("Authorization %q beside a session: %d, want a refusal", values, r.status)
		}
	}
}

// A session carries the browser's ambient authority, so a state-changing
// request with it must prove it comes from this site.
func TestSessionCrossOrigin(t *testing.T) {
	f := newFixture(t)
	s := f.withSession("ada", adaPassword)
	// Application names are unique: each request names its own.
	body := func(name string) map[string]any {
		return map[string]any{"name": name, "redirect_uris": []string{callback}, "scopes": []string{"READ"}}
	}
	cases := []struct {
		name   string
		header []string
		status int
	}{
		{"without Origin or Sec-Fetch-Site", []string{"Origin", ""}, http.StatusForbidden},
		{"Sec-Fetch-Site cross-site", []string{"Origin", "", "Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"Origin of another site", []string{"Origin", "https://evil.example"}, http.StatusForbidden},
		{"Sec-Fetch-Site same-site is not same-origin", []string{"Sec-Fetch-Site", "same-site"}, http.StatusForbidden},
		{"same origin", nil, http.StatusCreated},
		{"Sec-Fetch-Site same-origin", []string{"Origin", "", "Sec-Fetch-Site", "same-origin"}, http.StatusCreated},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do("POST", pathClients, body(tc.name), tc.header...)
			if tc.status == http.StatusForbidden {
				want(t, r, tc.status, "cross_origin_request")
				return
			}
			want(t, r, tc.status, "")
		})
	}
	// Reading needs no proof: cross-origin reads are not readable without CORS.
	want(t, s.do("GET", pathClients, nil, "Origin", ""), http.StatusOK, "")
	// A Bearer caller (not a browser) needs no Origin.
	want(t, f.admin.do("POST", pathClients, body("bearer")), http.StatusCreated, "")
	// And a session user who is not an administrator is refused, not asked for Origin.
	want(t, f.withSession("uma", userPassword).do("POST", pathClients, body("uma"), "Origin", ""), http.StatusForbidden, "forbidden")
}

// A token of a user demoted below administrator stops working at once.
func TestDemotedAdministratorLosesAccess(t *testing.T) {
	f := newFixture(t)
	admin2 := f.createUser("ben", "ben-password", store.LevelAdmin)
	ben := f.withToken(f.accessToken(admin2.Username, "ben-password", "ADMIN"))
	want(t, ben.do("GET", adminPathUser, nil), http.StatusOK, "")
	want(t, f.admin.do("PATCH", adminPathUser+"/ben", map[string]any{"level": "user"}), http.StatusOK, "")
	if r := ben.do("GET", adminPathUser, nil); r.status != http.StatusForbidden {
		t.Fatalf("demoted administrator: %d %s", r.status, r.raw)
	}
}

// A token does no more than its scopes' level, whoever its user is: a
// system administrator's token granted only ADMIN acts as an administrator.
// It is refused everything only a system administrator may do — with
// insufficient_scope, since a wider token would be admitted — and changes
// nothing; the same user's SYSTEM_ADMIN token does it all.
func TestTokenActsAtItsScopesLevel(t *testing.T) {
	f := newFixture(t)
	rootAdmin := f.withToken(f.accessToken("root", rootPassword, "ADMIN"))
	integration := f.root.do("POST", pathIntegrations, map[string]any{"provider": "google", "name": "Gmail"})
	want(t, integration, http.StatusCreated, "")
	integ := pathIntegrations + "/" + integration.str("id")
	mailBody := map[string]any{"name": "Inbox", "protocol": "imap", "host": "127.0.0.1", "port": 1, "tls": "none",
		"username": "u", "password": "p"}
	mailServer := f.root.do("POST", pathMail, mailBody)
	want(t, mailServer, http.StatusCreated, "")
	mail := pathMail + "/" + mailServer.str("id")
	integrationApp := f.root.do("POST", pathClients, map[string]any{"name": "Fetcher", "redirect_uris": []string{callback},
		"scopes": []string{"INTEGRATION_TOKEN"}, "grants": []string{"client_credentials"}})
	want(t, integrationApp, http.StatusCreated, "")
	fetcher := pathClients + "/" + integrationApp.str("client_id")
	fetched := f.tokenRequest(url.Values{"grant_type": {"client_credentials"}, "scope": {"INTEGRATION_TOKEN"}}, integrationApp.str("client_id"), integrationApp.str("client_secret"))
	fetchToken, _ := fetched.body["access_token"].(string)
	if fetchToken == "" {
		t.Fatalf("the fetcher's token: %s", fetched.raw)
	}
	fetcherGrants := f.root.do("GET", "/rest/gatehouse/latest/grants?client_id="+integrationApp.str("client_id"), nil).list("grants")
	if len(fetcherGrants) != 1 {
		t.Fatalf("the fetcher's grants: %v", fetcherGrants)
	}
	fetcherGrant := "/rest/gatehouse/latest/grants/" + fetcherGrants[0].(map[string]any)["id"].(string)
	auditBefore := f.auditCount()

	systemOnly := []route{
		{"GET", pathIntegrations, nil},
		{"POST", pathIntegrations, map[string]any{"provider": "google", "name": "Second"}},
		{"GET", integ, nil},
		{"PATCH", integ, map[string]any{"description": "changed"}},
		{"DELETE", integ, nil},
		{"POST", integ + "/credentials", map[string]string{"password": rootPassword}},
		{"GET", pathMail, nil},
		{"POST", pathMail, map[string]any{"name": "Second", "protocol": "imap", "host": "127.0.0.1", "port": 1, "tls": "none",
			"username": "u", "password": "p"}},
		{"GET", mail, nil},
		{"DELETE", mail, nil},
		{"POST", adminPathUser, map[string]any{"username": "eve", "password": "eve-password", "level": "system-admin"}},
		{"PATCH", adminPathUser + "/uma", map[string]any{"level": "system-admin"}},
		{"PATCH", adminPathUser + "/root", map[string]any{"display_name": "Changed"}},
		{"POST", adminPathUser + "/root/password", map[string]string{"password": "taken-over-password", "your_password": rootPassword}},
		{"POST", pathClients, map[string]any{"name": "Second fetcher", "redirect_uris": []string{callback},
			"scopes": []string{"INTEGRATION_TOKEN"}, "grants": []string{"client_credentials"}}},
		{"POST", fetcher + "/credentials", map[string]string{"password": rootPassword}},
		{"POST", fetcher + "/secret", map[string]string{"password": rootPassword}},
		{"DELETE", fetcher + "/logo", nil},
		{"DELETE", fetcherGrant, nil},
	}
	for _, rt := range systemOnly {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			r := rootAdmin.do(rt.method, rt.path, rt.body)
			want(t, r, http.StatusForbidden, "insufficient_scope")
			if !strings.Contains(r.header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
				t.Fatalf("insufficient_scope without its challenge: %q", r.header.Get("WWW-Authenticate"))
			}
		})
	}
	if n := f.auditCount(); n != auditBefore {
		t.Fatalf("refused requests were audited as changes: %d events, then %d", auditBefore, n)
	}
	if r := f.root.do("GET", integ, nil); r.str("description") != "" {
		t.Fatalf("the integration changed: %s", r.raw)
	}
	for _, path := range []string{integ, mail, fetcher} {
		want(t, f.root.do("GET", path, nil), http.StatusOK, "")
	}
	if !f.newIntrospector().active(fetchToken) {
		t.Fatal("the fetcher's token was revoked by a refused request")
	}
	if r := f.root.do("GET", adminPathUser+"/uma", nil); r.str("level") != "user" {
		t.Fatalf("uma's level changed: %s", r.raw)
	}
	f.withSession("root", rootPassword) // root's password is unchanged

	// What an administrator may do, the ADMIN token still does.
	want(t, rootAdmin.do("GET", adminPathUser+"/root", nil), http.StatusOK, "")
	want(t, rootAdmin.do("POST", adminPathUser, map[string]any{"username": "ben", "password": "ben-password", "level": "admin"}), http.StatusCreated, "")
	want(t, rootAdmin.do("PATCH", adminPathUser+"/uma", map[string]any{"display_name": "Uma"}), http.StatusOK, "")
	// And the same user's SYSTEM_ADMIN token does the rest.
	want(t, f.root.do("GET", pathMail, nil), http.StatusOK, "")
	want(t, f.root.do("POST", adminPathUser, map[string]any{"username": "eve", "password": "eve-password", "level": "system-admin"}), http.StatusCreated, "")
	want(t, f.root.do("DELETE", integ, nil), http.StatusNoContent, "")
}

// INTEGRATION_TOKEN lets a token fetch the integrations' access tokens and
// nothing else: its level (only a system administrator may hold it) is no
// administration level, so a system administrator's token granted only it is
// refused the admin API, while the token route admits it.
func TestIntegrationTokenScopeAdministersNothing(t *testing.T) {
	f := newFixture(t)
	fetcher := f.withToken(f.accessToken("root", rootPassword, "INTEGRATION_TOKEN"))
	integration := f.root.do("POST", pathIntegrations, map[string]any{"provider": "google", "name": "Gmail"})
	want(t, integration, http.StatusCreated, "")
	for _, rt := range []route{
		{"GET", adminPathUser, nil},
		{"POST", adminPathUser, map[string]any{"username": "eve", "password": "eve-password", "level": "system-admin"}},
		{"GET", pathMail, nil},
		{"GET", pathIntegrations, nil},
		{"POST", pathClients, map[string]any{"name": "x", "redirect_uris": []string{callback}, "scopes": []string{"READ"}}},
	} {
		want(t, fetcher.do(rt.method, rt.path, rt.body), http.StatusForbidden, "insufficient_scope")
	}
	// The token route takes it: the integration is not authorized yet, which it is told.
	want(t, fetcher.do("GET", pathIntegrations+"/"+integration.str("id")+"/token", nil), http.StatusConflict, "needs_reauthorization")
}

// Unknown routes and methods answer in JSON too.
func TestUnknownRouteAndMethod(t *testing.T) {
	f := newFixture(t)
	want(t, f.admin.do("GET", "/rest/gatehouse/latest/nothing", nil), http.StatusNotFound, "not_found")
	// The API's own root too, rather than an HTML redirect to it with a slash.
	noRedirects := *f.admin
	noRedirects.http = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	want(t, noRedirects.do("GET", "/rest/gatehouse/latest", nil), http.StatusNotFound, "not_found")
	r := f.admin.do("PATCH", pathClients, nil)
	want(t, r, http.StatusMethodNotAllowed, "method_not_allowed")
	if allow := r.header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
		t.Fatalf("Allow %q", allow)
	}
	// The protocol endpoints beside the API are untouched.
	if r := f.anonymous().do("GET", "/.well-known/oauth-authorization-server", nil); r.status != http.StatusOK {
		t.Fatalf("metadata: %d", r.status)
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t)
	for _, c := range []*caller{f.admin, f.anonymous()} {
		r := c.do("GET", pathClients, nil)
		for k, v := range map[string]string{"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"} {
			if r.header.Get(k) != v {
				t.Errorf("%s = %q, want %q", k, r.header.Get(k), v)
			}
		}
	}
}

// TestAbandonedRequestIsNotAServerError: a request whose caller hung up
// while it read the database is answered (and logged, and counted) 499, as
// the token endpoint's is, not 500.
func TestAbandonedRequestIsNotAServerError(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, e.base+adminPathUser, nil)
	req.AddCookie(&http.Cookie{Name: session.Cookie, Value: strings.Repeat("a", 43)}) // not in any cache
	rec := httptest.NewRecorder()
	e.node.Handler().ServeHTTP(rec, req)
	if rec.Code != oauth.StatusClientClosedRequest {
		t.Fatalf("an abandoned request: %d %s, want %d", rec.Code, rec.Body, oauth.StatusClientClosedRequest)
	}
}
