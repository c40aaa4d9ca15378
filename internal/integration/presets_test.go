package integration

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// TestPresetAuthorizationURLs asserts, byte for byte, the authorization URL
// each preset builds with its real endpoints (nothing is contacted), and
// that the PKCE challenge in it is S256 of the verifier kept for the callback.
func TestPresetAuthorizationURLs(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name     string
		settings Settings
		want     string // with STATE, CHALLENGE and REDIRECT for the variable parts
	}{
		{
			"google", Settings{Provider: Google, Name: "Gmail", ClientID: "123.apps.googleusercontent.com"},
			"https://accounts.google.com/o/oauth2/v2/auth?access_type=offline&client_id=123.apps.googleusercontent.com" +
				"&code_challenge=CHALLENGE&code_challenge_method=S256&prompt=consent&redirect_uri=REDIRECT&response_type=code" +
				"&scope=https%3A%2F%2Fmail.google.com%2F+openid+email&state=STATE",
		},
		{
			"microsoft, default tenant", Settings{Provider: Microsoft, Name: "Outlook", ClientID: "11111111-2222-3333-4444-555555555555"},
			"https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize?client_id=11111111-2222-3333-4444-555555555555" +
				"&code_challenge=CHALLENGE&code_challenge_method=S256&redirect_uri=REDIRECT&response_type=code" +
				"&scope=https%3A%2F%2Foutlook.office.com%2FIMAP.AccessAsUser.All+https%3A%2F%2Foutlook.office.com%2FPOP.AccessAsUser.All" +
				"+offline_access+openid+email&state=STATE",
		},
		{
			"microsoft, own tenant", Settings{Provider: Microsoft, Name: "Contoso", ClientID: "app", Tenant: "contoso.onmicrosoft.com"},
			"https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize?client_id=app" +
				"&code_challenge=CHALLENGE&code_challenge_method=S256&redirect_uri=REDIRECT&response_type=code" +
				"&scope=https%3A%2F%2Foutlook.office.com%2FIMAP.AccessAsUser.All+https%3A%2F%2Foutlook.office.com%2FPOP.AccessAsUser.All" +
				"+offline_access+openid+email&state=STATE",
		},
		{
			"custom without PKCE", Settings{Provider: Custom, Name: "Corp", ClientID: "gh", NoPKCE: true, Scopes: []string{"mail read"},
				AuthURL: "https://idp.example.com/oauth/authorize?tenant=7", TokenURL: "https://idp.example.com/oauth/token", AuthParams: "prompt=login"},
			"https://idp.example.com/oauth/authorize?tenant=7&client_id=gh&prompt=login&redirect_uri=REDIRECT&response_type=code&scope=mail+read&state=STATE",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in, err := e.s.Create(t.Context(), root, c.settings)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := e.s.StartAuthorization(t.Context(), root, in.ID, binding)
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(got)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			redirect := e.s.RedirectURL(in)
			if !strings.HasPrefix(redirect, "https://gatehouse.example.com/plugins/servlet/oauth2/integrations/callback/") {
				t.Errorf("redirect URL %s", redirect)
			}
			want := strings.NewReplacer("STATE", q.Get("state"), "CHALLENGE", q.Get("code_challenge"), "REDIRECT", url.QueryEscape(redirect)).Replace(c.want)
			if got != want {
				t.Errorf("authorization URL\n got %s\nwant %s", got, want)
			}
			if len(q.Get("state")) < 43 {
				t.Errorf("state %q is too short to be unguessable", q.Get("state"))
			}
			pending, err := e.store.TakeIntegrationAuth(t.Context(), e.s.stateHash(q.Get("state")), binding, e.s.now())
			if err != nil {
				t.Fatal(err)
			}
			if c.settings.NoPKCE {
				if pending.VerifierSealed != nil {
					t.Error("a verifier was kept although PKCE is off")
				}
				return
			}
			verifier, err := e.s.keys.Open(pending.VerifierSealed, verifierContext(in.ID))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(verifier)
			if base64.RawURLEncoding.EncodeToString(sum[:]) != q.Get("code_challenge") {
				t.Error("code_challenge is not S256 of the kept verifier")
			}
		})
	}
}

