package e2e

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
)

// Tests run from 127.0.0.1, outside 10.0.0.0/8.
func TestIPAllowList(t *testing.T) {
	t.Run("the token endpoint refuses a caller outside the list", func(t *testing.T) {
		w := newWorld(t, app.Registration{AllowedIPs: []string{"10.0.0.0/8"}})
		// Authorization happens in the user's browser, which the list does not limit.
		code, verifier := pkceCode(w.alice, w.client, "READ")
		wantError(t, w.redeem(w.client, w.secret, code, "code_verifier", verifier), http.StatusForbidden, "unauthorized_client")
		// The refused request did not spend the code.
		w.updateClient(w.client, func(r *app.Registration) { r.AllowedIPs = append(r.AllowedIPs, "127.0.0.1/32") })
		wantOK(t, w.redeem(w.client, w.secret, code, "code_verifier", verifier))
	})
	t.Run("a token issued while allowed stops working once the address is not", func(t *testing.T) {
		w := newWorld(t, app.Registration{AllowedIPs: []string{"127.0.0.1/32"}})
		r := w.issue(w.alice, w.client, w.secret, "READ")
		if me := w.myself(r.str("access_token")); me.status != http.StatusOK {
			t.Fatalf("myself while allowed: %d %s", me.status, me.raw)
		}
		w.updateClient(w.client, func(r *app.Registration) { r.AllowedIPs = []string{"10.0.0.0/8"} })
		wantBearerChallenge(t, w.myself(r.str("access_token")), http.StatusForbidden, "invalid_token")
		wantError(t, w.refresh(w.client, w.secret, r.str("refresh_token")), http.StatusForbidden, "unauthorized_client")
		// Nothing was revoked: the token is refused here, not dead.
		w.wantActive(true, "the pair", r.str("access_token"), r.str("refresh_token"))
	})
	xff := withHeader("X-Forwarded-For", "10.1.2.3")
	t.Run("X-Forwarded-For from an untrusted peer is ignored", func(t *testing.T) {
		e := newEnv(t)
		c, secretValue := e.createClient(app.Registration{Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}, AllowedIPs: []string{"10.0.0.0/8"}})
		r := e.request("POST", pathToken, formType, strings.NewReader("grant_type=client_credentials"), withBasic(c.ID, secretValue), xff)
		wantError(t, r, http.StatusForbidden, "unauthorized_client")
		for _, spoof := range []string{"10.1.2.3, 127.0.0.1", "127.0.0.1, 10.1.2.3", "10.1.2.3, garbage"} {
			r := e.request("POST", pathToken, formType, strings.NewReader("grant_type=client_credentials"), withBasic(c.ID, secretValue), withHeader("X-Forwarded-For", spoof))
			wantError(t, r, http.StatusForbidden, "unauthorized_client")
		}
	})
	t.Run("X-Forwarded-For from a trusted proxy is believed", func(t *testing.T) {
		e := newEnv(t, func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.1"} })
		c, secretValue := e.createClient(app.Registration{Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}, AllowedIPs: []string{"10.0.0.0/8"}})
		r := e.request("POST", pathToken, formType, strings.NewReader("grant_type=client_credentials"), withBasic(c.ID, secretValue), xff)
		wantOK(t, r)
		me := e.request("GET", "/rest/api/latest/myself", "", nil, withHeader("Authorization", "Bearer "+r.str("access_token")), xff)
		if me.status != http.StatusOK {
			t.Fatalf("myself through the proxy: %d %s", me.status, me.raw)
		}
		// The proxy itself (no header) is outside the list.
		wantBearerChallenge(t, e.myself(r.str("access_token")), http.StatusForbidden, "invalid_token")
		wantError(t, e.token(form("grant_type", "client_credentials"), c.ID, secretValue), http.StatusForbidden, "unauthorized_client")
		// The right-most untrusted hop counts, not what the client wrote first.
		spoofed := e.request("POST", pathToken, formType, strings.NewReader("grant_type=client_credentials"), withBasic(c.ID, secretValue),
			withHeader("X-Forwarded-For", "10.1.2.3, 192.0.2.7"))
		wantError(t, spoofed, http.StatusForbidden, "unauthorized_client")
	})
	t.Run("an unreadable hop is never the proxy itself", func(t *testing.T) {
		// The allow-list covers the proxy's own range, as one for "our
		// internal network" does behind a proxy in it.
		e := newEnv(t, func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.1"} })
		c, secretValue := e.createClient(app.Registration{Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}, AllowedIPs: []string{"127.0.0.0/8"}})
		for _, hops := range []string{"203.0.113.9:1234", "[2001:db8::1]:443", "unknown", "6.6.6.6, garbage", "203.0.113.9,"} {
			r := e.request("POST", pathToken, formType, strings.NewReader("grant_type=client_credentials"), withBasic(c.ID, secretValue), withHeader("X-Forwarded-For", hops))
			wantError(t, r, http.StatusForbidden, "unauthorized_client")
		}
		// A hop with its port is its address.
		r := e.request("POST", pathToken, formType, strings.NewReader("grant_type=client_credentials"), withBasic(c.ID, secretValue), withHeader("X-Forwarded-For", "127.0.0.5:80"))
		wantOK(t, r)
	})
}

