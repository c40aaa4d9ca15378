package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/integration"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testprovider"
)

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf is the form token of a page.
func csrf(t *testing.T, p page) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no CSRF token on the page (%d)", p.status)
	}
	return m[1]
}

// customIntegration creates an integration of the stand-in p as the command line would.
func (e *env) customIntegration(p *testprovider.Provider, name string) store.Integration {
	e.t.Helper()
	auth, token, userinfo := p.Endpoints()
	in, err := e.node.Integrations.Create(context.Background(), audit.CommandLine(), integration.Settings{
		Provider: integration.Custom, Name: name, ClientID: p.ClientID(), ClientSecret: p.ClientSecret(),
		AuthURL: auth, TokenURL: token, UserinfoURL: userinfo, Scopes: []string{"mail"},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return in
}

// authorizedIntegration starts a provider and an integration with it,
// authorized in the console by root, a system administrator, whose signed-in
// browser it returns.
func (e *env) authorizedIntegration() (*testprovider.Provider, store.Integration, *browser) {
	e.t.Helper()
	p := testprovider.Start(e.t, testprovider.Options{})
	e.createUser("root", "root-password", store.LevelSystemAdmin)
	in := e.customIntegration(p, "Mail")
	b := e.newBrowser()
	b.signIn("root", "root-password")
	if got := b.authorizeInConsole(p, in.ID); !strings.Contains(got.body, "is authorized") {
		e.t.Fatalf("authorize: %d %s", got.status, got.body)
	}
	return p, in, b
}

// authorizeInConsole presses Authorize on the integration's page, plays the
// provider, and follows the callback back to the page.
func (b *browser) authorizeInConsole(p *testprovider.Provider, id string) page {
	b.e.t.Helper()
	show := b.get("/admin/integrations/" + id)
	start := b.post("/admin/integrations/"+id+"/authorize", url.Values{"csrf_token": {csrf(b.e.t, show)}})
	if start.status != http.StatusSeeOther || !strings.HasPrefix(start.location().String(), p.URL) {
		b.e.t.Fatalf("Authorize answered %d to %s", start.status, start.location())
	}
	redirect, q := p.Approve(b.e.t, start.location().String())
	return b.follow(b.get(redirect + "?" + q.Encode()))
}

// TestIntegrationsOnlySystemAdmins: administrators below system
// administrator, users, and tokens without the right scope reach no
// integration, in the console, the admin API or the token API; nor may
// such an administrator give an application the INTEGRATION_TOKEN scope or
// see the secret of one that has it.
func TestIntegrationsOnlySystemAdmins(t *testing.T) {
	e := newEnv(t)
	p := testprovider.Start(t, testprovider.Options{})
	e.createUser("root", "root-password", store.LevelSystemAdmin)
	e.createUser("adm", "adm-password", store.LevelAdmin)
	in := e.customIntegration(p, "Mail")

	adm := e.newBrowser()
	adm.signIn("adm", "adm-password")
	home := adm.get("/admin/apps")
	if strings.Contains(home.body, `href="/admin/integrations"`) {
		t.Error("the console offers integrations to an administrator below system administrator")
	}
	token := csrf(t, home)
	for _, r := range []struct{ method, path string }{
		{"GET", "/admin/integrations"}, {"GET", "/admin/integrations/new"}, {"GET", "/admin/integrations/" + in.ID},
		{"POST", "/admin/integrations/new"}, {"POST", "/admin/integrations/" + in.ID + "/authorize"},
		{"POST", "/admin/integrations/" + in.ID + "/test"}, {"POST", "/admin/integrations/" + in.ID + "/delete"},
		{"GET", "/admin/integrations/" + in.ID + "/secret"},
	} {
		var got page
		if r.method == "GET" {
			got = adm.get(r.path)
		} else {
			got = adm.post(r.path, url.Values{"csrf_token": {token}, "provider": {"custom"}, "name": {"x"}})
		}
		if got.status != http.StatusForbidden {
			t.Errorf("%s %s as an administrator: %d", r.method, r.path, got.status)
		}
	}
	api := func(b *browser, method, p string) int {
		req, _ := http.NewRequest(method, e.base+p, nil)
		req.Header.Set("Origin", e.base)
		return b.do(req).status
	}
	for _, route := range []string{"/rest/gatehouse/latest/integrations", "/rest/gatehouse/latest/integrations/" + in.ID + "/token"} {
		if got := api(adm, "GET", route); got != http.StatusForbidden {
			t.Errorf("GET %s with an administrator's session: %d", route, got)
		}
		if got := api(e.newBrowser(), "GET", route); got != http.StatusUnauthorized {
			t.Errorf("GET %s without credentials: %d", route, got)
		}
	}

	// Tokens: an application's needs INTEGRATION_TOKEN; a user's must be a
	// system administrator's with a system-administrator scope.
	withScope, withScopeSecret := e.createClient(app.Registration{Name: "fetcher", Scopes: []string{"INTEGRATION_TOKEN", "READ"}, Grants: []string{app.GrantClientCredentials}})
	tokenRoute := e.base + "/rest/gatehouse/latest/integrations/" + in.ID + "/token"
	ccToken := func(scope string) string {
		r := e.token(form("grant_type", "client_credentials", "scope", scope), withScope.ID, withScopeSecret)
		if r.status != http.StatusOK {
			t.Fatalf("client credentials %s: %d %s", scope, r.status, r.raw)
		}
		return r.str("access_token")
	}
	if status, body := getWithBearer(tokenRoute, ccToken("READ")); status != http.StatusForbidden || !strings.Contains(body, "insufficient_scope") {
		t.Errorf("an application's token without INTEGRATION_TOKEN: %d %s", status, body)
	}
	if status, body := getWithBearer(tokenRoute, ccToken("INTEGRATION_TOKEN")); status != http.StatusConflict || !strings.Contains(body, "needs_reauthorization") {
		t.Errorf("an application's INTEGRATION_TOKEN token for an integration never authorized: %d %s", status, body)
	}
	userToken := func(username, password, scope string) string {
		b := e.newBrowser()
		b.signIn(username, password)
		c, secretValue := e.createClient(app.Registration{Scopes: []string{"READ", "ADMIN", "SYSTEM_ADMIN"}})
		code := b.code(authParams(c, scope))
		return e.token(form("grant_type", "authorization_code", "code", code, "redirect_uri", callback), c.ID, secretValue).str("access_token")
	}
	if status, _ := getWithBearer(tokenRoute, userToken("adm", "adm-password", "ADMIN")); status != http.StatusForbidden {
		t.Errorf("an administrator's token: %d", status)
	}
	if status, _ := getWithBearer(tokenRoute, userToken("root", "root-password", "READ")); status != http.StatusForbidden {
		t.Errorf("a system administrator's READ token: %d", status)
	}
	if status, _ := getWithBearer(tokenRoute, userToken("root", "root-password", "SYSTEM_ADMIN")); status != http.StatusConflict {
		t.Errorf("a system administrator's SYSTEM_ADMIN token: %d (want 409: not authorized yet)", status)
	}

	// The administrator cannot make (or use) such an application.
	create := adm.post("/admin/apps/new", pageForm("app", url.Values{"csrf_token": {token}, "name": {"sneaky"}, "scope": {"INTEGRATION_TOKEN"},
		"grant": {"client_credentials"}, "type": {"confidential"}, "enabled": {"on"}}))
	if create.status != http.StatusBadRequest || !strings.Contains(create.body, "only a system administrator") {
		t.Errorf("an administrator creating an application with INTEGRATION_TOKEN: %d", create.status)
	}
	req, _ := http.NewRequest("POST", e.base+"/rest/oauth2/latest/client/"+withScope.ID+"/credentials", strings.NewReader(`{"password": "adm-password"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", e.base)
	if got := adm.do(req); got.status != http.StatusBadRequest || !strings.Contains(got.body, "only a system administrator") || strings.Contains(got.body, withScopeSecret) {
		t.Errorf("an administrator asking for the secret of an application with INTEGRATION_TOKEN: %d %s", got.status, got.body)
	}
	// Nor delete it (which would revoke the tokens the mail services fetch with).
	del, _ := http.NewRequest("DELETE", e.base+"/rest/oauth2/latest/client/"+withScope.ID, nil)
	del.Header.Set("Origin", e.base)
	if got := adm.do(del); got.status != http.StatusBadRequest || !strings.Contains(got.body, "only a system administrator") {
		t.Errorf("an administrator deleting an application with INTEGRATION_TOKEN: %d %s", got.status, got.body)
	}
	if _, err := e.node.Apps.Get(context.Background(), withScope.ID); err != nil {
		t.Errorf("the application is gone after a refused delete: %v", err)
	}

	// Nor revoke its grants (the tokens the mail services fetch with), nor
	// change its logo; nor revoke a system administrator's grant, whose
	// sessions the administrator may not end either. The console and the
	// API alike, and nothing changes.
	fetchToken := ccToken("INTEGRATION_TOKEN")
	rootToken := userToken("root", "root-password", "SYSTEM_ADMIN")
	grantOf := func(clientID, username, scope string) string {
		t.Helper()
		grants, err := e.node.Admin.Grants(context.Background(), store.TokenFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range grants {
			if g.Scope == scope && (g.User == nil && username == "" && g.Client.ID == clientID || g.User != nil && g.User.Username == username) {
				return g.ID
			}
		}
		t.Fatalf("no grant of %s for %q with %s", clientID, username, scope)
		return ""
	}
	for name, grant := range map[string]string{
		"the mail fetcher's INTEGRATION_TOKEN grant": grantOf(withScope.ID, "", "INTEGRATION_TOKEN"),
		"a system administrator's grant":             grantOf("", "root", "SYSTEM_ADMIN"),
	} {
		if got := adm.post("/admin/grants/"+grant+"/revoke", url.Values{"csrf_token": {token}, "next": {"/admin/apps"}}); got.status != http.StatusBadRequest {
			t.Errorf("an administrator revoking %s in the console: %d", name, got.status)
		}
		del, _ := http.NewRequest("DELETE", e.base+"/rest/gatehouse/latest/grants/"+grant, nil)
		del.Header.Set("Origin", e.base)
		if got := adm.do(del); got.status != http.StatusBadRequest {
			t.Errorf("an administrator revoking %s through the API: %d %s", name, got.status, got.body)
		}
	}
	// The same application's grant without INTEGRATION_TOKEN is any administrator's to revoke.
	readGrant, _ := http.NewRequest("DELETE", e.base+"/rest/gatehouse/latest/grants/"+grantOf(withScope.ID, "", "READ"), nil)
	readGrant.Header.Set("Origin", e.base)
	if got := adm.do(readGrant); got.status != http.StatusNoContent {
		t.Errorf("an administrator revoking the fetcher's READ grant: %d %s", got.status, got.body)
	}
	if !e.active(fetchToken, withScope.ID, withScopeSecret) {
		t.Error("the mail fetcher's token was revoked by refused requests")
	}
	if got := e.myself(rootToken); got.status != http.StatusOK {
		t.Errorf("root's token after refused revocations: %d", got.status)
	}
	if got := adm.uploadLogo(withScope.ID, pngOf(8, 8), token); got.status != http.StatusBadRequest {
		t.Errorf("an administrator setting the logo of an application with INTEGRATION_TOKEN: %d", got.status)
	}
	if got := adm.post("/admin/apps/"+withScope.ID+"/logo", url.Values{"csrf_token": {token}, "remove": {"true"}}); got.status != http.StatusBadRequest {
		t.Errorf("an administrator removing the logo of an application with INTEGRATION_TOKEN: %d", got.status)
	}
	if _, _, err := e.node.Admin.Logo(context.Background(), withScope.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused upload left a logo: %v", err)
	}
}

// TestIntegrationConsoleCSRF: every integration form needs the session's
// CSRF token and a same-site origin; a refused post changes nothing.
func TestIntegrationConsoleCSRF(t *testing.T) {
	e := newEnv(t)
	p := testprovider.Start(t, testprovider.Options{})
	e.createUser("root", "root-password", store.LevelSystemAdmin)
	in := e.customIntegration(p, "Mail")
	b := e.newBrowser()
	b.signIn("root", "root-password")
	good := csrf(t, b.get("/admin/integrations/"+in.ID))
	for _, path := range []string{"/admin/integrations/new", "/admin/integrations/" + in.ID + "/edit", "/admin/integrations/" + in.ID + "/authorize",
		"/admin/integrations/" + in.ID + "/test", "/admin/integrations/" + in.ID + "/delete"} {
		for name, token := range map[string]string{"no token": "", "a wrong token": good[:len(good)-2] + "xx"} {
			if got := b.post(path, url.Values{"csrf_token": {token}, "provider": {"custom"}, "name": {"Renamed"}}); got.status != http.StatusForbidden {
				t.Errorf("POST %s with %s: %d", path, name, got.status)
			}
		}
		req, _ := http.NewRequest("POST", e.base+path, strings.NewReader(url.Values{"csrf_token": {good}, "name": {"Renamed"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Origin", "https://evil.example")
		if got := b.do(req); got.status != http.StatusForbidden {
			t.Errorf("cross-site POST %s with a good token: %d", path, got.status)
		}
	}
	after, err := e.node.Store.IntegrationByID(context.Background(), in.ID)
	if err != nil || after.Name != "Mail" || len(p.Authorizations()) != 0 {
		t.Errorf("refused posts changed something: %q, %v, %d authorizations", after.Name, err, len(p.Authorizations()))
	}
}

// TestIntegrationCallbackRefusals: the callback refuses a missing, unknown,
// reused or expired state, and one from another browser (without using it
// up), with a page that says so (400, never a 5xx), and stores nothing.
func TestIntegrationCallbackRefusals(t *testing.T) {
	e := newEnv(t)
	p := testprovider.Start(t, testprovider.Options{})
	e.createUser("root", "root-password", store.LevelSystemAdmin)
	in := e.customIntegration(p, "Mail")
	b := e.newBrowser()
	b.signIn("root", "root-password")
	start := func() (string, url.Values) {
		show := b.get("/admin/integrations/" + in.ID)
		resp := b.post("/admin/integrations/"+in.ID+"/authorize", url.Values{"csrf_token": {csrf(t, show)}})
		return p.Approve(t, resp.location().String())
	}
	refused := func(what string, who *browser, redirect string, q url.Values) {
		t.Helper()
		got := who.get(redirect + "?" + q.Encode())
		if got.status != http.StatusBadRequest || !strings.Contains(got.body, "works once, for 10 minutes") {
			t.Errorf("callback with %s: %d", what, got.status)
		}
	}
	redirect, q := start()
	refused("no state", b, redirect, url.Values{"code": q["code"]})
	refused("an unknown state", b, redirect, url.Values{"code": q["code"], "state": {"made-up"}})
	refused("the state of another browser", e.newBrowser(), redirect, q)
	// ... which leaves it to the browser that started it.
	if got := b.follow(b.get(redirect + "?" + q.Encode())); got.status != http.StatusOK || !strings.Contains(got.body, "is authorized") {
		t.Fatalf("a good callback after another browser's: %d", got.status)
	}
	refused("a used state", b, redirect, q)
	redirect, q = start()
	e.clock.Advance(integration.AuthorizationTTL)
	refused("an expired state", b, redirect, q)
	// The provider's refusal, in plain words on the integration's page.
	redirect, q = start()
	q.Del("code")
	q.Set("error", "access_denied")
	q.Set("error_description", "The user denied access")
	got := b.follow(b.get(redirect + "?" + q.Encode()))
	if got.status != http.StatusOK || !strings.Contains(got.body, "Authorization failed: access was refused at the provider (access_denied: The user denied access)") {
		t.Errorf("a provider's access_denied: %d %s", got.status, got.body)
	}
}

// TestIntegrationBadProviderAnswers: a provider that answers a web page, a
// 500 or garbage, an unreachable host, a port that is not HTTP, or a TLS
// failure gives a clear message in the console, the admin API and the token
// API; Gatehouse answers no 5xx and keeps the stored tokens.
func TestIntegrationBadProviderAnswers(t *testing.T) {
	e := newEnv(t)
	p, in, b := e.authorizedIntegration()
	c, secretValue := e.createClient(app.Registration{Name: "fetcher", Scopes: []string{"INTEGRATION_TOKEN"}, Grants: []string{app.GrantClientCredentials}})
	bearer := e.token(form("grant_type", "client_credentials"), c.ID, secretValue).str("access_token")
	stored, _ := e.node.Store.IntegrationByID(context.Background(), in.ID)

	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedURL := "http://" + closed.Addr().String() + "/token"
	closed.Close()
	untrusted := httptest.NewTLSServer(http.NotFoundHandler())
	defer untrusted.Close()
	cases := []struct {
		name     string
		answer   testprovider.Answer
		tokenURL string
		words    string
	}{
		{"a web page", testprovider.AnswerHTML, "", "answered a web page"},
		{"a 500", testprovider.Answer500, "", "a fault at the provider"},
		{"garbage", testprovider.AnswerGarbage, "", "did not answer with an OAuth 2.0 token"},
		{"an unreachable host", "", closedURL, "connection refused"},
		{"a TLS failure", "", untrusted.URL + "/token", "is not trusted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p.SetAnswer(tc.answer)
			defer p.SetAnswer(testprovider.AnswerNormal)
			tokenURL := stored.TokenURL
			if tc.tokenURL != "" {
				tokenURL = tc.tokenURL
			}
			// Fresh tokens that are due now, the endpoint as the case has it.
			if _, err := e.node.Store.UpdateIntegration(context.Background(), in.ID, func(i *store.Integration) error {
				i.TokenURL, i.Vault = tokenURL, stored.Vault
				i.Vault.ExpiresAt, i.Vault.AuthorizedAt = e.clock.Now().Add(-time.Second), e.clock.Now().Add(-time.Hour)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			show := b.get("/admin/integrations/" + in.ID)
			test := b.post("/admin/integrations/"+in.ID+"/test", url.Values{"csrf_token": {csrf(t, show)}})
			page := b.follow(test)
			if test.status != http.StatusSeeOther || page.status != http.StatusOK || !strings.Contains(page.body, "Test failed: ") || !strings.Contains(page.body, tc.words) {
				t.Errorf("console Test connection: %d then %d, want the words %q in %s", test.status, page.status, tc.words, alerts(page.body))
			}
			req, _ := http.NewRequest("POST", e.base+"/rest/gatehouse/latest/integrations/"+in.ID+"/test", nil)
			req.Header.Set("Origin", e.base)
			var res struct {
				OK      bool
				Message string
			}
			got := b.do(req)
			json.Unmarshal([]byte(got.body), &res)
			if got.status != http.StatusOK || res.OK || !strings.Contains(res.Message, tc.words) {
				t.Errorf("API test: %d %s", got.status, got.body)
			}
			if status, body := getWithBearer(e.base+"/rest/gatehouse/latest/integrations/"+in.ID+"/token", bearer); status != http.StatusFailedDependency || !strings.Contains(body, tc.words) {
				t.Errorf("token API: %d %s", status, body)
			}
			after, _ := e.node.Store.IntegrationByID(context.Background(), in.ID)
			if string(after.Vault.TokensSealed) != string(stored.Vault.TokensSealed) {
				t.Error("the stored tokens changed")
			}
			if st := integration.StateOf(after, e.clock.Now()); st.Status != integration.StatusFailing {
				t.Errorf("status %s", st.Status)
			}
		})
	}
	// The metrics say the same, to a caller on this machine.
	resp, err := http.Get(e.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	scrape, _ := io.ReadAll(resp.Body)
	for _, line := range []string{
		`gatehouse_integration_status{integration="` + in.ID + `",name="Mail",status="failing"} 1`,
		`gatehouse_integration_status{integration="` + in.ID + `",name="Mail",status="healthy"} 0`,
		`gatehouse_integration_refreshes_total{result="failure"} ` + strconv.Itoa(len(cases)),
		`gatehouse_integration_token_expiry_seconds{integration="` + in.ID + `",name="Mail"} -`,
	} {
		if !strings.Contains(string(scrape), line) {
			t.Errorf("/metrics lacks %s", line)
		}
	}
}

// alerts lists the alert texts of a page, for failure messages.
func alerts(body string) []string {
	var out []string
	for _, m := range alertText.FindAllStringSubmatch(body, -1) {
		out = append(out, unescapeHTML(m[1]))
	}
	return out
}

// TestIntegrationTokenRefusesOtherSitesSessions: a page on another site
// that makes a system administrator's browser open the token route (a link,
// a redirect) gets no token handed out in their name — nothing refreshed,
// nothing audited; their own pages, a typed address and curl with the
// cookie still work.
func TestIntegrationTokenRefusesOtherSitesSessions(t *testing.T) {
	e := newEnv(t)
	_, in, b := e.authorizedIntegration()
	handedOut := func() int {
		events, err := e.node.Store.ListAudit(context.Background(), store.AuditFilter{Kind: audit.IntegrationToken})
		if err != nil {
			t.Fatal(err)
		}
		return len(events)
	}
	fetch := func(site string) page {
		req, _ := http.NewRequest("GET", e.base+"/rest/gatehouse/latest/integrations/"+in.ID+"/token", nil)
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
		}
		return b.do(req)
	}
	for _, site := range []string{"cross-site", "same-site"} {
		got := fetch(site)
		if got.status != http.StatusForbidden || !strings.Contains(got.body, "cross_origin_request") || strings.Contains(got.body, "access_token") {
			t.Errorf("Sec-Fetch-Site: %s: %d %s", site, got.status, got.body)
		}
	}
	if n := handedOut(); n != 0 {
		t.Fatalf("%d tokens handed out to other sites' requests", n)
	}
	for _, site := range []string{"same-origin", "none", ""} {
		if got := fetch(site); got.status != http.StatusOK || !strings.Contains(got.body, "access_token") {
			t.Errorf("Sec-Fetch-Site: %q: %d %s", site, got.status, got.body)
		}
	}
	if n := handedOut(); n != 3 {
		t.Errorf("%d tokens handed out, want 3", n)
	}
}