// TestRedirectURLFollowsEndpoints: the redirect URL changes with the
// endpoints (and Microsoft's tenant); a new token endpoint or client ID
// drops the tokens, which belong to the old ones.
func TestRedirectURLFollowsEndpoints(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	ms, err := e.s.Create(ctx, root, Settings{Provider: Microsoft, Name: "Outlook", ClientID: "app"})
	if err != nil {
		t.Fatal(err)
	}
	google, err := e.s.Create(ctx, root, Settings{Provider: Google, Name: "Gmail"})
	if err != nil {
		t.Fatal(err)
	}
	if e.s.RedirectURL(ms) == e.s.RedirectURL(google) {
		t.Error("Google and Microsoft share a redirect URL")
	}
	tenant := "contoso.onmicrosoft.com"
	up, err := e.s.Update(ctx, root, ms.ID, Change{Tenant: &tenant})
	if err != nil {
		t.Fatal(err)
	}
	if !up.RedirectChanged || e.s.RedirectURL(up.Integration) == e.s.RedirectURL(ms) {
		t.Errorf("a new tenant kept the redirect URL (changed = %v)", up.RedirectChanged)
	}
	desc := "only the description"
	if up, err = e.s.Update(ctx, root, ms.ID, Change{Description: &desc}); err != nil || up.RedirectChanged || up.Forgotten {
		t.Errorf("a new description: %+v, %v; want the same redirect URL and tokens", up, err)
	}

	// A stored grant, then a new token endpoint: the grant is dropped.
	custom, err := e.s.Create(ctx, root, Settings{Provider: Custom, Name: "Corp", ClientID: "c",
		AuthURL: "https://idp.example.com/authorize", TokenURL: "https://idp.example.com/token"})
	if err != nil {
		t.Fatal(err)
	}
	v := store.IntegrationVault{TokensSealed: e.s.seal(custom.ID, sealedTokens{Access: "a", Refresh: "r"}), AuthorizedAt: e.s.now()}
	if err := e.store.StoreIntegrationTokens(ctx, custom.ID, v); err != nil {
		t.Fatal(err)
	}
	moved := "https://idp2.example.com/token"
	up, err = e.s.Update(ctx, root, custom.ID, Change{TokenURL: &moved})
	if err != nil {
		t.Fatal(err)
	}
	if !up.RedirectChanged || !up.Forgotten || up.Vault.TokensSealed != nil {
		t.Errorf("new token endpoint: redirect changed %v, forgotten %v, tokens kept %v", up.RedirectChanged, up.Forgotten, up.Vault.TokensSealed != nil)
	}
	if got := StateOf(e.get(custom.ID), e.s.now()).Status; got != StatusNotAuthorized {
		t.Errorf("status after the tokens were dropped = %s", got)
	}
}

