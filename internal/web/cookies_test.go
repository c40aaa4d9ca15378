package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
)

// TestEveryCookieIsSecureInProduction: every cookie a production node sets
// — the language chosen by a link, the sign-in form's token, the session —
// is Secure, HttpOnly and SameSite=Lax (SPEC §9).
func TestEveryCookieIsSecureInProduction(t *testing.T) {
	s := newSite(t, production)
	if _, err := s.gh.Users.Create(context.Background(), user.NewUser{Username: "alice", Password: "alice-password", Level: store.LevelUser}); err != nil {
		t.Fatal(err)
	}
	b := s.browser("en")
	choose := b.get("/login?lang=ja")
	signIn := b.do("POST", "/login", url.Values{"csrf_token": {hidden(choose.body, "csrf_token")}, "username": {"alice"}, "password": {"alice-password"}})
	if signIn.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", signIn.status)
	}
	seen := map[string]bool{}
	for _, a := range []answer{choose, signIn} {
		for _, c := range (&http.Response{Header: a.header}).Cookies() {
			seen[c.Name] = true
			if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
				t.Errorf("cookie %s: Secure %v, HttpOnly %v, SameSite %v; want Secure, HttpOnly, Lax", c.Name, c.Secure, c.HttpOnly, c.SameSite)
			}
		}
	}
	for _, name := range []string{"gatehouse_lang", "gatehouse_form", "gatehouse_session", "gatehouse_device"} {
		if !seen[name] {
			t.Errorf("no %s cookie was set; seen %v", name, seen)
		}
	}
}

// TestProductionNeverRedirectsOverPlainHTTP: a plain-http redirect URI that
// reached a production node's database by a command run with --dev (or a
// copy of a development database) is never where a code goes: the
// authorization answers with an error page, as for an unregistered URI,
// instead of sending the browser there with a code anyone on the path reads.
func TestProductionNeverRedirectsOverPlainHTTP(t *testing.T) {
	s := newSite(t, production)
	ctx := context.Background()
	if _, err := s.gh.Users.Create(ctx, user.NewUser{Username: "alice", Password: "alice-password", Level: store.LevelUser}); err != nil {
		t.Fatal(err)
	}
	c := s.createClient(app.Registration{Name: "Wiki", RedirectURIs: []string{"https://wiki.example.com/cb"}})
	const plain = "http://wiki.example.com/cb"
	c.ID, c.Name, c.RedirectURIs = strings.Repeat("ab", 16), "Plain", []string{plain}
	if err := s.gh.Store.CreateClient(ctx, c, 0); err != nil {
		t.Fatal(err)
	}
	b := s.browser("en")
	b.signIn("alice", "alice-password")
	for _, q := range []url.Values{
		{"client_id": {c.ID}, "redirect_uri": {plain}, "response_type": {"code"}, "scope": {"READ"}, "state": {"s"}},
		{"client_id": {c.ID}, "response_type": {"code"}, "scope": {"READ"}, "state": {"s"}}, // its only URI, implied
	} {
		a := b.get(oauth.PathAuthorize + "?" + q.Encode())
		if a.status != http.StatusBadRequest || a.location != "" || !strings.Contains(a.body, html.EscapeString(s.msgs.T("en", "error.detail.redirect_uri_insecure"))) {
			t.Fatalf("authorize to %s: %d to %q", plain, a.status, a.location)
		}
	}
}