func TestRevocation(t *testing.T) {
	t.Run("revoking a refresh token revokes its grant", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		first := w.issue(w.alice, w.client, w.secret, "READ")
		second := w.refresh(w.client, w.secret, first.str("refresh_token"))
		wantOK(t, second)
		other := w.issue(w.alice, w.client, w.secret, "READ") // another grant
		r := w.postForm(pathRevoke, form("token", second.str("refresh_token")), w.client.ID, w.secret)
		if r.status != http.StatusOK || r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("revoke: %d %v %s", r.status, r.header, r.raw)
		}
		w.wantActive(false, "the grant", second.str("refresh_token"), second.str("access_token"))
		wantBearerChallenge(t, w.myself(second.str("access_token")), http.StatusUnauthorized, "invalid_token")
		wantError(t, w.refresh(w.client, w.secret, second.str("refresh_token")), http.StatusBadRequest, "invalid_grant")
		w.wantActive(true, "another grant", other.str("refresh_token"), other.str("access_token"))
	})
	t.Run("revoking an access token leaves the refresh token", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		pair := w.issue(w.alice, w.client, w.secret, "READ")
		r := w.postForm(pathRevoke, form("token", pair.str("access_token"), "token_type_hint", "access_token"), w.client.ID, w.secret)
		if r.status != http.StatusOK {
			t.Fatalf("revoke: %d %s", r.status, r.raw)
		}
		w.wantActive(false, "the access token", pair.str("access_token"))
		w.wantActive(true, "the refresh token", pair.str("refresh_token"))
		wantOK(t, w.refresh(w.client, w.secret, pair.str("refresh_token")))
	})
	t.Run("revoking twice answers 200 both times", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		pair := w.issue(w.alice, w.client, w.secret, "READ")
		for range 2 {
			if r := w.postForm(pathRevoke, form("token", pair.str("refresh_token")), w.client.ID, w.secret); r.status != http.StatusOK {
				t.Fatalf("revoke: %d %s", r.status, r.raw)
			}
		}
		w.wantActive(false, "the pair", pair.str("refresh_token"), pair.str("access_token"))
	})
	// RFC 7009 §2.1: the server verifies that the token was issued to the
	// client asking; another client's request is refused and changes nothing.
	t.Run("revoking another application's token is refused", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		b, bSecret := w.createClient(app.Registration{Name: "B"})
		pair := w.issue(w.alice, w.client, w.secret, "READ")
		for _, tok := range []string{pair.str("refresh_token"), pair.str("access_token")} {
			wantError(t, w.postForm(pathRevoke, form("token", tok), b.ID, bSecret), http.StatusBadRequest, "unauthorized_client")
		}
		w.wantActive(true, "the pair", pair.str("refresh_token"), pair.str("access_token"))
		for _, tok := range []string{pair.str("refresh_token"), pair.str("access_token")} {
			if !w.active(tok, w.client.ID, w.secret) {
				t.Fatal("the owner's token no longer introspects active for its owner")
			}
		}
		wantOK(t, w.refresh(w.client, w.secret, pair.str("refresh_token")))
	})
	t.Run("revocation needs client authentication", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		pair := w.issue(w.alice, w.client, w.secret, "READ")
		wantError(t, w.postForm(pathRevoke, form("token", pair.str("refresh_token")), "", ""), http.StatusUnauthorized, "invalid_client")
		wantError(t, w.postForm(pathRevoke, form("token", pair.str("refresh_token")), w.client.ID, "gcs_wrong"), http.StatusUnauthorized, "invalid_client")
		w.wantActive(true, "the pair", pair.str("refresh_token"), pair.str("access_token"))
	})
	t.Run("a public client revokes its own token", func(t *testing.T) {
		w := newWorld(t, app.Registration{Public: true})
		pair := w.issue(w.alice, w.client, "", "READ")
		r := w.postForm(pathRevoke, form("token", pair.str("refresh_token"), "client_id", w.client.ID), "", "")
		if r.status != http.StatusOK {
			t.Fatalf("revoke: %d %s", r.status, r.raw)
		}
		w.wantActive(false, "the pair", pair.str("refresh_token"), pair.str("access_token"))
	})
}

