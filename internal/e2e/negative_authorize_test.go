package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/store"
)

// An unknown client or a redirect URI that is not registered must never be
// redirected to (RFC 6749 §4.1.2.1): the user sees the error page.
func TestAuthorizeNeverRedirectsToUntrustedTargets(t *testing.T) {
	e := newEnv(t)
	c, _ := e.createClient(app.Registration{})
	unknownID := strings.Repeat("0", 32)
	cases := []struct {
		name, query, detail string
	}{
		{"unregistered redirect_uri", authParams(c, "READ", "redirect_uri", "https://evil.example/callback").Encode(), "not registered"},
		{"extra path segment", authParams(c, "READ", "redirect_uri", callback+"/extra").Encode(), "not registered"},
		{"trailing slash", authParams(c, "READ", "redirect_uri", callback+"/").Encode(), "not registered"},
		{"different host", authParams(c, "READ", "redirect_uri", "http://evil.example:7777/callback").Encode(), "not registered"},
		{"different loopback host", authParams(c, "READ", "redirect_uri", "http://127.0.0.2:7777/callback").Encode(), "not registered"},
		{"https instead of http", authParams(c, "READ", "redirect_uri", "https://127.0.0.1:7777/callback").Encode(), "not registered"},
		{"added query", authParams(c, "READ", "redirect_uri", callback+"?next=https://evil.example").Encode(), "not registered"},
		{"different case in path", authParams(c, "READ", "redirect_uri", "http://127.0.0.1:7777/Callback").Encode(), "not registered"},
		{"user info", authParams(c, "READ", "redirect_uri", "http://evil@127.0.0.1:7777/callback").Encode(), "not registered"},
		{"loopback port above 65535", authParams(c, "READ", "redirect_uri", "http://127.0.0.1:99999/callback").Encode(), "not registered"},
		{"loopback port 0", authParams(c, "READ", "redirect_uri", "http://127.0.0.1:0/callback").Encode(), "not registered"},
		{"unknown client_id", authParams(c, "READ", "client_id", unknownID).Encode(), "no application has this client_id"},
		{"malformed client_id", authParams(c, "READ", "client_id", "x'; DROP TABLE clients; --").Encode(), "no application has this client_id"},
		{"missing client_id", authParams(c, "READ", "client_id", "").Encode(), "the request has no client_id"},
		{"duplicate client_id", authParams(c, "READ").Encode() + "&client_id=" + c.ID, "client_id is sent more than once"},
		{"duplicate client_id, second unknown", authParams(c, "READ").Encode() + "&client_id=" + unknownID, "client_id is sent more than once"},
		{"duplicate redirect_uri", authParams(c, "READ").Encode() + "&redirect_uri=" + url.QueryEscape("https://evil.example/"), "redirect_uri is sent more than once"},
		// An error redirect must carry state back as sent (RFC 6749 §4.1.2.1):
		// one that cannot be is shown, not dropped from the redirect.
		{"state longer than 2048 characters", authParams(c, "READ", "state", strings.Repeat("s", 2049)).Encode(), "cannot be sent back"},
		{"state sent twice", authParams(c, "READ").Encode() + "&state=other", "cannot be sent back"},
		{"state with a line break", authParams(c, "READ", "state", "a\nb").Encode(), "cannot be sent back"},
		{"state not UTF-8", authParams(c, "READ").Encode() + "&state=%FF", "cannot be sent back"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// No sign-in: a bad request must be refused before anything else.
			p := e.newBrowser().get("/rest/oauth2/latest/authorize?" + tc.query)
			wantErrorPage(t, p, tc.detail)
			for _, m := range regexp.MustCompile(`(?:href|action)="([^"]*)"`).FindAllStringSubmatch(p.body, -1) {
				if u, err := url.Parse(unescapeHTML(m[1])); err == nil && (u.Host != "" || strings.Contains(strings.ToLower(u.Path), "evil")) {
					t.Fatalf("the error page links to %q", m[1])
				}
			}
		})
	}
	t.Run("a loopback redirect with another port is accepted (control)", func(t *testing.T) {
		p := e.newBrowser().get("/rest/oauth2/latest/authorize?" + authParams(c, "READ", "redirect_uri", "http://127.0.0.1:9999/callback").Encode())
		// Signed out, an accepted request goes to sign-in, which returns to consent.
		want := "/login?" + url.Values{"next": {"/plugins/servlet/oauth2/consent?"}}.Encode()
		if p.status != http.StatusFound || !strings.HasPrefix(p.header.Get("Location"), want) {
			t.Fatalf("got %d to %q, want sign-in on the way to the consent page", p.status, p.header.Get("Location"))
		}
	})
}

