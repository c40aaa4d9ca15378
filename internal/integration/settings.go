package integration

import (
	"cmp"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// Settings are what an administrator gives to create an integration. Empty
// fields take the provider's preset (scopes, parameters, tenant).
type Settings struct {
	Provider     string
	Name         string
	Description  string
	ClientID     string
	ClientSecret string
	Scopes       []string
	AuthURL      string
	TokenURL     string
	UserinfoURL  string
	// Issuer is the provider's issuer URL. With no endpoints, they are
	// discovered from it (RFC 8414, OpenID Connect Discovery).
	Issuer     string
	Tenant     string
	AuthParams string
	NoPKCE     bool
}

// Change edits an integration; nil fields stay as they are.
type Change struct {
	Name         *string
	Description  *string
	ClientID     *string
	ClientSecret *string // "" keeps the secret too: a form does not echo it
	Scopes       *[]string
	AuthURL      *string
	TokenURL     *string
	UserinfoURL  *string
	Issuer       *string
	Tenant       *string
	AuthParams   *string
	NoPKCE       *bool
}

// Defaults returns the settings a new integration of provider starts with.
func (s *Service) Defaults(provider string) Settings { return s.defaults(provider, "") }

// defaults is Defaults for Microsoft's tenant ("" for the default).
func (s *Service) defaults(provider, tenant string) Settings {
	p := s.presets[provider]
	st := Settings{Provider: provider, Scopes: slices.Clone(p.scopes), AuthParams: p.params}
	if provider == Microsoft {
		st.Tenant = cmp.Or(tenant, DefaultTenant)
	}
	st.AuthURL, st.TokenURL = withTenant(p.authURL, st.Tenant), withTenant(p.tokenURL, st.Tenant)
	st.UserinfoURL, st.Issuer = p.userinfoURL, p.issuer
	return st
}

// Field rules (internal/validation); going over a limit is refused, never cut.
var (
	nameRule        = validation.TextRule{Field: "name", Max: 200, Name: true}
	descriptionRule = validation.TextRule{Field: "description", Max: 2000, Multiline: true}
	clientIDRule    = validation.TextRule{Field: "client_id", Max: 500}
	secretRule      = validation.TextRule{Field: "client_secret", Max: 2000}
	scopesRule      = validation.ListRule{Item: validation.TextRule{Field: "scopes", Max: 500}, Max: 50}
	urlRule         = validation.TextRule{Max: 2000}
	paramsRule      = validation.TextRule{Field: "authorization_parameters", Max: 2000}
	tenantPattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]{0,99}$`)
)

// reservedParams are set by the flow itself; an extra parameter may not
// change them.
var reservedParams = []string{"response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"}

// normalize validates in's settings and puts them in canonical form: the
// preset's endpoints for Google and Microsoft, trimmed text, scopes split
// at spaces, parameters re-encoded.
func (s *Service) normalize(in *store.Integration) error {
	in.Name = validation.CollapseSpaces(in.Name)
	if in.Name == "" {
		return invalid("integration.name_required", "name must be 1-%d characters", nameRule.Max)
	}
	if err := nameRule.Check(ErrInvalid, in.Name); err != nil {
		return err
	}
	if err := descriptionRule.Check(ErrInvalid, in.Description); err != nil {
		return err
	}
	in.ClientID = strings.TrimSpace(in.ClientID)
	if err := clientIDRule.Check(ErrInvalid, in.ClientID); err != nil {
		return err
	}
	var words []string
	for _, sc := range in.Scopes {
		words = append(words, strings.Fields(sc)...)
	}
	scopes, err := scopesRule.Clean(ErrInvalid, words)
	if err != nil {
		return err
	}
	for _, sc := range scopes {
		if strings.ContainsAny(sc, "\"\\") {
			return invalid("integration.scope_invalid", "scope %q holds a character a scope may not (RFC 6749 §3.3)", sc)
		}
	}
	in.Scopes = scopes
	if err := s.normalizeEndpoints(in); err != nil {
		return err
	}
	params, err := normalizeParams(in.AuthParams)
	if err != nil {
		return err
	}
	in.AuthParams = params
	return nil
}

// normalizeEndpoints fixes a preset's endpoints and checks a custom one's.
func (s *Service) normalizeEndpoints(in *store.Integration) error {
	switch in.Provider {
	case Google, Microsoft:
		p := s.presets[in.Provider]
		in.Tenant = strings.TrimSpace(in.Tenant)
		if in.Provider == Microsoft && in.Tenant == "" {
			in.Tenant = DefaultTenant
		}
		if in.Provider == Google && in.Tenant != "" {
			return tenantNotMicrosoft()
		}
		if !in.PKCE {
			return invalid("integration.preset_pkce", "%s always uses PKCE; only a custom provider can turn it off", in.Provider)
		}
		if in.Tenant != "" && !tenantPattern.MatchString(in.Tenant) {
			return invalid("integration.tenant_invalid", "tenant %q must be a tenant ID, a domain, organizations, common or consumers", in.Tenant)
		}
		in.AuthURL, in.TokenURL = withTenant(p.authURL, in.Tenant), withTenant(p.tokenURL, in.Tenant)
		in.UserinfoURL, in.Issuer, in.PKCE = p.userinfoURL, p.issuer, true
		return nil
	case Custom:
		if strings.TrimSpace(in.Tenant) != "" {
			return tenantNotMicrosoft()
		}
		in.Tenant = ""
	default:
		return invalid("integration.provider_unknown", "provider %q must be google, microsoft or custom", in.Provider)
	}
	endpoints := []struct {
		field    string
		value    *string
		required bool
	}{
		{"authorization_endpoint", &in.AuthURL, true},
		{"token_endpoint", &in.TokenURL, true},
		{"userinfo_endpoint", &in.UserinfoURL, false},
		{"issuer", &in.Issuer, false},
	}
	for _, e := range endpoints {
		*e.value = strings.TrimSpace(*e.value)
		if *e.value == "" {
			if e.required {
				return invalid("integration.endpoint_required", "%s is required for a custom provider (or give its issuer URL to discover it)", e.field)
			}
			continue
		}
		if err := s.checkURL(e.field, *e.value); err != nil {
			return err
		}
	}
	return nil
}

// tenantNotMicrosoft refuses a tenant given for another provider than
// Microsoft Entra, rather than drop it.
func tenantNotMicrosoft() error {
	return invalid("integration.tenant_not_microsoft", "a tenant applies only to Microsoft Entra")
}

// checkURL accepts an absolute http(s) URL without fragment or user
// information, with a port (if any) of 1-65535; https only, outside
// development mode.
func (s *Service) checkURL(field, raw string) error {
	rule := urlRule
	rule.Field = field
	if err := rule.Check(ErrInvalid, raw); err != nil {
		return err
	}
	if c := validation.FirstNonURIChar(raw); c >= 0 {
		return invalid("integration.url_character", "%s %q has %U, which a URL may not hold (RFC 3986): percent-encode it", field, raw, c)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" || u.User != nil || (u.Scheme != "https" && u.Scheme != "http") || !validation.PortInRange(u) {
		return invalid("integration.url_invalid", "%s %q must be an absolute http(s) URL without user information or fragment", field, raw)
	}
	if !validation.HostIsName(u) {
		return invalid("integration.url_host", "%s %q: its host must be a DNS name (letters, digits, hyphens and dots) or an IP address", field, raw)
	}
	if u.Scheme != "https" && !s.dev {
		return invalid("integration.url_https", "%s %q must use https (http is allowed only in development mode)", field, raw)
	}
	return nil
}

// normalizeParams checks the extra authorization parameters (a URL query,
// one per line or joined with &) and encodes them canonically.
func normalizeParams(raw string) (string, error) {
	if err := paramsRule.Check(ErrInvalid, strings.ReplaceAll(raw, "\n", "&")); err != nil {
		return "", err
	}
	raw = strings.Join(strings.Fields(strings.ReplaceAll(raw, "\n", " ")), "&")
	values, err := url.ParseQuery(raw)
	if err != nil {
		return "", invalid("integration.params_invalid", "the authorization parameters must be name=value pairs joined with & (URL-encoded)")
	}
	for name := range values {
		if name == "" {
			return "", invalid("integration.params_invalid", "the authorization parameters must be name=value pairs joined with & (URL-encoded)")
		}
		if len(values[name]) > 1 {
			return "", invalid("integration.params_repeated", "the authorization parameter %s is given more than once", name)
		}
		if slices.Contains(reservedParams, name) {
			return "", invalid("integration.params_reserved", "the authorization parameter %s is set by Gatehouse itself", name)
		}
	}
	return values.Encode(), nil
}
