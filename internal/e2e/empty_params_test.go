package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/app"
)

// TestEmptyParametersAreOmitted checks RFC 6749 §3.1 at every endpoint:
// "Parameters sent without a value MUST be treated as if they were omitted
// from the request." Dovecot's passdb oauth2, for one, introspects with HTTP
// Basic and a body of token=…&client_id=&client_secret=.
func TestEmptyParametersAreOmitted(t *testing.T) {
	t.Run("HTTP Basic with empty client_id and client_secret in the body", func(t *testing.T) {
		w := newWorld(t, app.Registration{Grants: []string{app.GrantAuthorizationCode, app.GrantRefreshToken}})
		empty := []string{"client_id", "", "client_secret", ""}
		code, verifier := pkceCode(w.alice, w.client, "READ")
		grant := append([]string{"grant_type", "authorization_code", "code", code, "redirect_uri", callback, "code_verifier", verifier}, empty...)
		r := w.postForm(pathToken, form(grant...), w.client.ID, w.secret)
		wantOK(t, r)
		access := r.str("access_token")

		for _, caller := range []struct{ name, id, secret string }{{"its application", w.client.ID, w.secret}, {"a resource server", w.rs.ID, w.rsKey}} {
			in := w.postForm(pathIntro, form(append([]string{"token", access}, empty...)...), caller.id, caller.secret)
			if in.status != http.StatusOK || in.body["active"] != true || in.str("username") != "alice" {
				t.Fatalf("introspection by %s: %d %s, want active for alice", caller.name, in.status, in.raw)
			}
		}
		if rv := w.postForm(pathRevoke, form(append([]string{"token", access}, empty...)...), w.client.ID, w.secret); rv.status != http.StatusOK {
			t.Fatalf("revoke: %d %s", rv.status, rv.raw)
		}
		w.wantActive(false, "the revoked token", access)
	})
	t.Run("a repeated parameter is refused even when a copy is empty", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		access := w.issue(w.alice, w.client, w.secret, "READ").str("access_token")
		body := "token=" + url.QueryEscape(access) + "&client_id=&client_id=" + w.client.ID
		r := w.request("POST", pathIntro, formType, strings.NewReader(body), withBasic(w.client.ID, w.secret))
		wantError(t, r, http.StatusBadRequest, "invalid_request")
	})
	t.Run("a public application may send an empty client_secret", func(t *testing.T) {
		w := newWorld(t, app.Registration{Public: true})
		code, verifier := pkceCode(w.alice, w.client, "READ")
		wantOK(t, w.postForm(pathToken, form("grant_type", "authorization_code", "code", code, "redirect_uri", callback,
			"code_verifier", verifier, "client_id", w.client.ID, "client_secret", ""), "", ""))
	})
	t.Run("empty optional parameters at the token endpoint", func(t *testing.T) {
		w := newWorld(t, app.Registration{
			RedirectURIs: []string{callback}, Scopes: []string{"READ", "WRITE"},
			Grants: []string{app.GrantAuthorizationCode, app.GrantRefreshToken, app.GrantClientCredentials},
		})
		// No redirect_uri and no PKCE at authorize: empty ones at the token endpoint match.
		code := w.alice.code(authParams(w.client, "READ WRITE", "redirect_uri", ""))
		r := w.postForm(pathToken, form("grant_type", "authorization_code", "code", code, "redirect_uri", "", "code_verifier", ""), w.client.ID, w.secret)
		wantOK(t, r)
		// scope= on refresh keeps the granted scopes, as when omitted.
		rr := w.postForm(pathToken, form("grant_type", "refresh_token", "refresh_token", r.str("refresh_token"), "scope", ""), w.client.ID, w.secret)
		wantOK(t, rr)
		if rr.str("scope") != "READ WRITE" {
			t.Fatalf("refresh with scope= granted %q, want READ WRITE", rr.str("scope"))
		}
		// scope= on client_credentials is every scope of the application, as when omitted.
		cc := w.postForm(pathToken, form("grant_type", "client_credentials", "scope", ""), w.client.ID, w.secret)
		wantOK(t, cc)
		if cc.str("scope") != "READ WRITE" {
			t.Fatalf("client_credentials with scope= granted %q, want READ WRITE", cc.str("scope"))
		}
	})
	t.Run("empty optional parameters at authorize", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		params := authParams(w.client, "READ")
		for _, k := range []string{"redirect_uri", "state", "code_challenge", "code_challenge_method"} {
			params.Set(k, "")
		}
		redirect := w.alice.decide(w.alice.authorize(params), "allow")
		if got := redirect.Scheme + "://" + redirect.Host + redirect.Path; got != callback {
			t.Fatalf("redirected to %s, want the one registered URI %s", got, callback)
		}
		q := redirect.Query()
		if q.Get("code") == "" || q.Has("state") {
			t.Fatalf("redirect %s, want a code and no state", redirect)
		}
		// redirect_uri was omitted, so the token request omits it too.
		wantOK(t, w.redeem(w.client, w.secret, q.Get("code"), "redirect_uri", ""))
	})
	t.Run("an empty scope at authorize is a missing scope", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		params := authParams(w.client, "READ")
		params.Set("scope", "")
		q := wantRedirectError(t, w.env, w.alice.get("/rest/oauth2/latest/authorize?"+params.Encode()), http.StatusFound, "invalid_scope")
		if !strings.Contains(q.Get("error_description"), "scope is required") {
			t.Fatalf("error_description %q, want the missing-scope text", q.Get("error_description"))
		}
	})
}
