package e2e

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Descriptions that echo what the client sent keep to error_description's
// characters (wantError checks them in every test), and still name it.
func TestErrorDescriptionsEchoSafely(t *testing.T) {
	e := newEnv(t)
	c, secretValue := e.createClient(app.Registration{Grants: []string{app.GrantClientCredentials}, Scopes: []string{"READ"}})
	cases := []struct {
		name, code, mentions string
		form                 []string
	}{
		{"a scope outside the application's list", "invalid_scope", "'WRITE'", []string{"grant_type", "client_credentials", "scope", "WRITE"}},
		{"a non-ASCII scope", "invalid_scope", "U+00E9", []string{"grant_type", "client_credentials", "scope", "é"}},
		{"a quoted grant type", "unsupported_grant_type", "'f'o'", []string{"grant_type", `f"o`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.token(form(tc.form...), c.ID, secretValue)
			wantError(t, r, http.StatusBadRequest, tc.code)
			if !strings.Contains(r.str("error_description"), tc.mentions) {
				t.Fatalf("error_description %q does not name %s", r.str("error_description"), tc.mentions)
			}
		})
	}
}

func TestGrantTypeErrors(t *testing.T) {
	e := newEnv(t)
	c, secretValue := e.createClient(app.Registration{Grants: []string{app.GrantAuthorizationCode, app.GrantRefreshToken}})
	cases := []struct {
		name   string
		form   []string
		status int
		code   string
	}{
		{"password grant", []string{"grant_type", "password", "username", "alice", "password", alicePassword}, http.StatusBadRequest, "unsupported_grant_type"},
		{"unknown grant", []string{"grant_type", "urn:ietf:params:oauth:grant-type:device_code", "device_code", "x"}, http.StatusBadRequest, "unsupported_grant_type"},
		{"implicit as a grant", []string{"grant_type", "implicit"}, http.StatusBadRequest, "unsupported_grant_type"},
		{"grant in upper case", []string{"grant_type", "AUTHORIZATION_CODE"}, http.StatusBadRequest, "unsupported_grant_type"},
		{"missing grant_type", []string{"code", "x"}, http.StatusBadRequest, "invalid_request"},
		{"grant the application may not use", []string{"grant_type", "client_credentials"}, http.StatusBadRequest, "unauthorized_client"},
		{"unknown grant echoed with quotes, a backslash and non-ASCII", []string{"grant_type", `fo"o\é`}, http.StatusBadRequest, "unsupported_grant_type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.token(form(tc.form...), c.ID, secretValue)
			wantError(t, r, tc.status, tc.code)
			if r.str("access_token") != "" {
				t.Fatal("an error answer carries a token")
			}
		})
	}
	t.Run("the password grant is refused before client authentication", func(t *testing.T) {
		wantError(t, e.token(form("grant_type", "password", "username", "alice", "password", "x"), "", ""), http.StatusBadRequest, "unsupported_grant_type")
	})
}

func TestCodeReplayRevokesItsTokens(t *testing.T) {
	w := newWorld(t, app.Registration{})
	code, verifier := pkceCode(w.alice, w.client, "READ")
	first := w.redeem(w.client, w.secret, code, "code_verifier", verifier)
	wantOK(t, first)
	w.wantActive(true, "first pair before the replay", first.str("access_token"), first.str("refresh_token"))

	wantError(t, w.redeem(w.client, w.secret, code, "code_verifier", verifier), http.StatusBadRequest, "invalid_grant")

	w.wantActive(false, "first pair after the replay", first.str("access_token"), first.str("refresh_token"))
	wantBearerChallenge(t, w.myself(first.str("access_token")), http.StatusUnauthorized, "invalid_token")
	wantError(t, w.refresh(w.client, w.secret, first.str("refresh_token")), http.StatusBadRequest, "invalid_grant")
	// A third attempt is refused the same way.
	wantError(t, w.redeem(w.client, w.secret, code, "code_verifier", verifier), http.StatusBadRequest, "invalid_grant")
}

