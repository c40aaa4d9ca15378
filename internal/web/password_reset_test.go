package web_test

import (
	"context"
	"html"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
)

// TestPasswordResetInOneStep: outside a secure administrator session the
// reset form asks for the administrator's own password beside the new one,
// and one submission confirms it and resets. (It used to send the
// administrator to the password page and back to an empty form, the reset
// not done and nothing saying so.)
func TestPasswordResetInOneStep(t *testing.T) {
	s := newSite(t)
	for name, level := range map[string]store.Level{"root": store.LevelSystemAdmin, "carol": store.LevelUser} {
		if _, err := s.gh.Users.Create(context.Background(), user.NewUser{Username: name, Password: name + "-password", Level: level}); err != nil {
			t.Fatal(err)
		}
	}
	b := s.browser("en")
	b.signIn("root", "root-password")
	page := b.get("/admin/users/carol")
	if !strings.Contains(page.body, `name="your_password"`) {
		t.Fatal("the reset form does not ask for the administrator's own password")
	}
	reset := func(own string) answer {
		return b.post("/admin/users/carol/password", url.Values{"password": {"carol-new-password"}, "your_password": {own}})
	}
	if a := reset("not-my-password"); a.status != http.StatusUnauthorized || !strings.Contains(html.UnescapeString(a.body), s.msgs.T("en", "admin.reauth_failed")) {
		t.Fatalf("a wrong own password: %d", a.status)
	}
	if _, err := s.gh.Users.Authenticate(context.Background(), "carol", "carol-password", netip.MustParseAddr("192.0.2.9")); err != nil {
		t.Fatalf("a refused reset changed the password: %v", err)
	}
	a := reset("root-password")
	if a.status != http.StatusSeeOther || a.location != "/admin/users/carol" {
		t.Fatalf("the reset with the right own password: %d to %q", a.status, a.location)
	}
	if done := b.follow(a.location); !strings.Contains(html.UnescapeString(done.body), s.msgs.T("en", "admin.password_reset")) {
		t.Fatal("the reset does not say it was done")
	}
	if _, err := s.gh.Users.Authenticate(context.Background(), "carol", "carol-new-password", netip.MustParseAddr("192.0.2.9")); err != nil {
		t.Fatalf("the new password does not work: %v", err)
	}
	// Now confirmed, the form asks no more for five minutes.
	if page := b.get("/admin/users/carol"); strings.Contains(page.body, `name="your_password"`) {
		t.Fatal("the form asks again inside the secure administrator session")
	}
}
