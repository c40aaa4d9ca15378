package adminapi_test

import (
	"bytes"
	"github.com/gatehouse/gatehouse/internal/app"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

func pngImage(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	img.Set(0, 0, color.RGBA{200, 30, 30, 255})
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

func jpegImage(w, h int) []byte {
	var b bytes.Buffer
	jpeg.Encode(&b, image.NewRGBA(image.Rect(0, 0, w, h)), nil)
	return b.Bytes()
}

// secretWorks reports whether the token endpoint accepts the application's secret.
func (f *fixture) secretWorks(id, secretValue string) bool {
	f.t.Helper()
	r := f.tokenRequest(url.Values{"grant_type": {"client_credentials"}, "scope": {"READ"}}, id, secretValue)
	return r.status == http.StatusOK
}

func TestClientLifecycle(t *testing.T) {
	f := newFixture(t)

	// Create: 201, the secret once, a Location.
	created := f.newClient("Build server", map[string]any{
		"description": "CI", "grants": []string{"authorization_code", "refresh_token", "client_credentials"},
		"subscriber_groups": []string{"staff"}, "allowed_ips": []string{"127.0.0.1/32"},
	})
	id, secretValue := created.str("client_id"), created.str("client_secret")
	if id == "" || secretValue == "" || created.str("type") != "confidential" || created.body["enabled"] != true {
		t.Fatalf("created: %s", created.raw)
	}
	if created.header.Get("Location") != pathClients+"/"+id {
		t.Fatalf("Location %q", created.header.Get("Location"))
	}
	if !f.secretWorks(id, secretValue) {
		t.Fatal("the returned secret does not work")
	}

	// Get: no secret, usage.
	got := f.admin.do("GET", pathClients+"/"+id, nil)
	want(t, got, http.StatusOK, "")
	if _, has := got.body["client_secret"]; has {
		t.Fatalf("GET shows the secret: %s", got.raw)
	}
	if got.body["active_tokens"] != float64(1) || got.body["last_used"] == nil {
		t.Fatalf("usage after one token: %s", got.raw)
	}
	for _, k := range []string{"client_id", "name", "description", "type", "redirect_uris", "scopes", "grants", "require_pkce",
		"enabled", "subscriber_users", "subscriber_groups", "allowed_ips", "introspect_any", "has_logo", "active_tokens", "last_used", "created_at", "updated_at"} {
		if _, ok := got.body[k]; !ok {
			t.Errorf("field %q missing: %s", k, got.raw)
		}
	}

	// List with search, and usage.
	f.newClient("Wiki", nil)
	list := f.admin.do("GET", pathClients+"?q=build", nil)
	want(t, list, http.StatusOK, "")
	if l := list.list("clients"); len(l) != 1 || l[0].(map[string]any)["client_id"] != id || l[0].(map[string]any)["active_tokens"] != float64(1) {
		t.Fatalf("search: %s", list.raw)
	}
	if all := f.admin.do("GET", pathClients, nil); len(all.list("clients")) != 4 { // with the fixture's two
		t.Fatalf("list: %s", all.raw)
	}

	// Replace: what GET returned, edited and sent back, is accepted.
	edited := got.body
	edited["name"] = "Build server 2"
	edited["scopes"] = []string{"READ"}
	edited["allowed_ips"] = []string{}
	put := f.admin.do("PUT", pathClients+"/"+id, edited)
	want(t, put, http.StatusOK, "")
	if put.str("name") != "Build server 2" || len(put.body["scopes"].([]any)) != 1 || put.body["enabled"] != true {
		t.Fatalf("replaced: %s", put.raw)
	}
	// Left-out settings are reset (PUT replaces), except enabled.
	put = f.admin.do("PUT", pathClients+"/"+id, map[string]any{"name": "Minimal", "redirect_uris": []string{callback}, "scopes": []string{"READ"}})
	want(t, put, http.StatusOK, "")
	if put.str("description") != "" || len(put.body["subscriber_groups"].([]any)) != 0 || slices.Contains(anyStrings(put.body["grants"]), "client_credentials") {
		t.Fatalf("PUT did not replace: %s", put.raw)
	}
	want(t, f.admin.do("PUT", pathClients+"/"+id, map[string]any{"client_id": "other", "name": "x", "redirect_uris": []string{callback}, "scopes": []string{"READ"}}), http.StatusBadRequest, "invalid_request")
	bad := f.admin.do("PUT", pathClients+"/"+id, map[string]any{"name": "x", "redirect_uris": []string{"javascript:alert(1)"}, "scopes": []string{"READ"}})
	want(t, bad, http.StatusBadRequest, "invalid_request")
	want(t, f.admin.do("PUT", pathClients+"/"+id, map[string]any{"name": "x", "redirect_uris": []string{callback}, "scopes": []string{"NOPE"}}), http.StatusBadRequest, "invalid_request")
	want(t, f.admin.do("POST", pathClients, map[string]any{"client_id": "mine", "name": "x", "redirect_uris": []string{callback}, "scopes": []string{"READ"}}), http.StatusBadRequest, "invalid_request")

	// Disable and enable.
	r := f.admin.do("POST", pathClients+"/"+id+"/disable", nil)
	want(t, r, http.StatusOK, "")
	if r.body["enabled"] != false {
		t.Fatalf("disabled: %s", r.raw)
	}
	// A replace without "enabled" keeps it disabled.
	put = f.admin.do("PUT", pathClients+"/"+id, map[string]any{"name": "Minimal", "redirect_uris": []string{callback}, "scopes": []string{"READ"}})
	if put.body["enabled"] != false {
		t.Fatalf("PUT without enabled re-enabled the application: %s", put.raw)
	}
	r = f.admin.do("POST", pathClients+"/"+id+"/enable", nil)
	want(t, r, http.StatusOK, "")
	if r.body["enabled"] != true {
		t.Fatalf("enabled: %s", r.raw)
	}

	// Every change is audited, with who and from where.
	kinds := f.auditKinds(id)
	for _, k := range []string{"client.create", "client.update", "client.disable", "client.enable"} {
		if !slices.Contains(kinds, k) {
			t.Errorf("audit lacks %s: %v", k, kinds)
		}
	}
	ev := f.admin.do("GET", "/rest/gatehouse/latest/audit?kind=client.create&client="+id, nil).list("events")[0].(map[string]any)
	if ev["actor"] != "ada" || ev["address"] != "127.0.0.1" {
		t.Fatalf("audit event: %v", ev)
	}

	// Public applications: no secret, nothing to rotate or view.
	pub := f.newClient("SPA", map[string]any{"type": "public"})
	if pub.str("client_secret") != "" || pub.str("type") != "public" || pub.body["require_pkce"] != true {
		t.Fatalf("public: %s", pub.raw)
	}
	want(t, f.admin.do("POST", pathClients+"/"+pub.str("client_id")+"/secret", map[string]string{"password": adaPassword}), http.StatusBadRequest, "invalid_request")
	want(t, f.admin.do("POST", pathClients+"/"+pub.str("client_id")+"/credentials", map[string]string{"password": adaPassword}), http.StatusBadRequest, "invalid_request")
}

func anyStrings(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

func TestClientSecrets(t *testing.T) {
	f := newFixture(t)
	created := f.newClient("Secrets", map[string]any{"grants": []string{"client_credentials"}, "redirect_uris": []string{}})
	id, first := created.str("client_id"), created.str("client_secret")

	// Regenerate (with the caller's password): a new secret; the old one stops working.
	r := f.admin.do("POST", pathClients+"/"+id+"/secret", map[string]string{"password": adaPassword})
	want(t, r, http.StatusOK, "")
	second := r.str("client_secret")
	if second == "" || second == first || r.str("client_id") != id {
		t.Fatalf("rotate: %s", r.raw)
	}
	if f.secretWorks(id, first) || !f.secretWorks(id, second) {
		t.Fatal("after rotation the old secret must fail and the new one work")
	}

	// View credentials with a wrong password: refused, and no view audited —
	// only each wrong password, as a failed sign-in.
	for name, c := range map[string]*caller{"bearer": f.admin, "session": f.withSession("ada", adaPassword)} {
		t.Run(name, func(t *testing.T) {
			before := f.auditCount()
			want(t, c.do("POST", pathClients+"/"+id+"/credentials", map[string]string{"password": "not-my-password"}), http.StatusForbidden, "invalid_password")
			want(t, c.do("POST", pathClients+"/"+id+"/credentials", map[string]string{"password": rootPassword}), http.StatusForbidden, "invalid_password")
			want(t, c.do("POST", pathClients+"/"+id+"/credentials", map[string]string{}), http.StatusForbidden, "invalid_password")
			if n := f.auditCount(); n != before+2 {
				t.Fatalf("refused views: %d events, was %d; want the 2 wrong passwords only", n, before)
			}
			// The caller's own password shows the current secret, audited.
			r := c.do("POST", pathClients+"/"+id+"/credentials", map[string]string{"password": adaPassword})
			want(t, r, http.StatusOK, "")
			if r.str("client_secret") != second || r.str("client_id") != id {
				t.Fatalf("credentials: %s", r.raw)
			}
			if f.auditKinds(id)[0] != "client.secret.view" {
				t.Fatalf("view not audited: %v", f.auditKinds(id))
			}
		})
	}
	kinds := f.auditKinds(id)
	if n := countOf(kinds, "client.secret.view"); n != 2 {
		t.Fatalf("%d views audited, want 2: %v", n, kinds)
	}
	if !slices.Contains(kinds, "client.secret.rotate") {
		t.Fatalf("rotation not audited: %v", kinds)
	}
	want(t, f.admin.do("POST", pathClients+"/nope/credentials", map[string]string{"password": adaPassword}), http.StatusNotFound, "not_found")
}

// Regenerating a secret yields a working one, so it needs the caller's own
// password like viewing credentials: a token or a session alone is refused
// and the secret in use keeps working.
func TestClientRotationNeedsPassword(t *testing.T) {
	f := newFixture(t)
	for name, c := range map[string]*caller{"bearer": f.admin, "session": f.withSession("ada", adaPassword)} {
		t.Run(name, func(t *testing.T) {
			created := f.newClient("Rotated by "+name, map[string]any{"grants": []string{"client_credentials"}, "redirect_uris": []string{}})
			id, first := created.str("client_id"), created.str("client_secret")
			path := pathClients + "/" + id + "/secret"
			for what, body := range map[string]any{
				"no body":            nil,
				"no password":        map[string]string{},
				"a wrong password":   map[string]string{"password": "not-my-password"},
				"another's password": map[string]string{"password": rootPassword},
				"an empty password":  map[string]string{"password": ""},
			} {
				r := c.do("POST", path, body)
				want(t, r, http.StatusForbidden, "invalid_password")
				if r.str("client_secret") != "" || !strings.Contains(r.str("message"), "password") {
					t.Fatalf("%s: %s", what, r.raw)
				}
			}
			if !f.secretWorks(id, first) || slices.Contains(f.auditKinds(id), "client.secret.rotate") {
				t.Fatal("a refused rotation changed the secret")
			}
			r := c.do("POST", path, map[string]string{"password": adaPassword})
			want(t, r, http.StatusOK, "")
			second := r.str("client_secret")
			if second == "" || second == first || f.secretWorks(id, first) || !f.secretWorks(id, second) {
				t.Fatalf("rotation with the password: %s", r.raw)
			}
			if kinds := f.auditKinds(id); kinds[0] != "client.secret.rotate" || countOf(kinds, "client.secret.rotate") != 1 {
				t.Fatalf("rotation audit: %v", kinds)
			}
		})
	}
}

// introspect_any is read, written and defaults to false; a public
// application cannot have it.
func TestClientIntrospectAny(t *testing.T) {
	f := newFixture(t)
	plain := f.newClient("Plain", nil)
	if plain.body["introspect_any"] != false {
		t.Fatalf("default: %s", plain.raw)
	}
	rs := f.newClient("Mail server", map[string]any{"introspect_any": true, "grants": []string{"client_credentials"}, "redirect_uris": []string{}})
	id := rs.str("client_id")
	if rs.body["introspect_any"] != true {
		t.Fatalf("created: %s", rs.raw)
	}
	got := f.admin.do("GET", pathClients+"/"+id, nil)
	if got.body["introspect_any"] != true {
		t.Fatalf("get: %s", got.raw)
	}
	// It decides what the application learns about another application's token.
	owner := f.newClient("Owner", map[string]any{"grants": []string{"client_credentials"}, "redirect_uris": []string{}})
	tok, _ := f.tokenRequest(url.Values{"grant_type": {"client_credentials"}, "scope": {"READ"}}, owner.str("client_id"), owner.str("client_secret")).body["access_token"].(string)
	rsIntrospects := func() bool {
		r := f.postForm("/rest/oauth2/latest/introspect", url.Values{"token": {tok}}, id, rs.str("client_secret"))
		want(t, r, http.StatusOK, "")
		return r.body["active"] == true
	}
	if tok == "" || !rsIntrospects() {
		t.Fatal("with introspect_any the application does not see another application's token")
	}
	edited := got.body
	edited["introspect_any"] = false
	put := f.admin.do("PUT", pathClients+"/"+id, edited)
	want(t, put, http.StatusOK, "")
	if put.body["introspect_any"] != false {
		t.Fatalf("put: %s", put.raw)
	}
	if rsIntrospects() {
		t.Fatal("without introspect_any the application still sees another application's token")
	}
	want(t, f.admin.do("POST", pathClients, map[string]any{"name": "SPA", "type": "public", "introspect_any": true,
		"redirect_uris": []string{callback}, "scopes": []string{"READ"}}), http.StatusBadRequest, "invalid_request")
}

// Password re-entry is throttled like a sign-in.
func TestCredentialsThrottled(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.SignIn.MaxFailuresPerAccount = 2 })
	id := f.newClient("Throttled", nil).str("client_id")
	for range 2 {
		want(t, f.admin.do("POST", pathClients+"/"+id+"/credentials", map[string]string{"password": "wrong-password"}), http.StatusForbidden, "invalid_password")
	}
	r := f.admin.do("POST", pathClients+"/"+id+"/credentials", map[string]string{"password": adaPassword})
	want(t, r, http.StatusTooManyRequests, "throttled")
	if got := r.header.Get("Retry-After"); got != "900" {
		t.Fatalf("Retry-After %q, want 900 (the 15-minute window)", got)
	}
	// Every route that asks for the caller's password answers so, as its
	// description says (the contract check fails an undescribed 429).
	want(t, f.admin.do("POST", pathClients+"/"+id+"/secret", map[string]string{"password": adaPassword}), http.StatusTooManyRequests, "throttled")
	want(t, f.admin.do("POST", adminPathUser+"/uma/password", map[string]string{"password": "brand-new-password", "your_password": adaPassword}), http.StatusTooManyRequests, "throttled")
}

func countOf(list []string, v string) int {
	n := 0
	for _, s := range list {
		if s == v {
			n++
		}
	}
	return n
}

func TestClientLogo(t *testing.T) {
	f := newFixture(t)
	id := f.newClient("Logo", nil).str("client_id")
	logo := pathClients + "/" + id + "/logo"

	want(t, f.admin.do("PUT", logo, raw{"image/png", pngImage(16, 16)}), http.StatusNoContent, "")
	if r := f.admin.do("GET", pathClients+"/"+id, nil); r.body["has_logo"] != true {
		t.Fatalf("after upload: %s", r.raw)
	}
	// What is served is a PNG, whatever was uploaded.
	want(t, f.admin.do("PUT", logo, raw{"image/jpeg", jpegImage(16, 16)}), http.StatusNoContent, "")
	data, contentType, err := f.node.Admin.Logo(t.Context(), id)
	if err != nil || contentType != "image/png" || !bytes.HasPrefix(data, []byte("\x89PNG")) {
		t.Fatalf("stored logo: %q %v", contentType, err)
	}

	want(t, f.admin.do("PUT", logo, raw{"application/json", []byte(`{}`)}), http.StatusUnsupportedMediaType, "unsupported_media_type")
	want(t, f.admin.do("PUT", logo, raw{"image/gif", []byte("GIF89a")}), http.StatusUnsupportedMediaType, "unsupported_media_type")
	want(t, f.admin.do("PUT", logo, raw{"image/png", []byte("<script>alert(1)</script>")}), http.StatusBadRequest, "invalid_request")
	want(t, f.admin.do("PUT", logo, raw{"image/png", pngImage(2000, 10)}), http.StatusBadRequest, "invalid_request")
	want(t, f.admin.do("PUT", logo, raw{"image/png", make([]byte, 300<<10)}), http.StatusRequestEntityTooLarge, "request_too_large")
	want(t, f.admin.do("PUT", logo, nil), http.StatusBadRequest, "invalid_request")
	want(t, f.admin.do("PUT", pathClients+"/nope/logo", raw{"image/png", pngImage(8, 8)}), http.StatusNotFound, "not_found")

	want(t, f.admin.do("DELETE", logo, nil), http.StatusNoContent, "")
	if r := f.admin.do("GET", pathClients+"/"+id, nil); r.body["has_logo"] != false {
		t.Fatalf("after removal: %s", r.raw)
	}
	want(t, f.admin.do("DELETE", pathClients+"/nope/logo", nil), http.StatusNotFound, "not_found")
	if n := countOf(f.auditKinds(id), "client.logo"); n != 3 {
		t.Fatalf("%d logo events, want 3", n)
	}
}

// Deleting an application ends every token it issued.
func TestClientDeleteRevokesTokens(t *testing.T) {
	f := newFixture(t)
	created := f.newClient("Doomed", map[string]any{"grants": []string{"authorization_code", "client_credentials"}})
	id, secretValue := created.str("client_id"), created.str("client_secret")
	r := f.tokenRequest(url.Values{"grant_type": {"client_credentials"}, "scope": {"READ"}}, id, secretValue)
	tok, _ := r.body["access_token"].(string)
	if tok == "" {
		t.Fatalf("token: %s", r.raw)
	}
	in := f.newIntrospector()
	if !in.active(tok) {
		t.Fatal("token inactive before delete")
	}
	want(t, f.admin.do("DELETE", pathClients+"/"+id, nil), http.StatusNoContent, "")
	if in.active(tok) {
		t.Fatal("token still active after the application was deleted")
	}
	want(t, f.admin.do("GET", pathClients+"/"+id, nil), http.StatusNotFound, "not_found")
	want(t, f.admin.do("DELETE", pathClients+"/"+id, nil), http.StatusNotFound, "not_found")
	if kinds := f.auditKinds(id); kinds[0] != "client.delete" {
		t.Fatalf("delete not audited: %v", kinds)
	}
}

// Disabling an application stops its tokens at once.
func TestClientDisableStopsTokens(t *testing.T) {
	f := newFixture(t)
	created := f.newClient("Paused", map[string]any{"grants": []string{"client_credentials"}, "redirect_uris": []string{}})
	id, secretValue := created.str("client_id"), created.str("client_secret")
	tok, _ := f.tokenRequest(url.Values{"grant_type": {"client_credentials"}, "scope": {"READ"}}, id, secretValue).body["access_token"].(string)
	in := f.newIntrospector()
	want(t, f.admin.do("POST", pathClients+"/"+id+"/disable", nil), http.StatusOK, "")
	if in.active(tok) {
		t.Fatal("token of a disabled application is active")
	}
}

func TestClientNotFound(t *testing.T) {
	f := newFixture(t)
	valid := map[string]any{"name": "x", "redirect_uris": []string{callback}, "scopes": []string{"READ"}}
	for _, rt := range []route{
		{"GET", pathClients + "/nope", nil},
		{"PUT", pathClients + "/nope", valid},
		// An unknown application is 404 before anything in the body is judged.
		{"PUT", pathClients + "/nope", map[string]any{"name": "token for ada", "redirect_uris": []string{callback}, "scopes": []string{"READ"}}},
		{"PUT", pathClients + "/nope", map[string]any{"name": "x", "redirect_uris": []string{callback}, "scopes": []string{"NO_SUCH_SCOPE"}}},
		{"PUT", pathClients + "/nope", map[string]any{"name": "x", "redirect_uris": []string{callback}, "scopes": []string{"SYSTEM_ADMIN"}}},
		{"DELETE", pathClients + "/nope", nil},
		{"POST", pathClients + "/nope/enable", nil},
		{"POST", pathClients + "/nope/disable", nil},
		{"POST", pathClients + "/nope/secret", nil},
	} {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			r := f.admin.do(rt.method, rt.path, rt.body)
			want(t, r, http.StatusNotFound, "not_found")
			if r.str("message") != "no such application" {
				t.Fatalf("message %q", r.str("message"))
			}
		})
	}
}