func TestPKCEAtTheTokenEndpoint(t *testing.T) {
	t.Run("a wrong verifier does not use the code up", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		code, verifier := pkceCode(w.alice, w.client, "READ")
		other, _ := newPKCE()
		wantError(t, w.redeem(w.client, w.secret, code, "code_verifier", other), http.StatusBadRequest, "invalid_grant")
		wantError(t, w.redeem(w.client, w.secret, code, "code_verifier", "short"), http.StatusBadRequest, "invalid_grant")
		wantError(t, w.redeem(w.client, w.secret, code, "code_verifier", verifier[:42]+"+"), http.StatusBadRequest, "invalid_grant")
		r := w.redeem(w.client, w.secret, code, "code_verifier", verifier)
		wantOK(t, r)
		w.wantActive(true, "tokens after failed attempts", r.str("access_token"), r.str("refresh_token"))
	})
	t.Run("a challenge demands a verifier (no downgrade)", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		code, verifier := pkceCode(w.alice, w.client, "READ")
		wantError(t, w.redeem(w.client, w.secret, code), http.StatusBadRequest, "invalid_grant")
		wantOK(t, w.redeem(w.client, w.secret, code, "code_verifier", verifier))
	})
	t.Run("a verifier without a challenge is refused", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		code := w.alice.code(authParams(w.client, "READ"))
		verifier, _ := newPKCE()
		wantError(t, w.redeem(w.client, w.secret, code, "code_verifier", verifier), http.StatusBadRequest, "invalid_grant")
		wantOK(t, w.redeem(w.client, w.secret, code))
	})
	for _, method := range []string{"sha256", "S256", "plain", ""} {
		name := "method " + method + " works"
		if method == "" {
			name = "no method means plain"
		}
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, app.Registration{})
			verifier, challenge := newPKCE()
			if method == "plain" || method == "" {
				challenge = verifier
			}
			code := w.alice.code(authParams(w.client, "READ", "code_challenge", challenge, "code_challenge_method", method))
			if method == "sha256" || method == "S256" {
				// The challenge itself is not the verifier.
				wantError(t, w.redeem(w.client, w.secret, code, "code_verifier", challenge), http.StatusBadRequest, "invalid_grant")
			}
			wantOK(t, w.redeem(w.client, w.secret, code, "code_verifier", verifier))
		})
	}
	t.Run("a public client works with PKCE", func(t *testing.T) {
		w := newWorld(t, app.Registration{Public: true})
		w.issue(w.alice, w.client, "", "READ")
	})
}

func TestCodeBindings(t *testing.T) {
	t.Run("a code of another application", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		b, bSecret := w.createClient(app.Registration{Name: "B"})
		code, verifier := pkceCode(w.alice, w.client, "READ")
		wantError(t, w.redeem(b, bSecret, code, "code_verifier", verifier), http.StatusBadRequest, "invalid_grant")
		// B's attempt neither spends the code nor counts as a replay.
		r := w.redeem(w.client, w.secret, code, "code_verifier", verifier)
		wantOK(t, r)
		w.wantActive(true, "A's tokens", r.str("access_token"), r.str("refresh_token"))
	})
	cases := []struct {
		name          string
		authorizeWith string // redirect_uri at authorize ("" omits it)
		tokenWith     string // redirect_uri at the token endpoint ("" omits it)
	}{
		{"different redirect_uri", callback, "http://127.0.0.1:7777/other"},
		{"same loopback URI on another port", callback, "http://127.0.0.1:7778/callback"},
		{"redirect_uri omitted at the token endpoint", callback, ""},
		{"another redirect_uri added at the token endpoint", "", "http://127.0.0.1:7777/other"},
		{"the registered redirect_uri on another loopback port added at the token endpoint", "", "http://127.0.0.1:7778/callback"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, app.Registration{})
			verifier, challenge := newPKCE()
			code := w.alice.code(authParams(w.client, "READ", "redirect_uri", tc.authorizeWith, "code_challenge", challenge, "code_challenge_method", "S256"))
			wantError(t, w.redeem(w.client, w.secret, code, "code_verifier", verifier, "redirect_uri", tc.tokenWith), http.StatusBadRequest, "invalid_grant")
			// The mismatch does not spend the code.
			wantOK(t, w.redeem(w.client, w.secret, code, "code_verifier", verifier, "redirect_uri", tc.authorizeWith))
		})
	}
}