// A token never does more than its user may, checked at every use.
func TestUserChangesTakeEffectAtOnce(t *testing.T) {
	ctx := context.Background()
	t.Run("lowering the level drops scopes", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		w.createUser("ada", "ada-password", store.LevelAdmin)
		ada := w.newBrowser()
		ada.signIn("ada", "ada-password")
		if consent := ada.authorize(authParams(w.client, "ADMIN")); strings.Contains(consent.body, textDropped) {
			t.Fatal("an administrator's consent page drops ADMIN")
		}
		pair := w.issue(ada, w.client, w.secret, "ADMIN")
		if got := w.introspect(pair.str("access_token")).str("scope"); got != "ADMIN" {
			t.Fatalf("scope before %q, want ADMIN", got)
		}

		if err := w.node.Users.SetLevel(ctx, "ada", store.LevelUser); err != nil {
			t.Fatal(err)
		}
		// What is left must give READ and WRITE (spelt "READ WRITE" or just
		// "WRITE", which implies READ) and nothing of ADMIN.
		for _, tok := range []string{pair.str("access_token"), pair.str("refresh_token")} {
			if got := w.introspect(tok); got.body["active"] != true || !w.readWriteOnly(got.str("scope")) {
				t.Fatalf("after demotion: %s, want active with READ and WRITE but not ADMIN", got.raw)
			}
		}
		me := w.myself(pair.str("access_token"))
		if me.status != http.StatusOK || !w.readWriteOnly(me.str("scope")) || me.str("permissionLevel") != "user" {
			t.Fatalf("myself after demotion: %d %s", me.status, me.raw)
		}
		// A refresh now issues only what the user may hold.
		r := w.refresh(w.client, w.secret, pair.str("refresh_token"))
		wantOK(t, r)
		if !w.readWriteOnly(r.str("scope")) {
			t.Fatalf("refreshed scope %q, want READ and WRITE but not ADMIN", r.str("scope"))
		}
		// The consent page says what is left out.
		consent := ada.authorize(authParams(w.client, "ADMIN"))
		dropped := between(consent.body, `<ul class="scopes dropped">`, `</ul>`)
		if !strings.Contains(consent.body, textDropped) || !strings.Contains(dropped, "<code>ADMIN</code>") {
			t.Fatalf("the consent page does not show ADMIN as dropped:\n%s", consent.body)
		}
		kept := between(consent.body, `<ul class="scopes">`, `</ul>`)
		if strings.Contains(kept, "<code>ADMIN</code>") || !strings.Contains(kept, "<code>WRITE</code>") {
			t.Fatalf("kept scopes: %s", kept)
		}
	})
	t.Run("a disabled user's tokens stop working", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		pair := w.issue(w.alice, w.client, w.secret, "READ")
		if err := w.node.Users.SetDisabled(ctx, "alice", true); err != nil {
			t.Fatal(err)
		}
		w.wantActive(false, "the pair", pair.str("access_token"), pair.str("refresh_token"))
		wantBearerChallenge(t, w.myself(pair.str("access_token")), http.StatusUnauthorized, "invalid_token")
		wantError(t, w.refresh(w.client, w.secret, pair.str("refresh_token")), http.StatusBadRequest, "invalid_grant")
		if home := w.alice.get("/"); !strings.Contains(home.body, textSignedOut) {
			t.Fatal("a disabled user's browser session still counts as signed in")
		}
		// Disabling revoked them: enabling the account again revives none.
		if err := w.node.Users.SetDisabled(ctx, "alice", false); err != nil {
			t.Fatal(err)
		}
		w.wantActive(false, "the pair after re-enabling", pair.str("access_token"), pair.str("refresh_token"))
		wantBearerChallenge(t, w.myself(pair.str("access_token")), http.StatusUnauthorized, "invalid_token")
	})
	t.Run("a user removed from the subscribers", func(t *testing.T) {
		w := newWorld(t, app.Registration{SubscriberUsers: []string{"alice"}})
		pair := w.issue(w.alice, w.client, w.secret, "READ")
		w.updateClient(w.client, func(r *app.Registration) { r.SubscriberUsers = []string{"bob"} })
		w.wantActive(false, "the pair", pair.str("access_token"), pair.str("refresh_token"))
		wantBearerChallenge(t, w.myself(pair.str("access_token")), http.StatusUnauthorized, "invalid_token")
	})
	t.Run("a deleted application's tokens stop working", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		pair := w.issue(w.alice, w.client, w.secret, "READ")
		if err := w.node.Apps.Delete(ctx, w.client.ID, nil); err != nil {
			t.Fatal(err)
		}
		w.wantActive(false, "the pair", pair.str("access_token"), pair.str("refresh_token"))
		wantBearerChallenge(t, w.myself(pair.str("access_token")), http.StatusUnauthorized, "invalid_token")
		wantError(t, w.refresh(w.client, w.secret, pair.str("refresh_token")), http.StatusUnauthorized, "invalid_client")
	})
	t.Run("a disabled application's tokens stop working", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		pair := w.issue(w.alice, w.client, w.secret, "READ")
		w.updateClient(w.client, func(r *app.Registration) { r.Disabled = true })
		w.wantActive(false, "the pair", pair.str("access_token"), pair.str("refresh_token"))
		wantError(t, w.refresh(w.client, w.secret, pair.str("refresh_token")), http.StatusUnauthorized, "invalid_client")
	})
}

