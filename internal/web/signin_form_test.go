package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
)

// A sign-in form that is not as the page makes it — a field sent twice, a
// username with a control character or invalid UTF-8 — is refused with 400
// before any password is checked: the first of two usernames does not sign
// in, and such posts cost nobody a throttled attempt.
func TestSignInRefusesMalformedForms(t *testing.T) {
	s := siteWithCarol(t)
	b := s.browser("en")
	post := func(form url.Values) answer {
		form.Set("csrf_token", hidden(b.get("/login").body, "csrf_token"))
		return b.do("POST", "/login", form)
	}
	// A form no page makes is refused as any form is (error.bad_form); a
	// username no one can have, on the sign-in page again (login.bad_form).
	malformed := map[string]struct {
		form url.Values
		key  string
	}{
		"two usernames, the first right":    {url.Values{"username": {"carol", "zzz"}, "password": {"carol-password"}}, "error.bad_form"},
		"two passwords, the first right":    {url.Values{"username": {"carol"}, "password": {"carol-password", "x"}}, "error.bad_form"},
		"a username that is not UTF-8":      {url.Values{"username": {"\xff\xfe"}, "password": {"carol-password"}}, "error.bad_form"},
		"two next fields (an open for two)": {url.Values{"username": {"carol"}, "password": {"carol-password"}, "next": {"/account", "/admin"}}, "error.bad_form"},
		"a NUL in the username":             {url.Values{"username": {"car\x00ol"}, "password": {"carol-password"}}, "error.bad_form"}, // in no field of any form
		"a newline in the username":         {url.Values{"username": {"carol\n"}, "password": {"carol-password"}}, "login.bad_form"},
	}
	// More malformed posts than the address's 20 failures and the account's 5.
	for round := range 4 {
		for name, tc := range malformed {
			a := post(tc.form)
			if a.status != http.StatusBadRequest {
				t.Fatalf("round %d, %s: %d, want 400", round, name, a.status)
			}
			if got, _ := element(a.body, `role="alert"`); got != s.msgs.T("en", tc.key) {
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

// The sign-in form's token (the pre-session cookie's) opens no form once the
// browser is signed in: a signed-in session is checked against its own
// token, which the pages it shows carry.
func TestSignInFormTokenEndsAtSignIn(t *testing.T) {
	s := siteWithCarol(t)
	b := s.browser("en")
	loginToken := hidden(b.get("/login").body, "csrf_token")
	if a := b.do("POST", "/login", url.Values{"csrf_token": {loginToken}, "username": {"carol"}, "password": {"carol-password"}}); a.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", a.status)
	}
	if a := b.do("POST", "/logout/everywhere", url.Values{"csrf_token": {loginToken}}); a.status != http.StatusForbidden {
		t.Fatalf("sign out everywhere with the sign-in form's token: %d, want 403", a.status)
	}
	if !b.signedIn() {
		t.Fatal("the refused post signed the browser out")
	}
	if a := b.do("POST", "/logout/everywhere", url.Values{"csrf_token": {hidden(b.get("/").body, "csrf_token")}}); a.status != http.StatusSeeOther {
		t.Fatalf("sign out everywhere with the page's token: %d", a.status)
	}
}

// TestTabsOpenedAtSignInShareTheFormToken: the session's form token is made
// at sign-in, so the pages that tabs opened right after it load at once all
// carry the same token, none making its own: before,
// two first page views each made a token, the last save won, and the other
// tab's form answered "expired".
func TestTabsOpenedAtSignInShareTheFormToken(t *testing.T) {
	s := siteWithCarol(t)
	b := s.browser("en")
	b.signIn("carol", "carol-password")
	var tokens [4]string
	var wg sync.WaitGroup
	for i := range tokens {
		wg.Go(func() {
			tokens[i] = hidden(b.get("/").body, "csrf_token")
		})
	}
	wg.Wait()
	for _, tok := range tokens {
		if tok == "" || tok != tokens[0] {
			t.Fatalf("the tabs' form tokens: %q", tokens)
		}
	}
	if a := b.do("POST", "/logout/everywhere", url.Values{"csrf_token": {tokens[len(tokens)-1]}}); a.status != http.StatusSeeOther {
		t.Fatalf("a tab's form: %d", a.status)
	}
}

// TestFormsRefuseNULs: no page's control sends a NUL, and PostgreSQL
// refuses the byte in a text column (a 500 when it reached the store): a
// form holding one is refused as no page's form, whatever field it is in —
// here the authorized applications' revoke, which any user may post.
func TestFormsRefuseNULs(t *testing.T) {
	s := siteWithCarol(t)
	b := s.browser("en")
	b.signIn("carol", "carol-password")
	for _, id := range []string{"\x00", "a\x00b", strings.Repeat("ab", 16) + "\x00"} {
		if a := b.post("/plugins/servlet/oauth2/authorized-apps/revoke", url.Values{"client_id": {id}}); a.status != http.StatusBadRequest {
			t.Errorf("revoke client_id %q: %d, want 400", id, a.status)
		}
	}
}

// TestFormAfterTheSessionEndedSaysSo: a form posted after the browser's
// session ended (its idle timeout, here) says the user is no longer signed
// in, not that the form may be a forgery.
func TestFormAfterTheSessionEndedSaysSo(t *testing.T) {
	s := siteWithCarol(t, func(c *config.Config) { c.Lifetimes.SessionIdle = time.Second })
	b := s.browser("en")
	b.signIn("carol", "carol-password")
	token := hidden(b.get("/").body, "csrf_token")
	time.Sleep(1100 * time.Millisecond)
	a := b.do("POST", "/logout/everywhere", url.Values{"csrf_token": {token}})
	if got, _ := element(a.body, `role="alert"`); a.status != http.StatusForbidden || got != s.msgs.T("en", "error.session_ended") {
		t.Fatalf("a form after the session ended: %d, %q", a.status, got)
	}
	// Signed out in another tab, which takes the browser's session cookie
	// away: the form of a page still open says the same.
	b.signIn("carol", "carol-password")
	token = hidden(b.get("/").body, "csrf_token")
	if a := b.do("POST", "/logout", url.Values{"csrf_token": {token}}); a.status != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", a.status)
	}
	a = b.do("POST", "/logout/everywhere", url.Values{"csrf_token": {token}})
	if got, _ := element(a.body, `role="alert"`); a.status != http.StatusForbidden || got != s.msgs.T("en", "error.session_ended") {
		t.Fatalf("a form after signing out in another tab: %d, %q", a.status, got)
	}
	// The sign-in form, which needs no session, is not told it ended.
	a = b.do("POST", "/login", url.Values{"csrf_token": {"stale"}, "username": {"carol"}, "password": {"carol-password"}})
	if got, _ := element(a.body, `role="alert"`); a.status != http.StatusForbidden || got != s.msgs.T("en", "error.csrf") {
		t.Fatalf("a sign-in form with a stale token: %d, %q", a.status, got)
	}
	// A token that is simply wrong, in a live session, is still the forgery's answer.
	b.signIn("carol", "carol-password")
	a = b.do("POST", "/logout/everywhere", url.Values{"csrf_token": {"not-the-token"}})
	if got, _ := element(a.body, `role="alert"`); a.status != http.StatusForbidden || got != s.msgs.T("en", "error.csrf") {
		t.Fatalf("a wrong form token: %d, %q", a.status, got)
	}
}

// siteWithCarol is a site with one user, carol (carol-password), at user level.
func siteWithCarol(t *testing.T, options ...func(*config.Config)) *site {
	t.Helper()
	s := newSite(t, options...)
	if _, err := s.gh.Users.Create(context.Background(), user.NewUser{Username: "carol", Password: "carol-password", Level: store.LevelUser}); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestThrottledSignInSaysHowLong: the sign-in refused by the throttle says
// how long to wait at most (its window; the window began with the first
// failure), in the page's language, as its Retry-After does.
func TestThrottledSignInSaysHowLong(t *testing.T) {
	s := siteWithCarol(t, func(c *config.Config) { c.SignIn.MaxFailuresPerAccount = 2 })
	for lang, want := range map[string]string{"en": "up to 15 min", "ja": "最大 15 分"} {
		b := s.browser(lang)
		var a answer
		for range 3 {
			page := b.get("/login")
			a = b.do("POST", "/login", url.Values{"csrf_token": {hidden(page.body, "csrf_token")}, "username": {"carol"}, "password": {"wrong-password"}})
		}
		if got, _ := element(a.body, `role="alert"`); a.status != http.StatusTooManyRequests || !strings.Contains(got, want) {
			t.Errorf("%s: the throttled sign-in: %d %q; want it to say %q", lang, a.status, got, want)
		}
	}
}