// TestCodeForARedirectURINoLongerRegistered: an administrator who removes a
// redirect URI (a host given up, or taken over) also stops the codes already
// sent to it: they are refused at the exchange, unspent, and work again if
// the URI is registered again.
func TestCodeForARedirectURINoLongerRegistered(t *testing.T) {
	const other = "http://127.0.0.1:7777/other"
	w := newWorld(t, app.Registration{RedirectURIs: []string{callback, other}})
	verifier, challenge := newPKCE()
	code := w.alice.code(authParams(w.client, "READ", "redirect_uri", other, "code_challenge", challenge, "code_challenge_method", "S256"))
	w.client = w.updateClient(w.client, func(r *app.Registration) { r.RedirectURIs = []string{callback} })
	r := w.redeem(w.client, w.secret, code, "code_verifier", verifier, "redirect_uri", other)
	wantError(t, r, http.StatusBadRequest, "invalid_grant")
	if !strings.Contains(r.str("error_description"), "no longer registered") {
		t.Errorf("the refusal says %q", r.str("error_description"))
	}
	w.client = w.updateClient(w.client, func(r *app.Registration) { r.RedirectURIs = []string{callback, other} })
	wantOK(t, w.redeem(w.client, w.secret, code, "code_verifier", verifier, "redirect_uri", other))
}

// RFC 6749 §4.1.3 binds redirect_uri at the token endpoint to the
// authorization request's only when that request sent it: a code asked for
// without it (the application's one registered URI) may be redeemed with or
// without that URI, as strict libraries always send it.
func TestRedirectURIOmittedAtAuthorization(t *testing.T) {
	for _, tokenWith := range []string{"", callback} {
		w := newWorld(t, app.Registration{})
		verifier, challenge := newPKCE()
		code := w.alice.code(authParams(w.client, "READ", "redirect_uri", "", "code_challenge", challenge, "code_challenge_method", "S256"))
		wantOK(t, w.redeem(w.client, w.secret, code, "code_verifier", verifier, "redirect_uri", tokenWith))
	}
}

func TestClientAuthenticationFailures(t *testing.T) {
	cases := []struct {
		name   string
		public bool
		// send makes the token request; f already holds the grant.
		send   func(e *env, c store.Client, secretValue string, f string) tokenResult
		status int
		code   string
	}{
		{"wrong secret with HTTP Basic", false, func(e *env, c store.Client, s, f string) tokenResult {
			return e.request("POST", pathToken, formType, strings.NewReader(f), withBasic(c.ID, tamperLast(s)))
		}, http.StatusUnauthorized, "invalid_client"},
		{"unknown client with HTTP Basic", false, func(e *env, c store.Client, s, f string) tokenResult {
			return e.request("POST", pathToken, formType, strings.NewReader(f), withBasic(strings.Repeat("a", 32), s))
		}, http.StatusUnauthorized, "invalid_client"},
		{"garbage Basic header", false, func(e *env, c store.Client, s, f string) tokenResult {
			return e.request("POST", pathToken, formType, strings.NewReader(f), withHeader("Authorization", "Basic !!!"))
		}, http.StatusUnauthorized, "invalid_client"},
		{"wrong secret with client_secret_post", false, func(e *env, c store.Client, s, f string) tokenResult {
			return e.request("POST", pathToken, formType, strings.NewReader(f+"&client_id="+c.ID+"&client_secret=wrong"))
		}, http.StatusUnauthorized, "invalid_client"},
		{"both HTTP Basic and client_secret_post", false, func(e *env, c store.Client, s, f string) tokenResult {
			return e.request("POST", pathToken, formType, strings.NewReader(f+"&client_id="+c.ID+"&client_secret="+s), withBasic(c.ID, s))
		}, http.StatusBadRequest, "invalid_request"},
		// RFC 6749 §2.3: one method per request. A header that is no usable
		// Basic beside credentials in the body is a second one, not noise.
		{"an unusable Basic header beside client_secret_post", false, func(e *env, c store.Client, s, f string) tokenResult {
			return e.request("POST", pathToken, formType, strings.NewReader(f+"&client_id="+c.ID+"&client_secret="+s), withHeader("Authorization", "Basic !!!"))
		}, http.StatusBadRequest, "invalid_request"},
		{"Basic without a colon beside client_secret_post", false, func(e *env, c store.Client, s, f string) tokenResult {
			return e.request("POST", pathToken, formType, strings.NewReader(f+"&client_id="+c.ID+"&client_secret="+s), withHeader("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.ID))))
		}, http.StatusBadRequest, "invalid_request"},
		{"a Bearer header beside client_secret_post", false, func(e *env, c store.Client, s, f string) tokenResult {
			return e.request("POST", pathToken, formType, strings.NewReader(f+"&client_id="+c.ID+"&client_secret="+s), withHeader("Authorization", "Bearer abc"))
		}, http.StatusBadRequest, "invalid_request"},
		{"a Bearer header beside a public client's client_id", true, func(e *env, c store.Client, s, f string) tokenResult {
			return e.request("POST", pathToken, formType, strings.NewReader(f+"&client_id="+c.ID), withHeader("Authorization", "Bearer abc"))
		}, http.StatusBadRequest, "invalid_request"},
		{"client_id in the body differs from Basic", false, func(e *env, c store.Client, s, f string) tokenResult {
			return e.request("POST", pathToken, formType, strings.NewReader(f+"&client_id="+strings.Repeat("b", 32)), withBasic(c.ID, s))
		}, http.StatusBadRequest, "invalid_request"},
		{"confidential client sending only client_id", false, func(e *env, c store.Client, s, f string) tokenResult {
			return e.request("POST", pathToken, formType, strings.NewReader(f+"&client_id="+c.ID))
		}, http.StatusUnauthorized, "invalid_client"},
		{"no client authentication at all", false, func(e *env, c store.Client, s, f string) tokenResult {
			return e.request("POST", pathToken, formType, strings.NewReader(f))
		}, http.StatusUnauthorized, "invalid_client"},
		{"public client sending a secret in the body", true, func(e *env, c store.Client, s, f string) tokenResult {
			return e.request("POST", pathToken, formType, strings.NewReader(f+"&client_id="+c.ID+"&client_secret=anything"))
		}, http.StatusUnauthorized, "invalid_client"},
		{"public client sending a secret with HTTP Basic", true, func(e *env, c store.Client, s, f string) tokenResult {
			return e.request("POST", pathToken, formType, strings.NewReader(f), withBasic(c.ID, "anything"))
		}, http.StatusUnauthorized, "invalid_client"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, app.Registration{Public: tc.public})
			code, verifier := pkceCode(w.alice, w.client, "READ")
			grant := form("grant_type", "authorization_code", "code", code, "redirect_uri", callback, "code_verifier", verifier)
			r := tc.send(w.env, w.client, w.secret, grant.Encode())
			wantError(t, r, tc.status, tc.code)
			// Every 401 names its scheme (RFC 9110 §15.5.2), however the client
			// tried to authenticate.
			challenge := r.header.Get("WWW-Authenticate")
			if (tc.status == http.StatusUnauthorized) != strings.HasPrefix(challenge, "Basic ") {
				t.Fatalf("%d with WWW-Authenticate %q", r.status, challenge)
			}
			// The failed request did not spend the code.
			wantOK(t, w.redeem(w.client, w.secret, code, "code_verifier", verifier))
		})
	}
}

