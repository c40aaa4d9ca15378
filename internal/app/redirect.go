package app

import (
	"net"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/internal/validation"
)

// MaxRedirectURILength bounds a redirect URI, registered or requested.
const MaxRedirectURILength = 2000

// ValidateRedirectURI checks a redirect URI an administrator registers.
// Production (dev false) allows http only for loopback addresses. A refusal
// is a *validation.Error; it does not wrap ErrInvalid (Registration
// validation adds that).
func ValidateRedirectURI(raw string, dev bool) error {
	if raw == "" || len(raw) > MaxRedirectURILength {
		return problem("app.redirect_uri_length", "redirect URI must be 1-%d characters", MaxRedirectURILength)
	}
	if c := validation.FirstNonURIChar(raw); c >= 0 {
		return problem("app.redirect_uri_character", "redirect URI %q has %U, which a URI may not hold (RFC 3986): percent-encode it", raw, c)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return problem("app.redirect_uri_not_url", "redirect URI %q is not a URL", raw)
	}
	if !validation.PortInRange(u) {
		return problem("app.redirect_uri_port", "redirect URI %q: a port must be a number from 1 to 65535", raw)
	}
	if !u.IsAbs() || u.Opaque != "" {
		return problem("app.redirect_uri_not_absolute", "redirect URI %q must be absolute", raw)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return problem("app.redirect_uri_fragment", "redirect URI %q must not contain a fragment", raw)
	}
	if u.User != nil {
		return problem("app.redirect_uri_userinfo", "redirect URI %q must not contain user information", raw)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !dev && !IsLoopback(u) {
			return problem("app.redirect_uri_https", "redirect URI %q must use https (http is allowed only for loopback addresses, or in development mode)", raw)
		}
	case "javascript", "data", "file", "vbscript":
		return problem("app.redirect_uri_scheme_forbidden", "redirect URI %q uses a forbidden scheme", raw)
	default:
		// Private-use schemes of native apps (RFC 8252 §7.1), e.g. com.example.app:/cb.
		if !strings.Contains(u.Scheme, ".") {
			return problem("app.redirect_uri_custom_scheme", "redirect URI %q: a custom scheme must be a reversed domain name such as com.example.app", raw)
		}
	}
	if u.Host == "" && (u.Scheme == "http" || u.Scheme == "https") {
		return problem("app.redirect_uri_no_host", "redirect URI %q has no host", raw)
	}
	if err := checkRedirectQuery(raw, u.RawQuery); err != nil {
		return err
	}
	// Redirect URIs are compared exactly (RFC 9700 §4.1.3); a pattern would
	// let any matching host receive the codes.
	if strings.Contains(u.Host, "*") {
		return problem("app.redirect_uri_wildcard", "redirect URI %q: wildcard hosts are not allowed; register each host exactly", raw)
	}
	if !validation.HostIsName(u) {
		return problem("app.redirect_uri_host", "redirect URI %q: its host must be a DNS name (letters, digits, hyphens and dots) or an IP address", raw)
	}
	return nil
}

// responseParams are what an authorization response adds to the redirect
// URI's query (RFC 6749 §4.1.2 and §4.1.2.1, RFC 9207).
var responseParams = []string{"code", "state", "iss", "error", "error_description", "error_uri"}

// checkRedirectQuery refuses a query that the authorization response could
// not keep as it is (RFC 6749 §3.1.2: it is retained, and the response's
// parameters added): one that does not read as name=value pairs joined by
// "&", or that names a parameter the response adds, which the client would
// then receive twice.
func checkRedirectQuery(raw, query string) error {
	if query == "" {
		return nil
	}
	values, err := url.ParseQuery(query)
	if err != nil {
		return problem("app.redirect_uri_query", "redirect URI %q: its query must be name=value pairs joined by & (percent-encoded, no ;), since the authorization response adds its own to it", raw)
	}
	for _, name := range responseParams {
		if values.Has(name) {
			return problem("app.redirect_uri_query_param", "redirect URI %q: its query may not hold %q, which the authorization response adds", raw, name)
		}
	}
	return nil
}

// problem is a refusal of a value, with a message key but no sentinel.
func problem(key, format string, args ...any) error {
	return validation.Errorf(nil, key, format, args...)
}

// IsLoopback reports whether u points at a loopback IP literal (RFC 8252 §7.3).
// "localhost" is deliberately not included (RFC 8252 §8.3).
func IsLoopback(u *url.URL) bool {
	if u.Scheme != "http" {
		return false
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// MatchRedirectURI returns the registered URI that requested matches: an exact
// string match, or for an http loopback URI the same URI with any port.
func MatchRedirectURI(registered []string, requested string) (string, bool) {
	if requested == "" || len(requested) > MaxRedirectURILength {
		return "", false
	}
	for _, r := range registered {
		if r == requested {
			return r, true
		}
	}
	req, err := url.Parse(requested)
	if err != nil || !IsLoopback(req) || !validation.PortInRange(req) {
		return "", false
	}
	for _, r := range registered {
		reg, err := url.Parse(r)
		if err != nil || !IsLoopback(reg) {
			continue
		}
		if reg.Hostname() == req.Hostname() && reg.EscapedPath() == req.EscapedPath() &&
			reg.RawQuery == req.RawQuery && req.Fragment == "" && req.User == nil {
			return r, true
		}
	}
	return "", false
}
