package integration

import (
	"crypto/sha256"
	"encoding/base64"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// Providers.
const (
	Google    = "google"
	Microsoft = "microsoft"
	Custom    = "custom"
)

// Providers lists the providers in the order the console offers them.
var Providers = []string{Google, Microsoft, Custom}

// DefaultTenant is Microsoft Entra's tenant when none is given: any work or
// school account.
const DefaultTenant = "organizations"

// CallbackPath is where providers send the browser back, followed by the key
// of the integration's endpoints.
const CallbackPath = "/plugins/servlet/oauth2/integrations/callback/"

// preset is what a known provider fixes. In Microsoft's endpoints "{tenant}"
// stands for the integration's tenant.
type preset struct {
	authURL, tokenURL, userinfoURL, issuer string
	scopes                                 []string
	params                                 string
}

// presets are the providers' documented values. Tests in this package point
// a Service's copy at stand-ins on loopback; nothing else can.
var presets = map[string]preset{
	// https://developers.google.com/identity/protocols/oauth2/web-server:
	// a refresh token comes only with access_type=offline, and again on a
	// later consent only with prompt=consent. Google keeps it on refresh.
	Google: {
		authURL:     "https://accounts.google.com/o/oauth2/v2/auth",
		tokenURL:    "https://oauth2.googleapis.com/token",
		userinfoURL: "https://openidconnect.googleapis.com/v1/userinfo",
		issuer:      "https://accounts.google.com",
		scopes:      []string{"https://mail.google.com/", "openid", "email"},
		params:      "access_type=offline&prompt=consent",
	},
	// https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow:
	// offline_access brings a refresh token, which rotates on every refresh.
	// The token's audience is outlook.office.com, so Graph's userinfo would
	// refuse it: the account comes from the ID token.
	Microsoft: {
		authURL:  "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
		tokenURL: "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
		scopes: []string{"https://outlook.office.com/IMAP.AccessAsUser.All", "https://outlook.office.com/POP.AccessAsUser.All",
			"offline_access", "openid", "email"},
	},
}

// withTenant fills Microsoft's tenant into an endpoint.
func withTenant(endpoint, tenant string) string {
	return strings.ReplaceAll(endpoint, "{tenant}", url.PathEscape(tenant))
}

// RedirectURL is the URL to register at the provider for in. It depends on
// the endpoints, so a change of provider (or tenant) shows as a new URL to
// register.
func (s *Service) RedirectURL(in store.Integration) string {
	return s.baseURL + CallbackPath + endpointKey(in.AuthURL, in.TokenURL)
}

// endpointKey names a pair of endpoints in a URL path: not a secret, only
// stable and distinct.
func endpointKey(authURL, tokenURL string) string {
	sum := sha256.Sum256([]byte(authURL + "\n" + tokenURL))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// Warnings are what the console shows beside an integration's settings:
// things that will fail at the provider though Gatehouse accepts them.
func (s *Service) Warnings(in store.Integration) []*validation.Error {
	var out []*validation.Error
	if in.Provider == Google && privateHost(s.baseURL) {
		out = append(out, problem("integration.google_private_redirect",
			"Google refuses redirect URLs on loopback or private addresses such as %s: give Gatehouse a public https base URL", hostOf(s.baseURL)))
	}
	if in.ClientID == "" {
		out = append(out, problem("integration.no_client_id",
			"there is no client ID yet: register the redirect URL at the provider, then enter the client ID and secret it gives"))
	}
	return out
}

// privateHost reports a base URL on loopback, a private or link-local
// address, or a name that only resolves locally.
func privateHost(base string) bool {
	u, err := url.Parse(base)
	if err != nil {
		return false
	}
	host := strings.ToLower(u.Hostname())
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".local") || !strings.Contains(host, ".") && net.ParseIP(host) == nil {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && (ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified())
}