// TestSettingsRefused: bad settings are refused with a message key, never
// stored; production mode refuses http endpoints.
func TestSettingsRefused(t *testing.T) {
	e := newEnv(t)
	prod := newEnv(t, func(o *Options) { o.Dev = false })
	long := strings.Repeat("x", 201)
	cases := []struct {
		name string
		e    *env
		st   Settings
		key  string
	}{
		{"no name", e, Settings{Provider: Google}, "integration.name_required"},
		{"long name", e, Settings{Provider: Google, Name: long}, "input.too_long"},
		{"control character", e, Settings{Provider: Google, Name: "a\x00b"}, "input.control"},
		{"unknown provider", e, Settings{Provider: "yahoo", Name: "y"}, "integration.provider_unknown"},
		{"custom without endpoints", e, Settings{Provider: Custom, Name: "c"}, "integration.endpoint_required"},
		{"relative endpoint", e, Settings{Provider: Custom, Name: "c", AuthURL: "/authorize", TokenURL: "https://x/token"}, "integration.url_invalid"},
		{"endpoint with user", e, Settings{Provider: Custom, Name: "c", AuthURL: "https://u:p@x/a", TokenURL: "https://x/token"}, "integration.url_invalid"},
		{"endpoint with a double quote", e, Settings{Provider: Custom, Name: "c", AuthURL: `https://idp.example.com/a"<b>`, TokenURL: "https://idp.example.com/t"}, "integration.url_character"},
		{"endpoint on port 0", e, Settings{Provider: Custom, Name: "c", AuthURL: "https://idp.example.com:0/a", TokenURL: "https://idp.example.com/t"}, "integration.url_invalid"},
		{"endpoint whose host is no name", e, Settings{Provider: Custom, Name: "c", AuthURL: "https://idp;sandbox.example.com/a", TokenURL: "https://idp.example.com/t"}, "integration.url_host"},
		{"endpoint on port 99999", e, Settings{Provider: Custom, Name: "c", AuthURL: "https://idp.example.com/a", TokenURL: "https://idp.example.com:99999/t"}, "integration.url_invalid"},
		{"endpoint with a space", e, Settings{Provider: Custom, Name: "c", AuthURL: "https://idp.example.com/a", TokenURL: "https://idp.example.com/t t"}, "integration.url_character"},
		{"issuer with a non-ASCII letter", e, Settings{Provider: Custom, Name: "c", AuthURL: "https://idp.example.com/a", TokenURL: "https://idp.example.com/t", Issuer: "https://idp.example.com/é"}, "integration.url_character"},
		{"http in production", prod, Settings{Provider: Custom, Name: "c", AuthURL: "http://idp.example.com/a", TokenURL: "https://idp.example.com/t"}, "integration.url_https"},
		{"Google with a tenant", e, Settings{Provider: Google, Name: "g", Tenant: "contoso"}, "integration.tenant_not_microsoft"},
		{"a custom provider with a tenant", e, Settings{Provider: Custom, Name: "c", AuthURL: "https://idp.example.com/a", TokenURL: "https://idp.example.com/t", Tenant: "contoso"}, "integration.tenant_not_microsoft"},
		{"Microsoft without PKCE", e, Settings{Provider: Microsoft, Name: "m", NoPKCE: true}, "integration.preset_pkce"},
		{"bad tenant", e, Settings{Provider: Microsoft, Name: "m", Tenant: "../evil"}, "integration.tenant_invalid"},
		{"repeated parameter", e, Settings{Provider: Google, Name: "g", AuthParams: "hd=a.example&hd=b.example"}, "integration.params_repeated"},
		{"reserved parameter", e, Settings{Provider: Google, Name: "g", AuthParams: "redirect_uri=https://evil.example"}, "integration.params_reserved"},
		{"scope with a quote", e, Settings{Provider: Google, Name: "g", Scopes: []string{`mail"`}}, "integration.scope_invalid"},
		{"Google's endpoint changed", e, Settings{Provider: Google, Name: "g", TokenURL: "https://evil.example/token"}, "integration.preset_endpoint"},
		{"Microsoft's issuer changed", e, Settings{Provider: Microsoft, Name: "m", Issuer: "https://evil.example"}, "integration.preset_endpoint"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.e.s.Create(t.Context(), root, c.st)
			var v *validation.Error
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &v) || v.Key != c.key {
				t.Fatalf("Create = %v; want a refusal with key %s", err, c.key)
			}
		})
	}
	gmail, err := e.s.Create(t.Context(), root, Settings{Provider: Google, Name: "Gmail", AuthURL: presets[Google].authURL})
	if err != nil {
		t.Fatalf("the preset's own endpoint, given: %v", err)
	}
	evil := "https://evil.example/token"
	if _, err := e.s.Update(t.Context(), root, gmail.ID, Change{TokenURL: &evil}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a new token endpoint for Google: %v", err)
	}
	var v *validation.Error
	if _, err := e.s.Create(t.Context(), root, Settings{Provider: Google, Name: "GMAIL"}); !errors.As(err, &v) || v.Key != "integration.name_taken" {
		t.Errorf("a second GMAIL = %v; want integration.name_taken", err)
	}
	if _, err := e.s.Create(t.Context(), Actor{Username: "adm", Level: store.LevelAdmin}, Settings{Provider: Google, Name: "x"}); !errors.Is(err, ErrForbidden) {
		t.Errorf("an administrator below system administrator created an integration: %v", err)
	}
}

// TestGooglePrivateBaseURLWarning: Google refuses loopback and private
// redirect URLs, so the console warns before the administrator finds out.
func TestGooglePrivateBaseURLWarning(t *testing.T) {
	for base, warn := range map[string]bool{
		"http://127.0.0.1:8080": true, "http://localhost:8080": true, "https://10.1.2.3": true, "https://gatehouse.lan.local": true,
		"https://intranet": true, "https://auth.example.com": false, "https://203.0.113.9": false,
	} {
		e := newEnv(t, func(o *Options) { o.BaseURL = base })
		g, err := e.s.Create(t.Context(), root, Settings{Provider: Google, Name: "Gmail", ClientID: "c"})
		if err != nil {
			t.Fatal(err)
		}
		ms, err := e.s.Create(t.Context(), root, Settings{Provider: Microsoft, Name: "Outlook", ClientID: "c"})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(e.s.Warnings(g)) == 1; got != warn {
			t.Errorf("base %s: Google warns = %v, want %v", base, got, warn)
		}
		if len(e.s.Warnings(ms)) != 0 {
			t.Errorf("base %s: Microsoft warns about the base URL", base)
		}
	}
}