// An application may introspect only the tokens issued to it (RFC 7662 §4,
// RFC 9700 §2.3); one marked IntrospectAny (a resource server) may
// introspect every token, and an administrator's token still may.
func TestIntrospectionOfAnotherApplicationsTokens(t *testing.T) {
	w := newWorld(t, app.Registration{})
	other, otherSecret := w.createClient(app.Registration{Name: "Other"})
	pair := w.issue(w.alice, w.client, w.secret, "READ")
	service := w.token(form("grant_type", "client_credentials"), w.rs.ID, w.rsKey)
	wantOK(t, service)
	tokens := map[string]string{
		"access token": pair.str("access_token"), "refresh token": pair.str("refresh_token"),
		"client credentials token": service.str("access_token"),
	}
	introspect := func(tok, id, secretValue string) tokenResult {
		r := w.postForm(pathIntro, form("token", tok), id, secretValue)
		if r.status != http.StatusOK {
			t.Fatalf("introspect: %d %s", r.status, r.raw)
		}
		return r
	}

	for name, tok := range tokens {
		t.Run("another application learns nothing of a "+name, func(t *testing.T) {
			r := introspect(tok, other.ID, otherSecret)
			if r.raw != "{\"active\":false}\n" {
				t.Fatalf("got %s, want only {\"active\":false}", r.raw)
			}
		})
	}
	t.Run("the owner introspects its own tokens", func(t *testing.T) {
		for _, tok := range []string{pair.str("access_token"), pair.str("refresh_token")} {
			if r := introspect(tok, w.client.ID, w.secret); r.body["active"] != true || r.str("client_id") != w.client.ID {
				t.Fatalf("got %s", r.raw)
			}
		}
	})
	t.Run("a resource server allowed to introspect any token sees every access token", func(t *testing.T) {
		for name, tok := range tokens {
			want := token.KindOf(tok) == token.Access // a refresh token is no Bearer token
			if r := introspect(tok, w.rs.ID, w.rsKey); r.body["active"] != want {
				t.Fatalf("%s: got %s, want active %v", name, r.raw, want)
			}
		}
	})
	t.Run("turning the flag on lets an application introspect others' tokens", func(t *testing.T) {
		w.updateClient(other, func(r *app.Registration) { r.IntrospectAny = true })
		if r := introspect(pair.str("access_token"), other.ID, otherSecret); r.body["active"] != true || r.str("username") != "alice" {
			t.Fatalf("got %s", r.raw)
		}
	})
	t.Run("an administrator's token with ADMIN still introspects any token", func(t *testing.T) {
		w.createUser("ada", "ada-password", store.LevelAdmin)
		ada := w.newBrowser()
		ada.signIn("ada", "ada-password")
		adminToken := w.issue(ada, other, otherSecret, "ADMIN").str("access_token")
		r := w.request("POST", pathIntro, formType, strings.NewReader(form("token", pair.str("access_token")).Encode()),
			withHeader("Authorization", "Bearer "+adminToken))
		if r.status != http.StatusOK || r.body["active"] != true || r.str("client_id") != w.client.ID {
			t.Fatalf("got %d %s", r.status, r.raw)
		}
	})
}

