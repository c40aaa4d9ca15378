package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

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
	for _, name := range []string{"gatehouse_lang", "gatehouse_form", "gatehouse_session"} {
		if !seen[name] {
			t.Errorf("no %s cookie was set; seen %v", name, seen)
		}
	}
}
