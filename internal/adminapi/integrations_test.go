package adminapi_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testprovider"
)

const pathIntegrations = "/rest/gatehouse/latest/integrations"

// TestIntegrationsAPI: the console's integration operations through the
// API, by a system administrator's token: create (the preset and the
// redirect URL), change (which says when the redirect URL changed), the
// headless authorization URL, test, the token, the client secret against
// the caller's password, and delete; the secret and tokens are never in a
// listing or an object; every step is audited.
func TestIntegrationsAPI(t *testing.T) {
	f := newFixture(t)
	p := testprovider.Start(t, testprovider.Options{})
	auth, token, userinfo := p.Endpoints()

	google := f.root.do("POST", pathIntegrations, map[string]any{"provider": "google", "name": "Gmail"})
	want(t, google, http.StatusCreated, "")
	if google.str("authorization_endpoint") != "https://accounts.google.com/o/oauth2/v2/auth" || google.str("status") != "not_authorized" ||
		!strings.HasPrefix(google.str("redirect_url"), f.base+"/plugins/servlet/oauth2/integrations/callback/") ||
		google.str("authorization_parameters") != "access_type=offline&prompt=consent" || google.body["has_client_secret"] != false {
		t.Errorf("a new Google integration: %s", google.raw)
	}
	want(t, f.root.do("POST", pathIntegrations, map[string]any{"provider": "google", "name": "GMAIL"}), http.StatusBadRequest, "invalid_request")
	want(t, f.root.do("POST", pathIntegrations, map[string]any{"name": "no provider"}), http.StatusBadRequest, "invalid_request")
	want(t, f.root.do("POST", pathIntegrations, map[string]any{"provider": "custom", "name": "x", "color": "red"}), http.StatusBadRequest, "invalid_request")
	want(t, f.root.do("POST", pathIntegrations, map[string]any{"provider": "custom", "name": "x",
		"authorization_endpoint": `http://127.0.0.1:1/a"<b>`, "token_endpoint": "http://127.0.0.1:1/t"}), http.StatusBadRequest, "invalid_request")

	custom := f.root.do("POST", pathIntegrations, map[string]any{"provider": "custom", "name": "Mail", "client_id": p.ClientID(),
		"client_secret": p.ClientSecret(), "authorization_endpoint": auth, "token_endpoint": token, "userinfo_endpoint": userinfo,
		"scopes": []string{"mail"}})
	want(t, custom, http.StatusCreated, "")
	id := custom.str("id")
	// As created, as a later GET shows it (the store keeps milliseconds).
	wantMillisecondTime(t, "a created integration's created_at", custom.str("created_at"))
	wantMillisecondTime(t, "a created integration's updated_at", custom.str("updated_at"))
	if strings.Contains(custom.raw, p.ClientSecret()) {
		t.Error("the created integration shows its client secret")
	}

	// Headless authorization: any client may complete the URL.
	start := f.root.do("POST", pathIntegrations+"/Mail/authorize", nil)
	want(t, start, http.StatusOK, "")
	wantMillisecondTime(t, "the authorization URL's expires_at", start.str("expires_at"))
	redirect, q := p.Approve(t, start.str("url"))
	resp, body := f.newBrowser().send("GET", redirect+"?"+q.Encode(), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "is authorized") {
		t.Fatalf("callback: %d %s", resp.StatusCode, body)
	}
	if got := f.root.do("GET", pathIntegrations+"/"+id, nil); got.str("status") != "healthy" || got.str("account") != "ops@example.com" {
		t.Errorf("after authorizing: %s", got.raw)
	}
	test := f.root.do("POST", pathIntegrations+"/"+id+"/test", nil)
	if test.body["ok"] != true || !strings.HasPrefix(test.str("message"), "Signed in as ops@example.com") {
		t.Errorf("test: %s", test.raw)
	}
	tok := f.root.do("GET", pathIntegrations+"/mail/token", nil)
	want(t, tok, http.StatusOK, "")
	if !strings.HasPrefix(tok.str("access_token"), "at-") || tok.str("token_type") != "Bearer" || tok.str("scope") != "mail" || tok.str("expires_at") == "" {
		t.Errorf("token: %s", tok.raw)
	}
	wantMillisecondTime(t, "the token's expires_at", tok.str("expires_at"))
	list := f.root.do("GET", pathIntegrations, nil)
	if len(list.list("integrations")) != 2 || strings.Contains(list.raw, tok.str("access_token")) || strings.Contains(list.raw, p.ClientSecret()) {
		t.Errorf("list: %s", list.raw)
	}

	// The stored client secret goes only to the token endpoint it was given
	// for: a token or session without the administrator's password (which
	// viewing it asks for) cannot have it sent elsewhere.
	elsewhere := f.root.do("PATCH", pathIntegrations+"/"+id, map[string]any{"token_endpoint": "http://127.0.0.1:1/steal"})
	want(t, elsewhere, http.StatusBadRequest, "invalid_request")
	if !strings.Contains(elsewhere.str("message"), "client secret again") {
		t.Errorf("a new token endpoint without the secret: %s", elsewhere.raw)
	}
	if got := f.root.do("GET", pathIntegrations+"/"+id, nil); got.str("token_endpoint") != token || got.str("status") != "healthy" {
		t.Errorf("a refused change changed the integration: %s", got.raw)
	}
	// A new token endpoint with the secret: a new redirect URL, and the tokens dropped.
	moved := f.root.do("PATCH", pathIntegrations+"/"+id, map[string]any{"token_endpoint": token + "?v=2", "client_secret": p.ClientSecret()})
	want(t, moved, http.StatusOK, "")
	if moved.body["redirect_url_changed"] != true || moved.body["tokens_dropped"] != true || moved.str("status") != "not_authorized" {
		t.Errorf("PATCH token_endpoint: %s", moved.raw)
	}
	want(t, f.root.do("PATCH", pathIntegrations+"/"+id, map[string]any{"provider": "google"}), http.StatusBadRequest, "invalid_request")
	want(t, f.root.do("GET", pathIntegrations+"/"+id+"/token", nil), http.StatusConflict, "needs_reauthorization")

	// The secret, against the caller's own password only.
	want(t, f.root.do("POST", pathIntegrations+"/"+id+"/credentials", nil), http.StatusForbidden, "invalid_password")
	want(t, f.root.do("POST", pathIntegrations+"/"+id+"/credentials", map[string]any{"password": "wrong"}), http.StatusForbidden, "invalid_password")
	creds := f.root.do("POST", pathIntegrations+"/"+id+"/credentials", map[string]any{"password": rootPassword})
	if creds.str("client_secret") != p.ClientSecret() {
		t.Errorf("credentials: %s", creds.raw)
	}

	want(t, f.admin.do("GET", pathIntegrations, nil), http.StatusForbidden, "forbidden")
	// Refused before the body is read: none, or a bad one, does not make it a 400.
	want(t, f.admin.do("POST", pathIntegrations, nil), http.StatusForbidden, "forbidden")
	want(t, f.admin.do("PATCH", pathIntegrations+"/"+id, raw{"application/json", []byte("{")}), http.StatusForbidden, "forbidden")
	want(t, f.root.do("DELETE", pathIntegrations+"/"+id, nil), http.StatusNoContent, "")
	want(t, f.root.do("GET", pathIntegrations+"/"+id, nil), http.StatusNotFound, "not_found")
	want(t, f.root.do("GET", pathIntegrations+"/nothing/token", nil), http.StatusNotFound, "not_found")

	audit := f.root.do("GET", "/rest/gatehouse/latest/audit?kind=integration.&limit=100", nil)
	for _, kind := range []string{"integration.create", "integration.authorize", "integration.test", "integration.token", "integration.update",
		"integration.secret.view", "integration.delete"} {
		if !strings.Contains(audit.raw, `"`+kind+`"`) {
			t.Errorf("no %s in the audit log", kind)
		}
	}
	if strings.Contains(audit.raw, tok.str("access_token")) || strings.Contains(audit.raw, p.ClientSecret()) {
		t.Error("the audit log holds a token or the secret")
	}
}

// wantMillisecondTime: times are RFC 3339 in UTC, to the millisecond (api.md),
// whichever node answers — the one that just made the value too.
func wantMillisecondTime(t *testing.T, what, value string) {
	t.Helper()
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$`).MatchString(value) {
		t.Errorf("%s %q is not an RFC 3339 UTC time to the millisecond", what, value)
	}
}