// A public application has no secret; libraries that authenticate with
// HTTP Basic by default (requests-oauthlib, x/oauth2's AuthStyleInHeader)
// send its ID with an empty password, which is authentication "none".
func TestPublicClientBasicWithoutSecret(t *testing.T) {
	w := newWorld(t, app.Registration{Public: true})
	code, verifier := pkceCode(w.alice, w.client, "READ")
	basic := withBasic(w.client.ID, "")
	grant := form("grant_type", "authorization_code", "code", code, "redirect_uri", callback, "code_verifier", verifier)
	r := w.request("POST", pathToken, formType, strings.NewReader(grant.Encode()), basic)
	wantOK(t, r)
	refreshed := w.request("POST", pathToken, formType, strings.NewReader(form("grant_type", "refresh_token", "refresh_token", r.str("refresh_token")).Encode()), basic)
	wantOK(t, refreshed)
	if rv := w.request("POST", pathRevoke, formType, strings.NewReader(form("token", refreshed.str("refresh_token")).Encode()), basic); rv.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", rv.status, rv.raw)
	}
	w.wantActive(false, "the revoked grant", refreshed.str("access_token"))
	// A confidential application's empty password is a wrong secret.
	conf := newWorld(t, app.Registration{})
	code, verifier = pkceCode(conf.alice, conf.client, "READ")
	grant = form("grant_type", "authorization_code", "code", code, "redirect_uri", callback, "code_verifier", verifier)
	wantError(t, conf.request("POST", pathToken, formType, strings.NewReader(grant.Encode()), withBasic(conf.client.ID, "")), http.StatusUnauthorized, "invalid_client")
}