// readWriteOnly reports whether a scope value grants READ and WRITE, by
// implication or by name, and nothing of ADMIN.
func (w *world) readWriteOnly(scopeValue string) bool {
	granted := strings.Fields(scopeValue)
	cat := w.node.Scopes
	return !slices.Contains(granted, "ADMIN") && !cat.Includes(granted, "ADMIN") &&
		cat.Includes(granted, "READ") && cat.Includes(granted, "WRITE")
}

// between returns the text between the first start and the following end.
func between(s, start, end string) string {
	_, after, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	inside, _, _ := strings.Cut(after, end)
	return inside
}

func TestIntrospectionCallers(t *testing.T) {
	w := newWorld(t, app.Registration{})
	public, _ := w.createClient(app.Registration{Name: "Public", Public: true})
	w.createUser("ada", "ada-password", store.LevelAdmin)
	ada := w.newBrowser()
	ada.signIn("ada", "ada-password")
	target := w.issue(w.alice, w.client, w.secret, "READ")
	adminToken := w.issue(ada, w.client, w.secret, "ADMIN").str("access_token")
	adminReadToken := w.issue(ada, w.client, w.secret, "READ").str("access_token")
	// INTEGRATION_TOKEN fetches the integrations' tokens, no more: its level is who may hold it.
	w.createUser("sid", "sid-password", store.LevelSystemAdmin)
	sid := w.newBrowser()
	sid.signIn("sid", "sid-password")
	fetcher, fetcherSecret := w.createClient(app.Registration{Name: "Fetcher", Scopes: []string{"READ", "INTEGRATION_TOKEN"}})
	integrationToken := w.issue(sid, fetcher, fetcherSecret, "INTEGRATION_TOKEN").str("access_token")
	userToken := target.str("access_token")
	body := func() *strings.Reader { return strings.NewReader(form("token", target.str("refresh_token")).Encode()) }
	bearer := func(tok string) func(*http.Request) { return withHeader("Authorization", "Bearer "+tok) }

	// A refused application is invalid_client (RFC 6749 §5.2) with a Basic
	// challenge, however it tried; a refused Bearer caller gets 401 with
	// RFC 6750 §3's challenge (RFC 7662 §2.3): invalid_token for a token that
	// is not valid, insufficient_scope for one that cannot introspect.
	refused := []struct {
		name      string
		result    func() tokenResult
		code      string
		challenge string
	}{
		{"public client", func() tokenResult {
			return w.request("POST", pathIntro, formType, strings.NewReader(form("token", userToken, "client_id", public.ID).Encode()))
		}, "invalid_client", "Basic"},
		{"public client with HTTP Basic and no secret", func() tokenResult {
			return w.request("POST", pathIntro, formType, body(), withBasic(public.ID, ""))
		}, "invalid_client", "Basic"},
		{"no credentials", func() tokenResult { return w.request("POST", pathIntro, formType, body()) }, "invalid_client", "Basic"},
		{"wrong secret", func() tokenResult {
			return w.request("POST", pathIntro, formType, body(), withBasic(w.rs.ID, "gcs_nope"))
		}, "invalid_client", "Basic"},
		{"a user-level user's token", func() tokenResult { return w.request("POST", pathIntro, formType, body(), bearer(userToken)) }, "insufficient_scope", "Bearer"},
		{"an administrator's token without an administrator scope", func() tokenResult {
			return w.request("POST", pathIntro, formType, body(), bearer(adminReadToken))
		}, "insufficient_scope", "Bearer"},
		{"a service (client credentials) token", func() tokenResult {
			svc := w.token(form("grant_type", "client_credentials"), w.rs.ID, w.rsKey)
			wantOK(t, svc)
			return w.request("POST", pathIntro, formType, body(), bearer(svc.str("access_token")))
		}, "insufficient_scope", "Bearer"},
		{"a system administrator's token with only INTEGRATION_TOKEN", func() tokenResult {
			return w.request("POST", pathIntro, formType, body(), bearer(integrationToken))
		}, "insufficient_scope", "Bearer"},
		{"Bearer without a token", func() tokenResult {
			return w.request("POST", pathIntro, formType, body(), withHeader("Authorization", "Bearer"))
		}, "invalid_request", "Bearer"},
		{"a garbage Bearer token", func() tokenResult { return w.request("POST", pathIntro, formType, body(), bearer("gat_garbage")) }, "invalid_token", "Bearer"},
	}
	for _, tc := range refused {
		t.Run(tc.name+" may not introspect", func(t *testing.T) {
			r := tc.result()
			status := http.StatusUnauthorized
			if tc.code == "invalid_request" {
				status = http.StatusBadRequest // a malformed header is no credential (RFC 6750 §3.1)
			}
			wantError(t, r, status, tc.code)
			wantChallenge(t, r, tc.challenge, tc.code)
			if _, leaked := r.body["active"]; leaked {
				t.Fatalf("a refused caller learns about the token: %s", r.raw)
			}
		})
	}
	t.Run("an administrator's token with ADMIN may introspect", func(t *testing.T) {
		for tok, kind := range map[string]string{userToken: "bearer", target.str("refresh_token"): "refresh_token"} {
			r := w.request("POST", pathIntro, formType, strings.NewReader(form("token", tok).Encode()), bearer(adminToken))
			if r.status != http.StatusOK || r.body["active"] != true || r.str("username") != "alice" || r.str("token_type") != kind {
				t.Fatalf("got %d %s", r.status, r.raw)
			}
		}
	})
	// A refresh token is its application's credential, never a Bearer token
	// (RFC 6749 §1.5): a resource server that checks only "active" (Dovecot's
	// passdb does) must not take one for an access token.
	t.Run("a refresh token is active to its own application and administrators only", func(t *testing.T) {
		own := w.postForm(pathIntro, form("token", target.str("refresh_token")), w.client.ID, w.secret)
		if own.status != http.StatusOK || own.body["active"] != true || own.str("username") != "alice" || own.str("token_type") != "refresh_token" {
			t.Fatalf("its own application: %d %s", own.status, own.raw)
		}
		r := w.postForm(pathIntro, form("token", target.str("refresh_token")), w.rs.ID, w.rsKey)
		if r.status != http.StatusOK || strings.TrimSpace(r.raw) != `{"active":false}` {
			t.Fatalf("a resource server: %d %s, want only active false", r.status, r.raw)
		}
	})
	t.Run("an administrator demoted to user may no longer introspect", func(t *testing.T) {
		if err := w.node.Users.SetLevel(context.Background(), "ada", store.LevelUser); err != nil {
			t.Fatal(err)
		}
		r := w.request("POST", pathIntro, formType, body(), bearer(adminToken))
		wantError(t, r, http.StatusUnauthorized, "insufficient_scope")
		wantChallenge(t, r, "Bearer", "insufficient_scope")
	})
}

// wantChallenge checks a 401's WWW-Authenticate: none when scheme is "", else
// that scheme, with RFC 6750's error attribute for Bearer.
func wantChallenge(t *testing.T, r tokenResult, scheme, code string) {
	t.Helper()
	got := r.header.Get("WWW-Authenticate")
	switch {
	case scheme == "" && got != "":
		t.Fatalf("unexpected challenge %q", got)
	case scheme != "" && !strings.HasPrefix(got, scheme+" "):
		t.Fatalf("challenge %q, want the %s scheme", got, scheme)
	case scheme == "Bearer" && !strings.Contains(got, `error="`+code+`"`):
		t.Fatalf("challenge %q lacks error=%q", got, code)
	}
}