// RFC 6749 §3.1: a parameter no endpoint reads is ignored, however often it
// comes and whatever it holds (RFC 8707's resource may be sent several
// times); strict libraries send such parameters.
func TestUnknownParametersAreIgnored(t *testing.T) {
	w := newWorld(t, app.Registration{})
	verifier, challenge := newPKCE()
	params := authParams(w.client, "READ", "code_challenge", challenge, "code_challenge_method", "S256", "claims", "{\n}")
	params["resource"] = []string{"https://a.example/", "https://b.example/"}
	code := w.alice.code(params)
	r := w.redeem(w.client, w.secret, code, "code_verifier", verifier, "resource", "https://a.example/", "x\xff", "\x01")
	wantOK(t, r)
	huge := strings.Repeat("A", 30<<10) // two within the 64 KiB body
	f := form("grant_type", "client_credentials")
	f[huge] = []string{"1", "2"}
	wantOK(t, w.token(f, w.rs.ID, w.rsKey))
	f = form("grant_type", "refresh_token", "refresh_token", r.str("refresh_token"))
	f["resource"] = []string{"https://a.example/", "https://b.example/"}
	wantOK(t, w.tokenAs(w.client, w.secret, f))
	// What the endpoints read may still come only once.
	f = form("grant_type", "client_credentials")
	f["scope"] = []string{"READ", "READ"}
	wantError(t, w.token(f, w.rs.ID, w.rsKey), http.StatusBadRequest, "invalid_request")
}

func TestAuthorizeResponseType(t *testing.T) {
	e := newEnv(t)
	c, _ := e.createClient(app.Registration{})
	cases := []struct {
		name, responseType, code string
	}{
		{"implicit is refused", "token", "unsupported_response_type"},
		{"hybrid is refused", "code token", "unsupported_response_type"},
		{"unknown", "device_code", "unsupported_response_type"},
		{"missing", "", "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := e.newBrowser().get("/rest/oauth2/latest/authorize?" + authParams(c, "READ", "response_type", tc.responseType).Encode())
			q := wantRedirectError(t, e, p, http.StatusFound, tc.code)
			if q.Has("access_token") {
				t.Fatal("an access token in the redirect")
			}
		})
	}
}

func TestAuthorizePKCEParameters(t *testing.T) {
	e := newEnv(t)
	confidential, _ := e.createClient(app.Registration{})
	public, _ := e.createClient(app.Registration{Public: true})
	strict, _ := e.createClient(app.Registration{RequirePKCE: true})
	_, challenge := newPKCE()
	cases := []struct {
		name   string
		client store.Client
		extra  []string
	}{
		{"unknown method", confidential, []string{"code_challenge", challenge, "code_challenge_method", "S512"}},
		{"method in lower case", confidential, []string{"code_challenge", challenge, "code_challenge_method", "s256"}},
		{"method without challenge", confidential, []string{"code_challenge_method", "S256"}},
		{"challenge of 42 characters", confidential, []string{"code_challenge", challenge[:42], "code_challenge_method", "S256"}},
		{"challenge of 129 characters", confidential, []string{"code_challenge", strings.Repeat("a", 129), "code_challenge_method", "plain"}},
		{"challenge with a forbidden character", confidential, []string{"code_challenge", challenge[:42] + "+", "code_challenge_method", "S256"}},
		{"public client without PKCE", public, nil},
		{"confidential client that requires PKCE, without PKCE", strict, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := e.newBrowser().get("/rest/oauth2/latest/authorize?" + authParams(tc.client, "READ", tc.extra...).Encode())
			wantRedirectError(t, e, p, http.StatusFound, "invalid_request")
		})
	}
}

