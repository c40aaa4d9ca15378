package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
	"github.com/gatehouse/gatehouse/internal/web"
)

// changePassword posts the account page's password form.
func (b *browser) changePassword(current, next, repeat string) answer {
	b.s.t.Helper()
	token := hidden(b.get("/").body, "csrf_token")
	return b.do("POST", web.PathPasswordChange, url.Values{"csrf_token": {token},
		"current_password": {current}, "new_password": {next}, "new_password_repeat": {repeat}})
}

// signedIn reports whether the browser's session is still signed in.
func (b *browser) signedIn() bool {
	b.s.t.Helper()
	return b.get(web.PathAuthorizedApps).status == http.StatusOK
}

// sessionCookie returns the value of the browser's session cookie.
func (b *browser) sessionCookie() string {
	b.s.t.Helper()
	for _, c := range b.c.Jar.Cookies(b.siteURL()) {
		if c.Name == session.Cookie {
			return c.Value
		}
	}
	return ""
}

// setSessionCookie makes the browser present value as its session cookie.
func (b *browser) setSessionCookie(value string) {
	b.c.Jar.SetCookies(b.siteURL(), []*http.Cookie{{Name: session.Cookie, Value: value, Path: "/"}})
}

func (b *browser) siteURL() *url.URL {
	u, err := url.Parse(b.s.base)
	if err != nil {
		b.s.t.Fatal(err)
	}
	return u
}

// TestPasswordChange: a user changes their own password on the account page.
// A wrong current password, a repeat that differs or a short new password is
// refused in the page's language with nothing changed. The change signs out
// every other session of the user, keeps this browser signed in under a new
// session cookie, and is audited; then the new password signs in and the old
// one does not.
func TestPasswordChange(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	if _, err := s.gh.Users.Create(ctx, user.NewUser{Username: "alice", Password: "old-password", Level: store.LevelUser}); err != nil {
		t.Fatal(err)
	}
	phone := s.browser("en")
	phone.signIn("alice", "old-password")
	before, _ := s.gh.Users.ByUsername(ctx, "alice")
	// The form names its account for password managers.
	if !strings.Contains(phone.get("/").body, `<input type="text" name="username" autocomplete="username" value="alice" hidden readonly>`) {
		t.Error("the password form has no username for password managers")
	}

	for _, lang := range web.Languages {
		b := s.browser(lang)
		b.signIn("alice", "old-password")
		for _, tc := range []struct {
			name, current, next, repeat string
			status                      int
			message                     string
		}{
			{"wrong current password", "not-the-password", "new-password", "new-password", http.StatusUnauthorized, s.msgs.T(lang, "password.wrong")},
			{"repeat differs", "old-password", "new-password", "new-passwort", http.StatusBadRequest, s.msgs.T(lang, "password.mismatch")},
			{"too short", "old-password", "short", "short", http.StatusBadRequest, s.msgs.T(lang, "refusal.user.password_short", user.MinPasswordLength)},
			{"the same password", "old-password", "old-password", "old-password", http.StatusBadRequest, s.msgs.T(lang, "password.same")},
		} {
			a := b.changePassword(tc.current, tc.next, tc.repeat)
			if a.status != tc.status {
				t.Errorf("%s/%s: %d, want %d", lang, tc.name, a.status, tc.status)
			}
			if got, _ := element(a.body, `id="password-error"`); got != tc.message {
				t.Errorf("%s/%s: the form says %q, want %q", lang, tc.name, got, tc.message)
			}
		}
	}
	if after, _ := s.gh.Users.ByUsername(ctx, "alice"); after.PasswordHash != before.PasswordHash || !after.SessionsAfter.Equal(before.SessionsAfter) {
		t.Fatal("a refused change changed the user")
	}
	if !phone.signedIn() {
		t.Fatal("a refused change signed the other session out")
	}

	laptop := s.browser("en")
	laptop.signIn("alice", "old-password")
	oldCookie := laptop.sessionCookie()
	if a := laptop.changePassword("old-password", "new-password", "new-password"); a.status != http.StatusSeeOther || a.location != "/" {
		t.Fatalf("change: %d to %q, want 303 to /", a.status, a.location)
	}
	if got, _ := element(laptop.get("/").body, `class="flash"`); got != s.msgs.T("en", "password.changed") {
		t.Errorf("after the change the page says %q", got)
	}
	if !laptop.signedIn() {
		t.Error("the browser that changed the password was signed out")
	}
	if laptop.sessionCookie() == oldCookie {
		t.Error("the session cookie was not renewed")
	}
	if phone.signedIn() {
		t.Error("the other session is still signed in")
	}
	stolen := s.browser("en")
	stolen.setSessionCookie(oldCookie)
	if stolen.signedIn() {
		t.Error("the session cookie from before the change still works")
	}

	fresh := s.browser("en")
	page := fresh.get("/login")
	if a := fresh.do("POST", "/login", url.Values{"csrf_token": {hidden(page.body, "csrf_token")}, "username": {"alice"}, "password": {"old-password"}}); a.status != http.StatusUnauthorized {
		t.Errorf("the old password signs in: %d", a.status)
	}
	fresh.signIn("alice", "new-password")

	events, err := s.gh.Store.ListAudit(ctx, store.AuditFilter{Kind: audit.UserPasswordOwn})
	if err != nil || len(events) != 1 || events[0].Actor != "alice" || events[0].Username != "alice" {
		t.Fatalf("audit events %+v (%v), want one change by alice", events, err)
	}
}