// The configured limit on applications answers 409.
func TestClientLimit(t *testing.T) {
	// The fixture's two token applications count too.
	f := newFixture(t, func(c *config.Config) { c.Limits.Clients = 3 })
	f.newClient("Third", nil)
	r := f.admin.do("POST", pathClients, map[string]any{"name": "Fourth", "redirect_uris": []string{callback}, "scopes": []string{"READ"}})
	want(t, r, http.StatusConflict, "limit_reached")
}

// An application whose scopes only a system administrator may hold
// (SYSTEM_ADMIN, INTEGRATION_TOKEN) is a system administrator's to manage:
// an administrator who could edit its redirect URIs and read its secret
// would get a system administrator's token from that administrator's next
// consent to it.
func TestApplicationsAboveTheAdministratorsLevel(t *testing.T) {
	f := newFixture(t)
	c, secretValue := f.createClient(app.Registration{Name: "Admin scripts", Scopes: []string{"READ", "SYSTEM_ADMIN"},
		Grants: []string{app.GrantAuthorizationCode, app.GrantClientCredentials}})
	ada, root := f.withSession("ada", adaPassword), f.withSession("root", rootPassword)
	update := map[string]any{"name": "Admin scripts", "redirect_uris": []string{callback, "https://attacker.example/cb"}, "scopes": []string{"READ", "SYSTEM_ADMIN"},
		"grants": []string{"authorization_code", "client_credentials"}}
	for _, rt := range []route{
		{"POST", pathClients, map[string]any{"name": "Escalator", "redirect_uris": []string{callback}, "scopes": []string{"READ", "system_admin"}}},
		{"PUT", pathClients + "/" + c.ID, update},
		{"POST", pathClients + "/" + c.ID + "/credentials", map[string]string{"password": adaPassword}},
		{"POST", pathClients + "/" + c.ID + "/secret", map[string]string{"password": adaPassword}},
		{"POST", pathClients + "/" + c.ID + "/disable", nil},
		{"DELETE", pathClients + "/" + c.ID, nil},
	} {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			r := ada.do(rt.method, rt.path, rt.body)
			if r.status != http.StatusBadRequest || !strings.Contains(r.str("message"), "only a system administrator") || strings.Contains(r.raw, secretValue) {
				t.Fatalf("an administrator: %d %s", r.status, r.raw)
			}
		})
	}
	if !f.secretWorks(c.ID, secretValue) {
		t.Fatal("refused requests changed the secret")
	}
	// A system administrator manages it as any other.
	want(t, root.do("PUT", pathClients+"/"+c.ID, update), http.StatusOK, "")
	if r := root.do("POST", pathClients+"/"+c.ID+"/credentials", map[string]string{"password": rootPassword}); r.str("client_secret") != secretValue {
		t.Fatalf("a system administrator's view: %d %s", r.status, r.raw)
	}
}