func TestAuthorizeScopeErrors(t *testing.T) {
	e := newEnv(t)
	c, _ := e.createClient(app.Registration{Scopes: []string{"READ", "WRITE"}})
	cases := []struct{ name, scope string }{
		{"outside the application's list", "ADMIN"},
		{"one of several outside the list", "READ SYSTEM_ADMIN"},
		{"unknown scope", "DELETE_EVERYTHING"},
		{"missing scope", ""},
		{"forbidden character", `READ"`},
		{"non-ASCII character", "READ é"},
		{"a long unknown scope with a backslash", `NOT\` + strings.Repeat("X", 100)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := e.newBrowser().get("/rest/oauth2/latest/authorize?" + authParams(c, tc.scope).Encode())
			wantRedirectError(t, e, p, http.StatusFound, "invalid_scope")
		})
	}
}

func TestUserDeniesConsent(t *testing.T) {
	w := newWorld(t, app.Registration{})
	consent := w.alice.authorize(authParams(w.client, "READ"))
	p := w.alice.post(pathConsent, set(formFields(consent.body), "decision", "deny"))
	wantRedirectError(t, w.env, p, http.StatusSeeOther, "access_denied")
}

func TestSubscribers(t *testing.T) {
	t.Run("a user who is not a subscriber is refused", func(t *testing.T) {
		w := newWorld(t, app.Registration{SubscriberUsers: []string{"bob"}})
		p := w.alice.authorize(authParams(w.client, "READ"))
		wantRedirectError(t, w.env, p, http.StatusFound, "access_denied")
	})
	t.Run("a consent form cannot be re-aimed at an application the user may not use", func(t *testing.T) {
		w := newWorld(t, app.Registration{SubscriberUsers: []string{"bob"}})
		// Take a consent form from a page alice may see and add the other application.
		other, _ := w.createClient(app.Registration{})
		fields := formFields(w.alice.authorize(authParams(other, "READ")).body)
		fields.Set("client_id", w.client.ID)
		fields.Set("decision", "allow")
		p := w.alice.post(pathConsent, fields)
		if p.status != http.StatusBadRequest || p.header.Get("Location") != "" {
			t.Fatalf("got %d to %q, want 400 and no redirect", p.status, p.header.Get("Location"))
		}
	})
	t.Run("a listed user may use it", func(t *testing.T) {
		w := newWorld(t, app.Registration{SubscriberUsers: []string{"ALICE"}})
		w.issue(w.alice, w.client, w.secret, "READ")
	})
	t.Run("a member of a listed group may use it", func(t *testing.T) {
		w := newWorld(t, app.Registration{SubscriberUsers: []string{"bob"}, SubscriberGroups: []string{"developers"}})
		w.createUser("carol", "carol-password", store.LevelUser, "staff", "developers")
		carol := w.newBrowser()
		carol.signIn("carol", "carol-password")
		r := w.issue(carol, w.client, w.secret, "READ")
		if me := w.myself(r.str("access_token")); me.status != http.StatusOK || me.str("name") != "carol" {
			t.Fatalf("myself: %d %s", me.status, me.raw)
		}
		// alice is in no listed group.
		wantRedirectError(t, w.env, w.alice.authorize(authParams(w.client, "READ")), http.StatusFound, "access_denied")
	})
}

// RFC 6749 §3.1.2: a registered redirect URI's query is kept as it is, and
// the response's parameters are added to it — for a code and for an error.
// A query the response could not keep (not name=value pairs, or naming one of
// the response's own parameters) is refused at registration.
func TestRedirectKeepsTheRegisteredQuery(t *testing.T) {
	e := newEnv(t)
	const registered = callback + "?tenant=acme&flag&x=%41"
	c, secretValue := e.createClient(app.Registration{RedirectURIs: []string{registered}})
	e.createUser("quinn", "quinn-password", store.LevelUser)
	b := e.newBrowser()
	b.signIn("quinn", "quinn-password")

	params := authParams(c, "READ", "redirect_uri", registered)
	allowed := b.decide(b.authorize(params), "allow")
	if !strings.HasPrefix(allowed.String(), registered+"&") || allowed.Query().Get("code") == "" || allowed.Query().Get("state") != "st-123" {
		t.Fatalf("after Allow: %s; want the registered URI, then code, iss and state", allowed)
	}
	if r := e.redeem(c, secretValue, allowed.Query().Get("code"), "redirect_uri", registered); r.status != http.StatusOK {
		t.Errorf("the code sent to a redirect URI with a query: %d %s", r.status, r.raw)
	}
	denied := b.decide(b.authorize(params), "deny")
	if !strings.HasPrefix(denied.String(), registered+"&") || denied.Query().Get("error") != "access_denied" {
		t.Errorf("after Deny: %s; want the registered URI, then the error", denied)
	}

	for _, uri := range []string{callback + "?a=1;b=2", callback + "?%zz=1", callback + "?code=evil", callback + "?state=fixed&x=1"} {
		if _, _, err := e.node.Apps.Create(t.Context(), app.Registration{Name: "Q " + uri, RedirectURIs: []string{uri}, Scopes: []string{"READ"}}); err == nil {
			t.Errorf("registered %q; its query cannot be kept as the response adds to it", uri)
		}
	}
}

// A signed-out browser is sent to sign-in with only the parameters the
// request is judged by: an authorization URL grown by parameters nobody
// reads (9,000 characters of resource) still reaches the consent page after
// sign-in, where carrying it whole made the sign-in URL too large to send
// (431).
func TestSignInCarriesOnlyTheRequestsOwnParameters(t *testing.T) {
	w := newWorld(t, app.Registration{})
	params := authParams(w.client, "READ")
	params["resource"] = []string{strings.Repeat("/", 9000)}
	b := w.newBrowser()
	toLogin := b.get("/rest/oauth2/latest/authorize?" + params.Encode())
	if toLogin.status != http.StatusFound || toLogin.location().Path != "/login" {
		t.Fatalf("a signed-out authorization: %d to %s", toLogin.status, toLogin.location())
	}
	if n := len(toLogin.header.Get("Location")); n > 4<<10 {
		t.Errorf("the sign-in URL is %d bytes; the parameters nobody reads went with it", n)
	}
	login := b.follow(toLogin)
	form := formFields(login.body)
	if login.status != http.StatusOK || form.Get("next") == "" {
		t.Fatalf("the sign-in page: %d, next %q", login.status, form.Get("next"))
	}
	form.Set("username", "alice")
	form.Set("password", alicePassword)
	consent := b.follow(b.post("/login", form))
	redirect := b.decide(consent, "allow")
	if redirect.Query().Get("code") == "" || redirect.Query().Get("state") != "st-123" {
		t.Errorf("after sign-in and Allow: %s", redirect)
	}
}