func TestRefreshReuse(t *testing.T) {
	t.Run("by default, reuse revokes the chain", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		first := w.issue(w.alice, w.client, w.secret, "READ")
		second := w.refresh(w.client, w.secret, first.str("refresh_token"))
		wantOK(t, second)
		w.wantActive(true, "new pair", second.str("access_token"), second.str("refresh_token"))

		wantError(t, w.refresh(w.client, w.secret, first.str("refresh_token")), http.StatusBadRequest, "invalid_grant")

		w.wantActive(false, "whole chain", first.str("access_token"), first.str("refresh_token"), second.str("access_token"), second.str("refresh_token"))
		wantError(t, w.refresh(w.client, w.secret, second.str("refresh_token")), http.StatusBadRequest, "invalid_grant")
	})
	t.Run("within grace, a retry gets a working pair; after it, reuse revokes the chain", func(t *testing.T) {
		w := newWorld(t, app.Registration{}, func(c *config.Config) { c.Lifetimes.RefreshGrace = 10 * time.Second })
		first := w.issue(w.alice, w.client, w.secret, "READ")
		second := w.refresh(w.client, w.secret, first.str("refresh_token"))
		wantOK(t, second)

		w.clock.Advance(5 * time.Second)
		retry := w.refresh(w.client, w.secret, first.str("refresh_token"))
		wantOK(t, retry)
		if retry.str("refresh_token") == second.str("refresh_token") {
			t.Fatal("the retry got the same refresh token")
		}
		w.wantActive(true, "both successor pairs", second.str("access_token"), second.str("refresh_token"), retry.str("access_token"), retry.str("refresh_token"))
		w.wantActive(false, "the rotated pair", first.str("access_token"), first.str("refresh_token"))
		for _, r := range []tokenResult{second, retry} {
			if me := w.myself(r.str("access_token")); me.status != http.StatusOK {
				t.Fatalf("myself with a successor: %d %s", me.status, me.raw)
			}
		}

		w.clock.Advance(6 * time.Second) // 11s after the first rotation
		wantError(t, w.refresh(w.client, w.secret, first.str("refresh_token")), http.StatusBadRequest, "invalid_grant")
		w.wantActive(false, "every token of the chain",
			first.str("access_token"), first.str("refresh_token"),
			second.str("access_token"), second.str("refresh_token"),
			retry.str("access_token"), retry.str("refresh_token"))
	})
	t.Run("within grace, a reuse past the count revokes the chain", func(t *testing.T) {
		w := newWorld(t, app.Registration{}, func(c *config.Config) { c.Lifetimes.RefreshGrace = 10 * time.Second })
		first := w.issue(w.alice, w.client, w.secret, "READ")
		second := w.refresh(w.client, w.secret, first.str("refresh_token"))
		wantOK(t, second)
		retry := w.refresh(w.client, w.secret, first.str("refresh_token"))
		wantOK(t, retry)
		// The default count is one reuse: a third use of the same token is a replay.
		wantError(t, w.refresh(w.client, w.secret, first.str("refresh_token")), http.StatusBadRequest, "invalid_grant")
		w.wantActive(false, "every token of the chain", second.str("access_token"), second.str("refresh_token"), retry.str("access_token"), retry.str("refresh_token"))
	})
	t.Run("another application's refresh token", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		b, bSecret := w.createClient(app.Registration{Name: "B"})
		first := w.issue(w.alice, w.client, w.secret, "READ")
		wantError(t, w.refresh(b, bSecret, first.str("refresh_token")), http.StatusBadRequest, "invalid_grant")
		w.wantActive(true, "the owner's pair", first.str("access_token"), first.str("refresh_token"))
	})
	t.Run("an access token as a refresh token", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		first := w.issue(w.alice, w.client, w.secret, "READ")
		wantError(t, w.refresh(w.client, w.secret, first.str("access_token")), http.StatusBadRequest, "invalid_grant")
		w.wantActive(true, "the pair", first.str("access_token"), first.str("refresh_token"))
	})
}

func TestScopeErrorsAtTheTokenEndpoint(t *testing.T) {
	t.Run("client_credentials outside the application's list", func(t *testing.T) {
		e := newEnv(t)
		c, secretValue := e.createClient(app.Registration{Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}, Scopes: []string{"READ", "WRITE"}})
		for _, s := range []string{"ADMIN", "READ ADMIN", "NO_SUCH_SCOPE", "READ\u00a0WRITE"} {
			wantError(t, e.token(form("grant_type", "client_credentials", "scope", s), c.ID, secretValue), http.StatusBadRequest, "invalid_scope")
		}
	})
	t.Run("refresh asking for a wider scope", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		first := w.issue(w.alice, w.client, w.secret, "READ")
		for _, s := range []string{"READ WRITE", "WRITE", "ADMIN", "NO_SUCH_SCOPE"} {
			wantError(t, w.refresh(w.client, w.secret, first.str("refresh_token"), "scope", s), http.StatusBadRequest, "invalid_scope")
		}
		// Nothing rotated: the pair still works.
		w.wantActive(true, "the pair", first.str("access_token"), first.str("refresh_token"))
		r := w.refresh(w.client, w.secret, first.str("refresh_token"), "scope", "READ")
		wantOK(t, r)
		if r.str("scope") != "READ" {
			t.Fatalf("scope %q, want READ", r.str("scope"))
		}
	})
	t.Run("refresh asking for a narrower scope", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		first := w.issue(w.alice, w.client, w.secret, "READ WRITE")
		r := w.refresh(w.client, w.secret, first.str("refresh_token"), "scope", "READ")
		wantOK(t, r)
		if r.str("scope") != "READ" {
			t.Fatalf("scope %q, want READ", r.str("scope"))
		}
	})
}