// An application made confidential by an edit gets a secret, in the edit's
// answer once, as a created one does; before, it was a confidential
// application without any secret, which nothing could authenticate and
// whose credentials the API called those of "a public application".
func TestClientMadeConfidentialGetsASecret(t *testing.T) {
	f := newFixture(t)
	created := f.newClient("Was public", map[string]any{"type": "public"})
	id := created.str("client_id")
	if created.str("client_secret") != "" {
		t.Fatalf("a public application got a secret: %s", created.raw)
	}
	confidential := map[string]any{"name": "Was public", "type": "confidential", "grants": []string{"client_credentials"}, "redirect_uris": []string{}, "scopes": []string{"READ"}}
	r := f.admin.do("PUT", pathClients+"/"+id, confidential)
	want(t, r, http.StatusOK, "")
	first := r.str("client_secret")
	if first == "" || !f.secretWorks(id, first) {
		t.Fatalf("made confidential: %s", r.raw)
	}
	if v := f.admin.do("POST", pathClients+"/"+id+"/credentials", map[string]string{"password": adaPassword}); v.str("client_secret") != first {
		t.Fatalf("credentials after the edit: %d %s", v.status, v.raw)
	}
	// Another edit that keeps it confidential keeps the secret, and shows none.
	confidential["description"] = "edited"
	if r := f.admin.do("PUT", pathClients+"/"+id, confidential); r.status != http.StatusOK || r.str("client_secret") != "" || !f.secretWorks(id, first) {
		t.Fatalf("an edit of a confidential application: %d %s", r.status, r.raw)
	}
	// Public and back: a new secret; the old one does not come back.
	want(t, f.admin.do("PUT", pathClients+"/"+id, map[string]any{"name": "Was public", "type": "public", "redirect_uris": []string{callback}, "scopes": []string{"READ"}}), http.StatusOK, "")
	again := f.admin.do("PUT", pathClients+"/"+id, confidential).str("client_secret")
	if again == "" || again == first || f.secretWorks(id, first) || !f.secretWorks(id, again) {
		t.Fatalf("confidential again: secret %q (first %q)", again, first)
	}
}
