package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/app"
)

// A browser application (a single-page app with a public client, as
// oauth4webapi runs it) calls the token and revocation endpoints, the
// metadata and the protected API from its own origin: they answer CORS
// preflights and let any origin read their answers, never with credentials.
// Introspection, a resource server's call, does not.
func TestBrowserApplicationsReachTheEndpointsAcrossOrigins(t *testing.T) {
	w := newWorld(t, app.Registration{})
	const origin = "https://spa.example.com"
	fromSPA := withHeader("Origin", origin)
	preflight := func(path, method string) tokenResult {
		return w.request("OPTIONS", path, "", nil, fromSPA, withHeader("Access-Control-Request-Method", method),
			withHeader("Access-Control-Request-Headers", "authorization, content-type"))
	}
	for _, c := range []struct{ path, method string }{
		{pathToken, "POST"}, {"/rest/oauth2/latest/revoke", "POST"},
		{"/.well-known/oauth-authorization-server", "GET"}, {"/rest/api/latest/myself", "GET"},
	} {
		r := preflight(c.path, c.method)
		h := r.header
		if r.status != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "*" ||
			!strings.Contains(h.Get("Access-Control-Allow-Methods"), c.method) ||
			!strings.Contains(strings.ToLower(h.Get("Access-Control-Allow-Headers")), "authorization") {
			t.Errorf("preflight of %s %s: %d %v", c.method, c.path, r.status, h)
		}
		if h.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("preflight of %s allows credentials", c.path)
		}
	}

	// The answers themselves, a success and a failure alike.
	pair := w.issue(w.alice, w.client, w.secret, "READ")
	refreshed := w.request("POST", pathToken, formType, strings.NewReader(form("grant_type", "refresh_token", "refresh_token", pair.str("refresh_token")).Encode()),
		fromSPA, withBasic(w.client.ID, w.secret))
	wantOK(t, refreshed)
	refused := w.request("POST", pathToken, formType, strings.NewReader("grant_type=refresh_token&refresh_token=grt_x"), fromSPA, withBasic(w.client.ID, w.secret))
	me := w.request("GET", "/rest/api/latest/myself", "", nil, fromSPA, withHeader("Authorization", "Bearer "+refreshed.str("access_token")))
	anonymous := w.request("GET", "/rest/api/latest/myself", "", nil, fromSPA)
	for name, r := range map[string]tokenResult{"a refresh": refreshed, "a refused refresh": refused, "the protected API": me, "the protected API without a token": anonymous} {
		if r.header.Get("Access-Control-Allow-Origin") != "*" || r.header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("%s (%d) from another origin: Access-Control-Allow-Origin %q, credentials %q", name, r.status, r.header.Get("Access-Control-Allow-Origin"), r.header.Get("Access-Control-Allow-Credentials"))
		}
	}
	if !strings.Contains(anonymous.header.Get("Access-Control-Expose-Headers"), "WWW-Authenticate") {
		t.Errorf("the challenge of a refusal is not readable across origins: %v", anonymous.header)
	}
	if me.status != http.StatusOK {
		t.Errorf("the protected API from another origin: %d %s", me.status, me.raw)
	}

	// Introspection stays for resource servers.
	if r := preflight(pathIntro, "POST"); r.status == http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight of introspection: %d %v", r.status, r.header)
	}
	in := w.request("POST", pathIntro, formType, strings.NewReader(form("token", refreshed.str("access_token")).Encode()), fromSPA, withBasic(w.rs.ID, w.rsKey))
	if in.status != http.StatusOK || in.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("introspection from another origin: %d, Access-Control-Allow-Origin %q", in.status, in.header.Get("Access-Control-Allow-Origin"))
	}
}

// TestCacheableMetadataIsReadableFromAnyOrigin: the metadata is publicly
// cacheable for an hour, so a shared cache may give a browser application the
// copy fetched without an Origin: that copy must let any origin read it too
// (else discovery fails for an hour), rather than vary by Origin.
func TestCacheableMetadataIsReadableFromAnyOrigin(t *testing.T) {
	e := newEnv(t)
	r := e.request("GET", "/.well-known/oauth-authorization-server", "", nil)
	if r.status != http.StatusOK || !strings.Contains(r.header.Get("Cache-Control"), "public") || r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("metadata without an Origin: %d, Cache-Control %q, Access-Control-Allow-Origin %q", r.status, r.header.Get("Cache-Control"), r.header.Get("Access-Control-Allow-Origin"))
	}
}