// Issuing the 11th refresh token for one user and client revokes the oldest.
func TestRefreshTokenCap(t *testing.T) {
	w := newWorld(t, app.Registration{})
	var pairs []tokenResult
	for range 11 {
		pairs = append(pairs, w.issue(w.alice, w.client, w.secret, "READ"))
		// Creation times in milliseconds are what orders the tokens: keep them apart.
		w.clock.Advance(time.Second)
	}
	w.wantActive(false, "the oldest pair", pairs[0].str("refresh_token"), pairs[0].str("access_token"))
	for i, p := range pairs[1:] {
		if !w.isActive(p.str("refresh_token")) || !w.isActive(p.str("access_token")) {
			t.Fatalf("pair %d of 11 is not active", i+2)
		}
	}
	// Another user's tokens for the same client do not count.
	w.createUser("bob", "bob-password", store.LevelUser)
	bob := w.newBrowser()
	bob.signIn("bob", "bob-password")
	w.issue(bob, w.client, w.secret, "READ")
	if !w.isActive(pairs[1].str("refresh_token")) {
		t.Fatal("bob's token revoked one of alice's")
	}
}

func TestExpiredCode(t *testing.T) {
	t.Run("11 minutes", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		code, verifier := pkceCode(w.alice, w.client, "READ")
		w.clock.Advance(11 * time.Minute)
		wantError(t, w.redeem(w.client, w.secret, code, "code_verifier", verifier), http.StatusBadRequest, "invalid_grant")
	})
	t.Run("exactly 10 minutes", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		code, verifier := pkceCode(w.alice, w.client, "READ")
		w.clock.Advance(10 * time.Minute)
		wantError(t, w.redeem(w.client, w.secret, code, "code_verifier", verifier), http.StatusBadRequest, "invalid_grant")
	})
	t.Run("just under 10 minutes still works (control)", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		code, verifier := pkceCode(w.alice, w.client, "READ")
		w.clock.Advance(10*time.Minute - time.Second)
		wantOK(t, w.redeem(w.client, w.secret, code, "code_verifier", verifier))
	})
}

// TestBasicCredentialsAfterSeveralSpaces: RFC 9110 §11.4 allows one or more
// spaces between the scheme and the credentials (1*SP), as the Bearer
// header already may have; the token, revocation and introspection
// endpoints read Basic so too.
func TestBasicCredentialsAfterSeveralSpaces(t *testing.T) {
	e := newEnv(t)
	c, secretValue := e.createClient(app.Registration{Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}})
	basic := base64.StdEncoding.EncodeToString([]byte(c.ID + ":" + secretValue))
	for _, header := range []string{"Basic  " + basic, "basic   " + basic} {
		r := e.request("POST", pathToken, formType, strings.NewReader("grant_type=client_credentials"), withHeader("Authorization", header))
		wantOK(t, r)
		tok := r.str("access_token")
		in := e.request("POST", pathIntro, formType, strings.NewReader("token="+tok), withHeader("Authorization", header))
		if in.status != http.StatusOK || in.body["active"] != true {
			t.Fatalf("introspection with %q: %d %s", header[:8], in.status, in.raw)
		}
		rv := e.request("POST", pathRevoke, formType, strings.NewReader("token="+tok), withHeader("Authorization", header))
		if rv.status != http.StatusOK {
			t.Fatalf("revocation with %q: %d %s", header[:8], rv.status, rv.raw)
		}
	}
	// Nothing after the spaces is still no credential.
	wantError(t, e.request("POST", pathToken, formType, strings.NewReader("grant_type=client_credentials"), withHeader("Authorization", "Basic   ")), http.StatusUnauthorized, "invalid_client")
}
