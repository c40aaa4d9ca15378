package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
)

// A sign-in form that is not as the page makes it — a field sent twice, a
// username with a control character or invalid UTF-8 — is refused with 400
// before any password is checked: the first of two usernames does not sign
// in, and such posts cost nobody a throttled attempt.
func TestSignInRefusesMalformedForms(t *testing.T) {
	s := newSite(t)
	if _, err := s.gh.Users.Create(context.Background(), user.NewUser{Username: "carol", Password: "carol-password", Level: store.LevelUser}); err != nil {
		t.Fatal(err)
	}
	b := s.browser("en")
	post := func(form url.Values) answer {
		form.Set("csrf_token", hidden(b.get("/login").body, "csrf_token"))
		return b.do("POST", "/login", form)
	}
	malformed := map[string]url.Values{
		"two usernames, the first right":    {"username": {"carol", "zzz"}, "password": {"carol-password"}},
		"two passwords, the first right":    {"username": {"carol"}, "password": {"carol-password", "x"}},
		"a NUL in the username":             {"username": {"car\x00ol"}, "password": {"carol-password"}},
		"a username that is not UTF-8":      {"username": {"\xff\xfe"}, "password": {"carol-password"}},
		"a newline in the username":         {"username": {"carol\n"}, "password": {"carol-password"}},
		"two next fields (an open for two)": {"username": {"carol"}, "password": {"carol-password"}, "next": {"/account", "/admin"}},
	}
	// More malformed posts than the address's 20 failures and the account's 5.
	for round := range 4 {
		for name, form := range malformed {
			a := post(form)
			if a.status != http.StatusBadRequest {
				t.Fatalf("round %d, %s: %d, want 400", round, name, a.status)
			}
			if got, _ := element(a.body, `role="alert"`); got != s.msgs.T("en", "login.bad_form") {
				t.Fatalf("%s: the page says %q", name, got)
			}
			if b.signedIn() {
				t.Fatalf("%s signed in", name)
			}
		}
	}
	if a := post(url.Values{"username": {"carol"}, "password": {"carol-password"}}); a.status != http.StatusSeeOther || !b.signedIn() {
		t.Fatalf("carol's own sign-in after the malformed posts: %d", a.status)
	}
}
